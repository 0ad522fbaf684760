#!/bin/bash
# memwall.sh: jobs of very different memory needs in a memory-limited cgroup, under rapt and
# the usual runners, side by side.
#
#   bench/memwall.sh [RAPT] [options]
#     --dist LIST      distributions to run: uniform,heavy,bimodal (default: all three)
#     --mode MODE      sleep (I/O-bound jobs, default) or cpu (CPU-bound jobs)
#     --limit SIZE     memory limit of the cgroup (default 512M)
#     --cpu-quota Q    also limit the cgroup to Q CPUs (e.g. 0.1; default: no quota)
#     --jobs N         jobs per workload (default 60)
#     --min/--max MIB  peak memory range (default 20..360)
#     --dur-min/--dur-max S   duration range (default 1..3 s)
#     --runners LIST   subset of: rapt,rapt-hint,rapt-wrong,rapt-2nd,rapt-2nd-pack,xargs2,
#                      xargs8,parallel,parallel-retries,static
#     --seed N         workload seed (default 1)
#
# Needs root (it creates v1 memory/cpu cgroups, or v2 ones where the controllers are
# available) and GNU parallel for the parallel rows. Each runner gets a fresh cgroup; the
# table gives wall time, jobs that finished, kernel OOM kills, peak memory of the cgroup and
# the ratio to two lower bounds on the makespan:
#     bound = max(sum(0.75 x peak x duration) / limit,   (memory-time area; a job ramps to
#                                                          its peak over its first half)
#                 sum(CPU seconds) / CPUs,
#                 the longest job)
#     tight = max(bound, sum over the jobs larger than half the limit of the time each
#                 spends above half the limit, duration x (1 - limit / (4 x peak)))
#             (no two jobs can be above half the limit at once; a job ramping up can overlap
#             another's plateau, so counting whole durations would not be a bound)
# Both are true lower bounds: no runner can do better. "tight" is the stronger one.
# Three "plan" rows precede the runners: the makespan of a clairvoyant schedule that knows
# every job's peak, duration and ramp in advance (bench/memwall/memwall-opt), within the
# default budget of 0.85 x the limit, at the full limit, and reserving each peak x 1.1 for the
# whole job. They are targets an offline planner reaches, not bounds.
# Rows: rapt without hints (what it learns within the run), rapt hint with an exact per-job
# hint (each job gets a sparse file as large as its peak and --mem-model 1,0), rapt hint/2
# with a hint of half the real peak (--mem-model 0.5,0), rapt 2nd: the second of two runs that
# share one --history file (the first, in a cgroup of its own, is not shown; it is the "rapt"
# row again), rapt 2nd pack: the same with --order pack (the largest predicted peak that fits
# first), xargs, GNU parallel with --memfree (and --retries 5), and "static": the best safe
# fixed -j, the largest j whose j largest jobs fit the limit together. The other rapt rows run
# with --no-history, so that no earlier run of this script teaches them anything.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
RAPT=${RAPT:-$top/build/release/src/rapt}
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then RAPT=$1; shift; fi
case "$RAPT" in /*) ;; *) RAPT="$(pwd)/$RAPT" ;; esac
bindir=$(dirname "$(dirname "$RAPT")")/bench/memwall
MEMJOB=$bindir/memjob
GEN=$bindir/memwall-gen
OPT=$bindir/memwall-opt

dists="uniform heavy bimodal" mode=sleep limit=512M quota="" jobs=60 mmin=20 mmax=360
dmin=1 dmax=3 seed=1 runners="rapt,rapt-hint,rapt-wrong,rapt-2nd,rapt-2nd-pack,xargs2,xargs8,parallel,parallel-retries,static"
while [ $# -gt 0 ]; do
    case "$1" in
    --dist) dists=${2//,/ }; shift ;;
    --mode) mode=$2; shift ;;
    --limit) limit=$2; shift ;;
    --cpu-quota) quota=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --min) mmin=$2; shift ;;
    --max) mmax=$2; shift ;;
    --dur-min) dmin=$2; shift ;;
    --dur-max) dmax=$2; shift ;;
    --runners) runners=$2; shift ;;
    --seed) seed=$2; shift ;;
    *) echo "memwall.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

[ "$(id -u)" -eq 0 ] || { echo "memwall.sh: needs root to create cgroups" >&2; exit 2; }
[ -x "$MEMJOB" ] && [ -x "$GEN" ] || { echo "memwall.sh: build first (missing $MEMJOB)" >&2; exit 2; }
limit_bytes=$(numfmt --from=iec "${limit%iB}") || { echo "memwall.sh: bad --limit $limit" >&2; exit 2; }

# ---- cgroups ----------------------------------------------------------------------------
if [ -w /sys/fs/cgroup/memory ]; then
    cgv=1
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    cgv=2
else
    echo "memwall.sh: no writable memory cgroup controller" >&2; exit 2
fi

# make_cg NAME: creates the cgroup(s), prints the cgroup.procs files to join.
make_cg() {
    local n=$1
    if [ $cgv = 1 ]; then
        mkdir "/sys/fs/cgroup/memory/$n"
        echo "$limit_bytes" > "/sys/fs/cgroup/memory/$n/memory.limit_in_bytes"
        local procs="/sys/fs/cgroup/memory/$n/cgroup.procs"
        if [ -n "$quota" ]; then
            mkdir "/sys/fs/cgroup/cpu/$n"
            echo 100000 > "/sys/fs/cgroup/cpu/$n/cpu.cfs_period_us"
            awk -v q="$quota" 'BEGIN { printf "%d\n", q * 100000 }' > "/sys/fs/cgroup/cpu/$n/cpu.cfs_quota_us"
            procs="$procs /sys/fs/cgroup/cpu/$n/cgroup.procs"
        fi
        echo "$procs"
    else
        mkdir "/sys/fs/cgroup/$n"
        echo "$limit_bytes" > "/sys/fs/cgroup/$n/memory.max"
        echo 0 > "/sys/fs/cgroup/$n/memory.swap.max" 2>/dev/null || true
        [ -n "$quota" ] && awk -v q="$quota" 'BEGIN { printf "%d 100000\n", q * 100000 }' > "/sys/fs/cgroup/$n/cpu.max"
        echo "/sys/fs/cgroup/$n/cgroup.procs"
    fi
}

# cg_stats NAME: prints "oom_kills peak_bytes".
cg_stats() {
    local n=$1
    if [ $cgv = 1 ]; then
        local d=/sys/fs/cgroup/memory/$n
        echo "$(awk '/^oom_kill /{print $2}' "$d/memory.oom_control") $(cat "$d/memory.max_usage_in_bytes")"
    else
        local d=/sys/fs/cgroup/$n
        echo "$(awk '/^oom_kill /{print $2}' "$d/memory.events") $(cat "$d/memory.peak" 2>/dev/null || echo 0)"
    fi
}

# kill_cg NAME: kills whatever is left and removes the cgroup(s).
kill_cg() {
    local n=$1 d
    for d in "/sys/fs/cgroup/memory/$n" "/sys/fs/cgroup/cpu/$n" "/sys/fs/cgroup/$n"; do
        [ -d "$d" ] || continue
        # (cgroup files report size 0, so test the content, not -s.)
        for _ in $(seq 50); do
            [ -n "$(cat "$d/cgroup.procs" 2>/dev/null)" ] || { rmdir "$d" 2>/dev/null && break; }
            xargs -r kill -9 < "$d/cgroup.procs" 2>/dev/null || true
            sleep 0.2
        done
    done
}

work=$(mktemp -d "${TMPDIR:-/tmp}/memwall.XXXXXX")
runs=0
cleanup() { for n in $(ls /sys/fs/cgroup/memory 2>/dev/null | grep "^memwall-$$-" || true); do kill_cg "$n"; done; rm -rf "$work"; }
trap cleanup EXIT

# ---- one runner on one workload -------------------------------------------------------------
# run_one ROW_NAME WORKLOAD COMMAND...: runs COMMAND with the workload on stdin inside a fresh
# cgroup and prints one table row. memjob marks finished jobs in $MEMJOB_DONE.
run_one() {
    local row=$1 wl=$2; shift 2
    local tag; tag=$(printf '%s' "$row" | tr -c 'A-Za-z0-9' '_')
    runs=$((runs + 1))
    local n="memwall-$$-$runs-$tag" done="$work/done-$tag"
    rm -rf "$done"; mkdir "$done"
    local procs; procs=$(make_cg "$n")
    local t0 t1
    t0=$(date +%s.%N)
    # The shell joins the cgroup(s), then becomes the runner; DONE is where memjob marks success.
    MEMJOB_DONE=$done timeout 1800 sh -c 'for p in $1; do echo $$ > "$p"; done; shift; exec "$@"' sh "$procs" "$@" \
        < "$wl" > "$work/out-$tag" 2> "$work/err-$tag" || true
    t1=$(date +%s.%N)
    local stats; stats=$(cg_stats "$n")
    kill_cg "$n"
    local ok; ok=$(find "$done" -type f | wc -l)
    local total; total=$(wc -l < "$wl")
    awk -v r="$row" -v t0="$t0" -v t1="$t1" -v ok="$ok" -v tot="$total" -v s="$stats" -v b="$bound" -v tb="$tight" '
        BEGIN { split(s, a, " "); w = t1 - t0;
                printf "  %-18s %8.1f s %5d/%-5d %6d %9.0f MiB %7.2fx %7.2fx\n", r, w, ok, tot, a[1], a[2] / 1048576, w / b, w / tb }'
}

# plan_row ROW_NAME MEMWALL-OPT-ARGS...: one table row for a clairvoyant schedule of the
# current workload ($wl).
plan_row() {
    local row=$1; shift
    local w; w=$("$OPT" "$@" "$wl" | awk '$1 == "best" { print $2 }') || true
    # (A job larger than the cap has no schedule; memwall-opt says so on stderr.)
    [ -n "$w" ] || return 0
    awk -v r="$row" -v w="$w" -v b="$bound" -v tb="$tight" \
        'BEGIN { printf "  %-18s %8.1f s %11s %6s %13s %7.2fx %7.2fx\n", r, w, "(plan)", "", "", w / b, w / tb }'
}

for dist in $dists; do
    wl="$work/$dist.txt"
    # Each line gets a fifth word: a sparse file as large as the job's peak (the per-job hint
    # for --mem-model; memjob ignores it).
    mkdir -p "$work/hint-$dist"
    "$GEN" --dist "$dist" --jobs "$jobs" --min "$mmin" --max "$mmax" --dur-min "$dmin" \
        --dur-max "$dmax" --mode "$mode" --seed "$seed" |
        while read -r id mib secs m; do
            truncate -s "${mib}M" "$work/hint-$dist/$id"
            echo "$id $mib $secs $m $work/hint-$dist/$id"
        done > "$wl"
    cpus=$("$RAPT" info --json | jq '.cpu.effective')
    [ -n "$quota" ] && cpus=$quota
    bound=$(awk -v lim="$limit_bytes" -v cpus="$cpus" -v mode="$mode" '
        { area += 0.75 * $2 * 1048576 * $3; cpu += (mode == "cpu") ? $3 : 0; if ($3 > longest) longest = $3 }
        END { b = area / lim; c = cpu / cpus; if (c > b) b = c; if (longest > b) b = longest; printf "%.3f\n", b }' "$wl")
    tight=$(awk -v b="$bound" -v lim="$limit_bytes" '
        { m = $2 * 1048576; if (m > lim / 2) big += $3 * (1 - lim / (4 * m)) }
        END { printf "%.3f\n", (big > b) ? big : b }' "$wl")
    # The best safe static -j: the largest j whose j largest peaks fit the limit together.
    static=$(sort -k2,2nr "$wl" | awk -v lim="$limit_bytes" '{ s += $2 * 1048576; if (s > lim) exit; j++ } END { print (j ? j : 1) }')
    printf '\n%s workload: %d %s jobs, %s..%s MiB, %s..%s s, limit %s%s; bounds %.1f s (area, CPU, longest) and %.1f s (tight); safe static -j %d\n' \
        "$dist" "$jobs" "$mode" "$mmin" "$mmax" "$dmin" "$dmax" "$limit" "${quota:+, $quota CPU}" "$bound" "$tight" "$static"
    printf '  %-18s %10s %11s %6s %13s %8s %8s\n' runner wall ok/total ooms peak vs-bound vs-tight
    # Clairvoyant schedules (bench/memwall/memwall-opt): what a planner that knows every job's
    # profile in advance achieves - within the default budget (0.85 x the limit), at the full
    # limit, and reserving each known peak x 1.1 from the start (what admission by predicted
    # peaks can reach). Achievable targets, not bounds; docs/memwall.md.
    if [ -x "$OPT" ]; then
        lim_mib=$(awk -v l="$limit_bytes" 'BEGIN { printf "%.3f", l / 1048576 }')
        bud_mib=$(awk -v l="$lim_mib" 'BEGIN { printf "%.3f", 0.85 * l }')
        plan_row "plan, budget" --cap "$bud_mib"
        plan_row "plan, full limit" --cap "$lim_mib"
        plan_row "plan, peaks x1.1" --cap "$bud_mib" --shape peak --margin 1.1
    fi
    for r in ${runners//,/ }; do
        case $r in
        rapt)
            "$RAPT" run --help >/dev/null 2>&1 || { printf '  %-18s (rapt run not built yet)\n' rapt; continue; }
            run_one rapt "$wl" "$RAPT" run --colsep ' ' --no-history ${RAPT_ARGS:-} "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' ;;
        rapt-hint)
            "$RAPT" run --help >/dev/null 2>&1 || continue
            run_one "rapt hint" "$wl" "$RAPT" run --colsep ' ' --no-history --mem-model 1,0 ${RAPT_ARGS:-} "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' ;;
        rapt-wrong)
            "$RAPT" run --help >/dev/null 2>&1 || continue
            run_one "rapt hint/2" "$wl" "$RAPT" run --colsep ' ' --no-history --mem-model 0.5,0 ${RAPT_ARGS:-} "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' ;;
        rapt-2nd)
            "$RAPT" run --help >/dev/null 2>&1 || continue
            hist="$work/history-$dist.db"
            rm -f "$hist" "$hist-wal" "$hist-shm"
            run_one "rapt 1st" "$wl" "$RAPT" run --colsep ' ' --history "$hist" ${RAPT_ARGS:-} "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' > /dev/null
            run_one "rapt 2nd" "$wl" "$RAPT" run --colsep ' ' --history "$hist" ${RAPT_ARGS:-} "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' ;;
        rapt-2nd-pack)
            "$RAPT" run --help >/dev/null 2>&1 || continue
            hist="$work/history-pack-$dist.db"
            rm -f "$hist" "$hist-wal" "$hist-shm"
            run_one "rapt 1st" "$wl" "$RAPT" run --colsep ' ' --history "$hist" ${RAPT_ARGS:-} "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' > /dev/null
            run_one "rapt 2nd pack" "$wl" "$RAPT" run --colsep ' ' --history "$hist" --order pack ${RAPT_ARGS:-} "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' ;;
        xargs2) run_one "xargs -P2" "$wl" xargs -P2 -L1 "$MEMJOB" ;;
        xargs8) run_one "xargs -P8" "$wl" xargs -P8 -L1 "$MEMJOB" ;;
        parallel)
            command -v parallel >/dev/null || continue
            run_one "parallel -j8 mf" "$wl" parallel -j8 --memfree 100M --colsep ' ' "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' ;;
        parallel-retries)
            command -v parallel >/dev/null || continue
            run_one "parallel mf+r5" "$wl" parallel -j8 --memfree 100M --retries 5 --colsep ' ' "$MEMJOB" '{1}' '{2}' '{3}' '{4}' '{5}' ;;
        static) run_one "xargs -P$static (safe)" "$wl" xargs -P"$static" -L1 "$MEMJOB" ;;
        *) echo "memwall.sh: unknown runner $r" >&2; exit 2 ;;
        esac
    done
done
