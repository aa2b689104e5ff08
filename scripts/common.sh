# common.sh: shared steps of the quick-start scripts (sourced, not run): packages, bootstrap, build.

FSK_ROOT=$(cd "$(dirname "$0")/.." && pwd)
FSK_BUILD=${FSK_BUILD:-$FSK_ROOT/build}
FSK_JOBS=${FSK_JOBS:-$(nproc 2>/dev/null || echo 2)}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the Debian packages named, when any is missing (root: apt-get; otherwise says what to run).
need_packages() {
    missing=
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing Debian packages:$missing (install them as root)"
        SUDO=sudo
    else
        SUDO=
    fi
    say "installing Debian packages:$missing"
    $SUDO apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing \
        >/dev/null || die "apt-get install failed for:$missing"
}

BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config libsleef-dev libhwloc-dev check python3"

# Bootstraps autotools (when configure is missing or older than its inputs) and builds out of tree.
build_tree() {
    cd "$FSK_ROOT" || die "cannot enter $FSK_ROOT"
    if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
        say "bootstrapping autotools"
        autoreconf -fi >/dev/null || die "autoreconf failed"
    fi
    mkdir -p "$FSK_BUILD" && cd "$FSK_BUILD" || die "cannot create $FSK_BUILD"
    if [ ! -f Makefile ] || [ "$FSK_ROOT/configure" -nt config.status ]; then
        say "configuring in $FSK_BUILD"
        "$FSK_ROOT/configure" -q ${FSK_CONFIGURE_FLAGS:-} || die "configure failed (see $FSK_BUILD/config.log)"
    fi
    say "building"
    make -s -j"$FSK_JOBS" >/dev/null || make -j1 || die "build failed"
}
