#!/bin/sh
# profile.sh: `ffnskip profile`: its error paths (outputs never half-written), and with FSK_MODEL
# the CSV's shape and the skip rules it records, and the PNG heatmap when gnuplot is installed.
set -u
FFNSKIP=${FFNSKIP:-./ffnskip}
work=$(mktemp -d "${TMPDIR:-/tmp}/fsk-profile.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_status() { # want_status(es, '|'-separated) description command...
    want=$1 what=$2; shift 2
    "$@" >"$work/out" 2>"$work/err"; got=$?
    case "|$want|" in
        *"|$got|"*) ok ;;
        *) bad "$what: exit $got, want $want"; cat "$work/err" ;;
    esac
}
# The file is exactly what it was, and no temporary file was left beside it.
expect_untouched() { # file description
    if [ "$(cat "$1")" = "keep me" ]; then ok; else bad "$2: $1 was changed"; fi
    leftovers=$(find "$(dirname "$1")" -name ".$(basename "$1").*" | head -n 1)
    [ -z "$leftovers" ] && ok || bad "$2: temporary file left behind: $leftovers"
}

# ---------------------------------------------------------------- no model needed
expect_status 0 "profile --help" "$FFNSKIP" profile --help
grep -q "Usage: ffnskip profile" "$work/out" && ok || bad "profile --help prints no usage"
grep -q "gnuplot-nox" "$work/out" && ok || bad "profile --help does not name gnuplot-nox"
expect_status 2 "profile without input" "$FFNSKIP" profile -m /nonexistent.gguf
expect_status 2 "profile with -p and --text" "$FFNSKIP" profile -p hi --text "$work/x"
expect_status 2 "profile --plot with a bad extension" "$FFNSKIP" profile -p hi --plot "$work/x.jpg"
grep -q "png or .svg" "$work/err" && ok || bad "bad plot extension not explained"
expect_status 2 "profile --csv without a value" "$FFNSKIP" profile -p hi --csv
expect_status "1|3" "profile to an unwritable CSV" "$FFNSKIP" profile -m /nonexistent/m.gguf -p hi \
    --csv /nonexistent/dir/x.csv
grep -q "/nonexistent/dir/x.csv" "$work/err" && ok || bad "unwritable CSV path not named"
expect_status 3 "profile --text on a missing file" "$FFNSKIP" profile --text /nonexistent/text.txt
echo "keep me" >"$work/keep.csv"
expect_status 3 "profile on a missing model" "$FFNSKIP" profile -m /nonexistent/m.gguf -p hi --csv "$work/keep.csv"
expect_untouched "$work/keep.csv" "a run that fails before decoding"

# Without gnuplot in PATH, --plot is refused up front with the package to install. The shim
# directory keeps the few commands libtool's wrapper script runs.
mkdir -p "$work/bin"
for c in sed ls cat dirname basename expr uname; do
    p=$(command -v "$c") && ln -sf "$p" "$work/bin/$c"
done
expect_status 1 "profile --plot without gnuplot" env PATH="$work/bin" "$FFNSKIP" profile -p hi --plot "$work/p.png"
grep -q "gnuplot-nox" "$work/err" && ok || bad "missing gnuplot does not name gnuplot-nox"

if [ -z "${FSK_MODEL:-}" ] || [ ! -f "$FSK_MODEL" ]; then
    echo "profile: $pass passed, $fail failed (FSK_MODEL not set: model checks skipped)"
    [ "$fail" -eq 0 ] || exit 1
    exit 77
fi

# ---------------------------------------------------------------- with the model
if ! command -v python3 >/dev/null; then
    echo "profile: $pass passed, $fail failed (python3 missing: CSV checks skipped)"
    [ "$fail" -eq 0 ] || exit 1
    exit 77
fi

# check_csv FILE COLD_FIRST COLD_LAST MAX_GENERATED MODE: parses the CSV properly (token texts
# may hold commas, quotes and newlines) and checks its shape and the skip rules.
check_csv() {
    python3 - "$@" <<'PY'
import csv, re, sys
path, cold_first, cold_last, max_gen, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
errors = []
want = ["token_index", "position", "token_id", "token_text", "phase", "layer", "similarity", "ran"]
if rows[0] != want:
    errors.append("header is %r" % rows[0])
body = rows[1:]
tokens = sorted({int(r[0]) for r in body})
layers = sorted({int(r[5]) for r in body})
n_layer = len(layers)
if layers != list(range(n_layer)) or n_layer < cold_first + cold_last + 1:
    errors.append("layers are %r" % layers)
if tokens != list(range(len(tokens))) or len(body) != len(tokens) * n_layer:
    errors.append("%d rows for %d tokens x %d layers" % (len(body), len(tokens), n_layer))
phases = {}
for r in body:
    phases.setdefault(int(r[0]), r[4])
    if r[4] != phases[int(r[0])]:
        errors.append("token %s has two phases" % r[0])
order = "".join({"prompt": "p", "warmup": "w", "generated": "g"}.get(phases[t], "?") for t in tokens)
n_gen = order.count("w") + order.count("g")
# generation: prompt, warm-up, then the policy; teacher forcing has no prompt
pattern = r"p+w*g*" if mode == "generate" else r"w+g+"
if not re.fullmatch(pattern, order) or not 1 <= n_gen <= max_gen:
    errors.append("phases in order %s" % order)
skipped = 0
for r in body:
    layer, sim, ran, phase = int(r[5]), r[6], r[7], r[4]
    if ran not in ("0", "1"):
        errors.append("ran is %r" % ran)
        continue
    if (sim == "") != (ran == "0"):
        errors.append("token %s layer %d: similarity %r with ran %s" % (r[0], layer, sim, ran))
    if sim and not -1.0001 <= float(sim) <= 1.0001:
        errors.append("similarity %s out of range" % sim)
    if ran == "0":
        skipped += 1
        if layer < cold_first or layer >= n_layer - cold_last:
            errors.append("cold layer %d skipped at token %s" % (layer, r[0]))
        if phase != "generated":
            errors.append("a %s token skipped layer %d" % (phase, layer))
    if int(r[1]) != int(r[0]):
        errors.append("token %s at position %s" % (r[0], r[1]))
if skipped == 0:
    errors.append("no FFN was skipped at all: the policy never acted")
for e in errors[:10]:
    print("  " + e)
print("  %d tokens (%s) x %d layers, %d FFNs skipped" % (len(tokens), order, n_layer, skipped))
sys.exit(1 if errors else 0)
PY
}

skipargs="--skip ffn-skip --skip-threshold 0.97 --skip-cold 4,3"
expect_status 0 "profile 8 tokens" "$FFNSKIP" profile -p "The capital of France is" -n 8 $skipargs \
    --csv "$work/gen.csv" -t 2
if check_csv "$work/gen.csv" 4 3 8 generate; then ok; else bad "the CSV of a generation"; fi
grep -q "profile: wrote" "$work/err" && ok || bad "profile does not report what it wrote"

# ffn-skip on the library's default threshold (no profile, no --skip-threshold) is pointed out
expect_status 0 "run ffn-skip uncalibrated" "$FFNSKIP" run -p "The capital of France is" -n 2 --greedy \
    --skip ffn-skip -t 2
grep -q "uncalibrated threshold" "$work/err" && ok || bad "ffn-skip on the default threshold is not pointed out"
expect_status 0 "run ffn-skip with a threshold" "$FFNSKIP" run -p "The capital of France is" -n 2 --greedy \
    $skipargs -t 2
grep -q "uncalibrated" "$work/err" && bad "the uncalibrated note shows with --skip-threshold" || ok

expect_status 0 "profile --csv -" "$FFNSKIP" profile -p "The capital of France is" -n 8 $skipargs --csv - -t 2
cmp -s "$work/out" "$work/gen.csv" && ok || bad "--csv - differs from --csv FILE for the same greedy run"

printf 'The quick brown fox jumps over the lazy dog. "Commas, quotes" and\nnew lines\tare kept.\n' >"$work/text.txt"
expect_status 0 "profile --text" "$FFNSKIP" profile --text "$work/text.txt" -n 16 $skipargs \
    --csv "$work/text.csv" -t 2
if check_csv "$work/text.csv" 4 3 16 text; then ok; else bad "the CSV of a teacher-forced text"; fi

# A run that fails after the model loaded (the prompt overflows the context) leaves the old file.
echo "keep me" >"$work/keep.csv"
expect_status 3 "profile with a prompt longer than the context" "$FFNSKIP" profile -c 4 \
    -p "a prompt that is longer than four tokens for sure" $skipargs --csv "$work/keep.csv"
grep -q "context" "$work/err" && ok || bad "context overflow not explained"
expect_untouched "$work/keep.csv" "a run that fails while decoding"

if command -v gnuplot >/dev/null; then
    expect_status 0 "profile --plot" "$FFNSKIP" profile -p "The capital of France is" -n 8 $skipargs \
        --plot "$work/heat.png" --csv "$work/heat.csv" -t 2
    magic=$(od -An -tx1 -N8 "$work/heat.png" 2>/dev/null | tr -d ' \n')
    [ "$magic" = "89504e470d0a1a0a" ] && ok || bad "heat.png is not a PNG (starts $magic)"
    size=$(wc -c <"$work/heat.png" 2>/dev/null || echo 0)
    [ "$size" -gt 10000 ] && ok || bad "heat.png is only $size bytes"
    cmp -s "$work/heat.csv" "$work/gen.csv" && ok || bad "the CSV written beside the plot differs"
    expect_status 0 "profile --plot svg" "$FFNSKIP" profile -p "Hi" -n 6 $skipargs --plot "$work/heat.svg" -t 2
    grep -q "<svg" "$work/heat.svg" && ok || bad "heat.svg is not an SVG"
else
    echo "profile: gnuplot not installed (Debian's gnuplot-nox): plot checks skipped"
fi

echo "profile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
