/* test_jobclass.c: class names, argument digests (pinned: they live in history files) and input
 * sizes measured on real files. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "rapt/jobclass.h"

START_TEST(name_joins_words)
{
    const char *w[] = {"gzip", "-k", "{}"};
    char buf[64];
    ck_assert_int_eq(rapt_jobclass_name(w, 3, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "gzip -k {}");
    char small[8];
    ck_assert_int_eq(rapt_jobclass_name(w, 3, small, sizeof(small)), -ENOBUFS);
    ck_assert_str_eq(small, "gzip -k");
    ck_assert_int_eq(rapt_jobclass_name(w, 0, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(rapt_jobclass_name(NULL, 1, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(digest_is_pinned_and_injective)
{
    /* Values computed independently (Python hashlib) over the documented encoding: each
     * argument as an 8-byte little-endian length then its bytes; the first 16 bytes of SHA-256.
     * A change here would orphan every exact match in existing history files. */
    const char *a[] = {"a.txt", "b"};
    uint8_t d[RAPT_DIGEST_SIZE];
    char hex[RAPT_DIGEST_HEX];
    ck_assert_int_eq(rapt_jobclass_digest(a, 2, d), 0);
    ck_assert_str_eq(rapt_digest_hex(d, hex), "924eb8f93bd981b41d06826d63a6227b");
    ck_assert_int_eq(rapt_jobclass_digest(NULL, 0, d), 0);
    ck_assert_str_eq(rapt_digest_hex(d, hex), "e3b0c44298fc1c149afbf4c8996fb924");

    /* ("a b") and ("a", "b") are different jobs. */
    const char *one[] = {"a b"}, *two[] = {"a", "b"};
    uint8_t d1[RAPT_DIGEST_SIZE], d2[RAPT_DIGEST_SIZE];
    ck_assert_int_eq(rapt_jobclass_digest(one, 1, d1), 0);
    ck_assert_int_eq(rapt_jobclass_digest(two, 2, d2), 0);
    ck_assert(memcmp(d1, d2, sizeof(d1)) != 0);
}
END_TEST

START_TEST(features_count_regular_files_only)
{
    char dir[] = "/tmp/rapt-jobclass-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(dfd, 0);
    /* Two files of known sizes, a directory, a FIFO and a symbolic link to the first file. */
    int fd = openat(dfd, "a", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ck_assert_int_eq(ftruncate(fd, 1000), 0);
    close(fd);
    fd = openat(dfd, "b", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ck_assert_int_eq(ftruncate(fd, 24), 0);
    close(fd);
    ck_assert_int_eq(mkdirat(dfd, "d", 0700), 0);
    ck_assert_int_eq(mkfifoat(dfd, "p", 0600), 0);
    ck_assert_int_eq(symlinkat("a", dfd, "l"), 0);

    rapt_jobclass_opts o;
    rapt_jobclass_opts_init(&o);
    o.dirfd = dfd;
    const char *args[] = {"a", "b", "d", "p", "l", "missing", "", "--level=9"};
    rapt_features f;
    ck_assert_int_eq(rapt_jobclass_features(args, 8, &o, &f), 0);
    ck_assert(f.has_input);
    ck_assert_uint_eq(f.input_files, 3);
    ck_assert_uint_eq(f.input_bytes, 1000 + 24 + 1000);
    uint8_t d[RAPT_DIGEST_SIZE];
    rapt_jobclass_digest(args, 8, d);
    ck_assert(memcmp(d, f.digest, sizeof(d)) == 0);

    /* max_files bounds the stat calls for long argument lists. */
    o.max_files = 1;
    ck_assert_int_eq(rapt_jobclass_features(args, 8, &o, &f), 0);
    ck_assert_uint_eq(f.input_files, 1);
    ck_assert_uint_eq(f.input_bytes, 1000);

    /* No file among the arguments: no input size at all (not a size of 0). */
    const char *none[] = {"42", "missing"};
    ck_assert_int_eq(rapt_jobclass_features(none, 2, &o, &f), 0);
    ck_assert(!f.has_input);
    ck_assert_uint_eq(f.input_bytes, 0);

    unlinkat(dfd, "a", 0);
    unlinkat(dfd, "b", 0);
    unlinkat(dfd, "p", 0);
    unlinkat(dfd, "l", 0);
    unlinkat(dfd, "d", AT_REMOVEDIR);
    close(dfd);
    rmdir(dir);
}
END_TEST

static Suite *jobclass_suite(void)
{
    Suite *s = suite_create("jobclass");
    RAPT_TCASE(s, name_joins_words, 10);
    RAPT_TCASE(s, digest_is_pinned_and_injective, 10);
    RAPT_TCASE(s, features_count_regular_files_only, 10);
    return s;
}

RAPT_TEST_MAIN(jobclass_suite)
