/* OTLP ExportTraceServiceRequest wire format -> Arrow column buffers.
 *
 * The Python converter in convert.py is the reference: this module must produce the same
 * table for every input it accepts, and raise ValueError for anything it cannot reproduce
 * exactly (malformed wire data, invalid UTF-8, singular sub-messages repeated on the wire,
 * which protobuf would merge), so that the caller can fall back to the Python path.
 *
 * No Python code runs inside decode(), so the GIL is held throughout: the payloads are pinned
 * by a private tuple, and the column buffers are bytes objects grown in place and handed to
 * the caller at the end. All state lives in one Decoder on the C stack of each call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Protobuf's parser allows 100 levels of sub-messages below the request. Depth arguments below
 * count the request as 1, so the deepest message allowed is at 101. The same limit keeps the C
 * stack bounded and rejects exactly what the Python path rejects. */
#define MAX_DEPTH 101
/* request > resource_spans > resource > key_value > any_value */
#define RESOURCE_VALUE_DEPTH 5
/* request > resource_spans > scope_spans > span (or scope) > key_value > any_value */
#define SPAN_VALUE_DEPTH 6
/* ... > span > event (or link) > key_value > any_value */
#define EVENT_VALUE_DEPTH 7

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* -- growable buffers ------------------------------------------------------------------ */

/* Column buffers live in bytes objects from the start so that handing them to Python at the
 * end costs no copy (the output is about as large as the input). */
typedef struct {
    PyObject *obj; /* bytes, resized as the buffer grows; owned */
    uint8_t *data;
    size_t len, cap;
} Buf;

static int buf_grow(Buf *b, size_t extra) {
    if (extra > (size_t)PY_SSIZE_T_MAX - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap = cap > (size_t)PY_SSIZE_T_MAX / 2 ? need : cap * 2;
    }
    if (b->obj == NULL) {
        b->obj = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)cap);
    } else if (_PyBytes_Resize(&b->obj, (Py_ssize_t)cap) < 0) {
        b->obj = NULL; /* _PyBytes_Resize freed it */
    }
    if (b->obj == NULL) {
        b->data = NULL;
        b->len = b->cap = 0;
        return -1;
    }
    b->data = (uint8_t *)PyBytes_AS_STRING(b->obj);
    b->cap = cap;
    return 0;
}

/* Hands the buffer to the caller as a bytes object of exactly its length. */
static PyObject *buf_take(Buf *b) {
    if (b->obj == NULL) {
        return PyBytes_FromStringAndSize(NULL, 0);
    }
    if (_PyBytes_Resize(&b->obj, (Py_ssize_t)b->len) < 0) {
        b->obj = NULL;
        b->data = NULL;
        b->len = b->cap = 0;
        return NULL;
    }
    PyObject *out = b->obj;
    b->obj = NULL;
    b->data = NULL;
    b->len = b->cap = 0;
    return out;
}

static inline int buf_put(Buf *b, const void *src, size_t n) {
    if (b == NULL) {
        return 0;
    }
    if (b->cap - b->len < n && buf_grow(b, n) < 0) {
        return -1;
    }
    if (n) {
        memcpy(b->data + b->len, src, n);
    }
    b->len += n;
    return 0;
}

static inline int buf_byte(Buf *b, uint8_t c) {
    if (b == NULL) {
        return 0;
    }
    if (b->cap == b->len && buf_grow(b, 1) < 0) {
        return -1;
    }
    b->data[b->len++] = c;
    return 0;
}

#define PUT(b, s, n)                                                                        \
    do {                                                                                    \
        if (buf_put((b), (s), (n)) < 0) return -1;                                          \
    } while (0)
#define PUTS(b, lit) PUT((b), (lit), sizeof(lit) - 1)
#define PUTC(b, c)                                                                          \
    do {                                                                                    \
        if (buf_byte((b), (uint8_t)(c)) < 0) return -1;                                     \
    } while (0)
#define TRY(x)                                                                              \
    do {                                                                                    \
        if ((x) < 0) return -1;                                                             \
    } while (0)

static void buf_free(Buf *b) {
    Py_CLEAR(b->obj);
    b->data = NULL;
    b->len = b->cap = 0;
}

typedef struct {
    const uint8_t *ptr;
    size_t len;
} Slice;

typedef struct {
    Slice *items;
    size_t n, cap;
} SliceVec;

static int slices_push(SliceVec *v, const uint8_t *ptr, size_t len) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        if (cap > (size_t)PY_SSIZE_T_MAX / sizeof(Slice)) {
            PyErr_NoMemory();
            return -1;
        }
        Slice *p = PyMem_Realloc(v->items, cap * sizeof(Slice));
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        v->items = p;
        v->cap = cap;
    }
    v->items[v->n].ptr = ptr;
    v->items[v->n].len = len;
    v->n++;
    return 0;
}

/* A key/value pair waiting to be written into a JSON object. */
typedef struct {
    const uint8_t *key;
    size_t klen;
    const uint8_t *val; /* serialized AnyValue; len 0 means the empty value */
    size_t vlen;
    int skip;
} Entry;

typedef struct {
    Entry *items;
    size_t n, cap;
} EntryVec;

static int entries_push(EntryVec *v, Slice key, Slice val) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        if (cap > (size_t)PY_SSIZE_T_MAX / sizeof(Entry)) {
            PyErr_NoMemory();
            return -1;
        }
        Entry *p = PyMem_Realloc(v->items, cap * sizeof(Entry));
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        v->items = p;
        v->cap = cap;
    }
    Entry *e = &v->items[v->n++];
    e->key = key.ptr;
    e->klen = key.len;
    e->val = val.ptr;
    e->vlen = val.len;
    e->skip = 0;
    return 0;
}

/* -- Arrow columns --------------------------------------------------------------------- */

typedef struct {
    Buf data, offsets, validity;
    Py_ssize_t nulls;
    int nullable;
} StrCol;

typedef struct {
    Buf data, validity;
    Py_ssize_t nulls;
} NumCol;

static inline int bit_push(Buf *validity, Py_ssize_t row, int valid) {
    if ((row & 7) == 0) {
        PUTC(validity, 0);
    }
    if (valid) {
        validity->data[row >> 3] |= (uint8_t)(1u << (row & 7));
    }
    return 0;
}

/* Closes the row whose value was appended to col->data since the previous row. */
static inline int str_finish(StrCol *col, Py_ssize_t row, int valid) {
    if (col->data.len > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "string column exceeds 2 GiB");
        return -1;
    }
    int32_t off = (int32_t)col->data.len;
    PUT(&col->offsets, &off, sizeof off);
    if (col->nullable) {
        TRY(bit_push(&col->validity, row, valid));
    }
    if (!valid) {
        col->nulls++;
    }
    return 0;
}

static inline int str_value(StrCol *col, Py_ssize_t row, const void *s, size_t n) {
    PUT(&col->data, s, n);
    return str_finish(col, row, 1);
}

static inline int num_push(NumCol *col, Py_ssize_t row, const void *v, int valid) {
    PUT(&col->data, v, 8);
    TRY(bit_push(&col->validity, row, valid));
    if (!valid) {
        col->nulls++;
    }
    return 0;
}

/* -- wire format ----------------------------------------------------------------------- */

static int malformed(const char *what) {
    PyErr_Format(PyExc_ValueError, "malformed OTLP protobuf: %s", what);
    return -1;
}

static int unsupported(const char *what) {
    PyErr_Format(PyExc_ValueError, "unsupported OTLP protobuf for the native decoder: %s",
                 what);
    return -1;
}

#if defined(__GNUC__)
#define HOT_INLINE inline __attribute__((always_inline))
#else
#define HOT_INLINE inline
#endif

static HOT_INLINE int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) { /* tags and short lengths: one byte */
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= end) {
            return malformed("truncated varint");
        }
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return malformed("varint longer than 10 bytes");
}

typedef struct {
    uint32_t field;
    int wt;
    uint64_t u;         /* varint, fixed32 and fixed64 values */
    const uint8_t *ptr; /* length-delimited payload */
    size_t len;
} Field;

static int skip_group(const uint8_t **pp, const uint8_t *end, uint32_t field, int depth);

/* Reads one field; returns 1 with *f filled, 0 at the end of the message, -1 on error.
 * Start-group fields are skipped whole and returned with no value, like any unknown field. */
static HOT_INLINE int next_field(const uint8_t **pp, const uint8_t *end, Field *f, int depth) {
    if (*pp >= end) {
        return 0;
    }
    uint64_t tag;
    const uint8_t *start = *pp;
    TRY(read_varint(pp, end, &tag));
    /* protobuf rejects tags encoded in more than five bytes, even with a valid value */
    if (tag > UINT32_MAX || (tag >> 3) == 0 || *pp - start > 5) {
        return malformed("invalid field number");
    }
    f->field = (uint32_t)(tag >> 3);
    f->wt = (int)(tag & 7);
    f->u = 0;
    f->ptr = NULL;
    f->len = 0;
    const uint8_t *p = *pp;
    switch (f->wt) {
    case WT_VARINT:
        TRY(read_varint(pp, end, &f->u));
        return 1;
    case WT_I64:
        if (end - p < 8) {
            return malformed("truncated fixed64");
        }
        {
            uint64_t v = 0;
            for (int i = 7; i >= 0; i--) {
                v = (v << 8) | p[i];
            }
            f->u = v;
        }
        *pp = p + 8;
        return 1;
    case WT_I32:
        if (end - p < 4) {
            return malformed("truncated fixed32");
        }
        f->u = (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
               ((uint64_t)p[3] << 24);
        *pp = p + 4;
        return 1;
    case WT_LEN: {
        uint64_t n;
        TRY(read_varint(pp, end, &n));
        if (n > (uint64_t)(end - *pp)) {
            return malformed("length beyond buffer");
        }
        f->ptr = *pp;
        f->len = (size_t)n;
        *pp += n;
        return 1;
    }
    case WT_SGROUP:
        TRY(skip_group(pp, end, f->field, depth + 1));
        return 1;
    default:
        return malformed("bad wire type");
    }
}

static int skip_group(const uint8_t **pp, const uint8_t *end, uint32_t field, int depth) {
    if (depth > MAX_DEPTH) {
        return malformed("groups nested too deeply");
    }
    for (;;) {
        if (*pp >= end) {
            return malformed("unterminated group");
        }
        /* End-group tags are not fields: peek for them before next_field rejects them. */
        const uint8_t *save = *pp;
        uint64_t tag;
        TRY(read_varint(pp, end, &tag));
        if ((tag & 7) == WT_EGROUP) {
            if ((tag >> 3) != field || *pp - save > 5) {
                return malformed("mismatched end group");
            }
            return 0;
        }
        *pp = save;
        Field f;
        TRY(next_field(pp, end, &f, depth));
    }
}

/* -- UTF-8 ----------------------------------------------------------------------------- */

static int utf8_ok(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* Most text is ASCII: check 16 or 8 bytes at a time. */
#ifdef __SSE2__
        while (i + 16 <= n &&
               _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i))) == 0) {
            i += 16;
        }
#endif
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL) {
                break;
            }
            i += 8;
        }
        if (i >= n) {
            break;
        }
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            if (i + 1 >= n || (s[i + 1] & 0xc0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            if (i + 2 >= n) return 0;
            uint8_t c1 = s[i + 1];
            if ((c1 & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80) return 0;
            if (c == 0xe0 && c1 < 0xa0) return 0; /* overlong */
            if (c == 0xed && c1 > 0x9f) return 0; /* surrogate */
            i += 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            if (i + 3 >= n) return 0;
            uint8_t c1 = s[i + 1];
            if ((c1 & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80 || (s[i + 3] & 0xc0) != 0x80)
                return 0;
            if (c == 0xf0 && c1 < 0x90) return 0; /* overlong */
            if (c == 0xf4 && c1 > 0x8f) return 0; /* beyond U+10FFFF */
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static HOT_INLINE int check_utf8(const uint8_t *s, size_t n) {
    if (n <= 32) {
        /* Keys and short values: an inline OR over the bytes beats the call. Whole words,
         * with the last one overlapping, since -O2 does not vectorize a byte loop. */
        uint64_t any = 0;
        if (n >= 8) {
            uint64_t w;
            for (size_t i = 0; i + 8 < n; i += 8) {
                memcpy(&w, s + i, 8);
                any |= w;
            }
            memcpy(&w, s + n - 8, 8);
            any |= w;
        } else if (n >= 4) {
            uint32_t head, tail;
            memcpy(&head, s, 4);
            memcpy(&tail, s + n - 4, 4);
            any = head | tail;
        } else {
            for (size_t i = 0; i < n; i++) {
                any |= s[i];
            }
        }
        if ((any & 0x8080808080808080ULL) == 0) {
            return 0;
        }
    }
    if (!utf8_ok(s, n)) {
        PyErr_SetString(PyExc_ValueError, "OTLP string field is not valid UTF-8");
        return -1;
    }
    return 0;
}

/* -- JSON ------------------------------------------------------------------------------ */

static inline int needs_escape8(uint64_t w) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
    /* Standard "has a zero byte" / "has a byte below n" tests; bytes >= 0x80 never match. */
    uint64_t t = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
                 ((w - ones * 0x20) & ~w);
    return (t & highs) != 0;
}

/* Matches orjson: the short escapes where JSON has them, \u00xx for other control bytes.
 * Also validates UTF-8 (with out == NULL, only that): the scan for escapes notices non-ASCII
 * bytes for free, so ASCII text, the common case, is read once. */
static int json_string(Buf *out, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (out == NULL) {
        return check_utf8(s, n);
    }
    if (n > (size_t)PY_SSIZE_T_MAX - 2) {
        PyErr_NoMemory();
        return -1;
    }
    /* Escapes are rare: reserve for none and grow only when one turns up. */
    if (out->cap - out->len < n + 2 && buf_grow(out, n + 2) < 0) {
        return -1;
    }
    out->data[out->len++] = '"';
    size_t run = 0, i = 0;
    int high = 0;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i below = _mm_set1_epi8(0x1f);
#endif
    while (i < n) {
#ifdef __SSE2__
        if (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            /* Unsigned v <= 0x1f is min(v, 0x1f) == v. */
            __m128i hit = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                _mm_cmpeq_epi8(_mm_min_epu8(v, below), v));
            int mask = _mm_movemask_epi8(hit);
            if (mask == 0) {
                high |= _mm_movemask_epi8(v);
                i += 16;
                continue;
            }
            /* Jump to the first byte that needs an escape instead of walking up to it. */
            int skip = __builtin_ctz((unsigned)mask);
            high |= _mm_movemask_epi8(v) & ((1 << skip) - 1);
            i += (size_t)skip;
        }
#endif
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!needs_escape8(w)) {
                high |= (w & 0x8080808080808080ULL) != 0;
                i += 8;
                continue;
            }
        }
        uint8_t c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            high |= c >= 0x80;
            i++;
            continue;
        }
        PUT(out, s + run, i - run);
        run = ++i;
        switch (c) {
        case '"': PUTS(out, "\\\""); break;
        case '\\': PUTS(out, "\\\\"); break;
        case '\b': PUTS(out, "\\b"); break;
        case '\f': PUTS(out, "\\f"); break;
        case '\n': PUTS(out, "\\n"); break;
        case '\r': PUTS(out, "\\r"); break;
        case '\t': PUTS(out, "\\t"); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            PUT(out, esc, 6);
        }
        }
    }
    PUT(out, s + run, n - run);
    PUTC(out, '"');
    return high ? check_utf8(s, n) : 0;
}

static int json_hex_string(Buf *out, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (out == NULL) {
        return 0;
    }
    if (n > (size_t)PY_SSIZE_T_MAX / 2 - 2) {
        PyErr_NoMemory();
        return -1;
    }
    if (out->cap - out->len < 2 * n + 2 && buf_grow(out, 2 * n + 2) < 0) {
        return -1;
    }
    uint8_t *d = out->data + out->len;
    *d++ = '"';
    for (size_t i = 0; i < n; i++) {
        *d++ = (uint8_t)hex[s[i] >> 4];
        *d++ = (uint8_t)hex[s[i] & 15];
    }
    *d++ = '"';
    out->len += 2 * n + 2;
    return 0;
}

static int hex_into(Buf *out, const uint8_t *s, size_t n) {
    TRY(json_hex_string(out, s, n));
    /* Reuse the JSON writer, then drop its quotes: the id columns hold bare hex. */
    memmove(out->data + out->len - 2 * n - 2, out->data + out->len - 2 * n - 1, 2 * n);
    out->len -= 2;
    return 0;
}

static int json_base64(Buf *out, const uint8_t *s, size_t n) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (out == NULL) {
        return 0;
    }
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > ((size_t)PY_SSIZE_T_MAX - 2) / 4) {
        PyErr_NoMemory();
        return -1;
    }
    size_t need = groups * 4 + 2;
    if (out->cap - out->len < need && buf_grow(out, need) < 0) {
        return -1;
    }
    uint8_t *d = out->data + out->len;
    *d++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
        *d++ = (uint8_t)alphabet[(v >> 18) & 63];
        *d++ = (uint8_t)alphabet[(v >> 12) & 63];
        *d++ = (uint8_t)alphabet[(v >> 6) & 63];
        *d++ = (uint8_t)alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *d++ = (uint8_t)alphabet[(v >> 18) & 63];
        *d++ = (uint8_t)alphabet[(v >> 12) & 63];
        *d++ = '=';
        *d++ = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8);
        *d++ = (uint8_t)alphabet[(v >> 18) & 63];
        *d++ = (uint8_t)alphabet[(v >> 12) & 63];
        *d++ = (uint8_t)alphabet[(v >> 6) & 63];
        *d++ = '=';
    }
    *d++ = '"';
    out->len = (size_t)(d - out->data);
    return 0;
}

static int json_uint(Buf *out, uint64_t v) {
    char tmp[24];
    char *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    PUT(out, p, (size_t)(tmp + sizeof tmp - p));
    return 0;
}

static int json_int(Buf *out, int64_t v) {
    if (v < 0) {
        PUTC(out, '-');
        /* Negate in unsigned arithmetic: -INT64_MIN overflows int64. */
        return json_uint(out, 0 - (uint64_t)v);
    }
    return json_uint(out, (uint64_t)v);
}

/* Python's shortest round-trip repr, reshaped to orjson's layout (which differs only in the
 * exponent: orjson writes 1e-7 where repr writes 1e-07, and 0.00001 where repr writes 1e-05)
 * so the JSON text is byte-identical to the Python path. Writes at most 26 bytes and a NUL. */
static int format_double(char text[32], double v) {
    char *r = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (r == NULL) {
        return -1;
    }
    size_t n = 0;
    char *e = strchr(r, 'e');
    if (e == NULL) {
        n = strlen(r);
        memcpy(text, r, n);
    } else {
        int exp = atoi(e + 1);
        const char *m = r;
        if (*m == '-') {
            text[n++] = '-';
            m++;
        }
        if (exp == -5) {
            memcpy(text + n, "0.0000", 6);
            n += 6;
            for (const char *q = m; q < e; q++) {
                if (*q != '.') {
                    text[n++] = *q;
                }
            }
        } else {
            memcpy(text + n, m, (size_t)(e - m));
            n += (size_t)(e - m);
            n += (size_t)snprintf(text + n, 32 - n, exp < 0 ? "e%d" : "e+%d", exp);
        }
    }
    PyMem_Free(r);
    return (int)n;
}

/* -- AnyValue -------------------------------------------------------------------------- */

enum {
    ANY_NONE = 0,
    ANY_STRING = 1,
    ANY_BOOL = 2,
    ANY_INT = 3,
    ANY_DOUBLE = 4,
    ANY_ARRAY = 5,
    ANY_KVLIST = 6,
    ANY_BYTES = 7,
    ANY_STRINDEX = 8,
};

typedef struct {
    int kase;
    const uint8_t *ptr;
    size_t len;
    uint64_t u;
} Any;

typedef struct Ctx Ctx;
static int emit_any(Ctx *c, Buf *out, const uint8_t *p, size_t len, int depth);
static int emit_array(Ctx *c, Buf *out, const uint8_t *p, size_t len, int depth);
static int emit_kvlist(Ctx *c, Buf *out, const uint8_t *p, size_t len, int depth);
static int json_double(Ctx *c, Buf *out, uint64_t bits);

/* Finds the oneof case that protobuf would keep (the last one on the wire). */
static int any_scan(Ctx *c, const uint8_t *p, size_t len, Any *a, int depth) {
    const uint8_t *end = p + len;
    Field f;
    int r;
    a->kase = ANY_NONE;
    a->ptr = NULL;
    a->len = 0;
    a->u = 0;
    while ((r = next_field(&p, end, &f, depth)) > 0) {
        int kase = ANY_NONE;
        switch (f.field) {
        case 1: kase = f.wt == WT_LEN ? ANY_STRING : ANY_NONE; break;
        case 2: kase = f.wt == WT_VARINT ? ANY_BOOL : ANY_NONE; break;
        case 3: kase = f.wt == WT_VARINT ? ANY_INT : ANY_NONE; break;
        case 4: kase = f.wt == WT_I64 ? ANY_DOUBLE : ANY_NONE; break;
        case 5: kase = f.wt == WT_LEN ? ANY_ARRAY : ANY_NONE; break;
        case 6: kase = f.wt == WT_LEN ? ANY_KVLIST : ANY_NONE; break;
        case 7: kase = f.wt == WT_LEN ? ANY_BYTES : ANY_NONE; break;
        case 8: kase = f.wt == WT_VARINT ? ANY_STRINDEX : ANY_NONE; break;
        default: break;
        }
        if (kase == ANY_NONE) {
            continue;
        }
        if (a->kase == ANY_ARRAY || a->kase == ANY_KVLIST) {
            if (kase == a->kase) {
                /* Protobuf merges the two messages; not worth reproducing here. */
                return unsupported("repeated AnyValue array/kvlist");
            }
            /* The replaced message is never written, but protobuf would still reject it. */
            TRY(a->kase == ANY_ARRAY ? emit_array(c, NULL, a->ptr, a->len, depth + 1)
                                     : emit_kvlist(c, NULL, a->ptr, a->len, depth + 1));
        } else if (a->kase == ANY_STRING) {
            /* The kept string is validated by whoever writes it; a replaced one here. */
            TRY(check_utf8(a->ptr, a->len));
        }
        a->kase = kase;
        a->ptr = f.ptr;
        a->len = f.len;
        a->u = f.u;
    }
    return r;
}

static int emit_value(Ctx *c, Buf *out, const Any *a, int depth) {
    switch (a->kase) {
    case ANY_STRING: return json_string(out, a->ptr, a->len);
    case ANY_BOOL:
        if (a->u) {
            PUTS(out, "true");
        } else {
            PUTS(out, "false");
        }
        return 0;
    case ANY_INT: return json_int(out, (int64_t)a->u);
    case ANY_DOUBLE: return json_double(c, out, a->u);
    case ANY_ARRAY: return emit_array(c, out, a->ptr, a->len, depth + 1);
    case ANY_KVLIST: return emit_kvlist(c, out, a->ptr, a->len, depth + 1);
    case ANY_BYTES: return json_base64(out, a->ptr, a->len);
    default: PUTS(out, "null"); return 0;
    }
}

/* Writes an AnyValue as JSON; with out == NULL only validates it. */
static int emit_any(Ctx *c, Buf *out, const uint8_t *p, size_t len, int depth) {
    if (depth > MAX_DEPTH) {
        return malformed("AnyValue nested too deeply");
    }
    Any a;
    TRY(any_scan(c, p, len, &a, depth));
    return emit_value(c, out, &a, depth);
}

static int emit_array(Ctx *c, Buf *out, const uint8_t *p, size_t len, int depth) {
    if (depth > MAX_DEPTH) {
        return malformed("AnyValue nested too deeply");
    }
    const uint8_t *end = p + len;
    Field f;
    int r, first = 1;
    PUTC(out, '[');
    while ((r = next_field(&p, end, &f, depth)) > 0) {
        if (f.field != 1 || f.wt != WT_LEN) {
            continue;
        }
        if (!first) {
            PUTC(out, ',');
        }
        first = 0;
        TRY(emit_any(c, out, f.ptr, f.len, depth + 1));
    }
    TRY(r);
    PUTC(out, ']');
    return 0;
}

/* -- JSON objects from KeyValue lists --------------------------------------------------- */

struct Ctx {
    EntryVec ents;
    int32_t *table; /* scratch for de-duplicating large objects */
    size_t table_cap;
    /* The last double written: settings such as a request's temperature repeat on span after
     * span, and formatting a double costs more than the rest of its attribute. */
    uint64_t double_bits;
    int double_len; /* 0: nothing cached yet */
    char double_text[32];
};

static int json_double(Ctx *c, Buf *out, uint64_t bits) {
    if (out == NULL) {
        return 0;
    }
    double v;
    memcpy(&v, &bits, sizeof v);
    if (!isfinite(v)) {
        PUTS(out, "null");
        return 0;
    }
    if (c->double_len == 0 || c->double_bits != bits) {
        int n = format_double(c->double_text, v);
        if (n < 0) {
            c->double_len = 0;
            return -1;
        }
        c->double_bits = bits;
        c->double_len = n;
    }
    PUT(out, c->double_text, (size_t)c->double_len);
    return 0;
}

static int kv_parse(const uint8_t *p, size_t len, Slice *key, Slice *val, int depth) {
    const uint8_t *end = p + len;
    Field f;
    int r, have_value = 0;
    key->ptr = val->ptr = NULL;
    key->len = val->len = 0;
    while ((r = next_field(&p, end, &f, depth)) > 0) {
        if (f.wt != WT_LEN) {
            continue;
        }
        if (f.field == 1) {
            TRY(check_utf8(f.ptr, f.len));
            key->ptr = f.ptr;
            key->len = f.len;
        } else if (f.field == 2) {
            if (have_value) {
                return unsupported("repeated KeyValue value");
            }
            have_value = 1;
            val->ptr = f.ptr;
            val->len = f.len;
        }
    }
    return r;
}

static inline uint32_t fnv1a(const uint8_t *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 16777619u;
    }
    return h;
}

static inline int same_key(const Entry *a, const Entry *b) {
    return a->klen == b->klen && (a->klen == 0 || memcmp(a->key, b->key, a->klen) == 0);
}

/* Python dict semantics: the first occurrence keeps its place, the last value wins. */
static int merge_into(Ctx *c, size_t keep, size_t dup, int depth) {
    Entry *e = c->ents.items;
    /* The replaced value is never written, but the Python path would still reject it. */
    TRY(emit_any(c, NULL, e[keep].val, e[keep].vlen, depth));
    e = c->ents.items;
    e[keep].val = e[dup].val;
    e[keep].vlen = e[dup].vlen;
    e[dup].skip = 1;
    return 0;
}

static int dedupe(Ctx *c, size_t base, int depth) {
    size_t n = c->ents.n - base;
    if (n < 2) {
        return 0;
    }
    if (n <= 24) {
        for (size_t i = base + 1; i < c->ents.n; i++) {
            for (size_t j = base; j < i; j++) {
                if (!c->ents.items[j].skip && same_key(&c->ents.items[j], &c->ents.items[i])) {
                    TRY(merge_into(c, j, i, depth));
                    break;
                }
            }
        }
        return 0;
    }
    size_t cap = 64;
    while (cap < 2 * n) {
        if (cap > (size_t)INT32_MAX / 2) {
            return unsupported("object too large");
        }
        cap *= 2;
    }
    int32_t *table = PyMem_Malloc(cap * sizeof(int32_t));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(table, 0xff, cap * sizeof(int32_t));
    for (size_t i = base; i < c->ents.n; i++) {
        const Entry *e = &c->ents.items[i];
        size_t slot = fnv1a(e->key, e->klen) & (cap - 1);
        for (;;) {
            int32_t j = table[slot];
            if (j < 0) {
                table[slot] = (int32_t)(i - base);
                break;
            }
            if (same_key(&c->ents.items[base + (size_t)j], &c->ents.items[i])) {
                if (merge_into(c, base + (size_t)j, i, depth) < 0) {
                    PyMem_Free(table);
                    return -1;
                }
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
    }
    PyMem_Free(table);
    return 0;
}

/* Writes entries [base, end) as a JSON object and drops them from the stack; depth is the
 * message depth of the values. */
static int emit_object(Ctx *c, Buf *out, size_t base, int depth) {
    TRY(dedupe(c, base, depth));
    size_t end = c->ents.n;
    int first = 1;
    PUTC(out, '{');
    for (size_t i = base; i < end; i++) {
        /* emit_any may grow the entry stack: copy the entry rather than hold a pointer. */
        Entry e = c->ents.items[i];
        if (e.skip) {
            continue;
        }
        if (!first) {
            PUTC(out, ',');
        }
        first = 0;
        TRY(json_string(out, e.key, e.klen));
        PUTC(out, ':');
        TRY(emit_any(c, out, e.val, e.vlen, depth));
    }
    PUTC(out, '}');
    c->ents.n = base;
    return 0;
}

/* Pushes one serialized KeyValue onto the entry stack. */
static int push_kv(Ctx *c, const uint8_t *p, size_t len, int depth) {
    Slice key, val;
    TRY(kv_parse(p, len, &key, &val, depth));
    return entries_push(&c->ents, key, val);
}

static int emit_kvlist(Ctx *c, Buf *out, const uint8_t *p, size_t len, int depth) {
    if (depth > MAX_DEPTH) {
        return malformed("AnyValue nested too deeply");
    }
    const uint8_t *end = p + len;
    size_t base = c->ents.n;
    Field f;
    int r;
    while ((r = next_field(&p, end, &f, depth)) > 0) {
        if (f.field == 1 && f.wt == WT_LEN) {
            if (depth + 1 > MAX_DEPTH) {
                c->ents.n = base;
                return malformed("AnyValue nested too deeply");
            }
            if (push_kv(c, f.ptr, f.len, depth + 1) < 0) {
                c->ents.n = base;
                return -1;
            }
        }
    }
    if (r < 0 || emit_object(c, out, base, depth + 2) < 0) {
        c->ents.n = base;
        return -1;
    }
    return 0;
}

/* -- decoder state --------------------------------------------------------------------- */

enum { HOT_STRING = 0, HOT_INT = 1, HOT_DOUBLE = 2, HOT_CONTENT = 3 };
enum { SLOT_NONE = 0, SLOT_TEXT, SLOT_JSON, SLOT_INT, SLOT_DOUBLE };

typedef struct {
    int kind;
    const char *name;
    Py_ssize_t nlen;
    StrCol str; /* string and content attributes */
    NumCol num; /* int and double attributes */
    /* The current span's value: a later duplicate overwrites it, as in Python. */
    int slot;
    Slice text;
    int64_t i;
    double d;
} Hot;

enum {
    C_TRACE_ID,
    C_SPAN_ID,
    C_PARENT_SPAN_ID,
    C_TRACE_STATE,
    C_NAME,
    C_KIND,
    C_STATUS_CODE,
    C_STATUS_MESSAGE,
    C_SERVICE_NAME,
    C_SCOPE_NAME,
    C_SCOPE_VERSION,
    C_ATTRIBUTES,
    C_RESOURCE_ATTRIBUTES,
    C_EVENTS,
    C_LINKS,
    N_STR
};

static const char *const STR_NAMES[N_STR] = {
    "trace_id",       "span_id",      "parent_span_id",      "trace_state",
    "name",           "kind",         "status_code",         "status_message",
    "service_name",   "scope_name",   "scope_version",       "attributes",
    "resource_attributes", "events",  "links",
};
static const int STR_NULLABLE[N_STR] = {0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0};

static const char *const KIND_NAMES[] = {"unspecified", "internal", "server",
                                         "client",      "producer", "consumer"};
static const char *const STATUS_NAMES[] = {"unset", "ok", "error"};

typedef struct {
    Ctx c;
    Py_ssize_t rows;
    StrCol str[N_STR];
    NumCol start, end;
    Hot *hot;
    Py_ssize_t nhot;
    int16_t *lookup; /* open-addressing table of hot attribute indexes */
    size_t lookup_cap;
    const char *service_key;
    Py_ssize_t service_key_len;
    /* current resource and scope */
    Buf service; /* the service_name text of the current resource */
    int have_service;
    Buf resource_json;
    Slice scope_name, scope_version;
    SliceVec events, links;
} Decoder;

static void decoder_free(Decoder *d) {
    for (int i = 0; i < N_STR; i++) {
        buf_free(&d->str[i].data);
        buf_free(&d->str[i].offsets);
        buf_free(&d->str[i].validity);
    }
    buf_free(&d->start.data);
    buf_free(&d->start.validity);
    buf_free(&d->end.data);
    buf_free(&d->end.validity);
    if (d->hot != NULL) {
        for (Py_ssize_t i = 0; i < d->nhot; i++) {
            buf_free(&d->hot[i].str.data);
            buf_free(&d->hot[i].str.offsets);
            buf_free(&d->hot[i].str.validity);
            buf_free(&d->hot[i].num.data);
            buf_free(&d->hot[i].num.validity);
        }
    }
    PyMem_Free(d->hot);
    PyMem_Free(d->lookup);
    buf_free(&d->resource_json);
    buf_free(&d->service);
    PyMem_Free(d->events.items);
    PyMem_Free(d->links.items);
    PyMem_Free(d->c.ents.items);
}

/* Attribute names differ mostly in their tails and lengths: hashing those is enough for a
 * table this small, and cheaper than hashing every byte of every span attribute key. */
static inline size_t hot_hash(const uint8_t *key, size_t klen) {
    uint64_t tail = 0;
    if (klen >= 8) {
        memcpy(&tail, key + klen - 8, 8);
    } else if (klen) {
        memcpy(&tail, key, klen);
    }
    uint64_t h = (tail ^ (uint64_t)klen * 0x9e3779b97f4a7c15ULL) * 0xff51afd7ed558ccdULL;
    return (size_t)(h >> 32);
}

static int hot_find(const Decoder *d, const uint8_t *key, size_t klen) {
    size_t mask = d->lookup_cap - 1;
    size_t slot = hot_hash(key, klen) & mask;
    for (;;) {
        int idx = d->lookup[slot];
        if (idx < 0) {
            return -1;
        }
        const Hot *h = &d->hot[idx];
        if ((size_t)h->nlen == klen && memcmp(h->name, key, klen) == 0) {
            return idx;
        }
        slot = (slot + 1) & mask;
    }
}

/* -- spans ----------------------------------------------------------------------------- */

static int dispatch_attribute(Decoder *d, const uint8_t *p, size_t len) {
    Slice key, val;
    TRY(kv_parse(p, len, &key, &val, 5));
    int idx = hot_find(d, key.ptr, key.len);
    if (idx >= 0) {
        Hot *h = &d->hot[idx];
        Any a;
        TRY(any_scan(&d->c, val.ptr, val.len, &a, SPAN_VALUE_DEPTH));
        int slot = SLOT_NONE;
        switch (h->kind) {
        case HOT_STRING:
            if (a.kase == ANY_STRING) slot = SLOT_TEXT;
            break;
        case HOT_CONTENT:
            if (a.kase == ANY_STRING) slot = SLOT_TEXT;
            else if (a.kase != ANY_NONE) slot = SLOT_JSON;
            break;
        case HOT_INT:
            if (a.kase == ANY_INT) slot = SLOT_INT;
            break;
        default:
            if (a.kase == ANY_INT || a.kase == ANY_DOUBLE) slot = SLOT_DOUBLE;
            break;
        }
        if (slot != SLOT_NONE) {
            if (h->slot == SLOT_JSON) {
                /* Overwritten and never written: still must be valid for protobuf. */
                TRY(emit_any(&d->c, NULL, h->text.ptr, h->text.len, SPAN_VALUE_DEPTH));
            }
            h->slot = slot;
            if (slot == SLOT_TEXT) {
                TRY(check_utf8(a.ptr, a.len));
                h->text.ptr = a.ptr;
                h->text.len = a.len;
            } else if (slot == SLOT_JSON) {
                h->text = val;
            } else if (slot == SLOT_INT) {
                h->i = (int64_t)a.u;
            } else if (a.kase == ANY_INT) {
                h->d = (double)(int64_t)a.u;
            } else {
                memcpy(&h->d, &a.u, sizeof h->d);
            }
            return 0;
        }
    }
    return entries_push(&d->c.ents, key, val);
}

static int emit_event(Decoder *d, Buf *out, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    size_t base = d->c.ents.n;
    Slice name = {NULL, 0};
    uint64_t time = 0;
    Field f;
    int r;
    while ((r = next_field(&p, end, &f, 5)) > 0) {
        if (f.field == 1 && f.wt == WT_I64) {
            time = f.u;
        } else if (f.field == 2 && f.wt == WT_LEN) {
            TRY(check_utf8(f.ptr, f.len));
            name.ptr = f.ptr;
            name.len = f.len;
        } else if (f.field == 3 && f.wt == WT_LEN) {
            TRY(push_kv(&d->c, f.ptr, f.len, 6));
        }
    }
    TRY(r);
    PUTS(out, "{\"name\":");
    TRY(json_string(out, name.ptr, name.len));
    PUTS(out, ",\"time_unix_nano\":");
    TRY(json_uint(out, time));
    PUTS(out, ",\"attributes\":");
    TRY(emit_object(&d->c, out, base, EVENT_VALUE_DEPTH));
    PUTC(out, '}');
    return 0;
}

static int emit_link(Decoder *d, Buf *out, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    size_t base = d->c.ents.n;
    Slice trace = {NULL, 0}, span = {NULL, 0}, state = {NULL, 0};
    Field f;
    int r;
    while ((r = next_field(&p, end, &f, 5)) > 0) {
        if (f.wt != WT_LEN) {
            continue;
        }
        if (f.field == 1) {
            trace.ptr = f.ptr;
            trace.len = f.len;
        } else if (f.field == 2) {
            span.ptr = f.ptr;
            span.len = f.len;
        } else if (f.field == 3) {
            TRY(check_utf8(f.ptr, f.len));
            state.ptr = f.ptr;
            state.len = f.len;
        } else if (f.field == 4) {
            TRY(push_kv(&d->c, f.ptr, f.len, 6));
        }
    }
    TRY(r);
    PUTS(out, "{\"trace_id\":");
    TRY(json_hex_string(out, trace.ptr, trace.len));
    PUTS(out, ",\"span_id\":");
    TRY(json_hex_string(out, span.ptr, span.len));
    PUTS(out, ",\"attributes\":");
    TRY(emit_object(&d->c, out, base, EVENT_VALUE_DEPTH));
    if (state.len) {
        PUTS(out, ",\"trace_state\":");
        TRY(json_string(out, state.ptr, state.len));
    }
    PUTC(out, '}');
    return 0;
}

static int emit_list(Decoder *d, StrCol *col, const SliceVec *items,
                     int (*emit)(Decoder *, Buf *, const uint8_t *, size_t)) {
    PUTC(&col->data, '[');
    for (size_t i = 0; i < items->n; i++) {
        if (i) {
            PUTC(&col->data, ',');
        }
        TRY(emit(d, &col->data, items->items[i].ptr, items->items[i].len));
    }
    PUTC(&col->data, ']');
    return str_finish(col, d->rows, 1);
}

static inline int opt_str(StrCol *col, Py_ssize_t row, Slice s) {
    if (s.len == 0) {
        return str_finish(col, row, 0);
    }
    return str_value(col, row, s.ptr, s.len);
}

static int status_parse(const uint8_t *p, size_t len, Slice *message, int32_t *code) {
    const uint8_t *end = p + len;
    Field f;
    int r;
    while ((r = next_field(&p, end, &f, 5)) > 0) {
        if (f.field == 2 && f.wt == WT_LEN) {
            TRY(check_utf8(f.ptr, f.len));
            message->ptr = f.ptr;
            message->len = f.len;
        } else if (f.field == 3 && f.wt == WT_VARINT) {
            *code = (int32_t)(uint32_t)f.u;
        }
    }
    return r;
}

static int decode_span(Decoder *d, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    Slice trace = {NULL, 0}, span = {NULL, 0}, parent = {NULL, 0}, state = {NULL, 0};
    Slice name = {NULL, 0}, message = {NULL, 0};
    int32_t kind = 0, code = 0;
    uint64_t start = 0, stop = 0;
    int have_status = 0;
    Field f;
    int r;
    Py_ssize_t row = d->rows;
    d->c.ents.n = 0;
    d->events.n = 0;
    d->links.n = 0;
    for (Py_ssize_t i = 0; i < d->nhot; i++) {
        d->hot[i].slot = SLOT_NONE;
    }
    while ((r = next_field(&p, end, &f, 4)) > 0) {
        switch (f.field) {
        case 1:
            if (f.wt == WT_LEN) trace = (Slice){f.ptr, f.len};
            break;
        case 2:
            if (f.wt == WT_LEN) span = (Slice){f.ptr, f.len};
            break;
        case 3:
            if (f.wt == WT_LEN) {
                TRY(check_utf8(f.ptr, f.len));
                state = (Slice){f.ptr, f.len};
            }
            break;
        case 4:
            if (f.wt == WT_LEN) parent = (Slice){f.ptr, f.len};
            break;
        case 5:
            if (f.wt == WT_LEN) {
                TRY(check_utf8(f.ptr, f.len));
                name = (Slice){f.ptr, f.len};
            }
            break;
        case 6:
            if (f.wt == WT_VARINT) kind = (int32_t)(uint32_t)f.u;
            break;
        case 7:
            if (f.wt == WT_I64) start = f.u;
            break;
        case 8:
            if (f.wt == WT_I64) stop = f.u;
            break;
        case 9:
            if (f.wt == WT_LEN) TRY(dispatch_attribute(d, f.ptr, f.len));
            break;
        case 11:
            if (f.wt == WT_LEN) TRY(slices_push(&d->events, f.ptr, f.len));
            break;
        case 13:
            if (f.wt == WT_LEN) TRY(slices_push(&d->links, f.ptr, f.len));
            break;
        case 15:
            if (f.wt == WT_LEN) {
                if (have_status) {
                    return unsupported("repeated Span.status");
                }
                have_status = 1;
                TRY(status_parse(f.ptr, f.len, &message, &code));
            }
            break;
        default:
            break;
        }
    }
    TRY(r);
    if (start > INT64_MAX || stop > INT64_MAX) {
        PyErr_SetString(PyExc_ValueError, "span timestamp beyond int64");
        return -1;
    }

    StrCol *s = d->str;
    TRY(hex_into(&s[C_TRACE_ID].data, trace.ptr, trace.len));
    TRY(str_finish(&s[C_TRACE_ID], row, 1));
    TRY(hex_into(&s[C_SPAN_ID].data, span.ptr, span.len));
    TRY(str_finish(&s[C_SPAN_ID], row, 1));
    if (parent.len) {
        TRY(hex_into(&s[C_PARENT_SPAN_ID].data, parent.ptr, parent.len));
    }
    TRY(str_finish(&s[C_PARENT_SPAN_ID], row, parent.len != 0));
    TRY(opt_str(&s[C_TRACE_STATE], row, state));
    int64_t v = (int64_t)start;
    TRY(num_push(&d->start, row, &v, 1));
    v = (int64_t)stop;
    TRY(num_push(&d->end, row, &v, 1));
    TRY(str_value(&s[C_NAME], row, name.ptr, name.len));
    const char *kname = KIND_NAMES[kind >= 0 && kind < 6 ? kind : 0];
    TRY(str_value(&s[C_KIND], row, kname, strlen(kname)));
    const char *cname = STATUS_NAMES[code >= 0 && code < 3 ? code : 0];
    TRY(str_value(&s[C_STATUS_CODE], row, cname, strlen(cname)));
    TRY(opt_str(&s[C_STATUS_MESSAGE], row, message));

    for (Py_ssize_t i = 0; i < d->nhot; i++) {
        Hot *h = &d->hot[i];
        switch (h->slot) {
        case SLOT_TEXT:
            TRY(str_value(&h->str, row, h->text.ptr, h->text.len));
            break;
        case SLOT_JSON:
            TRY(emit_any(&d->c, &h->str.data, h->text.ptr, h->text.len, SPAN_VALUE_DEPTH));
            TRY(str_finish(&h->str, row, 1));
            break;
        case SLOT_INT:
            TRY(num_push(&h->num, row, &h->i, 1));
            break;
        case SLOT_DOUBLE:
            TRY(num_push(&h->num, row, &h->d, 1));
            break;
        default:
            if (h->kind == HOT_INT || h->kind == HOT_DOUBLE) {
                int64_t zero = 0;
                TRY(num_push(&h->num, row, &zero, 0));
            } else {
                TRY(str_finish(&h->str, row, 0));
            }
        }
    }

    TRY(emit_object(&d->c, &s[C_ATTRIBUTES].data, 0, SPAN_VALUE_DEPTH));
    TRY(str_finish(&s[C_ATTRIBUTES], row, 1));
    TRY(emit_list(d, &s[C_EVENTS], &d->events, emit_event));
    TRY(emit_list(d, &s[C_LINKS], &d->links, emit_link));
    d->rows++;
    return 0;
}

/* -- resources and scopes -------------------------------------------------------------- */

static int validate_entity_ref(const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    Field f;
    int r;
    while ((r = next_field(&p, end, &f, 4)) > 0) {
        if (f.field >= 1 && f.field <= 4 && f.wt == WT_LEN) {
            TRY(check_utf8(f.ptr, f.len));
        }
    }
    return r;
}

static int decode_resource(Decoder *d, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    Field f;
    int r;
    d->c.ents.n = 0;
    while ((r = next_field(&p, end, &f, 3)) > 0) {
        if (f.field == 1 && f.wt == WT_LEN) {
            TRY(push_kv(&d->c, f.ptr, f.len, 4));
        } else if (f.field == 3 && f.wt == WT_LEN) {
            TRY(validate_entity_ref(f.ptr, f.len));
        }
    }
    TRY(r);
    /* Python reads service.name from the finished dict: the last occurrence's value. */
    for (size_t i = d->c.ents.n; i-- > 0;) {
        Entry e = d->c.ents.items[i];
        if ((Py_ssize_t)e.klen == d->service_key_len &&
            memcmp(e.key, d->service_key, e.klen) == 0) {
            Any a;
            TRY(any_scan(&d->c, e.val, e.vlen, &a, RESOURCE_VALUE_DEPTH));
            /* Python checks for a str after conversion, and bytes convert to base64 text. */
            if (a.kase == ANY_STRING) {
                TRY(check_utf8(a.ptr, a.len));
                TRY(buf_put(&d->service, a.ptr, a.len));
                d->have_service = 1;
            } else if (a.kase == ANY_BYTES) {
                TRY(json_base64(&d->service, a.ptr, a.len));
                /* drop the JSON quotes */
                memmove(d->service.data, d->service.data + 1, d->service.len - 2);
                d->service.len -= 2;
                d->have_service = 1;
            }
            break;
        }
    }
    return emit_object(&d->c, &d->resource_json, 0, RESOURCE_VALUE_DEPTH);
}

static int decode_scope(Decoder *d, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    Field f;
    int r;
    while ((r = next_field(&p, end, &f, 4)) > 0) {
        if (f.wt != WT_LEN) {
            continue;
        }
        if (f.field == 1) {
            TRY(check_utf8(f.ptr, f.len));
            d->scope_name = (Slice){f.ptr, f.len};
        } else if (f.field == 2) {
            TRY(check_utf8(f.ptr, f.len));
            d->scope_version = (Slice){f.ptr, f.len};
        } else if (f.field == 3) {
            /* Scope attributes are not stored, but protobuf would reject invalid ones. */
            Slice key, val;
            TRY(kv_parse(f.ptr, f.len, &key, &val, 5));
            TRY(emit_any(&d->c, NULL, val.ptr, val.len, SPAN_VALUE_DEPTH));
        }
    }
    return r;
}

/* Scope and resource columns are filled once their block of spans is decoded: protobuf allows
 * the scope and resource after the spans, and one pass over the input keeps it in cache. */
static int fill_scope(Decoder *d, Py_ssize_t first) {
    for (Py_ssize_t row = first; row < d->rows; row++) {
        TRY(opt_str(&d->str[C_SCOPE_NAME], row, d->scope_name));
        TRY(opt_str(&d->str[C_SCOPE_VERSION], row, d->scope_version));
    }
    return 0;
}

static int fill_resource(Decoder *d, Py_ssize_t first) {
    for (Py_ssize_t row = first; row < d->rows; row++) {
        if (d->have_service) {
            TRY(str_value(&d->str[C_SERVICE_NAME], row, d->service.data, d->service.len));
        } else {
            TRY(str_finish(&d->str[C_SERVICE_NAME], row, 0));
        }
        TRY(str_value(&d->str[C_RESOURCE_ATTRIBUTES], row, d->resource_json.data,
                      d->resource_json.len));
    }
    return 0;
}

static int decode_scope_spans(Decoder *d, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    Py_ssize_t first = d->rows;
    Field f;
    int r, have_scope = 0;
    d->scope_name = (Slice){NULL, 0};
    d->scope_version = (Slice){NULL, 0};
    while ((r = next_field(&p, end, &f, 3)) > 0) {
        if (f.wt != WT_LEN) {
            continue;
        }
        if (f.field == 2) {
            TRY(decode_span(d, f.ptr, f.len));
        } else if (f.field == 1) {
            if (have_scope) {
                return unsupported("repeated ScopeSpans.scope");
            }
            have_scope = 1;
            TRY(decode_scope(d, f.ptr, f.len));
        } else if (f.field == 3) {
            TRY(check_utf8(f.ptr, f.len));
        }
    }
    TRY(r);
    return fill_scope(d, first);
}

static int decode_resource_spans(Decoder *d, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    Py_ssize_t first = d->rows;
    Field f;
    int r, have_resource = 0;
    d->have_service = 0;
    d->service.len = 0;
    d->resource_json.len = 0;
    while ((r = next_field(&p, end, &f, 2)) > 0) {
        if (f.wt != WT_LEN) {
            continue;
        }
        if (f.field == 2) {
            TRY(decode_scope_spans(d, f.ptr, f.len));
        } else if (f.field == 1) {
            if (have_resource) {
                return unsupported("repeated ResourceSpans.resource");
            }
            have_resource = 1;
            TRY(decode_resource(d, f.ptr, f.len));
        } else if (f.field == 3) {
            TRY(check_utf8(f.ptr, f.len));
        }
    }
    TRY(r);
    if (!have_resource) {
        PUTS(&d->resource_json, "{}");
    }
    return fill_resource(d, first);
}

static int decode_request(Decoder *d, const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    Field f;
    int r;
    while ((r = next_field(&p, end, &f, 1)) > 0) {
        if (f.field == 1 && f.wt == WT_LEN) {
            TRY(decode_resource_spans(d, f.ptr, f.len));
        }
    }
    return r;
}

/* -- Python interface ------------------------------------------------------------------ */

static PyObject *validity_of(Buf *b, Py_ssize_t nulls) {
    if (nulls == 0) {
        Py_RETURN_NONE;
    }
    return buf_take(b);
}

static PyObject *str_tuple(StrCol *col) {
    PyObject *v = validity_of(&col->validity, col->nulls);
    PyObject *o = buf_take(&col->offsets);
    PyObject *x = buf_take(&col->data);
    if (v == NULL || o == NULL || x == NULL) {
        Py_XDECREF(v);
        Py_XDECREF(o);
        Py_XDECREF(x);
        return NULL;
    }
    PyObject *t = PyTuple_Pack(3, v, o, x);
    Py_DECREF(v);
    Py_DECREF(o);
    Py_DECREF(x);
    return t;
}

static PyObject *num_tuple(NumCol *col) {
    PyObject *v = validity_of(&col->validity, col->nulls);
    PyObject *x = buf_take(&col->data);
    if (v == NULL || x == NULL) {
        Py_XDECREF(v);
        Py_XDECREF(x);
        return NULL;
    }
    PyObject *t = PyTuple_Pack(2, v, x);
    Py_DECREF(v);
    Py_DECREF(x);
    return t;
}

static int set_item(PyObject *dict, const char *key, PyObject *value) {
    if (value == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *build_result(Decoder *d) {
    PyObject *core = PyDict_New();
    PyObject *hot = PyList_New(d->nhot);
    if (core == NULL || hot == NULL) {
        goto fail;
    }
    for (int i = 0; i < N_STR; i++) {
        if (set_item(core, STR_NAMES[i], str_tuple(&d->str[i])) < 0) goto fail;
    }
    if (set_item(core, "start_time_unix_nano", num_tuple(&d->start)) < 0) goto fail;
    if (set_item(core, "end_time_unix_nano", num_tuple(&d->end)) < 0) goto fail;
    for (Py_ssize_t i = 0; i < d->nhot; i++) {
        Hot *h = &d->hot[i];
        PyObject *t = h->kind == HOT_INT || h->kind == HOT_DOUBLE ? num_tuple(&h->num)
                                                                   : str_tuple(&h->str);
        if (t == NULL) goto fail;
        PyList_SET_ITEM(hot, i, t);
    }
    PyObject *result = Py_BuildValue("(nNN)", d->rows, core, hot);
    return result;
fail:
    Py_XDECREF(core);
    Py_XDECREF(hot);
    return NULL;
}

static int decoder_init(Decoder *d, PyObject *spec, PyObject *service_key) {
    Py_ssize_t n = PyTuple_GET_SIZE(spec);
    if (n > 4096) {
        PyErr_SetString(PyExc_ValueError, "too many hot attributes");
        return -1;
    }
    d->service_key = PyUnicode_AsUTF8AndSize(service_key, &d->service_key_len);
    if (d->service_key == NULL) {
        return -1;
    }
    d->hot = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Hot));
    size_t cap = 16;
    while (cap < 4 * (size_t)n) {
        cap *= 2;
    }
    d->lookup = PyMem_Malloc(cap * sizeof(int16_t));
    if (d->hot == NULL || d->lookup == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    d->nhot = n;
    d->lookup_cap = cap;
    memset(d->lookup, 0xff, cap * sizeof(int16_t));
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(spec, i);
        PyObject *name;
        int kind;
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "Ui", &name, &kind)) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "spec items must be (str, int) tuples");
            }
            return -1;
        }
        if (kind < HOT_STRING || kind > HOT_CONTENT) {
            PyErr_SetString(PyExc_ValueError, "unknown hot attribute kind");
            return -1;
        }
        Hot *h = &d->hot[i];
        h->kind = kind;
        h->str.nullable = 1;
        h->name = PyUnicode_AsUTF8AndSize(name, &h->nlen);
        if (h->name == NULL) {
            return -1;
        }
        if (hot_find(d, (const uint8_t *)h->name, (size_t)h->nlen) >= 0) {
            PyErr_SetString(PyExc_ValueError, "duplicate hot attribute");
            return -1;
        }
        size_t slot = hot_hash((const uint8_t *)h->name, (size_t)h->nlen) & (cap - 1);
        while (d->lookup[slot] >= 0) {
            slot = (slot + 1) & (cap - 1);
        }
        d->lookup[slot] = (int16_t)i;
        int32_t zero = 0;
        if (kind == HOT_STRING || kind == HOT_CONTENT) {
            TRY(buf_put(&h->str.offsets, &zero, sizeof zero));
        }
    }
    for (int i = 0; i < N_STR; i++) {
        int32_t zero = 0;
        d->str[i].nullable = STR_NULLABLE[i];
        TRY(buf_put(&d->str[i].offsets, &zero, sizeof zero));
    }
    return 0;
}

PyDoc_STRVAR(decode_doc,
             "decode(payloads, spec, service_key) -> (rows, core, hot)\n\n"
             "Decode serialized ExportTraceServiceRequest messages into Arrow buffers.\n"
             "spec is a tuple of (attribute, kind) with kind 0 string, 1 int, 2 double,\n"
             "3 content. core maps column name to (validity, offsets, data) for strings or\n"
             "(validity, data) for int64; hot lists the same per spec entry. Raises\n"
             "ValueError for input it cannot reproduce exactly.");

static PyObject *decode(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *payloads, *spec, *service_key;
    if (!PyArg_ParseTuple(args, "OO!U:decode", &payloads, &PyTuple_Type, &spec, &service_key)) {
        return NULL;
    }
    /* A private tuple keeps every payload alive even if the caller's list changes. */
    PyObject *seq = PySequence_Tuple(payloads);
    if (seq == NULL) {
        return NULL;
    }
    Decoder d;
    memset(&d, 0, sizeof d);
    PyObject *result = NULL;
    if (decoder_init(&d, spec, service_key) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(seq); i++) {
        /* Nothing keeps a pointer into a payload once its request is decoded, so each buffer
         * view can be released straight away. */
        Py_buffer view;
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(seq, i), &view, PyBUF_SIMPLE) < 0) {
            goto done;
        }
        int rc = decode_request(&d, (const uint8_t *)view.buf, (size_t)view.len);
        PyBuffer_Release(&view);
        if (rc < 0) {
            goto done;
        }
    }
    result = build_result(&d);
done:
    decoder_free(&d);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS, decode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_otlp_columns",
    "Native OTLP protobuf to Arrow column decoder (see agenttrace.store.convert).",
    0,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__otlp_columns(void) { return PyModuleDef_Init(&module); }
