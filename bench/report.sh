#!/bin/sh
# report.sh: how rapt report scales: the time, memory and output size for a synthetic run of N
# jobs (default 100 000), and the time headless Chromium takes to render the HTML page.
#
#   bench/report.sh [path/to/rapt] [N]
#
# The events come from tests/helpers/rapt-gen-events (built next to rapt in the same tree).
# There is no peer to compare against: other runners write no such report. The figures go to
# docs/report.md; the 5 MB bound itself is asserted in tests/e2e/report.bats.
set -eu
RAPT=${1:-build/release/src/rapt}
N=${2:-100000}
GEN=$(dirname "$RAPT")/../tests/rapt-gen-events
[ -x "$GEN" ] || { echo "report.sh: $GEN not built (build the tests)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rapt-bench-report.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

t0=$(now)
"$GEN" synthetic "$N" > "$work/events.jsonl"
t1=$(now)
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$work/rss" "$RAPT" report -q -o "$work/r.html" \
        --summary "$work/s.json" "$work/events.jsonl"
else
    "$RAPT" report -q -o "$work/r.html" --summary "$work/s.json" "$work/events.jsonl"
    echo '?' > "$work/rss"
fi
t2=$(now)
attempts=$(grep -o '"attempts": [0-9]*' "$work/s.json" | head -1 | grep -o '[0-9]*$')
printf 'jobs                 %s (%s attempts)\n' "$N" "$attempts"
printf 'events               %s bytes, written in %s s\n' "$(stat -c %s "$work/events.jsonl")" "$(secs "$t0" "$t1")"
printf 'rapt report          %s s, max RSS %s KiB\n' "$(secs "$t1" "$t2")" "$(cat "$work/rss")"
printf 'HTML report          %s bytes (bound: 5000000)\n' "$(stat -c %s "$work/r.html")"
printf 'JSON summary         %s bytes\n' "$(stat -c %s "$work/s.json")"
if command -v chromium >/dev/null 2>&1; then
    profile=$(mktemp -d "$work/profile.XXXXXX")
    t3=$(now)
    timeout 300 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage \
        --user-data-dir="$profile" --window-size=1280,3000 --screenshot="$work/r.png" \
        "file://$work/r.html" >/dev/null 2>&1
    t4=$(now)
    printf 'chromium screenshot  %s s (start-up included)\n' "$(secs "$t3" "$t4")"
fi
