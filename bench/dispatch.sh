#!/bin/sh
# dispatch.sh: what it costs to start a job. 2000 x /bin/true, 2 at a time, in interleaved
# rounds (so background load hits every tool alike) of:
#   rapt run -j2       with accounting on: per-slot memory cgroups where rapt can make them
#                      (root here), /proc sampling otherwise - the method is printed
#   xargs -P2 -n1      the usual fast runner
#   parallel -j2       GNU parallel
#   spawnfloor         a bare posix_spawn loop (bench/spawnfloor.c): the floor
# Prints each tool's median ms per job over the rounds and the ratios the issue asks for.
#
#   bench/dispatch.sh [path/to/rapt] [rounds]      (defaults: build/release/src/rapt, 7)
# SPAWNFLOOR=path overrides where the floor binary is (default: next to rapt's build).
set -eu
RAPT=${1:-build/release/src/rapt}
ROUNDS=${2:-7}
N=2000
case "$RAPT" in /*) ;; *) RAPT="$(pwd)/$RAPT" ;; esac
FLOOR=${SPAWNFLOOR:-$(dirname "$RAPT")/../bench/spawnfloor}
[ -x "$RAPT" ] || { echo "dispatch.sh: no rapt at $RAPT (build first)" >&2; exit 2; }
[ -x "$FLOOR" ] || { echo "dispatch.sh: no spawnfloor at $FLOOR (build first)" >&2; exit 2; }
TRUE=/bin/true
work=$(mktemp -d "${TMPDIR:-/tmp}/rapt-dispatch.XXXXXX")
trap 'rm -rf "$work"' EXIT
seq "$N" > "$work/input"
have_parallel=0
command -v parallel >/dev/null 2>&1 && have_parallel=1

now() { date +%s%N; }

# time_ns TOOL: one timed round of TOOL, appended to $work/TOOL.
time_ns() {
    t0=$(now)
    case "$1" in
    rapt) "$RAPT" run -j2 "$TRUE" < "$work/input" ;;
    xargs) xargs -P2 -n1 "$TRUE" < "$work/input" ;;
    parallel) HOME="$work" parallel --will-cite -j2 "$TRUE" < "$work/input" ;;
    floor) "$FLOOR" "$N" 2 "$TRUE" ;;
    esac
    t1=$(now)
    echo $((t1 - t0)) >> "$work/$1"
}

# How rapt measures jobs here (accounting stays on in the timed rounds too).
"$RAPT" run -j2 --events "$work/ev" "$TRUE" ::: 1 2
measure=$(sed -n 's/.*"event":"run_start".*"measure":"\([^"]*\)".*/\1/p' "$work/ev")

tools="floor rapt xargs"
[ "$have_parallel" = 1 ] && tools="$tools parallel"
# One warm-up round of each (page cache, binaries), not counted.
for t in $tools; do time_ns "$t"; rm -f "$work/$t"; done
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for t in $tools; do time_ns "$t"; done
    r=$((r + 1))
done

# median TOOL: the median of its rounds, in ms per job.
median() {
    sort -n "$work/$1" | awk -v n="$N" '{ v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
              printf "%.3f", m / n / 1e6 }'
}
floor=$(median floor)
rapt=$(median rapt)
xargs=$(median xargs)
printf 'dispatch: %d x %s, 2 at a time, median of %d interleaved rounds (load %s)\n' \
    "$N" "$TRUE" "$ROUNDS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-22s %8s ms/job\n' "spawn floor" "$floor"
printf '  %-22s %8s ms/job   accounting: %s\n' "rapt run -j2" "$rapt" "$measure"
printf '  %-22s %8s ms/job\n' "xargs -P2 -n1" "$xargs"
if [ "$have_parallel" = 1 ]; then
    parallel=$(median parallel)
    printf '  %-22s %8s ms/job\n' "parallel -j2" "$parallel"
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf 'ratios: rapt/xargs %s (target <= 1.0)   rapt/floor %s (target <= 1.3)' \
    "$(ratio "$rapt" "$xargs")" "$(ratio "$rapt" "$floor")"
if [ "$have_parallel" = 1 ]; then
    printf '   parallel/rapt %s (target >= 5)' "$(ratio "$parallel" "$rapt")"
fi
printf '\n'
