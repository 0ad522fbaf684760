#!/bin/sh
# pool.sh: tiny-task throughput of rapt's pool vs GLib GThreadPool and OpenMP tasks, 2 threads.
#   bench/pool.sh [path/to/rapt]      (the benchmark binaries sit in the build tree beside it)
# Environment: TASKS (default 1000000), THREADS (2), ROUNDS (5).
set -eu
RAPT=${1:-build/release/src/rapt}
bin="$(dirname "$RAPT")/../bench/rapt-bench-pool"
if [ ! -x "$bin" ]; then
    echo "pool.sh: $bin not built (needs GLib and OpenMP: scripts/deps.sh bench)" >&2
    exit 1
fi
exec "$bin" -n "${TASKS:-1000000}" -t "${THREADS:-2}" -r "${ROUNDS:-5}"
