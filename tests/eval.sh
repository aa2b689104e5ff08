#!/bin/sh
# eval.sh: `ffnskip eval`'s error paths and exit statuses; with FSK_MODEL set, every task on tiny
# inputs: one row per policy, dense's delta zero, sane metrics, JSON that parses.
set -u
FFNSKIP=${FFNSKIP:-./ffnskip}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fsk-eval.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_status() { # want_status description command...
    want=$1 what=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, want $want"; cat "$tmp/err"; fi
}
err_has() { grep -q -- "$1" "$tmp/err" && ok || { bad "$2: stderr lacks '$1'"; cat "$tmp/err"; }; }
out_has() { grep -q -- "$1" "$tmp/out" && ok || { bad "$2: output lacks '$1'"; cat "$tmp/out"; }; }

# ---------------------------------------------------------------- inputs
printf '# question\tanswers\tcategory\nWhat is the capital of France?\tParis\tcapital\nWhat is 2+2?\tfour|4\tmath\nWhat is the capital of Italy?\tRome\tcapital\n' >"$tmp/qa.tsv"
printf 'What is the capital of France?\tParis\tcapital\nno tabs on this line\n' >"$tmp/bad.tsv"
printf 'What is it?\tgood||bad\tx\n' >"$tmp/empty-answer.tsv"
printf '# nothing but a comment\n\n' >"$tmp/empty.tsv"
printf 'The council voted on Tuesday to build a new bridge over the river, at a cost of 40 million dollars. Work starts next spring.\tCouncil approves new river bridge\nShares of Acme Corp rose 5 pct after the company reported higher quarterly profit and raised its dividend.\tAcme shares rise on profit, dividend\n' >"$tmp/sum.tsv"
cat >"$tmp/ppl.txt" <<'EOF'
The river ran past the old mill, and in the evening the miller's children sat on the bank to
watch the water. They counted the boats that came down from the hills, loaded with timber and
wool for the town market. In winter the river froze, the boats stopped, and the whole valley grew
quiet under the snow. In spring the ice broke with a sound like thunder, and the children ran
down to the water to see the first boat of the year come round the bend below the church.
EOF
printf 'What is the capital of Spain?\nName a colour of the sky.\n' >"$tmp/prompts.txt"

# ---------------------------------------------------------------- errors that need no model
expect_status 0 "eval --help" $FFNSKIP eval --help
out_has "Usage: ffnskip eval" "eval --help"
expect_status 2 "eval without a task" $FFNSKIP eval
expect_status 2 "unknown task" $FFNSKIP eval frobnicate --data "$tmp/qa.tsv"
err_has "unknown task 'frobnicate'" "unknown task"
expect_status 2 "unknown policy" $FFNSKIP eval qa --data "$tmp/qa.tsv" --policies dense,bogus
err_has "unknown policy 'bogus'" "unknown policy"
expect_status 2 "--limit 0" $FFNSKIP eval qa --data "$tmp/qa.tsv" --limit 0
expect_status 2 "two tasks" $FFNSKIP eval qa sum --data "$tmp/qa.tsv"
expect_status 2 "--two-turn outside agree" $FFNSKIP eval qa --two-turn --data "$tmp/qa.tsv"
expect_status 2 "--skip instead of --policies" $FFNSKIP eval qa --skip ffn-skip --data "$tmp/qa.tsv"
expect_status 3 "missing data file" $FFNSKIP eval qa --data "$tmp/nonexistent.tsv"
err_has "nonexistent.tsv" "missing data file"
expect_status 3 "malformed TSV" $FFNSKIP eval qa --data "$tmp/bad.tsv"
err_has "bad.tsv:2:" "malformed TSV names its line"
expect_status 3 "sum on QA data (three fields)" $FFNSKIP eval sum --data "$tmp/qa.tsv"
err_has "qa.tsv:2:" "sum on QA data names its line"
expect_status 3 "empty gold answer" $FFNSKIP eval qa --data "$tmp/empty-answer.tsv"
err_has "empty-answer.tsv:1:" "empty gold answer names its line"
expect_status 3 "no items" $FFNSKIP eval sum --data "$tmp/empty.tsv"
err_has "no items" "no items"
expect_status 3 "--two-turn with one prompt" $FFNSKIP eval agree --two-turn --data "$tmp/prompts.txt" --limit 1
expect_status 3 "missing model" $FFNSKIP eval qa -m "$tmp/none.gguf" --data "$tmp/qa.tsv"

if [ -z "${FSK_MODEL:-}" ] || [ ! -f "$FSK_MODEL" ]; then
    echo "eval: $pass passed, $fail failed"
    [ "$fail" -eq 0 ] || exit 1
    echo "SKIP: FSK_MODEL not set: checked the error paths only"
    exit 77
fi

# ---------------------------------------------------------------- real runs on tiny inputs
# rows POLICY...: a table row for each, dense's delta exactly zero
rows() {
    for p in "$@"; do
        grep -q "^| $p " "$tmp/out" && ok || { bad "no row for $p"; cat "$tmp/out"; }
    done
    grep "^| dense " "$tmp/out" | grep -Eq "\| +\+0\.0000 \|" && ok || { bad "dense delta is not 0"; cat "$tmp/out"; }
}
json_ok() { # the JSON parses, has one row per policy, in order, dense first with delta 0
    command -v python3 >/dev/null || return 0
    python3 - "$tmp/out" "$@" <<'EOF' && ok || { bad "JSON check"; cat "$tmp/out"; }
import json, sys
d = json.load(open(sys.argv[1]))
names = [r["policy"] for r in d["rows"]]
assert names == sys.argv[2:], names
assert d["rows"][0]["delta"] == 0, d["rows"][0]
for r in d["rows"]:
    assert r["ffn_skip_ratio"] is None or 0 <= r["ffn_skip_ratio"] <= 1, r
    assert r["metric"] is not None, r
EOF
}

expect_status 0 "qa" $FFNSKIP eval qa --data "$tmp/qa.tsv" --limit 3 -n 8 --quiet
rows dense ffn-skip
out_has "acc capital" "qa per-category column"
out_has "acc math" "qa per-category column"
out_has "3 items" "qa caption"

expect_status 0 "ppl --json" $FFNSKIP eval ppl --data "$tmp/ppl.txt" --window 64 --limit 2 --json \
    --policies ffn-skip,ffn-random
json_ok dense ffn-skip ffn-random
out_has '"items": 2' "ppl runs 2 windows"
grep -q '"policy": "dense".*"metric": [1-9]' "$tmp/out" && ok || bad "dense perplexity is not a number >= 1"

expect_status 0 "agree" $FFNSKIP eval agree --data "$tmp/prompts.txt" --limit 2 -n 16 \
    --policies ffn-static,layer-drop,early-exit
rows dense ffn-static layer-drop early-exit
grep "^| dense " "$tmp/out" | grep -Eq "\| +1\.0000 \| +\+0\.0000 \|" && ok || bad "dense does not agree with itself"
out_has "repeated 4-grams" "agree collapse column"

expect_status 0 "sum" $FFNSKIP eval sum --data "$tmp/sum.tsv" --limit 2 -n 16
rows dense ffn-skip
out_has "R-L vs dense" "sum against dense"
out_has "R-L short" "sum length buckets"

echo "eval: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
