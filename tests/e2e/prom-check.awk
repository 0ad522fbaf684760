#!/usr/bin/awk -f
# prom-check.awk: a strict checker of the Prometheus text exposition format (version 0.0.4), as
# node_exporter's textfile collector parses it. Exits 0 when the file is valid; otherwise prints
# "prom-check: line N: why" for the first problem and exits 1.
#
# Checked: HELP/TYPE comment syntax, one HELP and one TYPE per family, TYPE before the family's
# first sample, a known type, every family's samples contiguous, metric and label name syntax,
# label values quoted with only \\, \" and \n escapes, no duplicate label name in a sample, no
# duplicate series, a float value (or NaN, +Inf, -Inf), an optional integer timestamp, no blank
# or trailing-space lines. Stricter than the format in one way: every family must declare its
# TYPE (the format would read a family without one as untyped; rapt always writes it).
#
#   awk -f tests/e2e/prom-check.awk FILE

function fail(why) {
    printf "prom-check: line %d: %s\n", NR, why
    bad = 1
    exit 1
}

function valid_name(s) {
    return s ~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
}

# Parses the label set in `s` (the text between the braces); returns a canonical string.
function parse_labels(s,    i, c, name, val, n, seen, out, state) {
    out = ""
    split("", seen)
    i = 1
    n = length(s)
    while (i <= n) {
        name = ""
        while (i <= n && substr(s, i, 1) != "=") {
            name = name substr(s, i, 1)
            i++
        }
        if (i > n || !(name ~ /^[a-zA-Z_][a-zA-Z0-9_]*$/))
            fail("bad label name '" name "'")
        if (name in seen)
            fail("label '" name "' twice")
        seen[name] = 1
        i++
        if (substr(s, i, 1) != "\"")
            fail("label value of '" name "' not quoted")
        i++
        val = ""
        state = 0
        while (i <= n) {
            c = substr(s, i, 1)
            if (state == 1) {
                if (c != "\\" && c != "\"" && c != "n")
                    fail("bad escape \\" c " in a label value")
                val = val "\\" c
                state = 0
            } else if (c == "\\") {
                state = 1
            } else if (c == "\"") {
                break
            } else {
                val = val c
            }
            i++
        }
        if (i > n)
            fail("unterminated label value")
        i++
        out = out name "=" val ";"
        if (i <= n) {
            if (substr(s, i, 1) != ",")
                fail("expected ',' between labels")
            i++
            if (i > n)
                fail("trailing ',' in labels")
        }
    }
    return out
}

BEGIN {
    bad = 0
    current = ""
}

{
    line = $0
    if (line == "")
        fail("blank line")
    if (line ~ /[ \t]$/)
        fail("trailing blank")
    if (substr(line, 1, 1) == "#") {
        if (line ~ /^# HELP /) {
            rest = substr(line, 8)
            name = rest
            sub(/ .*/, "", name)
            if (!valid_name(name))
                fail("bad metric name in HELP: " name)
            if (name in help)
                fail("second HELP for " name)
            help[name] = 1
        } else if (line ~ /^# TYPE /) {
            n = split(substr(line, 8), f, " ")
            if (n != 2)
                fail("TYPE needs a name and a type")
            if (!valid_name(f[1]))
                fail("bad metric name in TYPE: " f[1])
            if (!(f[2] ~ /^(counter|gauge|histogram|summary|untyped)$/))
                fail("unknown type " f[2])
            if (f[1] in type)
                fail("second TYPE for " f[1])
            if (f[1] in sampled)
                fail("TYPE for " f[1] " after its samples")
            type[f[1]] = f[2]
        }
        next
    }
    # name{labels} value [timestamp]
    name = line
    sub(/[{ ].*/, "", name)
    if (!valid_name(name))
        fail("bad metric name '" name "'")
    rest = substr(line, length(name) + 1)
    labels = ""
    if (substr(rest, 1, 1) == "{") {
        close_at = 0
        # The closing brace is the first '}' outside a quoted value.
        inq = 0
        esc = 0
        for (i = 2; i <= length(rest); i++) {
            c = substr(rest, i, 1)
            if (esc) { esc = 0; continue }
            if (c == "\\" && inq) { esc = 1; continue }
            if (c == "\"") inq = !inq
            if (c == "}" && !inq) { close_at = i; break }
        }
        if (!close_at)
            fail("unterminated label set")
        labels = parse_labels(substr(rest, 2, close_at - 2))
        rest = substr(rest, close_at + 1)
    }
    if (substr(rest, 1, 1) != " ")
        fail("expected a space before the value")
    n = split(substr(rest, 2), f, " ")
    if (n < 1 || n > 2)
        fail("expected a value and an optional timestamp")
    if (!(f[1] ~ /^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$/ || f[1] ~ /^(NaN|[-+]Inf)$/))
        fail("bad value '" f[1] "'")
    if (n == 2 && !(f[2] ~ /^-?[0-9]+$/))
        fail("bad timestamp '" f[2] "'")
    # A family is the name without histogram/summary suffixes; samples must be contiguous.
    family = name
    if (!(family in type)) {
        base = family
        sub(/_(bucket|sum|count)$/, "", base)
        if (base in type)
            family = base
    }
    if (!(family in type))
        fail("sample of " name " without a TYPE")
    if (family != current && (family in sampled))
        fail("samples of " family " are not contiguous")
    current = family
    sampled[family] = 1
    key = name "{" labels "}"
    if (key in series)
        fail("duplicate series " key)
    series[key] = 1
    samples++
}

END {
    if (bad)
        exit 1
    if (NR == 0) {
        print "prom-check: empty file"
        exit 1
    }
    if (samples == 0) {
        print "prom-check: no samples"
        exit 1
    }
}
