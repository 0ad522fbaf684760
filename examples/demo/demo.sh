#!/bin/sh
# demo.sh: rapt on a bundled example. Shows what rapt detects on this machine and plans how
# many jobs of an example workload fit, from a per-job size and from the inputs' sizes; then
# the main job: a batch of memory-hungry jobs (examples/demo/batch.txt) run by `rapt run` with
# no hint at all, inside a 384 MiB memory cgroup when root (the machine's own limits
# otherwise), and a summary of what rapt admitted, protected and recovered.
#
#   examples/demo/demo.sh [path/to/rapt]
set -eu
RAPT=${1:-build/release/src/rapt}
case "$RAPT" in /*) ;; */*) RAPT="$(pwd)/$RAPT" ;; esac
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rapt-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The example inputs: files of the sizes listed in inputs.txt (created sparse, so they cost no
# disk), standing for a batch of media files to convert.
while read -r name size; do
    case "$name" in '#'*|'') continue ;; esac
    truncate -s "$size" "$work/$name"
done < "$here/inputs.txt"

if [ -t 1 ]; then bold='\033[1m' plain='\033[0m'; else bold='' plain=''; fi
say() { printf "\n${bold}\$ %s${plain}\n" "$*"; }

say "rapt info"
"$RAPT" info

say "rapt plan --mem-per-job 150M --cpus-per-job 2 --max 5   # min(free // 150MB, cpus // 2, 5)"
"$RAPT" plan --mem-per-job 150M --cpus-per-job 2 --max 5

say "rapt plan --gamma 3 --overhead 50M $(sed -n '/^[^#]/{s/ .*//;p}' "$here/inputs.txt" | head -3 | tr '\n' ' ')..."
(cd "$work" && "$RAPT" plan --gamma 3 --overhead 50M -- *)

say "rapt plan --gamma 3 --overhead 50M --limit 6G ...   # the same batch in a 6 GiB container"
(cd "$work" && "$RAPT" plan --gamma 3 --overhead 50M --limit 6G -- *)

# The main job. Each line of batch.txt is a job that ramps up to its peak memory and holds it
# (bench/memwall/memjob); together they need far more than the cgroup has, one or two of them
# alone nearly fill it, and rapt is told nothing about them.
memjob=$(cd "$(dirname "$RAPT")/../bench/memwall" 2>/dev/null && pwd)/memjob
[ -x "$memjob" ] || { echo "demo.sh: bench/memwall/memjob is not built next to $RAPT" >&2; exit 1; }
export MEMJOB_DONE="$work/done"
mkdir -p "$MEMJOB_DONE"
scale=1
cg=''
if [ "$(id -u)" -eq 0 ]; then
    mine=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
    if [ -n "$mine" ] && [ -w "/sys/fs/cgroup/memory$mine" ]; then
        cg="/sys/fs/cgroup/memory$mine/rapt-demo-$$"
        mkdir "$cg" && echo $((384 * 1024 * 1024)) > "$cg/memory.limit_in_bytes" || cg=''
    elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
        cg="/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/rapt-demo-$$"
        mkdir "$cg" && echo $((384 * 1024 * 1024)) > "$cg/memory.max" || cg=''
    fi
fi
if [ -n "$cg" ]; then
    trap 'xargs -r kill -9 < "$cg/cgroup.procs" 2>/dev/null; rmdir "$cg" 2>/dev/null; rm -rf "$work"' EXIT
    where="a 384 MiB memory cgroup ($cg)"
    in_cg() { sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$@"; }
else
    # Not root: the machine's own limits. Scale the jobs down so they stay a small part of it.
    where="this machine's own limits (run as root for a 384 MiB cgroup)"
    scale=4
    in_cg() { "$@"; }
fi
awk -v s="$scale" '!/^#/ && NF { printf "%s %d %s sleep\n", $1, $2 / s, $3 }' \
    "$here/batch.txt" > "$work/batch"
total=$(awk '{ m += $2 } END { print m }' "$work/batch")
big=$(sort -k2,2nr "$work/batch" | head -1 | awk '{ print $2 }')
njobs=$(wc -l < "$work/batch")
printf '\n%d jobs of %s MiB in all, the largest %d MiB, in %s; rapt is given no hint.\n' \
    "$njobs" "$total" "$big" "$where"
progress=''
[ -t 2 ] && progress=--bar
say "rapt run $progress --colsep ' ' --events events.jsonl --joblog jobs.tsv memjob {1} {2} {3} {4} < batch"
(cd "$work" && in_cg "$RAPT" run $progress --colsep ' ' --events events.jsonl \
    --joblog jobs.tsv "$memjob" '{1}' '{2}' '{3}' '{4}' < batch) || true

say "what rapt did (from events.jsonl)"
ev="$work/events.jsonl"
count() { grep -c "$1" "$ev" || true; }
done_jobs=$(find "$MEMJOB_DONE" -type f | wc -l)
printf '  %-34s %s of %s\n' "jobs finished" "$done_jobs" "$njobs"
printf '  %-34s %s\n' "admission waits for memory" "$(count '"action":"wait","why":"memory"')"
printf '  %-34s %s\n' "jobs requeued to protect memory" "$(count '"event":"protect","[^}]*"action":"requeue"')"
printf '  %-34s %s\n' "attempts the OOM killer ended" "$(count '"event":"job_end".*"reason":"oom"')"
printf '  %-34s %s\n' "  ... and run again" "$(count '"event":"job_retry".*"reason":"oom"')"
printf '  %-34s %s\n' "jobs lost" "$((njobs - done_jobs))"
if [ -n "$cg" ]; then
    peak=$(cat "$cg/memory.max_usage_in_bytes" 2>/dev/null || cat "$cg/memory.peak" 2>/dev/null || echo 0)
    printf '  %-34s %d MiB of 384 MiB\n' "peak memory of the cgroup" $((peak / 1048576))
fi
printf '\n  %-5s %8s %8s  %s\n' job peak wall how
grep '"event":"job_end"' "$ev" | sed -n 's/.*"seq":\([0-9]*\).*"wall_s":\([0-9.]*\).*"peak_bytes":\([0-9]*\).*"reason":"\([a-z]*\)".*/\1 \3 \2 \4/p' |
    awk '{ printf "  %-5s %5d MiB %7.1fs  %s\n", $1, $2 / 1048576, $3, ($4 == "exit" ? "finished" : $4 == "memory" ? "requeued (memory)" : $4 == "oom" ? "OOM-killed, run again" : $4) }'

say "rapt report events.jsonl"
"$RAPT" report "$ev" || true
