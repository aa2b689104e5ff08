#!/bin/sh
# cli.sh: the ffnskip program's help, version, exit statuses and the FSK_ISA override.
set -u
FFNSKIP=${FFNSKIP:-./ffnskip}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_status() { # want_status description command...
    want=$1 what=$2; shift 2
    "$@" >cli.out 2>cli.err; got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, want $want"; cat cli.err; fi
}

expect_status 0 "--help" $FFNSKIP --help
grep -q "Usage:" cli.out && ok || bad "--help prints no usage"
expect_status 0 "--version" $FFNSKIP --version
grep -q "^ffnskip [0-9]" cli.out && ok || bad "--version prints no version"
expect_status 2 "no command" $FFNSKIP
expect_status 2 "unknown command" $FFNSKIP frobnicate
grep -q "unknown command 'frobnicate'" cli.err && ok || bad "unknown command not named"
for cmd in run chat info selftest; do
    expect_status 0 "$cmd --help" $FFNSKIP $cmd --help
    grep -q "Usage: ffnskip $cmd" cli.out && ok || bad "$cmd --help prints no usage"
done
expect_status 2 "selftest with a stray argument" $FFNSKIP selftest stray
expect_status 2 "info with two models" $FFNSKIP info a.gguf b.gguf
expect_status 3 "info on a missing model" $FFNSKIP info /nonexistent/m.gguf
grep -q "/nonexistent/m.gguf" cli.err && ok || bad "missing model not named"
for args in "-n" "-n -1" "-n abc" "-t 0" "-t 100000" "--temp nan" "--top-p 0" "--frobnicate" "-p"; do
    expect_status 2 "run $args" $FFNSKIP run -p hi $args
done
expect_status 2 "run without a prompt" $FFNSKIP run -m /nonexistent.gguf
expect_status 2 "run with both -p and -f" $FFNSKIP run -p a -f b
expect_status 3 "run -f on a missing file" $FFNSKIP run -f /nonexistent/prompt.txt
expect_status 3 "run on a missing model" $FFNSKIP run -m /nonexistent/m.gguf -p hi
printf 'not a gguf file at all' > cli.bad
expect_status 3 "run on a non-GGUF file" $FFNSKIP run -m cli.bad -p hi
grep -q "cli.bad" cli.err && ok || bad "bad model file not named"
rm -f cli.bad
expect_status 0 "info" $FFNSKIP info
grep -q "matvec_f32" cli.out && ok || bad "info does not list the kernels"
expect_status 0 "FSK_ISA=ref info" env FSK_ISA=ref $FFNSKIP info
grep -q "forced by FSK_ISA=ref" cli.out && ok || bad "FSK_ISA=ref not reported"
grep -q "dot_f32 *avx" cli.out && bad "FSK_ISA=ref still chose avx" || ok
expect_status 0 "FSK_ISA=ref selftest" env FSK_ISA=ref $FFNSKIP selftest
expect_status 1 "FSK_ISA=bogus" env FSK_ISA=bogus $FFNSKIP selftest
grep -q "FSK_ISA=bogus" cli.err && ok || bad "bogus ISA not named"
case $(uname -m) in
    x86_64) foreign=neon ;;
    *) foreign=avx2 ;;
esac
expect_status 1 "FSK_ISA=$foreign (foreign ISA)" env FSK_ISA=$foreign $FFNSKIP selftest
grep -q "cannot be used here" cli.err && ok || bad "foreign ISA gives no clear error"
expect_status 0 "selftest" $FFNSKIP selftest
# FSK_CPU_OFF masks features at detection: the masked one leaves the feature list, and the
# variant that needs it is refused with the reason
case $(uname -m) in
    x86_64) feat=avx2 isa=avx2 ;;
    aarch64) feat=neon isa=neon ;;
    *) feat= ;;
esac
if [ -n "$feat" ]; then
    expect_status 0 "FSK_CPU_OFF=bogus,$feat info" env FSK_CPU_OFF=bogus,$feat $FFNSKIP info
    grep -q "^FSK_CPU_OFF: not feature names, ignored: bogus$" cli.out && ok || bad "FSK_CPU_OFF=bogus not named as unknown"
    grep "^features:" cli.out | grep -qw "$feat" && bad "FSK_CPU_OFF=$feat left $feat in the features" || ok
    grep -q "^  $isa *not usable: the CPU lacks" cli.out && ok || bad "FSK_CPU_OFF=$feat: $isa not refused"
    expect_status 0 "FSK_CPU_OFF=$feat selftest" env FSK_CPU_OFF=$feat $FFNSKIP selftest
fi
# info names the path of a kernel that picks one per call, and FSK_CPU_OFF moves it
$FFNSKIP info >cli.out 2>&1
if [ "$(uname -m)" = x86_64 ] && grep -q "^  avx2 *usable" cli.out; then
    vnni=no
    grep "^features:" cli.out | grep -qwE "avx512vnni|avxvnni" && vnni=yes
    expect_status 0 "info, VNNI off" env FSK_CPU_OFF=avx512vnni,avxvnni $FFNSKIP info
    grep -q "^  matvec_q8_0_r8 avx2 (maddubs)" cli.out && ok || bad "info: no maddubs path with VNNI off"
    expect_status 0 "info" $FFNSKIP info
    if [ "$vnni" = yes ]; then
        grep -q "^  matvec_q8_0_r8 avx2 (vpdpbusd" cli.out && ok || bad "info: the CPU has VNNI, no vpdpbusd path named"
    fi
    # the repacked matmuls name their AMX front where the CPU has AMX-INT8, and not once it is off
    if grep "^features:" cli.out | grep -qw "amx-int8"; then
        grep -q "^  matmul_q8_0_r8 avx2 (AMX-INT8 from 16 tokens" cli.out && ok || bad "info: AMX-INT8 not named"
        expect_status 0 "info, AMX off" env FSK_CPU_OFF=amx-int8 $FFNSKIP info
        grep -q "^  matmul_q8_0_r8 avx2 (AMX" cli.out && bad "info: AMX named with FSK_CPU_OFF=amx-int8" || ok
    fi
fi

rm -f cli.out cli.err
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
