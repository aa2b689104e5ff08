#!/bin/sh
# example.sh: installs the library into a staging directory and builds examples/simple.c with
# nothing but the installed header and pkg-config, as a user of the package would; runs it on the
# default model when FSK_MODEL is set, else checks that it fails cleanly without one.
set -u
: "${abs_top_builddir:?}" "${abs_top_srcdir:?}"
stage=$(mktemp -d "${TMPDIR:-/tmp}/fsk-example.XXXXXX")
trap 'rm -rf "$stage"' EXIT
${MAKE:-make} -s -C "$abs_top_builddir" install DESTDIR="$stage" >"$stage/install.log" 2>&1 \
    || { cat "$stage/install.log"; echo "FAIL: make install DESTDIR"; exit 1; }
pcdir=$(find "$stage" -name ffnskip.pc -printf '%h\n' | head -n 1)
[ -n "$pcdir" ] || { echo "FAIL: ffnskip.pc not installed"; exit 1; }
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage"
flags=$(pkg-config --cflags --libs ffnskip) || { echo "FAIL: pkg-config ffnskip"; exit 1; }
${CC:-cc} -std=c11 -Wall -Werror -o "$stage/simple" "$abs_top_srcdir/examples/simple.c" $flags \
    || { echo "FAIL: examples/simple.c does not build against the installed library"; exit 1; }
libdir=$(dirname "$(find "$stage" -name 'libffnskip.so' | head -n 1)")
# only fsk_ symbols may be exported
leaked=$(nm -D --defined-only "$libdir/libffnskip.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^fsk_' | grep -v '^_' )
[ -z "$leaked" ] || { echo "FAIL: symbols exported without the fsk_ prefix: $leaked"; exit 1; }
if [ -n "${FSK_MODEL:-}" ] && [ -f "$FSK_MODEL" ]; then
    LD_LIBRARY_PATH="$libdir" "$stage/simple" "$FSK_MODEL" >"$stage/out" 2>&1 \
        || { cat "$stage/out"; echo "FAIL: simple exited non-zero"; exit 1; }
    cat "$stage/out"
    grep -q "generated\]" "$stage/out" || { echo "FAIL: no generation"; exit 1; }
    echo "example: 1 passed, 0 failed"
else
    LD_LIBRARY_PATH="$libdir" "$stage/simple" /nonexistent.gguf >"$stage/out" 2>&1
    st=$?
    [ "$st" -eq 1 ] && grep -q "nonexistent.gguf" "$stage/out" \
        || { cat "$stage/out"; echo "FAIL: a missing model gave status $st"; exit 1; }
    echo "SKIP: FSK_MODEL not set: built the example and checked its error path only"
    exit 77
fi
