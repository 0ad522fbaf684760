#!/bin/sh
# run-all.sh: runs every benchmark in bench/ (each prints its own ratios against the peers).
#   bench/run-all.sh [path/to/rapt]
set -eu
RAPT=${1:-build/release/src/rapt}
here=$(cd "$(dirname "$0")" && pwd)
found=0
for b in "$here"/*.sh; do
    [ "$(basename "$b")" = run-all.sh ] && continue
    found=1
    echo "== $(basename "$b") =="
    "$b" "$RAPT"
done
[ "$found" -eq 1 ] || echo "no benchmarks yet"
