/* The encoder's rate-distortion lowering in C (entropy/rdo.py, lower_where_cheaper): one pass over
 * a band pass's symbols instead of a dozen numpy temporaries, called for every candidate shift.
 *
 * The same IEEE double operations in the same order as the numpy path, and no contraction into
 * fused multiply-adds (-ffp-contract=off): every decision, and so every file the encoder writes,
 * is the same bit for bit (tests/test_encoder_identity.py, tests/test_coder.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static PyObject *lower(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer values = {0}, mags = {0}, rows = {0}, bits = {0}, offsets = {0}, lengths = {0};
    Py_ssize_t stride;
    double lambda;
    if (!PyArg_ParseTuple(args, "w*y*y*y*ny*y*d", &values, &mags, &rows, &bits, &stride, &offsets, &lengths, &lambda))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = values.len / 4, n_tables = offsets.len / 4;
    if (values.len % 4 || mags.len != n * 4 || rows.len != n || lengths.len != offsets.len || stride < 1 ||
        bits.len != n_tables * stride * 8) {
        PyErr_SetString(PyExc_ValueError, "values int32, mags float32 and rows uint8 of one length; bits float64 "
                                          "(tables x stride), offsets and lengths int32 per table");
        goto done;
    }
    int32_t *v = (int32_t *)values.buf;
    const float *u = (const float *)mags.buf;
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
        int64_t value = v[k];
        if (value == 0) continue;
        int64_t sign = value > 0 ? 1 : -1, q = value > 0 ? value : -value;
        int64_t n_symbols = (int64_t)length[r[k]] - 2; /* the last entry is the overflow symbol */
        int64_t keep_index = value - offset[r[k]], lower_index = value - sign - offset[r[k]];
        if (keep_index < 0 || keep_index >= n_symbols || lower_index < 0 || lower_index >= n_symbols) continue;
        if (keep_index >= stride || lower_index >= stride) continue; /* a table longer than its row: never lowered */
        const double *row = b + (Py_ssize_t)r[k] * stride;
        double m = (double)u[k];
        /* dequantize() reconstructs |q| >= 1 at |q| steps + ~1/8 of a step, and 0 at 0 */
        double keep_error = m - ((double)q + 0.125);
        double lower_error = m - (q > 1 ? (double)q - 0.875 : 0.0);
        double keep_cost = keep_error * keep_error + lambda * row[keep_index];
        double lower_cost = lower_error * lower_error + lambda * row[lower_index];
        if (lower_cost < keep_cost) v[k] = (int32_t)(value - sign);
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

static PyMethodDef methods[] = {
    {"lower", lower, METH_VARARGS,
     "lower(values, mags, rows, bits, stride, offsets, lengths, lambda): lower_where_cheaper in place"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rdo", "the encoder's lowering (entropy/_rdo.c)", -1, methods};

PyMODINIT_FUNC PyInit__rdo(void) { return PyModule_Create(&module); }
