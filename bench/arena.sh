#!/bin/sh
# arena.sh: rapt's arena vs glibc malloc on a churning working set and on allocate-then-reset.
#   bench/arena.sh [path/to/rapt]      (the benchmark binaries sit in the build tree beside it)
# Environment: OPS (default 2000000), LIVE (4096), ROUNDS (5).
set -eu
RAPT=${1:-build/release/src/rapt}
bin="$(dirname "$RAPT")/../bench/rapt-bench-arena"
[ -x "$bin" ] || { echo "arena.sh: $bin not built" >&2; exit 1; }
exec "$bin" -n "${OPS:-2000000}" -l "${LIVE:-4096}" -r "${ROUNDS:-5}"
