#!/bin/sh
# demo.sh: rapt on a bundled example. Shows what rapt detects on this machine and plans how
# many jobs of an example workload fit, from a per-job size and from the inputs' sizes; then
# runs a small batch over the example files with `rapt run` and shows what each job used.
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

# A real run: each job "decodes" a slice of its clip (sorts 1/16 of it, in memory), so its peak
# memory follows the input's size. rapt measures every job's whole process tree.
cmd='head -c $(( $(stat -c %s {}) / 16 )) {} | sort | wc -c'
say "rapt run -j2 -k --tag --joblog jobs.tsv --events events.jsonl '$cmd' ::: clip-*"
(cd "$work" && "$RAPT" run -j2 -k --tag --joblog jobs.tsv --events events.jsonl "$cmd" \
    ::: clip-*)

say "what each job used (from events.jsonl; the joblog is GNU parallel's jobs.tsv)"
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
printf '%-4s %-14s %10s %12s  %s\n' job input wall peak measured-by
grep '"event":"job_end"' "$work/events.jsonl" | while read -r line; do
    seq=$(echo "$line" | field seq)
    wall=$(echo "$line" | field wall_s)
    peak=$(echo "$line" | field peak_bytes)
    how=$(echo "$line" | field peak_method)
    arg=$(echo "$line" | sed -n 's/.*"cmd":"[^"]*stat -c %s \([^)]*\)).*/\1/p')
    printf '%-4s %-14s %9.2fs %8s MiB  %s\n' "$seq" "$arg" "$wall" \
        "$(awk -v b="$peak" 'BEGIN { printf "%.1f", b / 1048576 }')" "$how"
done | sort -n
