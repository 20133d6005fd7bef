/* The encoder's rate-distortion choices in C (entropy/rdo.py): the lowering of one band pass's
 * symbols (lower_where_cheaper), and the cost of that pass under each candidate bin shift
 * (choose_shifts), one pass over the symbols per candidate instead of a dozen numpy temporaries.
 *
 * The same IEEE double operations in the same order as the numpy path, and no contraction into
 * fused multiply-adds (-ffp-contract=off): every decision, and so every file the encoder writes,
 * is the same bit for bit (tests/test_encoder_identity.py, tests/test_coder.py). Sums follow
 * numpy's float64 add.reduce on a contiguous array: pairwise within blocks of 8192 (its buffer),
 * the blocks added in order.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>

/* An IEEE half (the encoder's magnitudes are float16) as a double: exact. */
static inline double half_to_double(uint16_t h) {
    int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double v = exponent == 0 ? ldexp((double)mantissa, -24)
               : exponent == 31 ? (mantissa ? NAN : INFINITY)
               : ldexp((double)(mantissa | 0x400), exponent - 25);
    return h >> 15 ? -v : v;
}

/* Magnitude k of a float16 or float32 array, as the numpy path reads it. */
static inline double magnitude(const void *mags, int half, Py_ssize_t k) {
    return half ? half_to_double(((const uint16_t *)mags)[k]) : (double)((const float *)mags)[k];
}

/* The lowering of one nonzero symbol: the value the encoder writes (value or value - sign), or
 * value unchanged where either candidate lies outside its table. */
static inline int64_t lowered_value(int64_t value, double m, int64_t row_offset, int64_t row_length,
                                    const double *row, Py_ssize_t stride, double lambda) {
    int64_t sign = value > 0 ? 1 : -1, q = value > 0 ? value : -value;
    int64_t n_symbols = row_length - 2; /* the last entry is the overflow symbol */
    int64_t keep_index = value - row_offset, lower_index = value - sign - row_offset;
    if (keep_index < 0 || keep_index >= n_symbols || lower_index < 0 || lower_index >= n_symbols) return value;
    if (keep_index >= stride || lower_index >= stride) return value; /* a table longer than its row: never lowered */
    /* dequantize() reconstructs |q| >= 1 at |q| steps + ~1/8 of a step, and 0 at 0 */
    double keep_error = m - ((double)q + 0.125);
    double lower_error = m - (q > 1 ? (double)q - 0.875 : 0.0);
    double keep_cost = keep_error * keep_error + lambda * row[keep_index];
    double lower_cost = lower_error * lower_error + lambda * row[lower_index];
    return lower_cost < keep_cost ? value - sign : value;
}

/* numpy's pairwise summation of n contiguous doubles (numpy/core/src/umath/loops_utils.h.src). */
static double pairwise_sum(const double *a, Py_ssize_t n) {
    if (n < 8) {
        double res = 0.;
        for (Py_ssize_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        Py_ssize_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    Py_ssize_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

/* What np.sum gives for a contiguous float64 array: its 8192-element buffers summed in order. */
static double numpy_sum(const double *a, Py_ssize_t n) {
    double res = 0.;
    for (Py_ssize_t i = 0; i < n; i += 8192) res += pairwise_sum(a + i, n - i < 8192 ? n - i : 8192);
    return res;
}

static PyObject *lower(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer values = {0}, mags = {0}, rows = {0}, bits = {0}, offsets = {0}, lengths = {0};
    Py_ssize_t stride;
    double lambda;
    if (!PyArg_ParseTuple(args, "w*y*y*y*ny*y*d", &values, &mags, &rows, &bits, &stride, &offsets, &lengths, &lambda))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = values.len / 4, n_tables = offsets.len / 4;
    if (values.len % 4 || (mags.len != n * 4 && mags.len != n * 2) || rows.len != n || lengths.len != offsets.len ||
        stride < 1 || bits.len != n_tables * stride * 8) {
        PyErr_SetString(PyExc_ValueError, "values int32, mags float16 or float32 and rows uint8 of one length; bits float64 "
                                          "(tables x stride), offsets and lengths int32 per table");
        goto done;
    }
    int32_t *v = (int32_t *)values.buf;
    const void *u = mags.buf;
    const int half = n > 0 && mags.len == n * 2;
    const uint8_t *r = (const uint8_t *)rows.buf;
    const double *b = (const double *)bits.buf;
    const int32_t *offset = (const int32_t *)offsets.buf, *length = (const int32_t *)lengths.buf;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (r[k] >= n_tables) {
            PyErr_SetString(PyExc_ValueError, "a table row beyond the tables");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < n; k++) {
        if (v[k] == 0) continue;
        v[k] = (int32_t)lowered_value(v[k], magnitude(u, half, k), offset[r[k]], length[r[k]], b + (Py_ssize_t)r[k] * stride,
                                      stride, lambda);
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&values);
    PyBuffer_Release(&mags);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&bits);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&lengths);
    return result;
}

/* shift_costs(values, mags, bins, candidate_rows, n_bins, bits, stride, offsets, lengths, escapes, lambda):
 * per candidate c, the pass's nonzero symbols lowered under the tables candidate_rows[c, bin], and
 * (sum of squared errors, sum of bits) of what is then written. A value beyond its table costs the
 * overflow symbol plus escapes[|index|] + 4 (escapes: numpy's 2 log2(i + 2), whose last bits libm's
 * log2 does not always give); None for a candidate with an |index| beyond escapes. */
static PyObject *shift_costs(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer values = {0}, mags = {0}, bins = {0}, candidates = {0}, bits = {0}, offsets = {0}, lengths = {0},
              escapes = {0};
    Py_ssize_t n_bins, stride;
    double lambda;
    if (!PyArg_ParseTuple(args, "y*y*y*y*ny*ny*y*y*d", &values, &mags, &bins, &candidates, &n_bins, &bits, &stride,
                          &offsets, &lengths, &escapes, &lambda))
        return NULL;
    PyObject *result = NULL;
    double *scratch = NULL;
    Py_ssize_t n = values.len / 4, n_tables = offsets.len / 4;
    Py_ssize_t n_candidates = n_bins > 0 ? candidates.len / n_bins : 0;
    if (values.len % 4 || (mags.len != n * 4 && mags.len != n * 2) || bins.len != n || lengths.len != offsets.len || stride < 1 ||
        n_bins < 1 || candidates.len != n_candidates * n_bins || bits.len != n_tables * stride * 8 || escapes.len % 8) {
        PyErr_SetString(PyExc_ValueError, "values int32, mags float16 or float32 and bins uint8 of one length; candidate_rows "
                                          "uint8 (candidates x n_bins); bits float64 (tables x stride), offsets and "
                                          "lengths int32 per table; escapes float64");
        goto done;
    }
    const int32_t *v = (const int32_t *)values.buf;
    const void *u = mags.buf;
    const int half = n > 0 && mags.len == n * 2;
    const uint8_t *bin = (const uint8_t *)bins.buf, *rows = (const uint8_t *)candidates.buf;
    const double *b = (const double *)bits.buf;
    const int32_t *offset = (const int32_t *)offsets.buf, *length = (const int32_t *)lengths.buf;
    const double *escape = (const double *)escapes.buf;
    const int64_t n_escapes = escapes.len / 8;
    for (Py_ssize_t k = 0; k < n_tables; k++) {
        if (length[k] < 2 || length[k] - 2 >= stride) {
            PyErr_SetString(PyExc_ValueError, "a table without its overflow symbol in bits");
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        if (bin[k] >= n_bins) {
            PyErr_SetString(PyExc_ValueError, "a bin beyond n_bins");
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k < n_candidates * n_bins; k++) {
        if (rows[k] >= n_tables) {
            PyErr_SetString(PyExc_ValueError, "a table row beyond the tables");
            goto done;
        }
    }
    result = PyTuple_New(n_candidates);
    scratch = malloc(sizeof(double) * (size_t)(2 * (n > 0 ? n : 1)));
    if (result == NULL || scratch == NULL) {
        Py_CLEAR(result);
        if (scratch == NULL) PyErr_NoMemory();
        goto done;
    }
    double *errors = scratch, *cost = scratch + n;
    for (Py_ssize_t c = 0; c < n_candidates; c++) {
        const uint8_t *row_of_bin = rows + c * n_bins;
        int overflow = 0;
        double error_sum = 0., bits_sum = 0.;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t k = 0; k < n; k++) {
            int64_t r = row_of_bin[bin[k]];
            double m = magnitude(u, half, k);
            int64_t value = v[k];
            if (value != 0) value = lowered_value(value, m, offset[r], length[r], b + r * stride, stride, lambda);
            int64_t q = value > 0 ? value : -value;
            double e = m - (q > 0 ? (double)q + 0.125 : 0.0);
            errors[k] = e * e;
            int64_t index = value - offset[r], n_symbols = (int64_t)length[r] - 2;
            if (index >= 0 && index < n_symbols) {
                cost[k] = b[r * stride + index];
                continue;
            }
            int64_t abs_index = index > 0 ? index : -index;
            if (abs_index >= n_escapes) {
                overflow = 1;
                break;
            }
            cost[k] = b[r * stride + n_symbols] + escape[abs_index] + 4.0;
        }
        if (!overflow) {
            error_sum = numpy_sum(errors, n);
            bits_sum = numpy_sum(cost, n);
        }
        Py_END_ALLOW_THREADS
        PyObject *item = overflow ? (Py_INCREF(Py_None), Py_None) : Py_BuildValue("(dd)", error_sum, bits_sum);
        if (item == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyTuple_SET_ITEM(result, c, item);
    }
done:
    free(scratch);
    PyBuffer_Release(&values);
    PyBuffer_Release(&mags);
    PyBuffer_Release(&bins);
    PyBuffer_Release(&candidates);
    PyBuffer_Release(&bits);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&lengths);
    PyBuffer_Release(&escapes);
    return result;
}

static PyMethodDef methods[] = {
    {"lower", lower, METH_VARARGS,
     "lower(values, mags, rows, bits, stride, offsets, lengths, lambda): lower_where_cheaper in place"},
    {"shift_costs", shift_costs, METH_VARARGS,
     "shift_costs(values, mags, bins, candidate_rows, n_bins, bits, stride, offsets, lengths, escapes, lambda): per "
     "candidate, (squared error, bits) of the lowered pass, or None where a value lies beyond escapes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rdo", "the encoder's rate-distortion choices (entropy/_rdo.c)", -1, methods};

PyMODINIT_FUNC PyInit__rdo(void) { return PyModule_Create(&module); }
