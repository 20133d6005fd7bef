/* Context scheme 4's bins in one pass over a band's coefficients (entropy/contexts.py, Predictor):
 * the evidence of each coefficient, its weighted sum and its bin, without the band-sized
 * temporaries of the numpy path (which stays as the reference, tests/test_contexts.py).
 *
 * The arithmetic is the numpy path's, including its wrapping: each evidence term is a sum of
 * |int32| in int32 (numpy's np.abs and + wrap modulo 2^32), the weighted sum is int64 (wrapping
 * too). A valid file's values are far from either limit; a forged one then gets the same (wrong)
 * bins on both paths, and its CRCs catch it. Every index is clamped to its array (edge
 * replication), so no read leaves an array whatever the shapes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* The row loops also get an AVX2 clone, chosen at load time where the CPU has it (GCC/Clang on
 * x86-64 ELF, which have ifuncs); integer arithmetic, so both clones give the same bins. */
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define MULTIVERSIONED __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSIONED
#endif

#define N_FEATURES 9 /* parent, parent ring, other bands, luma, co, direct, diagonal, knight, one */

typedef struct {
    const int32_t *p;
    Py_ssize_t h, w;
} Grid;

static inline Py_ssize_t clamp(Py_ssize_t i, Py_ssize_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

/* |a[i, j]| at the clamped position, as numpy's int32 np.abs (which wraps at INT32_MIN). */
static inline uint32_t mag(const Grid *g, Py_ssize_t i, Py_ssize_t j) {
    int32_t v = g->p[clamp(i, g->h) * g->w + clamp(j, g->w)];
    return v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
}

static const int DIRECT[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
static const int DIAGONAL[4][2] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
static const int KNIGHT[8][2] = {{-2, -1}, {-2, 1}, {2, -1}, {2, 1}, {-1, -2}, {1, -2}, {-1, 2}, {1, 2}};

/* Sum of |band| over ``offsets`` around (i, j), clamped, counting only positions whose phase
 * (row parity, column parity) is in ``known`` (bit 2 * row parity + column parity). */
static inline uint32_t known_sum(const Grid *band, Py_ssize_t i, Py_ssize_t j, const int (*offsets)[2], int n,
                                 unsigned known) {
    uint32_t total = 0;
    for (int k = 0; k < n; k++) {
        Py_ssize_t r = clamp(i + offsets[k][0], band->h), c = clamp(j + offsets[k][1], band->w);
        if (known >> ((r & 1) * 2 + (c & 1)) & 1) total += mag(band, r, c);
    }
    return total;
}

static inline uint32_t abs32(int32_t v) { return v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v; }

/* One pass's sources and what it uses of them. */
typedef struct {
    Grid band, parent, luma, co, others[2];
    int n_others;
    int64_t w[N_FEATURES]; /* a copy: the output cannot alias it */
    unsigned known;
    int use_parent, use_ring, use_others, use_luma, use_co, use_phase[3];
    uint32_t *ring; /* on the parent's grid: |the sum of |parent| over its 8 neighbours| (clamped) */
    /* Away from the borders a neighbour's phase follows from the pass's: the offsets of each
     * phase term (direct, diagonal, knight) that land on known phases, for the unclamped path. */
    int known_offsets[3][8][2], n_known[3];
} Pass;

static const int (*const PHASE_TERMS[3])[2] = {DIRECT, DIAGONAL, KNIGHT};
static const int PHASE_TERM_SIZES[3] = {4, 4, 8};

static inline uint64_t term(uint32_t feature, int64_t weight) {
    return (uint64_t)((int64_t)(int32_t)feature * weight);
}

/* The weighted evidence of the coefficient (i, j) = (r0 + 2a, c0 + 2b), every read clamped: the
 * borders' path (interior_row sums the rest of a row without clamping; the same sums). */
static int64_t weighted(const Pass *restrict P, Py_ssize_t a, Py_ssize_t i, Py_ssize_t j) {
    const int64_t *w = P->w;
    uint64_t mu = (uint64_t)w[8];
    if (P->use_parent || P->use_ring) {
        const Grid *g = &P->parent;
        Py_ssize_t pi = clamp(a, g->h), pj = clamp(j >> 1, g->w); /* (r0 + 2a) // 2 == a, (c0 + 2b) // 2 == b */
        if (P->use_parent) mu += term(abs32(g->p[pi * g->w + pj]), w[0]);
        if (P->use_ring) mu += term(P->ring[pi * g->w + pj], w[1]);
    }
    if (P->use_others) {
        uint32_t total = 0;
        for (int k = 0; k < P->n_others; k++) total += mag(&P->others[k], i, j);
        mu += term(total, w[2]);
    }
    if (P->use_luma) mu += term(mag(&P->luma, i, j), w[3]);
    if (P->use_co) mu += term(mag(&P->co, i, j), w[4]);
    for (int t = 0; t < 3; t++) {
        if (P->use_phase[t]) mu += term(known_sum(&P->band, i, j, PHASE_TERMS[t], PHASE_TERM_SIZES[t], P->known), w[5 + t]);
    }
    return (int64_t)mu;
}

/* mu[b] += feature[b] * weight over [lo, hi), as term() does it: the wrapped int32 feature times the
 * int64 weight, modulo 2^64 (unsigned: no overflow to be undefined). */
static inline void add_term(uint64_t *restrict mu, const uint32_t *restrict feature, int64_t weight, Py_ssize_t lo,
                            Py_ssize_t hi) {
    for (Py_ssize_t b = lo; b < hi; b++) mu[b] += (uint64_t)(int64_t)(int32_t)feature[b] * (uint64_t)weight;
}

/* |g| at (i, c0 + 2b) for b in [lo, hi) into f (f[b] = ..., or += with ``add``). */
static inline void strided_abs(uint32_t *restrict f, const int32_t *restrict p, Py_ssize_t lo, Py_ssize_t hi, int add) {
    if (add)
        for (Py_ssize_t b = lo; b < hi; b++) f[b] += abs32(p[2 * b]);
    else
        for (Py_ssize_t b = lo; b < hi; b++) f[b] = abs32(p[2 * b]);
}

/* weighted() of one row's interior coefficients b in [lo, hi) (no read needs clamping there), a
 * term at a time over the row: the same sums in the same integer types, in loops the compiler
 * vectorises, where the per-coefficient path re-tests every source for every coefficient. */
MULTIVERSIONED static void interior_row(const Pass *restrict P, Py_ssize_t a, Py_ssize_t i, int c0, Py_ssize_t lo, Py_ssize_t hi,
                         uint64_t *restrict mu, uint32_t *restrict f) {
    const int64_t *w = P->w;
    for (Py_ssize_t b = lo; b < hi; b++) mu[b] = (uint64_t)w[8];
    if (P->use_parent) {
        const int32_t *p = P->parent.p + a * P->parent.w;
        for (Py_ssize_t b = lo; b < hi; b++) f[b] = abs32(p[b]);
        add_term(mu, f, w[0], lo, hi);
    }
    if (P->use_ring) add_term(mu, P->ring + a * P->parent.w, w[1], lo, hi);
    if (P->use_others) {
        for (int k = 0; k < P->n_others; k++) strided_abs(f, P->others[k].p + i * P->others[k].w + c0, lo, hi, k > 0);
        add_term(mu, f, w[2], lo, hi);
    }
    if (P->use_luma) {
        strided_abs(f, P->luma.p + i * P->luma.w + c0, lo, hi, 0);
        add_term(mu, f, w[3], lo, hi);
    }
    if (P->use_co) {
        strided_abs(f, P->co.p + i * P->co.w + c0, lo, hi, 0);
        add_term(mu, f, w[4], lo, hi);
    }
    for (int t = 0; t < 3; t++) {
        if (!P->use_phase[t]) continue;
        const Grid *g = &P->band;
        for (Py_ssize_t b = lo; b < hi; b++) f[b] = 0;
        for (int k = 0; k < P->n_known[t]; k++)
            strided_abs(f, g->p + (i + P->known_offsets[t][k][0]) * g->w + c0 + P->known_offsets[t][k][1], lo, hi, 1);
        add_term(mu, f, w[5 + t], lo, hi);
    }
}

/* The parent ring of every parent coefficient, once per pass rather than once per coefficient;
 * the numpy path takes |.| of the summed (wrapping) ring, so this does too. */
static void parent_rings(const Grid *g, uint32_t *ring) {
    for (Py_ssize_t i = 0; i < g->h; i++) {
        Py_ssize_t j = 0;
        for (; j < g->w; j++) {
            if (i > 0 && i < g->h - 1 && j == 1) { /* the row's interior: no clamping */
                const int32_t *up = g->p + (i - 1) * g->w, *at = up + g->w, *down = at + g->w;
                for (; j < g->w - 1; j++) {
                    uint32_t total = abs32(up[j]) + abs32(down[j]) + abs32(at[j - 1]) + abs32(at[j + 1]) +
                                     abs32(up[j - 1]) + abs32(up[j + 1]) + abs32(down[j - 1]) + abs32(down[j + 1]);
                    ring[i * g->w + j] = abs32((int32_t)total);
                }
                if (j == g->w) break;
            }
            uint32_t total = 0;
            for (int k = 0; k < 4; k++) total += mag(g, i + DIRECT[k][0], j + DIRECT[k][1]);
            for (int k = 0; k < 4; k++) total += mag(g, i + DIAGONAL[k][0], j + DIAGONAL[k][1]);
            ring[i * g->w + j] = abs32((int32_t)total);
        }
    }
}

/* The largest a (or b) with r0 + 2a <= limit, as a signed count (-1: none). */
static inline Py_ssize_t last_index(Py_ssize_t limit, int r0) { return limit - r0 < 0 ? -1 : (limit - r0) / 2; }

/* [lo, hi] of the pass's rows (dim 0) or columns (dim 1) whose reads need no clamping. */
static void interior_range(const Pass *P, int dim, int r0, Py_ssize_t n, Py_ssize_t *lo, Py_ssize_t *hi) {
    const Grid *band = &P->band;
    Py_ssize_t size = dim ? band->w : band->h;
    *lo = 0;
    *hi = n - 1;
    if (P->use_phase[0] || P->use_phase[1] || P->use_phase[2]) { /* i - 2 >= 0 and i + 2 < size */
        *lo = 1;
        Py_ssize_t h = last_index(size - 3, r0);
        if (h < *hi) *hi = h;
    }
    if (P->use_parent || P->use_ring) {
        Py_ssize_t psize = dim ? P->parent.w : P->parent.h;
        Py_ssize_t h = psize - 1;
        if (h < *hi) *hi = h;
    }
    const Grid *same[4] = {P->use_luma ? &P->luma : NULL, P->use_co ? &P->co : NULL,
                           P->use_others && P->n_others > 0 ? &P->others[0] : NULL,
                           P->use_others && P->n_others > 1 ? &P->others[1] : NULL};
    for (int k = 0; k < 4; k++) {
        if (!same[k]) continue;
        Py_ssize_t h = last_index((dim ? same[k]->w : same[k]->h) - 1, r0);
        if (h < *hi) *hi = h;
    }
}

/* Binning m > 0 (searchsorted side right: the thresholds <= m) by a bucket table. A bucket is m
 * itself below 32, else its bit length and the 4 bits after its leading one (16 buckets an
 * octave); ``before[key]`` counts the thresholds below the bucket's first value, all of them <= m,
 * and at most ``steps`` thresholds lie in one bucket (one for third octaves): that many branchless
 * comparisons against the thresholds padded with INT64_MAX finish the count. */
#define N_BUCKETS (32 + 58 * 16)

typedef struct {
    Py_ssize_t before[N_BUCKETS];
    int64_t *padded; /* the thresholds, then ``steps`` INT64_MAX */
    Py_ssize_t n;
    int steps;
} Binner;

static inline int bucket_of(uint64_t m) { /* m >= 1 */
    int length = 64 - __builtin_clzll(m);
    return length <= 5 ? (int)m : 32 + (length - 6) * 16 + (int)((m >> (length - 5)) & 15);
}

static inline uint64_t bucket_start(int key) {
    if (key < 32) return (uint64_t)key;
    int length = 6 + (key - 32) / 16;
    return (uint64_t)(16 + (key - 32) % 16) << (length - 5);
}

/* 0, or -1 with an exception set (no memory). */
static int binner_init(Binner *B, const int64_t *thresholds, Py_ssize_t n) {
    Py_ssize_t k = 0;
    B->steps = 0;
    B->n = n;
    for (int key = 1; key < N_BUCKETS; key++) {
        uint64_t start = bucket_start(key), next = key + 1 < N_BUCKETS ? bucket_start(key + 1) : (uint64_t)INT64_MAX + 1;
        while (k < n && thresholds[k] < (int64_t)start) k++; /* thresholds ascend, so k only grows */
        B->before[key] = k;
        Py_ssize_t in = 0;
        while (k + in < n && (uint64_t)thresholds[k + in] < next) in++;
        if (in > B->steps) B->steps = (int)in;
    }
    B->before[0] = 0;
    if (!(B->padded = PyMem_RawMalloc(sizeof(int64_t) * (n + B->steps + 1)))) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(B->padded, thresholds, sizeof(int64_t) * n);
    for (int s = 0; s <= B->steps; s++) B->padded[n + s] = INT64_MAX;
    return 0;
}

static inline __attribute__((always_inline)) int64_t bin_of(int64_t m, const Binner *B, int shift, int n_bins,
                                                             const int steps) {
    uint64_t positive = m > 0 ? (uint64_t)m : 1;
    Py_ssize_t count = B->before[bucket_of(positive)];
    for (int s = 0; s < steps; s++) count += B->padded[count] <= m;
    if (count > B->n) count = B->n; /* m == INT64_MAX passes the padding too */
    int64_t bin = 1 + count + shift;
    if (shift) bin = bin < 1 ? 1 : (bin > n_bins - 1 ? n_bins - 1 : bin);
    return m > 0 ? bin : 0;
}

/* A row's weighted sums -> their bins, in place; one threshold a bucket (third octaves) unrolled. */
static void bin_row(int64_t *row, Py_ssize_t n, const Binner *B, int shift, int n_bins) {
    if (B->steps == 1)
        for (Py_ssize_t b = 0; b < n; b++) row[b] = bin_of(row[b], B, shift, n_bins, 1);
    else
        for (Py_ssize_t b = 0; b < n; b++) row[b] = bin_of(row[b], B, shift, n_bins, B->steps);
}

/* A 2-D C-contiguous int32 array (or None: absent) as a Grid; -1 with an exception if neither. */
static int grid_of(PyObject *obj, Py_buffer *view, Grid *g) {
    g->p = NULL;
    g->h = g->w = 0;
    if (obj == Py_None) return 0;
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (view->ndim != 2 || view->itemsize != 4 || view->format == NULL || (view->format[0] != 'i' && view->format[0] != 'l')) {
        PyBuffer_Release(view);
        view->obj = NULL;
        PyErr_SetString(PyExc_ValueError, "evidence arrays must be 2-D C-contiguous int32");
        return -1;
    }
    if (view->shape[0] > 0 && view->shape[1] > 0) {
        g->p = (const int32_t *)view->buf;
        g->h = view->shape[0];
        g->w = view->shape[1];
    }
    return 0;
}

#define MAX_OTHERS 2 /* a level's bands coded before the last: at most two */

static PyObject *bins(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *band_obj, *parent_obj, *others_obj, *luma_obj, *co_obj;
    Py_buffer weights_view = {0}, thresholds_view = {0}, out_view = {0};
    int r0, c0, shift, n_bins;
    unsigned known;
    if (!PyArg_ParseTuple(args, "OiiIOOOOy*y*iiw*", &band_obj, &r0, &c0, &known, &parent_obj, &others_obj, &luma_obj,
                          &co_obj, &weights_view, &thresholds_view, &shift, &n_bins, &out_view))
        return NULL;
    Py_buffer views[4 + MAX_OTHERS] = {{0}};
    Binner binner = {.padded = NULL};
    uint32_t *scratch = NULL;
    Pass P = {.ring = NULL};
    Grid band, parent, luma, co, others[MAX_OTHERS];
    int n_others = 0;
    PyObject *result = NULL;
    if (!PyTuple_Check(others_obj) || PyTuple_GET_SIZE(others_obj) > MAX_OTHERS) {
        PyErr_SetString(PyExc_ValueError, "others must be a tuple of at most two arrays");
        goto done;
    }
    if (grid_of(band_obj, &views[0], &band) < 0 || grid_of(parent_obj, &views[1], &parent) < 0 ||
        grid_of(luma_obj, &views[2], &luma) < 0 || grid_of(co_obj, &views[3], &co) < 0)
        goto done;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(others_obj); k++) {
        if (grid_of(PyTuple_GET_ITEM(others_obj, k), &views[4 + k], &others[n_others]) < 0) goto done;
        if (others[n_others].p) n_others++;
    }
    if (band.p == NULL || (r0 != 0 && r0 != 1) || (c0 != 0 && c0 != 1) || n_bins < 2) {
        PyErr_SetString(PyExc_ValueError, "an empty band, a phase outside 0..1 or too few bins");
        goto done;
    }
    if (weights_view.len != N_FEATURES * 8 || thresholds_view.len % 8 != 0) {
        PyErr_SetString(PyExc_ValueError, "weights must be 9 int64, thresholds int64");
        goto done;
    }
    Py_ssize_t n_rows = (band.h - r0 + 1) / 2, n_cols = (band.w - c0 + 1) / 2;
    if (out_view.len != n_rows * n_cols * 8) {
        PyErr_SetString(PyExc_ValueError, "out must hold one int64 per coefficient of the pass");
        goto done;
    }
    P = (Pass){.band = band, .parent = parent, .luma = luma, .co = co, .n_others = n_others, .known = known};
    memcpy(P.w, weights_view.buf, sizeof P.w);
    for (int k = 0; k < n_others; k++) P.others[k] = others[k];
    P.use_parent = parent.p && P.w[0];
    P.use_ring = parent.p && P.w[1];
    P.use_others = n_others && P.w[2];
    P.use_luma = luma.p && P.w[3];
    P.use_co = co.p && P.w[4];
    for (int t = 0; t < 3; t++) {
        P.use_phase[t] = known && P.w[5 + t];
        P.n_known[t] = 0;
        for (int k = 0; k < PHASE_TERM_SIZES[t]; k++) {
            int dy = PHASE_TERMS[t][k][0], dx = PHASE_TERMS[t][k][1];
            if (known >> (((r0 + dy) & 1) * 2 + ((c0 + dx) & 1)) & 1) {
                P.known_offsets[t][P.n_known[t]][0] = dy;
                P.known_offsets[t][P.n_known[t]][1] = dx;
                P.n_known[t]++;
            }
        }
    }
    const int64_t *thresholds = (const int64_t *)thresholds_view.buf;
    Py_ssize_t n_thresholds = thresholds_view.len / 8;
    for (Py_ssize_t k = 1; k < n_thresholds; k++) {
        if (thresholds[k] < thresholds[k - 1]) {
            PyErr_SetString(PyExc_ValueError, "thresholds must ascend");
            goto done;
        }
    }
    if (binner_init(&binner, thresholds, n_thresholds) < 0) goto done;
    int64_t *restrict out = (int64_t *)out_view.buf;
    Py_ssize_t row_lo, row_hi, col_lo, col_hi;
    interior_range(&P, 0, r0, n_rows, &row_lo, &row_hi);
    interior_range(&P, 1, c0, n_cols, &col_lo, &col_hi);
    if (P.use_ring && !(P.ring = PyMem_RawMalloc(sizeof(uint32_t) * parent.h * parent.w))) {
        PyErr_NoMemory();
        goto done;
    }
    if (!(scratch = PyMem_RawMalloc(sizeof(uint32_t) * (n_cols + 1)))) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    if (P.use_ring) parent_rings(&parent, P.ring);
    for (Py_ssize_t a = 0; a < n_rows; a++) {
        Py_ssize_t i = r0 + 2 * a;
        int64_t *row = out + a * n_cols;
        if (a >= row_lo && a <= row_hi && col_lo <= col_hi) {
            for (Py_ssize_t b = 0; b < col_lo; b++) row[b] = weighted(&P, a, i, c0 + 2 * b);
            interior_row(&P, a, i, c0, col_lo, col_hi + 1, (uint64_t *)row, scratch);
            for (Py_ssize_t b = col_hi + 1; b < n_cols; b++) row[b] = weighted(&P, a, i, c0 + 2 * b);
        } else {
            for (Py_ssize_t b = 0; b < n_cols; b++) row[b] = weighted(&P, a, i, c0 + 2 * b);
        }
        bin_row(row, n_cols, &binner, shift, n_bins);
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_RawFree(P.ring);
    PyMem_RawFree(scratch);
    PyMem_RawFree(binner.padded);
    for (int k = 0; k < 4 + MAX_OTHERS; k++) {
        if (views[k].obj) PyBuffer_Release(&views[k]);
    }
    PyBuffer_Release(&weights_view);
    PyBuffer_Release(&thresholds_view);
    PyBuffer_Release(&out_view);
    return result;
}

static PyMethodDef methods[] = {
    {"bins", bins, METH_VARARGS,
     "bins(band, r0, c0, known, parent, others, luma, co, weights, thresholds, shift, n_bins, out): "
     "scheme 4's shifted bins of one pass into out (int64)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_contexts", "scheme 4's bins (entropy/_contexts.c)", -1, methods};

PyMODINIT_FUNC PyInit__contexts(void) { return PyModule_Create(&module); }
