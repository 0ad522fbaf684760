#!/bin/sh
# deps.sh: installs the Debian packages rapt needs, and only those that are missing.
#
#   scripts/deps.sh [build|test|bench|all]...     (default: build)
#
# As root it runs apt-get (updating the package lists once if an install fails); otherwise it
# prints the apt-get command to run and exits 1. Safe to run any number of times.
set -eu

pkgs_build="cmake ninja-build gcc make pkg-config libsqlite3-dev libjansson-dev nettle-dev"
pkgs_test="check bats jq strace util-linux sqlite3 tmux binutils valgrind"
pkgs_test="$pkgs_test parallel procps" # rapt run: GNU parallel for the compatibility suite, ps
pkgs_bench="hyperfine parallel stress-ng findutils libglib2.0-dev libomp-dev time"
pkgs_browser="chromium"

want=""
[ $# -eq 0 ] && set -- build
for group in "$@"; do
    case "$group" in
    build) want="$want $pkgs_build" ;;
    test) want="$want $pkgs_build $pkgs_test $pkgs_browser" ;;
    bench) want="$want $pkgs_build $pkgs_bench" ;;
    all) want="$want $pkgs_build $pkgs_test $pkgs_bench $pkgs_browser" ;;
    *) echo "deps.sh: unknown group '$group' (build, test, bench, all)" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    case " $missing " in *" $p "*) continue ;; esac
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "rapt needs these Debian packages; as root, run:" >&2
    echo "  apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
fi
