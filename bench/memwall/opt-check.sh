#!/bin/sh
# opt-check.sh GEN OPT: a smoke test of memwall-opt. For each distribution, the plan it finds
# must lie between the memory-time lower bound and running the jobs one after another, the
# local search must never make the plan worse, and a job larger than the cap must be refused.
set -eu
gen=$1 opt=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/opt-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for dist in uniform heavy bimodal; do
    "$gen" --dist "$dist" --jobs 30 --seed 7 > "$tmp/wl"
    "$opt" --cap 435.2 --iterations 200 "$tmp/wl" > "$tmp/out"
    awk -v cap=435.2 -v d="$dist" '
        NR == FNR { n++; area += 0.75 * $2 * $3; serial += $3; if ($3 > longest) longest = $3; next }
        $1 == "start" { start = $2 } $1 == "best" { best = $2 }
        END {
            lower = area / cap; if (longest > lower) lower = longest
            # (cells are 20 ms and every job is rounded up to whole cells: allow 20 ms a job)
            if (best < lower - 1e-9 || best > start || start > serial + 0.02 * n) {
                printf "%s: bound %.2f, start %.2f, best %.2f, serial %.2f\n", d, lower, start, best, serial
                exit 1
            }
            printf "%s: bound %.2f <= best %.2f <= start %.2f <= serial %.2f\n", d, lower, best, start, serial
        }' "$tmp/wl" "$tmp/out"
done
# A job that cannot fit the cap at all has no schedule: exit 2 and a message.
echo "1 500 1.0 sleep" > "$tmp/big"
if "$opt" --cap 435.2 "$tmp/big" > /dev/null 2> "$tmp/err"; then
    echo "a job larger than the cap was scheduled"; exit 1
fi
grep -q "larger than the cap" "$tmp/err"
echo ok
