/* rapt/model.h: per job class, predicted peak memory and runtime from input size.
 *
 * The model learns online from finished attempts (rapt_model_observe, the same rapt_attempt the
 * history stores) and is seeded from the history file at start (rapt_model_load). For each class
 * and each quantity (peak bytes, runtime seconds) a prediction rests on one *basis*, tried in
 * this order:
 *
 *   exact   the same arguments (digest) with the same input size ran before: the largest value
 *           seen for them, and a safe estimate of that times (1 + exact_margin); a run of those
 *           arguments killed for memory (reason "oom" or "memory") raises the safe estimate to
 *           at least 1.5 x the peak it was killed at;
 *   fit     y = slope * input_bytes + intercept, fitted by Theil-Sen (the median of pairwise
 *           slopes, robust to a third of outliers) over the newest `window` samples with a
 *           known input size, slope >= 0; the safe estimate adds the split-conformal quantile of
 *           the scaled residuals, so that a fresh job is at or below it with probability
 *           >= coverage (0.95) on average over training sets;
 *   median  the class median, and as safe estimate the conformal upper quantile of the values;
 *   none    nothing is known: the caller's cold-start rule applies.
 *
 * Confidence is n / (n + 10) for fit and median (n samples), k / (k + 1) for k exact matches.
 * The method, its error bounds on synthetic classes and why it is built this way are in
 * docs/model.md.
 *
 * A handle is not thread-safe (one owner, typically the runner's event loop). Memory is
 * bounded: per class `window` samples and at most `max_exact` argument digests.
 */
#ifndef RAPT_MODEL_H
#define RAPT_MODEL_H

#include "rapt/common.h"
#include "rapt/history.h"
#include "rapt/jobclass.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rapt_model rapt_model;

typedef struct rapt_model_opts {
    unsigned window;     /* newest samples per class the fit and median use (default 200) */
    unsigned min_fit;    /* samples with an input size before a fit is trusted (default 8) */
    double coverage;     /* share of fresh jobs the safe estimate should cover (default 0.95) */
    double exact_margin; /* safe = largest exact value x (1 + this) (default 0.10) */
    unsigned max_exact;  /* digests remembered per class (default 49152) */
    unsigned max_pairs;  /* Theil-Sen pairs; more are sampled (default 4096) */
} rapt_model_opts;

RAPT_API void rapt_model_opts_init(rapt_model_opts *o);

typedef enum rapt_model_basis {
    RAPT_BASIS_NONE = 0,
    RAPT_BASIS_EXACT,
    RAPT_BASIS_FIT,
    RAPT_BASIS_MEDIAN
} rapt_model_basis;

/* Static lower-case name: "none", "exact", "fit", "median". */
RAPT_API const char *rapt_model_basis_name(rapt_model_basis b);

/* One predicted quantity. With basis NONE, value and safe are 0. */
typedef struct rapt_estimate {
    rapt_model_basis basis;
    double value;      /* the typical value (fit, median, or the exact value seen) */
    double safe;       /* an upper estimate: what to reserve */
    double confidence; /* 0..1 */
    unsigned samples;  /* samples the basis rests on */
} rapt_estimate;

typedef struct rapt_prediction {
    rapt_estimate peak;    /* bytes */
    rapt_estimate runtime; /* seconds */
} rapt_prediction;

/* The learned linear form of one quantity of a class, for display and planning:
 * value(x) = slope * x + intercept and safe(x) = safe_slope * x + safe_intercept (x >= 0). */
typedef struct rapt_model_fit {
    rapt_model_basis basis; /* FIT, MEDIAN (slope 0: no size relation) or NONE */
    double slope, intercept;
    double safe_slope, safe_intercept;
    double margin; /* the conformal quantile of scaled residuals */
    double confidence;
    unsigned samples;
    double x_min, x_median, x_max; /* input sizes seen (0 when none) */
} rapt_model_fit;

typedef enum rapt_model_qty { RAPT_MODEL_PEAK = 0, RAPT_MODEL_RUNTIME = 1 } rapt_model_qty;

/* Creates an empty model. o may be NULL. Returns 0, -EINVAL (window < 2, coverage outside
 * (0, 1), negative margin) or -ENOMEM. Caller frees with rapt_model_destroy(). */
RAPT_API int rapt_model_create(rapt_model **out, const rapt_model_opts *o);
RAPT_API void rapt_model_destroy(rapt_model *m); /* accepts NULL */

/* Learns from one finished attempt (the record is not kept; strings are copied as needed).
 * Successful attempts (outcome "success") are samples; attempts killed for memory ("oom",
 * "memory") or by --timeout are lower bounds for their exact arguments; the rest tell nothing
 * about what a successful run needs and are ignored. Returns 1 when it learned something, 0
 * when ignored, -EINVAL or -ENOMEM. */
RAPT_API int rapt_model_observe(rapt_model *m, const rapt_attempt *a);

/* Predicts for a job of class_name with features f (NULL: nothing known about its inputs).
 * Returns 0 (basis NONE when the class is unknown) or -EINVAL. */
RAPT_API int rapt_model_predict(rapt_model *m, const char *class_name, const rapt_features *f,
                                rapt_prediction *out);

/* The linear form of one quantity of a class. Returns 0 or -EINVAL. */
RAPT_API int rapt_model_fit_info(rapt_model *m, const char *class_name, rapt_model_qty q,
                                 rapt_model_fit *out);

/* Samples the class holds (successful attempts in its window). */
RAPT_API unsigned rapt_model_samples(const rapt_model *m, const char *class_name);

/* Seeds the model with the newest `last` attempts of class_name from a history (0 = 10000, the
 * history's default retention), oldest first. Returns the number of attempts learned from, or a
 * history error. */
RAPT_API int rapt_model_load(rapt_model *m, rapt_history *h, const char *class_name, uint64_t last);

#ifdef __cplusplus
}
#endif
#endif /* RAPT_MODEL_H */
