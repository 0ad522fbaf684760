/* test_model.c: the predictor on synthetic classes with known truth (linear, constant, noisy,
 * heavy-tailed), its fallbacks, its bounds, and seeding from a real history file.
 *
 * The error bounds asserted here are the ones docs/model.md documents. Every draw comes from a
 * seeded generator, so each run sees the same numbers; each figure is printed as
 * "model: <class> ..." for the documentation. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rapt/model.h"

#define MIB (1024.0 * 1024.0)

/* ---- a seeded generator -------------------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static double uni(rng *r) /* (0, 1) */
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return ((double)((r->s * 2685821657736338717ull) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(rng *r)
{
    return sqrt(-2 * log(uni(r))) * cos(2 * M_PI * uni(r));
}

/* Input sizes log-uniform between 1 MiB and 1 GiB, as real inputs spread over decades. */
static double size_draw(rng *r)
{
    return MIB * exp(uni(r) * log(1024.0));
}

/* ---- synthetic classes: y = truth(x) + noise ----------------------------------------------- */

typedef enum kind { LINEAR, CONSTANT, NOISY, HEAVY } kind;
static const char *const kind_names[] = {"linear", "constant", "noisy", "heavy-tailed"};

/* The median of y at x: what the point prediction should approach. */
static double truth(kind k, double x)
{
    switch (k) {
    case LINEAR: return 3 * x + 50 * MIB;
    case CONSTANT: return 200 * MIB;
    case NOISY: return 2 * x + 20 * MIB;
    case HEAVY: return 2 * x + 20 * MIB + 8 * MIB * pow(2.0, 1 / 1.3);
    }
    return 0;
}

static double draw(kind k, double x, rng *r)
{
    switch (k) {
    case LINEAR: return 3 * x + 50 * MIB;
    case CONSTANT: return 200 * MIB * (1 + 0.04 * (uni(r) - 0.5));
    case NOISY: return (2 * x + 20 * MIB) * (1 + 0.1 * normal(r));
    case HEAVY:
        /* Pareto(xm = 8 MiB, alpha = 1.3) on top: infinite variance, the odd job far above. */
        return 2 * x + 20 * MIB + 8 * MIB * pow(uni(r), -1 / 1.3);
    }
    return 0;
}

static void observe(rapt_model *m, const char *cls, double x, double y, double wall,
                    const uint8_t *digest)
{
    rapt_attempt a;
    rapt_attempt_init(&a);
    a.class_name = cls;
    a.input_bytes = x < 0 ? -1 : (int64_t)x;
    a.peak_bytes = (int64_t)y;
    a.wall_s = wall;
    if (digest) {
        a.has_digest = true;
        memcpy(a.digest, digest, RAPT_DIGEST_SIZE);
    }
    ck_assert_int_eq(rapt_model_observe(m, &a), 1);
}

static rapt_estimate predict_at(rapt_model *m, const char *cls, double x)
{
    rapt_features f;
    memset(&f, 0, sizeof(f));
    f.has_input = x >= 0;
    f.input_bytes = x >= 0 ? (uint64_t)x : 0;
    memset(f.digest, 0xEE, sizeof(f.digest)); /* never an exact match */
    rapt_prediction p;
    ck_assert_int_eq(rapt_model_predict(m, cls, &f, &p), 0);
    return p.peak;
}

/* Trains a fresh model on `n` draws, then measures on `fresh` new draws: the share at or below
 * the safe estimate, the point's relative error against the truth, and the slope. */
typedef struct trial {
    double coverage, max_rel_err, slope, safe_ratio;
} trial;

static trial run_trial(kind k, unsigned n, unsigned fresh, uint64_t seed)
{
    rng r = {seed};
    rapt_model *m;
    ck_assert_int_eq(rapt_model_create(&m, NULL), 0);
    for (unsigned i = 0; i < n; i++) {
        double x = size_draw(&r);
        observe(m, "c", x, draw(k, x, &r), 1.0, NULL);
    }
    trial t = {0};
    unsigned covered = 0;
    for (unsigned i = 0; i < fresh; i++) {
        double x = size_draw(&r);
        rapt_estimate e = predict_at(m, "c", x);
        ck_assert_int_eq(e.basis, RAPT_BASIS_FIT);
        covered += draw(k, x, &r) <= e.safe;
        t.safe_ratio = fmax(t.safe_ratio, e.safe / e.value);
    }
    /* The point prediction against the truth at the smallest, middle and largest sizes. */
    const double xs[] = {MIB, 32 * MIB, 1024 * MIB};
    for (size_t i = 0; i < 3; i++) {
        rapt_estimate e = predict_at(m, "c", xs[i]);
        t.max_rel_err = fmax(t.max_rel_err, fabs(e.value - truth(k, xs[i])) / truth(k, xs[i]));
    }
    rapt_model_fit fit;
    ck_assert_int_eq(rapt_model_fit_info(m, "c", RAPT_MODEL_PEAK, &fit), 0);
    t.slope = fit.slope;
    t.coverage = (double)covered / fresh;
    rapt_model_destroy(m);
    return t;
}

/* Runs `trials` independent trials and checks the documented bounds. */
static void check_class(kind k, double slope_true, double max_slope_err, double max_point_err,
                        double max_safe_ratio)
{
    const unsigned trials = 40;
    double cov_sum = 0, cov_min = 1, worst_slope = 0, worst_point = 0, worst_ratio = 0;
    for (unsigned i = 0; i < trials; i++) {
        trial t = run_trial(k, 200, 2000, 0x1234567ull + 7919ull * i + (uint64_t)k);
        cov_sum += t.coverage;
        cov_min = fmin(cov_min, t.coverage);
        worst_slope = fmax(worst_slope, fabs(t.slope - slope_true) / fmax(slope_true, 1));
        worst_point = fmax(worst_point, t.max_rel_err);
        worst_ratio = fmax(worst_ratio, t.safe_ratio);
    }
    double cov = cov_sum / trials;
    printf("model: %-12s coverage mean %.4f min %.4f | slope err max %.4f | point err max %.4f "
           "| safe/value max %.3f\n",
           kind_names[k], cov, cov_min, worst_slope, worst_point, worst_ratio);
    fflush(stdout);
    ck_assert_msg(cov >= 0.95, "%s: mean coverage %.4f", kind_names[k], cov);
    ck_assert_msg(cov_min >= 0.90, "%s: worst coverage %.4f", kind_names[k], cov_min);
    ck_assert_msg(worst_slope <= max_slope_err, "%s: slope error %.4f", kind_names[k], worst_slope);
    ck_assert_msg(worst_point <= max_point_err, "%s: point error %.4f", kind_names[k], worst_point);
    ck_assert_msg(worst_ratio <= max_safe_ratio, "%s: safe/value %.3f", kind_names[k], worst_ratio);
}

START_TEST(linear_class_is_exact)
{
    rng r = {42};
    rapt_model *m;
    ck_assert_int_eq(rapt_model_create(&m, NULL), 0);
    for (int i = 0; i < 50; i++) {
        double x = floor(size_draw(&r));
        observe(m, "lin", x, 3 * x + 50 * MIB, 0.5 + x / 1e9, NULL);
    }
    rapt_model_fit fit;
    ck_assert_int_eq(rapt_model_fit_info(m, "lin", RAPT_MODEL_PEAK, &fit), 0);
    ck_assert_int_eq(fit.basis, RAPT_BASIS_FIT);
    ck_assert(fabs(fit.slope - 3) < 1e-6);
    ck_assert(fabs(fit.intercept - 50 * MIB) < 2);
    ck_assert(fit.margin < 1e-6);
    ck_assert_uint_eq(fit.samples, 50);
    for (int i = 0; i < 100; i++) {
        double x = floor(size_draw(&r));
        rapt_estimate e = predict_at(m, "lin", x);
        ck_assert(fabs(e.value - (3 * x + 50 * MIB)) <= 4);
        ck_assert(e.safe >= e.value && e.safe <= e.value * (1 + 1e-6) + 4);
    }
    /* Runtime is learned the same way, independently. */
    ck_assert_int_eq(rapt_model_fit_info(m, "lin", RAPT_MODEL_RUNTIME, &fit), 0);
    ck_assert(fabs(fit.slope - 1e-9) < 1e-12);
    ck_assert(fabs(fit.intercept - 0.5) < 1e-6);
    rapt_model_destroy(m);
}
END_TEST

START_TEST(constant_class)
{
    check_class(CONSTANT, 0, 0.02 * 200 * MIB / (1024 * MIB), 0.02, 1.04);
}
END_TEST

START_TEST(noisy_class)
{
    check_class(NOISY, 2, 0.05, 0.06, 1.35);
}
END_TEST

START_TEST(heavy_tailed_class)
{
    check_class(HEAVY, 2, 0.02, 0.06, 4.0);
}
END_TEST

/* Ordinary least squares on the same heavy-tailed data, to show why the fit is robust. */
START_TEST(heavy_tails_defeat_least_squares_not_theil_sen)
{
    double ts_err = 0, ols_err = 0;
    const unsigned trials = 40;
    for (unsigned t = 0; t < trials; t++) {
        rng r = {0xabcdefull + t};
        rapt_model *m;
        ck_assert_int_eq(rapt_model_create(&m, NULL), 0);
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        const unsigned n = 200;
        for (unsigned i = 0; i < n; i++) {
            double x = size_draw(&r);
            /* Heavier than the class above (alpha 1.1), scaled to the inputs. */
            double y = 2 * x + 20 * MIB + 64 * MIB * pow(uni(&r), -1 / 1.1);
            observe(m, "h", x, y, 1, NULL);
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        double ols = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        rapt_model_fit fit;
        ck_assert_int_eq(rapt_model_fit_info(m, "h", RAPT_MODEL_PEAK, &fit), 0);
        ts_err += fabs(fit.slope - 2) / 2;
        ols_err += fabs(ols - 2) / 2;
        rapt_model_destroy(m);
    }
    printf("model: slope error on alpha-1.1 tails: Theil-Sen mean %.4f, least squares %.4f\n",
           ts_err / trials, ols_err / trials);
    fflush(stdout);
    ck_assert(ts_err / trials < 0.02);
    ck_assert(ts_err * 3 < ols_err);
}
END_TEST

/* The digest of the one-argument job "job-I". */
static void job_digest(int i, uint8_t *out)
{
    char arg[16];
    snprintf(arg, sizeof(arg), "job-%d", i);
    const char *args[] = {arg};
    rapt_jobclass_digest(args, 1, out);
}

/* The prediction for a job with this digest and no input file. */
static void predict_digest(rapt_model *m, const char *cls, const uint8_t *d, rapt_prediction *p)
{
    rapt_features f;
    memset(&f, 0, sizeof(f));
    memcpy(f.digest, d, RAPT_DIGEST_SIZE);
    ck_assert_int_eq(rapt_model_predict(m, cls, &f, p), 0);
}

START_TEST(exact_arguments_come_first)
{
    /* A class whose cost depends on its arguments, not on any file: the memwall shape. */
    rng r = {7};
    rapt_model *m;
    ck_assert_int_eq(rapt_model_create(&m, NULL), 0);
    double val[100];
    uint8_t dig[100][RAPT_DIGEST_SIZE];
    for (int i = 0; i < 100; i++) {
        job_digest(i, dig[i]);
        val[i] = 20 * MIB * exp(2 * uni(&r));
        observe(m, "ramp {}", -1, val[i], 1 + i, dig[i]);
    }
    for (int i = 0; i < 100; i++) {
        rapt_prediction p;
        predict_digest(m, "ramp {}", dig[i], &p);
        ck_assert_int_eq(p.peak.basis, RAPT_BASIS_EXACT);
        ck_assert(fabs(p.peak.value - floor(val[i])) < 1);
        ck_assert(fabs(p.peak.safe - 1.1 * floor(val[i])) < 2);
        ck_assert_int_eq(p.runtime.basis, RAPT_BASIS_EXACT);
        ck_assert(fabs(p.runtime.value - (1 + i)) < 1e-9);
        ck_assert(p.peak.confidence == 0.5); /* one observation */
    }
    /* New arguments: the class median and its conformal upper quantile. */
    rapt_features f;
    memset(&f, 0x55, sizeof(f));
    f.has_input = false;
    rapt_prediction p;
    ck_assert_int_eq(rapt_model_predict(m, "ramp {}", &f, &p), 0);
    ck_assert_int_eq(p.peak.basis, RAPT_BASIS_MEDIAN);
    unsigned above = 0;
    for (int i = 0; i < 100; i++)
        above += val[i] > p.peak.safe;
    ck_assert_uint_le(above, 5);
    ck_assert_uint_eq(p.peak.samples, 100);
    /* The same arguments on an input of another size are not the same job. */
    memcpy(f.digest, dig[3], RAPT_DIGEST_SIZE);
    f.has_input = true;
    f.input_bytes = 5;
    ck_assert_int_eq(rapt_model_predict(m, "ramp {}", &f, &p), 0);
    ck_assert_int_eq(p.peak.basis, RAPT_BASIS_MEDIAN);
    rapt_model_destroy(m);
}
END_TEST

/* The exact-argument table holds at most max_exact digests (a run of 100 000 distinct jobs must
 * not grow rapt without bound); past that it starts over, and the forgotten arguments fall back
 * to the class median. Filled to exactly three quarters of its capacity, probing still ends. */
static bool is_exact(rapt_model *m, const uint8_t *d)
{
    rapt_prediction p;
    predict_digest(m, "many {}", d, &p);
    return p.peak.basis == RAPT_BASIS_EXACT;
}

START_TEST(digest_table_is_bounded_and_starts_over)
{
    rapt_model_opts o;
    rapt_model_opts_init(&o);
    ck_assert_uint_eq(o.max_exact, 49152);
    o.max_exact = 48; /* three quarters of a 64-entry table */
    rapt_model *m;
    ck_assert_int_eq(rapt_model_create(&m, &o), 0);
    uint8_t dig[100][RAPT_DIGEST_SIZE];
    for (int i = 0; i < 100; i++) {
        job_digest(i, dig[i]);
        observe(m, "many {}", -1, (double)(i + 1) * MIB, 1, dig[i]);
        if (i == 47) {
            for (int k = 0; k < 48; k++)
                ck_assert_msg(is_exact(m, dig[k]), "digest %d forgotten before the limit", k);
        }
    }
    /* The 49th digest started the table over, and so did the 97th: 96..99 are remembered. */
    for (int k = 0; k < 100; k++)
        ck_assert_msg(is_exact(m, dig[k]) == (k >= 96), "digest %d", k);
    rapt_model_destroy(m);
}
END_TEST

START_TEST(killed_for_memory_raises_the_exact_estimate)
{
    rapt_model *m;
    ck_assert_int_eq(rapt_model_create(&m, NULL), 0);
    uint8_t d[RAPT_DIGEST_SIZE];
    memset(d, 1, sizeof(d));
    rapt_attempt a;
    rapt_attempt_init(&a);
    a.class_name = "c";
    a.has_digest = true;
    memcpy(a.digest, d, sizeof(d));
    a.peak_bytes = 400 * (int64_t)MIB;
    a.wall_s = 3;
    a.reason = "oom";
    a.outcome = "requeued";
    a.exit_code = -1;
    a.signal = 9;
    ck_assert_int_eq(rapt_model_observe(m, &a), 1);
    rapt_features f;
    memset(&f, 0, sizeof(f));
    memcpy(f.digest, d, sizeof(d));
    rapt_prediction p;
    ck_assert_int_eq(rapt_model_predict(m, "c", &f, &p), 0);
    ck_assert_int_eq(p.peak.basis, RAPT_BASIS_EXACT);
    ck_assert(p.peak.safe >= 1.5 * 400 * MIB);
    /* A censored attempt is no sample of the class. */
    ck_assert_uint_eq(rapt_model_samples(m, "c"), 0);
    /* A plain failure teaches nothing. */
    a.reason = "exit";
    a.outcome = "failed";
    a.exit_code = 1;
    ck_assert_int_eq(rapt_model_observe(m, &a), 0);
    rapt_model_destroy(m);
}
END_TEST

START_TEST(unknown_class_has_no_prediction)
{
    rapt_model *m;
    ck_assert_int_eq(rapt_model_create(&m, NULL), 0);
    rapt_prediction p;
    ck_assert_int_eq(rapt_model_predict(m, "never", NULL, &p), 0);
    ck_assert_int_eq(p.peak.basis, RAPT_BASIS_NONE);
    ck_assert(p.peak.safe == 0 && p.runtime.safe == 0);
    ck_assert_str_eq(rapt_model_basis_name(RAPT_BASIS_FIT), "fit");
    rapt_model_destroy(m);
    rapt_model_opts o;
    rapt_model_opts_init(&o);
    o.coverage = 1;
    ck_assert_int_eq(rapt_model_create(&m, &o), -EINVAL);
    rapt_model_destroy(NULL);
}
END_TEST

START_TEST(confidence_grows_with_samples)
{
    rng r = {99};
    rapt_model *m;
    ck_assert_int_eq(rapt_model_create(&m, NULL), 0);
    double last = 0;
    for (int i = 0; i < 100; i++) {
        double x = size_draw(&r);
        observe(m, "c", x, draw(NOISY, x, &r), 1, NULL);
        rapt_estimate e = predict_at(m, "c", x);
        ck_assert(e.confidence >= last);
        ck_assert(e.confidence < 1);
        last = e.confidence;
        /* Below min_fit samples the class median stands in for the fit. */
        ck_assert_int_eq(e.basis, i + 1 < 8 ? RAPT_BASIS_MEDIAN : RAPT_BASIS_FIT);
    }
    ck_assert(last > 0.9);
    rapt_model_destroy(m);
}
END_TEST

START_TEST(window_follows_drift_and_sampled_pairs_agree)
{
    rng r = {5};
    rapt_model_opts o;
    rapt_model_opts_init(&o);
    o.window = 1000; /* 499500 pairs: sampled */
    rapt_model *m;
    ck_assert_int_eq(rapt_model_create(&m, &o), 0);
    for (int i = 0; i < 1500; i++) {
        double x = size_draw(&r);
        double slope = i < 500 ? 2 : 4;
        observe(m, "d", x, (slope * x + 20 * MIB) * (1 + 0.1 * normal(&r)), 1, NULL);
    }
    rapt_model_fit fit;
    ck_assert_int_eq(rapt_model_fit_info(m, "d", RAPT_MODEL_PEAK, &fit), 0);
    ck_assert_uint_eq(fit.samples, 1000);
    ck_assert_msg(fabs(fit.slope - 4) / 4 < 0.03, "slope %f", fit.slope);
    rapt_model_destroy(m);
}
END_TEST

START_TEST(load_from_history_equals_live_learning)
{
    char dir[] = "/tmp/rapt-model-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/h.db", dir);
    rapt_history_opts ho;
    rapt_history_opts_init(&ho);
    ho.path = path;
    rapt_history *h;
    ck_assert_int_eq(rapt_history_open(&h, &ho), 0);
    rapt_history_run run;
    rapt_history_run_init(&run);
    run.run_id = "r1";
    run.host = "h";
    int64_t key;
    ck_assert_int_eq(rapt_history_run_begin(h, &run, &key), 0);
    rapt_model *live;
    ck_assert_int_eq(rapt_model_create(&live, NULL), 0);
    rng r = {11};
    for (int i = 0; i < 300; i++) {
        rapt_attempt a;
        rapt_attempt_init(&a);
        a.class_name = "gz {}";
        double x = size_draw(&r);
        a.input_bytes = (int64_t)x;
        a.peak_bytes = (int64_t)draw(NOISY, x, &r);
        a.wall_s = 0.1 + x / 5e8;
        if (i % 10 == 9) {
            a.outcome = "failed";
            a.exit_code = 1;
        }
        ck_assert_int_eq(rapt_history_add(h, key, &a), 0);
        ck_assert_int_ge(rapt_model_observe(live, &a), 0);
    }
    rapt_history_close(h);
    ho.readonly = true;
    ck_assert_int_eq(rapt_history_open(&h, &ho), 0);
    rapt_model *seeded;
    ck_assert_int_eq(rapt_model_create(&seeded, NULL), 0);
    ck_assert_int_eq(rapt_model_load(seeded, h, "gz {}", 0), 270);
    for (int q = 0; q < 2; q++) {
        rapt_model_fit a, b;
        ck_assert_int_eq(rapt_model_fit_info(live, "gz {}", (rapt_model_qty)q, &a), 0);
        ck_assert_int_eq(rapt_model_fit_info(seeded, "gz {}", (rapt_model_qty)q, &b), 0);
        ck_assert_int_eq(a.basis, RAPT_BASIS_FIT);
        ck_assert_uint_eq(a.samples, b.samples);
        /* Peaks are whole bytes either way; runtimes round-trip through SQLite's REAL. */
        ck_assert(fabs(a.slope - b.slope) <= 1e-9 * fabs(a.slope));
        ck_assert(fabs(a.margin - b.margin) <= 1e-9);
    }
    rapt_history_close(h);
    rapt_model_destroy(live);
    rapt_model_destroy(seeded);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    RAPT_TCASE(s, linear_class_is_exact, 30);
    RAPT_TCASE(s, constant_class, 120);
    RAPT_TCASE(s, noisy_class, 120);
    RAPT_TCASE(s, heavy_tailed_class, 120);
    RAPT_TCASE(s, heavy_tails_defeat_least_squares_not_theil_sen, 60);
    RAPT_TCASE(s, exact_arguments_come_first, 30);
    RAPT_TCASE(s, digest_table_is_bounded_and_starts_over, 30);
    RAPT_TCASE(s, killed_for_memory_raises_the_exact_estimate, 30);
    RAPT_TCASE(s, unknown_class_has_no_prediction, 30);
    RAPT_TCASE(s, confidence_grows_with_samples, 30);
    RAPT_TCASE(s, window_follows_drift_and_sampled_pairs_agree, 60);
    RAPT_TCASE(s, load_from_history_equals_live_learning, 60);
    return s;
}

RAPT_TEST_MAIN(model_suite)
