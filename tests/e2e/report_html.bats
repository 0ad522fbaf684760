#!/usr/bin/env bats
# The HTML report in a real browser: Debian's headless Chromium opens it, takes a screenshot,
# and the test fails on any console message.
#
# How console errors are caught: Chromium run with --enable-logging=stderr prints every console
# message (script errors, SVG attribute errors such as a NaN coordinate, Content-Security-Policy
# violations) as a "CONSOLE" line on stderr. The report has no script at all, so any console
# message is a failure. Three pages with deliberate faults (a script error, a bad SVG attribute,
# an external image the report's CSP blocks) prove that the check sees them with the installed
# Chromium; without that proof a silent change of Chromium's log format would pass everything.
# This needs no DevTools client and no extra dependency.

load helpers

EV="$RAPT_FIXTURES/events"
GEN="$RAPT_BUILD_DIR/tests/rapt-gen-events"

setup_file() {
    export CHROMIUM
    CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
}

need_chromium() {
    [ -n "$CHROMIUM" ] || skip "chromium is not installed (scripts/deps.sh test installs it)"
}

# browse PAGE PNG [HEIGHT]: renders PAGE headless into PNG; leaves the console lines in
# console.txt. Fails when Chromium fails or writes no PNG.
browse() {
    local profile
    profile=$(mktemp -d "$TEST_DIR/profile.XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage \
        --hide-scrollbars --user-data-dir="$profile" --enable-logging=stderr --v=0 \
        --window-size=1280,"${3:-3000}" --screenshot="$TEST_DIR/$2" "file://$TEST_DIR/$1" \
        > chromium.out 2> chromium.err
    local rc=$?
    rm -rf "$profile"
    grep -E ':CONSOLE[:(]' chromium.err > console.txt || true
    if [ "$rc" -ne 0 ]; then
        echo "chromium exited $rc" >&2
        tail -5 chromium.err >&2
        return 1
    fi
    is_png "$2"
}

# is_png FILE: the PNG signature and a non-empty IHDR.
is_png() {
    [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = "89504e470d0a1a0a" ] || {
        echo "$1 is not a PNG" >&2
        return 1
    }
    local w h
    w=$(od -An -tu4 --endian=big -j16 -N4 "$1" | tr -d ' ')
    h=$(od -An -tu4 --endian=big -j20 -N4 "$1" | tr -d ' ')
    [ "$w" -ge 100 ] && [ "$h" -ge 100 ]
}

# no_console: fails, showing them, when Chromium logged console messages.
no_console() {
    if [ -s console.txt ]; then
        echo "console messages:" >&2
        cat console.txt >&2
        return 1
    fi
}

blank_png_size() {
    printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>\n' > blank.html
    browse blank.html blank.png "$1" >&2
    stat -c %s blank.png
}

# not_blank PNG HEIGHT: the screenshot shows real content. Charts and tables compress far worse
# than an empty page of the same size, so it must be over four times the blank page's PNG.
not_blank() {
    local blank size
    blank=$(blank_png_size "$2")
    size=$(stat -c %s "$1")
    echo "screenshot: $size bytes (blank page: $blank bytes)" >&3
    [ "$size" -gt $((blank * 4)) ]
}

@test "the report of a crafted multi-stage run renders without console errors" {
    need_chromium
    "$RAPT" report -q -o report.html --sla extract=5s --sla transform=20s "$EV/sla-stages.jsonl"
    browse report.html report.png 3000
    no_console
    not_blank report.png 3000
}

@test "reports of every crafted run render without console errors" {
    need_chromium
    for s in cpu-bound memory-bound long-tail io-bound input-bound mixed-outcomes truncated; do
        "$RAPT" report -q -o "$s.html" "$EV/$s.jsonl" || true
        [ -s "$s.html" ]
        browse "$s.html" "$s.png" 2400
        no_console
    done
}

@test "the report of a 100 000-job run renders without console errors" {
    need_chromium
    "$GEN" synthetic 100000 > big.jsonl
    "$RAPT" report -q -o big.html big.jsonl
    browse big.html big.png 3000
    no_console
}

@test "the report of a real rapt run renders without console errors" {
    need_chromium
    # Two stages with targets, a failure, memory and CPU: every chart and table has data.
    printf 'a 0.2 10\na 1.5 30\nb 0.1 5\nb 1.2 20\nb x 0\n' > in.txt
    run "$RAPT" run -j2 --colsep ' ' --stage-col 1 --sla a=1s --sla b=2s --report run.html \
        "$TESTCHILD" alloc {3} spin {2} -- :::: in.txt
    [ "$status" -eq 1 ] # the job with the bad number fails
    grep -q 'aria-label="CPU utilisation over time"' run.html
    grep -q 'measured (samples)' run.html
    browse run.html run.png 3000
    no_console
    not_blank run.png 3000
}

@test "the check catches a JavaScript error" {
    need_chromium
    printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>x</title></head><body>
<p>deliberately broken</p><script>undefinedFunction();</script></body></html>\n' > bad-js.html
    browse bad-js.html bad-js.png 600
    run no_console
    [ "$status" -ne 0 ]
    grep -q 'Uncaught ReferenceError: undefinedFunction is not defined' console.txt
}

@test "the check catches an SVG error (a NaN coordinate)" {
    need_chromium
    printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>x</title></head><body>
<svg viewBox="0 0 10 10"><path d="M NaN 0 L 5 5"/></svg></body></html>\n' > bad-svg.html
    browse bad-svg.html bad-svg.png 600
    run no_console
    [ "$status" -ne 0 ]
    grep -q '<path> attribute d' console.txt
}

@test "the check catches an external resource (the report's CSP blocks and logs it)" {
    need_chromium
    # The report's own head, with one external image added to its body.
    "$RAPT" report -q -o report.html "$EV/cpu-bound.jsonl"
    sed 's|<body>|<body><img src="https://example.invalid/x.png" alt="">|' report.html > external.html
    browse external.html external.png 600
    run no_console
    [ "$status" -ne 0 ]
    grep -q 'Content Security Policy' console.txt
}
