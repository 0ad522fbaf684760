#!/bin/sh
# pool.sh: tiny-task throughput of rapt's pool vs GLib GThreadPool and OpenMP tasks, 2 threads.
#   bench/pool.sh [path/to/rapt]      (the benchmark binaries sit in the build tree beside it)
# Environment: TASKS (default 1000000), THREADS (2), ROUNDS (7).
#
# Two tables. First, each round runs every peer once, each in a fresh process after one
# unmeasured warm-up run (rapt-bench-pool -o PEER), in an order that rotates from round to
# round: each peer's median and the ratios of the medians. Second, all peers alternate inside
# one process (rapt-bench-pool -r ROUNDS). The two disagree about OpenMP: libgomp runs a task
# in the creating thread when 64 per thread are queued, and how often that happens depends on
# whether its second thread is awake, which depends on what ran before it in the process
# (measured here: 18 ns/task inline-heavy, 40-110 ns/task otherwise). Both are printed so the
# comparison is not hostage to one. See bench/pool_throughput.c for what each line measures.
set -eu
RAPT=${1:-build/release/src/rapt}
bin="$(dirname "$RAPT")/../bench/rapt-bench-pool"
if [ ! -x "$bin" ]; then
    echo "pool.sh: $bin not built (needs GLib and OpenMP: scripts/deps.sh bench)" >&2
    exit 1
fi
TASKS=${TASKS:-1000000}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-7}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    for k in 0 1 2 3 4; do
        peer=$(( (k + r) % 5 ))
        echo "$peer $("$bin" -n "$TASKS" -t "$THREADS" -r 1 -o "$peer" -q)" >> "$out"
    done
    r=$((r + 1))
done
echo "tiny tasks: $TASKS tasks, $THREADS worker threads, median of $ROUNDS rounds (one process per run)"
sort -n -k1,1 -k2,2n "$out" | awk -v tasks="$TASKS" '
    { v[$1, n[$1]++] = $2 }
    END {
        split("rapt pool (defaults)|rapt pool (all timed)|rapt pool (caller-runs)|GLib GThreadPool|OpenMP tasks (libgomp)", name, "|")
        for (p = 0; p < 5; p++) {
            c = n[p]; m[p] = c % 2 ? v[p, int(c / 2)] : (v[p, c / 2 - 1] + v[p, c / 2]) / 2
            printf "  %-26s %12.0f tasks/s  %7.1f ns/task  (range %.1f-%.1f)\n", name[p + 1], 1e9 / m[p], m[p], v[p, 0], v[p, c - 1]
        }
        print "ratios (rapt / peer; targets: >= 4 vs GThreadPool, >= 0.5 vs OpenMP tasks)"
        for (p = 0; p < 3; p++)
            printf "  %-26s %6.2fx GThreadPool   %6.2fx OpenMP\n", name[p + 1], m[3] / m[p], m[4] / m[p]
    }'
echo
echo "same, all peers alternating in one process:"
"$bin" -n "$TASKS" -t "$THREADS" -r "$ROUNDS" | tail -n +2
