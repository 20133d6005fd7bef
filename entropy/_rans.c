/* irr's rANS coder: the stream format of CompressAI 1.2.8's RansEncoder/RansDecoder (64-bit state,
 * 32-bit words, 16-bit probabilities, 4-bit bypass escapes for values outside a table), written
 * here from that format (bitstream/SPEC.md, "rANS streams") so that it reads and writes numpy
 * arrays directly (no Python lists) and bounds every read.
 *
 * Reads past the end of a stream see zero bytes, never memory beyond it: a valid stream is never
 * read past its end (irr's encoder appends near-free symbols its decoder never reaches), and a
 * forged one decodes to garbage that the segment and LR CRCs catch, exactly as CompressAI's decoder
 * does on the zero-padded buffer irr handed it before.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION 16
#define RANS_L (1ull << 31)
#define BYPASS_BITS 4
#define MAX_BYPASS ((1u << BYPASS_BITS) - 1)
#define LOOKUP_BITS 8
#define LOOKUP_BUCKETS (1 << LOOKUP_BITS)

/* A little-endian 32-bit word at byte ``pos``; bytes beyond ``len`` read as zero. */
static inline uint32_t word_at(const uint8_t *s, Py_ssize_t len, Py_ssize_t pos) {
    if (pos + 4 <= len) {
        return (uint32_t)s[pos] | (uint32_t)s[pos + 1] << 8 | (uint32_t)s[pos + 2] << 16 | (uint32_t)s[pos + 3] << 24;
    }
    uint32_t w = 0;
    for (int k = 0; k < 4; k++) {
        if (pos + k >= 0 && pos + k < len) w |= (uint32_t)s[pos + k] << (8 * k);
    }
    return w;
}

/* Renormalise the decoder: below L, shift in the next word. */
static inline uint64_t refill(uint64_t x, const uint8_t *s, Py_ssize_t len, Py_ssize_t *pos) {
    if (x < RANS_L) {
        x = (x << 32) | word_at(s, len, *pos);
        *pos += 4;
    }
    return x;
}

typedef struct {
    Py_buffer stream, indexes, cdfs, lengths, offsets, out, lookup;
} Buffers;

static void release(Buffers *b) {
    Py_buffer *all[] = {&b->stream, &b->indexes, &b->cdfs, &b->lengths, &b->offsets, &b->out, &b->lookup};
    for (int i = 0; i < 7; i++) {
        if (all[i]->obj) PyBuffer_Release(all[i]);
    }
}

/* Check the tables: rows of ``stride`` int32, each length in 2..stride, offsets one per row. */
static int check_tables(Py_buffer *cdfs, Py_buffer *lengths, Py_buffer *offsets, Py_ssize_t stride, Py_ssize_t *rows) {
    if (stride < 2 || cdfs->len % (4 * stride) != 0) {
        PyErr_SetString(PyExc_ValueError, "cdfs must hold whole rows of stride int32 values");
        return -1;
    }
    *rows = cdfs->len / (4 * stride);
    if (lengths->len != 4 * *rows || offsets->len != 4 * *rows) {
        PyErr_SetString(PyExc_ValueError, "one length and one offset (int32) per cdf row");
        return -1;
    }
    const int32_t *len = (const int32_t *)lengths->buf;
    for (Py_ssize_t r = 0; r < *rows; r++) {
        if (len[r] < 2 || len[r] > stride) {
            PyErr_SetString(PyExc_ValueError, "a cdf length is outside 2..stride");
            return -1;
        }
    }
    return 0;
}

/* decode(stream, pos, state, indexes, cdfs, stride, lengths, offsets, lookup, out) -> (pos, state)
 *
 * Decodes len(out) symbols (int32) with table rows ``indexes`` (uint8) from ``stream`` at byte
 * ``pos`` with rANS ``state``; ``pos`` -1 starts a new stream (the state is read from its first
 * eight bytes). The returned position and state continue the stream in the next call.
 *
 * ``lookup`` (uint16, LOOKUP_BUCKETS + 1 per row; EntropyTables.search_bounds) narrows each
 * symbol's search: entry k is the last symbol whose cdf is <= k * 2^16 / LOOKUP_BUCKETS, so the
 * symbol of a cum in bucket k lies in [lookup[k], lookup[k + 1]] and the binary search over that
 * range finds the symbol the whole row's search would (the cdfs ascend strictly). Entries are
 * clamped to the row, so no lookup can send a read outside it. */
static PyObject *decode(PyObject *self, PyObject *args) {
    Buffers b = {0};
    Py_ssize_t pos, stride;
    unsigned long long state;
    if (!PyArg_ParseTuple(args, "y*nKy*y*ny*y*y*w*", &b.stream, &pos, &state, &b.indexes, &b.cdfs, &stride, &b.lengths,
                          &b.offsets, &b.lookup, &b.out)) {
        release(&b);
        return NULL;
    }
    Py_ssize_t rows;
    if (check_tables(&b.cdfs, &b.lengths, &b.offsets, stride, &rows) < 0 || b.out.len != 4 * b.indexes.len ||
        b.lookup.len != 2 * rows * (LOOKUP_BUCKETS + 1)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "out must hold one int32 per index, lookup 257 uint16 per row");
        release(&b);
        return NULL;
    }
    const uint16_t *lookup = (const uint16_t *)b.lookup.buf;
    const uint8_t *s = (const uint8_t *)b.stream.buf, *index = (const uint8_t *)b.indexes.buf;
    const int32_t *cdfs = (const int32_t *)b.cdfs.buf, *lengths = (const int32_t *)b.lengths.buf;
    const int32_t *offsets = (const int32_t *)b.offsets.buf;
    int32_t *out = (int32_t *)b.out.buf;
    Py_ssize_t len = b.stream.len, n = b.indexes.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (index[i] >= rows) {
            PyErr_Format(PyExc_ValueError, "table row %d does not exist (%zd rows)", (int)index[i], rows);
            release(&b);
            return NULL;
        }
    }
    uint64_t x = state;
    Py_BEGIN_ALLOW_THREADS
    if (pos < 0) {
        x = (uint64_t)word_at(s, len, 0) | (uint64_t)word_at(s, len, 4) << 32;
        pos = 8;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const int32_t *cdf = cdfs + (Py_ssize_t)index[i] * stride;
        const int32_t size = lengths[index[i]], max_value = size - 2;
        const uint32_t cum = (uint32_t)(x & ((1u << PRECISION) - 1));
        /* The symbol whose bin holds cum: the last sym with cdf[sym] <= cum (cdf[size - 1] = 2^16 > cum),
         * searched between the bounds of cum's bucket. */
        const uint16_t *bounds = lookup + (Py_ssize_t)index[i] * (LOOKUP_BUCKETS + 1) + (cum >> (PRECISION - LOOKUP_BITS));
        int32_t sym = bounds[0] < size - 2 ? bounds[0] : size - 2, hi = bounds[1] + 1;
        hi = hi > size - 1 ? size - 1 : (hi <= sym ? sym + 1 : hi);
        while (hi - sym > 1) {
            const int32_t mid = (sym + hi) >> 1;
            if ((uint32_t)cdf[mid] <= cum) sym = mid; else hi = mid;
        }
        const uint32_t start = (uint32_t)cdf[sym], freq = (uint32_t)(cdf[sym + 1] - cdf[sym]);
        x = freq * (x >> PRECISION) + (x & ((1u << PRECISION) - 1)) - start;
        x = refill(x, s, len, &pos);
        int32_t value = sym;
        if (value == max_value) { /* escape: a count of 4-bit digits, then the digits, low first */
            uint64_t count = 0;
            uint32_t digit;
            do {
                digit = (uint32_t)(x & MAX_BYPASS);
                x >>= BYPASS_BITS;
                x = refill(x, s, len, &pos);
                count += digit;
            } while (digit == MAX_BYPASS && pos <= len + 8);
            uint32_t raw = 0;
            for (uint64_t j = 0; j < count && pos <= len + 8; j++) {
                digit = (uint32_t)(x & MAX_BYPASS);
                x >>= BYPASS_BITS;
                x = refill(x, s, len, &pos);
                if (j < 8) raw |= digit << (4 * j); /* a valid escape has at most 8 digits */
            }
            value = (int32_t)(raw >> 1);
            value = (raw & 1) ? -value - 1 : value + max_value;
        }
        out[i] = value + offsets[index[i]];
    }
    Py_END_ALLOW_THREADS
    release(&b);
    return Py_BuildValue("nK", pos, (unsigned long long)x);
}

typedef struct {
    uint16_t start, range;
    uint8_t bypass;
} Symbol;

/* encode(values, indexes, cdfs, stride, lengths, offsets, state, flush) -> bytes, or (bytes, state)
 *
 * Codes the symbols last to first from the encoder ``state`` (RANS_L for a new stream). With
 * ``flush`` the result is a whole stream: the final state, then the words. Without, the words
 * alone and the state they leave: the end of a stream whose earlier symbols a later call codes
 * from that state (the stream is their bytes followed by these), so that a stream's fixed tail is
 * coded once, not once per segment. */
static PyObject *encode(PyObject *self, PyObject *args) {
    Buffers b = {0};
    Py_ssize_t stride;
    unsigned long long state;
    int flush;
    if (!PyArg_ParseTuple(args, "y*y*y*ny*y*Kp", &b.out, &b.indexes, &b.cdfs, &stride, &b.lengths, &b.offsets,
                          &state, &flush)) {
        release(&b);
        return NULL;
    }
    Py_ssize_t rows, n = b.indexes.len;
    if (check_tables(&b.cdfs, &b.lengths, &b.offsets, stride, &rows) < 0 || b.out.len != 4 * n ||
        state < RANS_L || state >= (RANS_L << 32)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "one int32 value per index; 2^31 <= state < 2^63");
        release(&b);
        return NULL;
    }
    const int32_t *values = (const int32_t *)b.out.buf, *cdfs = (const int32_t *)b.cdfs.buf;
    const int32_t *lengths = (const int32_t *)b.lengths.buf, *offsets = (const int32_t *)b.offsets.buf;
    const uint8_t *index = (const uint8_t *)b.indexes.buf;
    /* A symbol is at most 1 + 1 + 8 coded items (the table's, the digit count, 8 digits). */
    Symbol *items = malloc(sizeof(Symbol) * (size_t)(10 * n + 1));
    uint32_t *words = NULL;
    if (!items) {
        release(&b);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (index[i] >= rows) {
            free(items);
            release(&b);
            return PyErr_Format(PyExc_ValueError, "table row %d does not exist (%zd rows)", (int)index[i], rows);
        }
    }
    Py_ssize_t count = 0;
    uint32_t *end = NULL, *ptr = NULL;
    uint64_t x = state;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const int32_t *cdf = cdfs + (Py_ssize_t)index[i] * stride;
        const int32_t max_value = lengths[index[i]] - 2;
        int64_t value = (int64_t)values[i] - offsets[index[i]];
        uint32_t raw = 0;
        if (value < 0) {
            raw = (uint32_t)(-2 * value - 1);
            value = max_value;
        } else if (value >= max_value) {
            raw = (uint32_t)(2 * (value - max_value));
            value = max_value;
        }
        items[count++] = (Symbol){(uint16_t)cdf[value], (uint16_t)(cdf[value + 1] - cdf[value]), 0};
        if (value == max_value) {
            int digits = 0;
            while (digits < 8 && (raw >> (4 * digits)) != 0) digits++;
            items[count++] = (Symbol){(uint16_t)digits, 1, 1}; /* digits < 15: one count item */
            for (int j = 0; j < digits; j++) items[count++] = (Symbol){(uint16_t)((raw >> (4 * j)) & MAX_BYPASS), 1, 1};
        }
    }
    /* A put emits at most one word; the flush two (malloc needs no GIL: checked once it is back). */
    words = malloc(sizeof(uint32_t) * (size_t)(count + 2));
    if (words) {
        end = words + count + 2;
        ptr = end;
        for (Py_ssize_t k = count - 1; k >= 0; k--) {
            const Symbol it = items[k];
            if (!it.bypass) {
                const uint64_t x_max = ((RANS_L >> PRECISION) << 32) * it.range;
                if (x >= x_max) {
                    *--ptr = (uint32_t)x;
                    x >>= 32;
                }
                x = ((x / it.range) << PRECISION) + (x % it.range) + it.start;
            } else {
                const uint64_t x_max = ((RANS_L >> PRECISION) << 32) << (PRECISION - BYPASS_BITS);
                if (x >= x_max) {
                    *--ptr = (uint32_t)x;
                    x >>= 32;
                }
                x = (x << BYPASS_BITS) | it.start;
            }
        }
        if (flush) {
            *--ptr = (uint32_t)(x >> 32);
            *--ptr = (uint32_t)x;
        }
    }
    Py_END_ALLOW_THREADS
    if (!words) {
        free(items);
        release(&b);
        return PyErr_NoMemory();
    }
    Py_ssize_t nbytes = (end - ptr) * 4;
    PyObject *result = PyBytes_FromStringAndSize(NULL, nbytes);
    if (result) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(result);
        for (Py_ssize_t k = 0; k < end - ptr; k++) {
            const uint32_t w = ptr[k];
            o[4 * k] = (uint8_t)w, o[4 * k + 1] = (uint8_t)(w >> 8), o[4 * k + 2] = (uint8_t)(w >> 16), o[4 * k + 3] = (uint8_t)(w >> 24);
        }
    }
    free(items);
    free(words);
    release(&b);
    if (result && !flush) {
        PyObject *pair = Py_BuildValue("(NK)", result, (unsigned long long)x);
        return pair;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS, "decode(stream, pos, state, indexes, cdfs, stride, lengths, offsets, lookup, out) -> (pos, state)"},
    {"encode", encode, METH_VARARGS, "encode(values, indexes, cdfs, stride, lengths, offsets, state, flush) -> bytes or (bytes, state)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rans", "irr's rANS coder (entropy/_rans.c)", -1, methods};

PyMODINIT_FUNC PyInit__rans(void) { return PyModule_Create(&module); }
