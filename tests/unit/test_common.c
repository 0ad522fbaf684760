/* test_common.c: sizes, durations, strict numbers, error strings and the JSON writer. */
#include <string.h>

#include "harness.h"

START_TEST(size_parse_units)
{
    uint64_t v;
    ck_assert_int_eq(rapt_size_parse("0", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(rapt_size_parse("1073741824", &v), 0);
    ck_assert_uint_eq(v, 1073741824);
    ck_assert_int_eq(rapt_size_parse("512M", &v), 0);
    ck_assert_uint_eq(v, 512ull << 20);
    ck_assert_int_eq(rapt_size_parse("512MiB", &v), 0);
    ck_assert_uint_eq(v, 512ull << 20);
    ck_assert_int_eq(rapt_size_parse("512mb", &v), 0);
    ck_assert_uint_eq(v, 512ull << 20);
    ck_assert_int_eq(rapt_size_parse("1.5G", &v), 0);
    ck_assert_uint_eq(v, 3ull << 29);
    ck_assert_int_eq(rapt_size_parse("2T", &v), 0);
    ck_assert_uint_eq(v, 2ull << 40);
    ck_assert_int_eq(rapt_size_parse("4k", &v), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(rapt_size_parse("10B", &v), 0);
    ck_assert_uint_eq(v, 10);
    ck_assert_int_eq(rapt_size_parse(".5K", &v), 0);
    ck_assert_uint_eq(v, 512);
}
END_TEST

START_TEST(size_parse_rejects)
{
    uint64_t v;
    ck_assert_int_eq(rapt_size_parse("12QB", &v), RAPT_EUNIT);
    ck_assert_int_eq(rapt_size_parse("12 M", &v), -EINVAL);
    ck_assert_int_eq(rapt_size_parse("-5M", &v), -EINVAL);
    ck_assert_int_eq(rapt_size_parse("+5M", &v), -EINVAL);
    ck_assert_int_eq(rapt_size_parse("", &v), -EINVAL);
    ck_assert_int_eq(rapt_size_parse("M", &v), -EINVAL);
    ck_assert_int_eq(rapt_size_parse("1.2.3M", &v), -EINVAL);
    ck_assert_int_eq(rapt_size_parse("1e9", &v), RAPT_EUNIT);
    ck_assert_int_eq(rapt_size_parse("0x10", &v), RAPT_EUNIT);
    ck_assert_int_eq(rapt_size_parse("18446744073709551616", &v), -ERANGE);
    ck_assert_int_eq(rapt_size_parse("20000000T", &v), -ERANGE);
    ck_assert_int_eq(rapt_size_parse("16384P", &v), -ERANGE);
    ck_assert_int_eq(rapt_size_parse(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(size_format_readable)
{
    char b[32];
    ck_assert_str_eq(rapt_size_format(900, b, sizeof(b)), "900 B");
    ck_assert_str_eq(rapt_size_format(512ull << 20, b, sizeof(b)), "512 MiB");
    ck_assert_str_eq(rapt_size_format(3ull << 29, b, sizeof(b)), "1.50 GiB");
    ck_assert_str_eq(rapt_size_format(1536ull << 10, b, sizeof(b)), "1.50 MiB");
    ck_assert_str_eq(rapt_size_format(UINT64_MAX, b, sizeof(b)), "16 EiB");
    ck_assert_str_eq(rapt_size_format(12345, b, 4), "12.");
}
END_TEST

START_TEST(duration_parse_forms)
{
    uint64_t ns;
    ck_assert_int_eq(rapt_duration_parse("1.5", &ns), 0);
    ck_assert_uint_eq(ns, 1500000000ull);
    ck_assert_int_eq(rapt_duration_parse("250ms", &ns), 0);
    ck_assert_uint_eq(ns, 250000000ull);
    ck_assert_int_eq(rapt_duration_parse("1h30m", &ns), 0);
    ck_assert_uint_eq(ns, 5400ull * 1000000000ull);
    ck_assert_int_eq(rapt_duration_parse("2d", &ns), 0);
    ck_assert_uint_eq(ns, 172800ull * 1000000000ull);
    ck_assert_int_eq(rapt_duration_parse("10us", &ns), 0);
    ck_assert_uint_eq(ns, 10000);
    ck_assert_int_eq(rapt_duration_parse("0", &ns), 0);
    ck_assert_uint_eq(ns, 0);
    ck_assert_int_eq(rapt_duration_parse("5x", &ns), RAPT_EUNIT);
    ck_assert_int_eq(rapt_duration_parse("1h30", &ns), -EINVAL);
    ck_assert_int_eq(rapt_duration_parse("-1s", &ns), -EINVAL);
    ck_assert_int_eq(rapt_duration_parse("", &ns), -EINVAL);
    ck_assert_int_eq(rapt_duration_parse("s", &ns), -EINVAL);
    ck_assert_int_eq(rapt_duration_parse("99999999999999d", &ns), -ERANGE);
}
END_TEST

START_TEST(duration_format_readable)
{
    char b[32];
    ck_assert_str_eq(rapt_duration_format(850000000ull, b, sizeof(b)), "850 ms");
    ck_assert_str_eq(rapt_duration_format(12300000000ull, b, sizeof(b)), "12.3 s");
    ck_assert_str_eq(rapt_duration_format(3720ull * 1000000000ull, b, sizeof(b)), "1h 02m");
}
END_TEST

START_TEST(strict_numbers)
{
    uint64_t u;
    int64_t i;
    double d;
    ck_assert_int_eq(rapt__parse_u64("18446744073709551615", SIZE_MAX, &u), 0);
    ck_assert_uint_eq(u, UINT64_MAX);
    ck_assert_int_eq(rapt__parse_u64("18446744073709551616", SIZE_MAX, &u), -ERANGE);
    ck_assert_int_eq(rapt__parse_u64(" 1", SIZE_MAX, &u), -EINVAL);
    ck_assert_int_eq(rapt__parse_u64("1 ", SIZE_MAX, &u), -EINVAL);
    ck_assert_int_eq(rapt__parse_u64("", SIZE_MAX, &u), -EINVAL);
    ck_assert_int_eq(rapt__parse_i64("-9223372036854775808", SIZE_MAX, &i), 0);
    ck_assert(i == INT64_MIN);
    ck_assert_int_eq(rapt__parse_i64("9223372036854775808", SIZE_MAX, &i), -ERANGE);
    ck_assert_int_eq(rapt__parse_i64("-", SIZE_MAX, &i), -EINVAL);
    ck_assert_int_eq(rapt__parse_double("0.75", &d), 0);
    ck_assert(d == 0.75);
    ck_assert_int_eq(rapt__parse_double("-2", &d), 0);
    ck_assert_int_eq(rapt__parse_double("1e3", &d), -EINVAL);
    ck_assert_int_eq(rapt__parse_double("inf", &d), -EINVAL);
    ck_assert_int_eq(rapt__parse_double("nan", &d), -EINVAL);
    ck_assert_int_eq(rapt__parse_double("0x1p3", &d), -EINVAL);
    ck_assert_int_eq(rapt__parse_double(".", &d), -EINVAL);
}
END_TEST

START_TEST(error_strings)
{
    ck_assert_str_eq(rapt_strerror(RAPT_EUNIT), "unknown unit suffix");
    ck_assert_str_eq(rapt_strerror(-ENOENT), "No such file or directory");
    ck_assert_str_eq(rapt_strerror(0), "success");
    ck_assert_ptr_nonnull(rapt_strerror(-99999));
    ck_assert_ptr_nonnull(rapt_version());
}
END_TEST

/* Captures what a JSON writer callback produced. */
static char *json_of(void (*fn)(rapt__jw *))
{
    static char buf[4096];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    rapt__jw w;
    rapt__jw_init(&w, f, false);
    fn(&w);
    fclose(f);
    return buf;
}

static void nested(rapt__jw *w)
{
    rapt__jw_obj(w);
    rapt__jw_key(w, "a");
    rapt__jw_u64(w, 1);
    rapt__jw_key(w, "list");
    rapt__jw_arr(w);
    rapt__jw_i64(w, -2);
    rapt__jw_dbl(w, 0.5);
    rapt__jw_bool(w, true);
    rapt__jw_null(w);
    rapt__jw_obj(w);
    rapt__jw_end(w);
    rapt__jw_arr(w);
    rapt__jw_end(w);
    rapt__jw_end(w);
    rapt__jw_key(w, "s");
    rapt__jw_str(w, "q\"\\\n\t\x01 é \xff end");
    rapt__jw_end(w);
    rapt__jw_done(w);
}

START_TEST(json_writer_shapes)
{
    ck_assert_str_eq(json_of(nested), "{\"a\":1,\"list\":[-2,0.5,true,null,{},[]],"
                                      "\"s\":\"q\\\"\\\\\\n\\t\\u0001 é \\ufffd end\"}\n");
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    RAPT_TCASE(s, size_parse_units, 10);
    RAPT_TCASE(s, size_parse_rejects, 10);
    RAPT_TCASE(s, size_format_readable, 10);
    RAPT_TCASE(s, duration_parse_forms, 10);
    RAPT_TCASE(s, duration_format_readable, 10);
    RAPT_TCASE(s, strict_numbers, 10);
    RAPT_TCASE(s, error_strings, 10);
    RAPT_TCASE(s, json_writer_shapes, 10);
    return s;
}

RAPT_TEST_MAIN(common_suite)
