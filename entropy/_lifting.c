/* The integer transforms of entropy/wavelet.py and entropy/pyramid.py in C: the lifting wavelets
 * (one pass over the samples per lifting step instead of numpy's temporaries: an int64 product and
 * three int32 arrays per step), the colour planes and the dead-zone quantiser, each with the GIL
 * released (the planes run on threads).
 *
 * The same integer operations as the numpy path, including its wrap-around: neighbour sums in
 * int32, the 9/7 products in int64, each result truncated back to int32. Every coefficient is the
 * numpy path's bit for bit (tests/test_wavelet.py), so files and decoded pixels do not change.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { FIXED_POINT, PREDICT_53, UPDATE_53 } Kind;

typedef struct {
    int on_odd; /* the step updates the odd samples from their even neighbours (else the reverse) */
    Kind kind;
    int64_t c; /* FIXED_POINT: round(a * 2^16) */
} Step;

#define MAX_STEPS 4
typedef struct {
    int n;
    Step steps[MAX_STEPS];
} Wavelet;

static inline int32_t wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

static inline int32_t step_value(const Step *s, int32_t a, int32_t b) {
    int32_t n = wrap_add(a, b);
    switch (s->kind) {
    case FIXED_POINT:
        return (int32_t)(uint32_t)((s->c * (int64_t)n + (1 << 15)) >> 16);
    case PREDICT_53:
        return (int32_t)(0u - (uint32_t)(n >> 1));
    default:
        return wrap_add(n, 2) >> 2;
    }
}

/* The lifting steps on split samples: even (ne rows) and odd (no rows), lifting along the rows;
 * each row holds `width` independent signals, rows `stride` samples apart. Mirrored at the ends as
 * the numpy path is. */
static void lift(int32_t *even, int32_t *odd, Py_ssize_t ne, Py_ssize_t no, Py_ssize_t width, Py_ssize_t stride,
                 const Wavelet *w, int inverse) {
    for (int k = 0; k < w->n; k++) {
        const Step *s = &w->steps[inverse ? w->n - 1 - k : k];
        if (s->on_odd) {
            for (Py_ssize_t i = 0; i < no; i++) {
                const int32_t *a = even + i * stride, *b = even + (i + 1 < ne ? i + 1 : ne - 1) * stride;
                int32_t *o = odd + i * stride;
                for (Py_ssize_t j = 0; j < width; j++) {
                    int32_t v = step_value(s, a[j], b[j]);
                    o[j] = inverse ? (int32_t)((uint32_t)o[j] - (uint32_t)v) : wrap_add(o[j], v);
                }
            }
        } else {
            for (Py_ssize_t i = 0; i < ne; i++) {
                const int32_t *a = odd + (i > 0 ? i - 1 : 0) * stride, *b = odd + (i < no ? i : no - 1) * stride;
                int32_t *e = even + i * stride;
                for (Py_ssize_t j = 0; j < width; j++) {
                    int32_t v = step_value(s, a[j], b[j]);
                    e[j] = inverse ? (int32_t)((uint32_t)e[j] - (uint32_t)v) : wrap_add(e[j], v);
                }
            }
        }
    }
}

/* Along axis 0, columns are lifted a strip at a time so that all the steps run while a strip is in
 * cache (the whole-plane passes were bound by memory bandwidth). */
#define STRIP 64

/* The steps as entropy/wavelet.py declares them: int64 triples (updates odd samples?, kind, constant). */
static int parse_wavelet(const Py_buffer *steps, Wavelet *w) {
    const int64_t *t = (const int64_t *)steps->buf;
    Py_ssize_t n = steps->len / 24;
    if (steps->len % 24 || n < 1 || n > MAX_STEPS) goto bad;
    w->n = (int)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (t[3 * i + 1] < FIXED_POINT || t[3 * i + 1] > UPDATE_53) goto bad;
        w->steps[i] = (Step){t[3 * i] != 0, (Kind)t[3 * i + 1], t[3 * i + 2]};
    }
    return 1;
bad:
    PyErr_SetString(PyExc_ValueError, "steps: 1 to 4 int64 triples (on_odd, kind 0-2, constant)");
    return 0;
}

/* The shape of a call, checked against its buffers: x is (n, m) int32, low and high its ceil and
 * floor halves along axis; sets ne, no (even and odd counts) and the wavelet. */
static int check_call(const Py_buffer *x, const Py_buffer *low, const Py_buffer *high, Py_ssize_t n, Py_ssize_t m,
                      int axis, const Py_buffer *steps, Wavelet *w, Py_ssize_t *ne, Py_ssize_t *no) {
    if (!parse_wavelet(steps, w)) return 0;
    Py_ssize_t len = axis == 0 ? n : m, other = axis == 0 ? m : n;
    *ne = (len + 1) / 2;
    *no = len / 2;
    if (n < 0 || m < 0 || (axis != 0 && axis != 1) || (n > 0 && m > PY_SSIZE_T_MAX / 4 / n) ||
        x->len != n * m * 4 || low->len != *ne * other * 4 || high->len != *no * other * 4) {
        PyErr_SetString(PyExc_ValueError, "x int32 (n, m); low and high int32 halves along axis 0 or 1");
        return 0;
    }
    return 1;
}

/* forward(x, low, high, n, m, axis, steps): one lifting pass of the (n, m) int32 array x along
 * axis 0 or 1 into low (the ceil half) and high (the floor half). */
static PyObject *forward(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer x = {0}, low = {0}, high = {0};
    Py_ssize_t n, m;
    int axis;
    Py_buffer steps = {0};
    Wavelet w;
    if (!PyArg_ParseTuple(args, "y*w*w*nniy*", &x, &low, &high, &n, &m, &axis, &steps)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t ne, no;
    if (!check_call(&x, &low, &high, n, m, axis, &steps, &w, &ne, &no)) goto done;
    const int32_t *src = (const int32_t *)x.buf;
    int32_t *e = (int32_t *)low.buf, *o = (int32_t *)high.buf;
    Py_BEGIN_ALLOW_THREADS
    if (axis == 0) {
        for (Py_ssize_t j = 0; j < m; j += STRIP) {
            Py_ssize_t width = m - j < STRIP ? m - j : STRIP;
            for (Py_ssize_t i = 0; i < n; i++) memcpy((i % 2 ? o : e) + (i / 2) * m + j, src + i * m + j, (size_t)width * 4);
            if (no) lift(e + j, o + j, ne, no, width, m, &w, 0);
        }
    } else {
        for (Py_ssize_t r = 0; r < n; r++) {
            const int32_t *row = src + r * m;
            int32_t *er = e + r * ne, *orow = o + r * no;
            for (Py_ssize_t i = 0; i < no; i++) {
                er[i] = row[2 * i];
                orow[i] = row[2 * i + 1];
            }
            if (ne > no) er[ne - 1] = row[m - 1];
            if (no) lift(er, orow, ne, no, 1, 1, &w, 0);
        }
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&x);
    PyBuffer_Release(&low);
    PyBuffer_Release(&high);
    PyBuffer_Release(&steps);
    return result;
}

/* v rounded and shifted right by shift bits as numpy's (v + 2^(shift-1)) >> shift on int32
 * (wrapping add, arithmetic shift); shift 0: v. */
static inline int32_t rounded(int32_t v, int shift) {
    return shift ? wrap_add(v, (int32_t)1 << (shift - 1)) >> shift : v;
}

static void store(int32_t *dst, const int32_t *src, Py_ssize_t count, int shift) {
    if (!shift) {
        memcpy(dst, src, (size_t)count * 4);
        return;
    }
    for (Py_ssize_t i = 0; i < count; i++) dst[i] = rounded(src[i], shift);
}

/* inverse(low, high, x, n, m, axis, steps, shift): the exact inverse of forward, into x (n, m),
 * each result rounded off its last ``shift`` bits (0..30): the last pass of a synthesis writes
 * the plane's integers directly, without a fixed-point temporary. */
static PyObject *inverse(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer low = {0}, high = {0}, x = {0};
    Py_ssize_t n, m;
    int axis, shift;
    Py_buffer steps = {0};
    Wavelet w;
    if (!PyArg_ParseTuple(args, "y*y*w*nniy*i", &low, &high, &x, &n, &m, &axis, &steps, &shift)) return NULL;
    PyObject *result = NULL;
    int32_t *scratch = NULL;
    Py_ssize_t ne, no;
    if (!check_call(&x, &low, &high, n, m, axis, &steps, &w, &ne, &no)) goto done;
    if (shift < 0 || shift > 30) {
        PyErr_SetString(PyExc_ValueError, "shift must be in 0..30");
        goto done;
    }
    /* the inputs are read only: lift a copy (axis 1: one row at a time) */
    Py_ssize_t len = ne + no, scratch_len = axis == 0 ? len * STRIP : len;
    scratch = (int32_t *)malloc((size_t)(scratch_len > 0 ? scratch_len : 1) * 4);
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const int32_t *e_in = (const int32_t *)low.buf, *o_in = (const int32_t *)high.buf;
    int32_t *dst = (int32_t *)x.buf;
    Py_BEGIN_ALLOW_THREADS
    if (axis == 0) {
        int32_t *e = scratch, *o = scratch + ne * STRIP;
        for (Py_ssize_t j = 0; j < m; j += STRIP) {
            Py_ssize_t width = m - j < STRIP ? m - j : STRIP;
            for (Py_ssize_t i = 0; i < ne; i++) memcpy(e + i * width, e_in + i * m + j, (size_t)width * 4);
            for (Py_ssize_t i = 0; i < no; i++) memcpy(o + i * width, o_in + i * m + j, (size_t)width * 4);
            if (no) lift(e, o, ne, no, width, width, &w, 1);
            for (Py_ssize_t i = 0; i < n; i++) store(dst + i * m + j, (i % 2 ? o : e) + (i / 2) * width, width, shift);
        }
    } else {
        int32_t *e = scratch, *o = scratch + ne;
        for (Py_ssize_t r = 0; r < n; r++) {
            memcpy(e, e_in + r * ne, (size_t)ne * 4);
            memcpy(o, o_in + r * no, (size_t)no * 4);
            if (no) lift(e, o, ne, no, 1, 1, &w, 1);
            int32_t *row = dst + r * m;
            for (Py_ssize_t i = 0; i < no; i++) {
                row[2 * i] = rounded(e[i], shift);
                row[2 * i + 1] = rounded(o[i], shift);
            }
            if (ne > no) row[m - 1] = rounded(e[ne - 1], shift);
        }
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    free(scratch);
    PyBuffer_Release(&low);
    PyBuffer_Release(&high);
    PyBuffer_Release(&x);
    PyBuffer_Release(&steps);
    return result;
}

/* ycocg_forward(rgb, planes, n, channels): n interleaved uint8 pixels of 3 or 4 channels into
 * channels int32 planes of n samples: Y, Co, Cg (YCoCg-R, as entropy/wavelet.py's numpy path:
 * arithmetic shifts of signed values) and alpha as it is. One pass, no temporaries. */
static PyObject *ycocg_forward(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer rgb = {0}, planes = {0};
    Py_ssize_t n;
    int channels;
    if (!PyArg_ParseTuple(args, "y*w*ni", &rgb, &planes, &n, &channels)) return NULL;
    PyObject *result = NULL;
    if (n < 0 || (channels != 3 && channels != 4) || n > PY_SSIZE_T_MAX / 16 || rgb.len != n * channels ||
        planes.len != n * channels * 4) {
        PyErr_SetString(PyExc_ValueError, "rgb uint8 (n, 3 or 4); planes int32 (channels, n)");
        goto done;
    }
    const uint8_t *src = (const uint8_t *)rgb.buf;
    int32_t *y = (int32_t *)planes.buf, *co = y + n, *cg = co + n, *alpha = cg + n;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t *px = src + i * channels;
        int32_t r = px[0], g = px[1], b = px[2];
        int32_t c = r - b, t = b + (c >> 1), d = g - t;
        co[i] = c;
        cg[i] = d;
        y[i] = t + (d >> 1);
        if (channels == 4) alpha[i] = px[3];
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&rgb);
    PyBuffer_Release(&planes);
    return result;
}

/* The dead-zone quantiser of entropy/pyramid.py and its reconstruction on int32 arrays, in int64:
 * quantize gives sign(c) * ((3 |c| + step) // (3 step)) (numpy computes 3 |c| in int32, which wraps
 * only beyond |c| = 2^29; 8-bit images' coefficients, 9/7 gains and 4 fraction bits, stay below
 * 2^20, so the results agree); dequantize gives sign(q) * (|q| step + (step >> 3)), truncated to
 * int32 as numpy's astype does. */
static PyObject *quantiser(PyObject *args, int inverse) {
    Py_buffer src = {0}, dst = {0};
    long long step;
    if (!PyArg_ParseTuple(args, "y*w*L", &src, &dst, &step)) return NULL;
    PyObject *result = NULL;
    if (src.len % 4 || dst.len != src.len || step < 2 || step > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "int32 input and output of one length; 2 <= step < 2^31");
        goto done;
    }
    const int32_t *in = (const int32_t *)src.buf;
    int32_t *out = (int32_t *)dst.buf;
    Py_ssize_t n = src.len / 4;
    const int64_t offset = step >> 3;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t v = in[i], magnitude = v < 0 ? -v : v;
        int64_t r = inverse ? (v == 0 ? 0 : magnitude * step + offset) : (3 * magnitude + step) / (3 * step);
        out[i] = (int32_t)(uint32_t)(uint64_t)(v < 0 ? -r : r);
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return result;
}

static PyObject *quantize(PyObject *Py_UNUSED(self), PyObject *args) { return quantiser(args, 0); }

static PyObject *dequantize(PyObject *Py_UNUSED(self), PyObject *args) { return quantiser(args, 1); }

static PyMethodDef methods[] = {
    {"forward", forward, METH_VARARGS, "forward(x, low, high, n, m, axis, steps): one lifting pass"},
    {"inverse", inverse, METH_VARARGS, "inverse(low, high, x, n, m, axis, steps, shift): its exact inverse, rounded off shift bits"},
    {"quantize", quantize, METH_VARARGS, "quantize(c, q, step): the dead-zone quantiser, int32 to int32"},
    {"dequantize", dequantize, METH_VARARGS, "dequantize(q, c, step): its reconstruction, int32 to int32"},
    {"ycocg_forward", ycocg_forward, METH_VARARGS, "ycocg_forward(rgb, planes, n, channels): colour planes of uint8 pixels"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_lifting", "integer lifting wavelets (entropy/_lifting.c)",
                                    -1, methods};

PyMODINIT_FUNC PyInit__lifting(void) { return PyModule_Create(&module); }
