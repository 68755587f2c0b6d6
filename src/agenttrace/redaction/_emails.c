/* The email detector's findings in one text, without the regular expression engine.
 *
 * redact_emails(text, tlds, marker, json_key) is what Redactor.redact_value needs for a text
 * whose only possible findings are emails: None if the text holds a backslash (JSON escapes
 * stay with the general path), else (state, member names, the text with every finding
 * replaced by ``marker``, the number of findings). ``state`` says whether the engine would
 * read the text as JSON: 0 no (names None), 1 yes and it is certainly strict JSON (names
 * listed), 2 it opens like JSON but only orjson can tell (names None). ``tlds`` is the
 * frozenset of file extensions the validator refuses as top-level domains.
 *
 * find_emails(text, tlds) returns the findings before merging, as (start, end) pairs in the
 * order the window search finds them: what the engine's window search, start-of-token check
 * and validator keep for the built-in "email" detector (detectors.py). The tests compare it
 * with the regular expression path.
 *
 * json_member_names(text) returns the member names of valid JSON text without backslashes
 * (every quote then opens or closes a string; a string followed by a colon names a member).
 *
 * The pattern, under re.ASCII:
 *   [A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@
 *   [A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.<the same label>)*\.[A-Za-z]{2,24}
 *   (?![A-Za-z0-9-])
 * No character class of the domain holds '.', so labels are whole runs between dots, and
 * backtracking reduces to: the last dot-separated segment that is all letters (2-24), with
 * every segment before it a valid label. tests/redaction/test_native_emails.py checks this
 * against the regular expression path on generated text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define WINDOW_BEFORE 64 /* Detector.window of "email" */
#define WINDOW_AFTER 300
#define LOCAL_MAX 63 /* the local part's {0,63} after its first character */

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t length;
} Text;

static inline Py_UCS4 at(const Text *t, Py_ssize_t i) { return PyUnicode_READ(t->kind, t->data, i); }

static inline int is_alpha(Py_UCS4 c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline int is_alnum(Py_UCS4 c) { return is_alpha(c) || (c >= '0' && c <= '9'); }
static inline int in_local(Py_UCS4 c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
static inline int in_label(Py_UCS4 c) { return is_alnum(c) || c == '-'; }
/* Detector.not_after, [\w.%+-] under re.ASCII: the same set as the local part's. */
static inline int glued(Py_UCS4 c) { return in_local(c); }

static int valid_label(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t n = end - start;
    return n >= 1 && n <= 64 && is_alnum(at(t, start)) && is_alnum(at(t, end - 1));
}

static int valid_tld(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t n = end - start;
    if (n < 2 || n > 24)
        return 0;
    for (Py_ssize_t i = start; i < end; i++)
        if (!is_alpha(at(t, i)))
            return 0;
    return 1;
}

/* The end of the pattern's match starting at ``s`` in text[:limit], or -1. */
static Py_ssize_t match_at(const Text *t, Py_ssize_t s, Py_ssize_t limit) {
    if (!is_alnum(at(t, s)))
        return -1;
    Py_ssize_t j = s + 1;
    while (j < limit && in_local(at(t, j))) {
        if (j - (s + 1) == LOCAL_MAX)
            return -1; /* a 64th character of the class where '@' must be */
        j++;
    }
    if (j >= limit || at(t, j) != '@')
        return -1;
    Py_ssize_t start = j + 1, end = start;
    while (end < limit && in_label(at(t, end)))
        end++;
    if (!valid_label(t, start, end))
        return -1;
    Py_ssize_t best = -1;
    while (end < limit && at(t, end) == '.') {
        start = end + 1;
        end = start;
        while (end < limit && in_label(at(t, end)))
            end++;
        if (valid_tld(t, start, end))
            best = end; /* the greedy repetition backtracks to the last one that works */
        if (!valid_label(t, start, end))
            break;
    }
    return best;
}

/* re.search(text, first, limit): the leftmost match. */
static int search(const Text *t, Py_ssize_t first, Py_ssize_t limit, Py_ssize_t *ms,
                  Py_ssize_t *me) {
    for (Py_ssize_t s = first; s < limit; s++) {
        Py_ssize_t end = match_at(t, s, limit);
        if (end >= 0) {
            *ms = s;
            *me = end;
            return 1;
        }
    }
    return 0;
}

static Py_ssize_t find_char(const Text *t, Py_UCS4 c, Py_ssize_t from, Py_ssize_t to) {
    if (t->kind == PyUnicode_1BYTE_KIND) { /* most texts: memchr's wide compares */
        if (from >= to || c > 0xFF)
            return -1;
        const Py_UCS1 *data = t->data;
        const Py_UCS1 *found = memchr(data + from, (int)c, (size_t)(to - from));
        return found == NULL ? -1 : found - data;
    }
    for (Py_ssize_t i = from; i < to; i++)
        if (at(t, i) == c)
            return i;
    return -1;
}

static Py_ssize_t rfind_char(const Text *t, Py_UCS4 c, Py_ssize_t from, Py_ssize_t to) {
    for (Py_ssize_t i = to - 1; i >= from; i--)
        if (at(t, i) == c)
            return i;
    return -1;
}

/* Detector.starts_token: not glued to the text before, a JSON escape counting as a gap. */
static int starts_token(const Text *t, Py_ssize_t start) {
    if (start == 0)
        return 1;
    if (start >= 2 && at(t, start - 2) == '\\') {
        Py_UCS4 e = at(t, start - 1);
        if (e == 'n' || e == 'r' || e == 't' || e == 'b' || e == 'f' || e == '/')
            return 1;
    }
    return !glued(at(t, start - 1));
}

/* _validators.email_ok: not an ssh remote (git@host) and not a file name (icon@2x.png).
 * Returns 1, 0, or -1 with an exception set. */
static int email_ok(const Text *t, Py_ssize_t start, Py_ssize_t end, PyObject *tlds) {
    Py_ssize_t sign = find_char(t, '@', start, end);
    if (sign - start == 3 && (at(t, start) | 0x20) == 'g' && (at(t, start + 1) | 0x20) == 'i' &&
        (at(t, start + 2) | 0x20) == 't')
        return 0;
    Py_ssize_t dot = rfind_char(t, '.', sign, end);
    char tld[25];
    Py_ssize_t n = end - dot - 1;
    if (n <= 0 || n > 24)
        return 1; /* cannot happen for a match; no extension is that long anyway */
    for (Py_ssize_t i = 0; i < n; i++)
        tld[i] = (char)(at(t, dot + 1 + i) | 0x20);
    PyObject *key = PyUnicode_FromStringAndSize(tld, n);
    if (key == NULL)
        return -1;
    int refused = PySet_Contains(tlds, key);
    Py_DECREF(key);
    return refused < 0 ? -1 : !refused;
}

/* JSON's whitespace, as orjson and _jsonio.may_be_json read it. */
static inline int json_space(Py_UCS4 c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static Py_ssize_t skip_space(const Text *t, Py_ssize_t i) {
    if (t->kind == PyUnicode_1BYTE_KIND) { /* the usual text: no per-character kind switch */
        const Py_UCS1 *data = t->data;
        while (i < t->length && json_space(data[i]))
            i++;
        return i;
    }
    while (i < t->length && json_space(at(t, i)))
        i++;
    return i;
}

static PyObject *json_member_names(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U:json_member_names", &text))
        return NULL;
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    PyObject *names = PyList_New(0);
    if (names == NULL)
        return NULL;
    Py_ssize_t open = find_char(&t, '"', 0, t.length);
    while (open >= 0) {
        Py_ssize_t close = find_char(&t, '"', open + 1, t.length);
        if (close < 0)
            break;
        Py_ssize_t i = skip_space(&t, close + 1);
        if (i < t.length && at(&t, i) == ':') {
            PyObject *name = PyUnicode_Substring(text, open + 1, close);
            if (name == NULL || PyList_Append(names, name) < 0) {
                Py_XDECREF(name);
                Py_DECREF(names);
                return NULL;
            }
            Py_DECREF(name);
        }
        open = find_char(&t, '"', close + 1, t.length);
    }
    return names;
}

/* Findings as (start, end) pairs, in the order the window search finds them. */
typedef struct {
    Py_ssize_t *pairs;
    Py_ssize_t count, capacity;
    Py_ssize_t inline_pairs[16];
} Spans;

static int spans_push(Spans *spans, Py_ssize_t start, Py_ssize_t end) {
    if (spans->count * 2 + 2 > spans->capacity) {
        Py_ssize_t capacity = spans->capacity * 2;
        Py_ssize_t *grown = spans->pairs == spans->inline_pairs
                                ? PyMem_Malloc(capacity * sizeof(Py_ssize_t))
                                : PyMem_Realloc(spans->pairs, capacity * sizeof(Py_ssize_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (spans->pairs == spans->inline_pairs)
            memcpy(grown, spans->inline_pairs, sizeof(spans->inline_pairs));
        spans->pairs = grown;
        spans->capacity = capacity;
    }
    spans->pairs[spans->count * 2] = start;
    spans->pairs[spans->count * 2 + 1] = end;
    spans->count++;
    return 0;
}

static void spans_init(Spans *spans) {
    spans->pairs = spans->inline_pairs;
    spans->count = 0;
    spans->capacity = sizeof(spans->inline_pairs) / sizeof(Py_ssize_t);
}

static void spans_free(Spans *spans) {
    if (spans->pairs != spans->inline_pairs)
        PyMem_Free(spans->pairs);
}

/* The engine's window search for the email detector (engine._window_matches per keyword),
 * with its start-of-token check and validator. Returns 0, or -1 with an exception set. */
static int collect_emails(const Text *t, PyObject *tlds, Spans *found) {
    for (Py_ssize_t keyword = find_char(t, '@', 0, t->length); keyword >= 0;
         keyword = find_char(t, '@', keyword + 1, t->length)) {
        Py_ssize_t limit = keyword + 1 + WINDOW_AFTER;
        if (limit > t->length)
            limit = t->length;
        Py_ssize_t pos = keyword - WINDOW_BEFORE < 0 ? 0 : keyword - WINDOW_BEFORE;
        for (;;) {
            Py_ssize_t nearest = find_char(t, '@', pos, limit);
            if (nearest < 0)
                break;
            Py_ssize_t first = nearest - WINDOW_BEFORE > pos ? nearest - WINDOW_BEFORE : pos;
            Py_ssize_t stop = rfind_char(t, ' ', first, nearest);
            if (stop + 1 > first)
                first = stop + 1;
            stop = rfind_char(t, '\n', first, nearest);
            if (stop + 1 > first)
                first = stop + 1;
            Py_ssize_t ms, me;
            if (!search(t, first, limit, &ms, &me))
                break;
            pos = me;
            int seen = 0;
            for (Py_ssize_t i = 0; i < found->count && !seen; i++)
                seen = found->pairs[2 * i] == ms && found->pairs[2 * i + 1] == me;
            if (seen || !starts_token(t, ms))
                continue;
            int ok = email_ok(t, ms, me, tlds);
            if (ok < 0)
                return -1;
            if (ok && spans_push(found, ms, me) < 0)
                return -1;
        }
    }
    return 0;
}

static PyObject *find_emails(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *text, *tlds;
    if (!PyArg_ParseTuple(args, "UO!:find_emails", &text, &PyFrozenSet_Type, &tlds))
        return NULL;
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    Spans found;
    spans_init(&found);
    PyObject *list = NULL;
    if (collect_emails(&t, tlds, &found) == 0 && (list = PyList_New(found.count)) != NULL) {
        for (Py_ssize_t i = 0; i < found.count; i++) {
            PyObject *pair = Py_BuildValue("(nn)", found.pairs[2 * i], found.pairs[2 * i + 1]);
            if (pair == NULL) {
                Py_CLEAR(list);
                break;
            }
            PyList_SET_ITEM(list, i, pair);
        }
    }
    spans_free(&found);
    return list;
}

/* engine._merge for findings of one type: sorted by (start, end), overlaps joined. */
static int by_position(const void *a, const void *b) {
    const Py_ssize_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static void merge_overlaps(Spans *spans) {
    if (spans->count < 2)
        return;
    qsort(spans->pairs, spans->count, 2 * sizeof(Py_ssize_t), by_position);
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 1; i < spans->count; i++) {
        Py_ssize_t *last = spans->pairs + 2 * kept, *next = spans->pairs + 2 * i;
        if (next[0] < last[1]) {
            if (next[1] > last[1])
                last[1] = next[1];
        } else {
            kept++;
            spans->pairs[2 * kept] = next[0];
            spans->pairs[2 * kept + 1] = next[1];
        }
    }
    spans->count = kept + 1;
}

/* ---- strict JSON, conservatively ------------------------------------------------------
 * json_value accepts only text orjson certainly reads (RFC 8259 without backslashes, nesting
 * at most MAX_DEPTH, numbers short enough to stay finite, no surrogate code points) and
 * collects the member names meanwhile; anything else is left to orjson. */
#define MAX_DEPTH 64
#define MAX_NUMBER_LENGTH 100

#define ONES 0x0101010101010101ULL
#define HIGH_BITS 0x8080808080808080ULL
/* Whether any byte of ``word`` is below ``limit`` (at most 128), or zero (bit tricks). */
static inline uint64_t has_byte_below(uint64_t word, uint64_t limit) {
    return (word - ONES * limit) & ~word & HIGH_BITS;
}
static inline uint64_t has_zero_byte(uint64_t word) { return (word - ONES) & ~word & HIGH_BITS; }

/* The index after the string opening at ``i``, or -1. */
static Py_ssize_t json_string(const Text *t, Py_ssize_t i) {
    if (t->kind == PyUnicode_1BYTE_KIND) { /* no surrogates in one-byte text */
        const Py_UCS1 *data = t->data;
        /* Eight characters at a time while none is a quote or a control character. */
        for (i++; i + 8 <= t->length; i += 8) {
            uint64_t word;
            memcpy(&word, data + i, 8);
            if (has_byte_below(word, 0x20) | has_zero_byte(word ^ (ONES * '"')))
                break;
        }
        for (; i < t->length; i++) {
            if (data[i] == '"')
                return i + 1;
            if (data[i] < 0x20)
                return -1;
        }
        return -1;
    }
    for (i++; i < t->length; i++) {
        Py_UCS4 c = at(t, i);
        if (c == '"')
            return i + 1;
        if (c < 0x20 || (c >= 0xD800 && c <= 0xDFFF))
            return -1;
    }
    return -1;
}

static Py_ssize_t digits(const Text *t, Py_ssize_t i) {
    while (i < t->length && at(t, i) >= '0' && at(t, i) <= '9')
        i++;
    return i;
}

static Py_ssize_t json_number(const Text *t, Py_ssize_t i) {
    Py_ssize_t start = i;
    if (at(t, i) == '-')
        i++;
    if (i >= t->length)
        return -1;
    if (at(t, i) == '0')
        i++;
    else if (at(t, i) >= '1' && at(t, i) <= '9')
        i = digits(t, i);
    else
        return -1;
    if (i < t->length && at(t, i) == '.') {
        Py_ssize_t after = digits(t, i + 1);
        if (after == i + 1)
            return -1;
        i = after;
    }
    if (i < t->length && (at(t, i) == 'e' || at(t, i) == 'E')) {
        i++;
        if (i < t->length && (at(t, i) == '+' || at(t, i) == '-'))
            i++;
        Py_ssize_t after = digits(t, i);
        if (after == i || after - i > 2)
            return -1;
        i = after;
    }
    return i - start > MAX_NUMBER_LENGTH ? -1 : i;
}

static Py_ssize_t json_literal(const Text *t, Py_ssize_t i, const char *word) {
    for (; *word; word++, i++)
        if (i >= t->length || at(t, i) != (Py_UCS4)*word)
            return -1;
    return i;
}

/* The index after the value at ``i`` (whitespace skipped before it), or -1 for text not
 * certainly valid, or -2 with an exception set. */
static Py_ssize_t json_value(const Text *t, PyObject *text, Py_ssize_t i, int depth,
                             PyObject *names) {
    i = skip_space(t, i);
    if (i >= t->length)
        return -1;
    Py_UCS4 c = at(t, i);
    if (c == '"')
        return json_string(t, i);
    if (c == 't')
        return json_literal(t, i, "true");
    if (c == 'f')
        return json_literal(t, i, "false");
    if (c == 'n')
        return json_literal(t, i, "null");
    if (c != '{' && c != '[')
        return json_number(t, i);
    if (depth >= MAX_DEPTH)
        return -1;
    Py_UCS4 close = c == '{' ? '}' : ']';
    i = skip_space(t, i + 1);
    if (i < t->length && at(t, i) == close)
        return i + 1;
    for (;;) {
        if (close == '}') {
            i = skip_space(t, i);
            if (i >= t->length || at(t, i) != '"')
                return -1;
            Py_ssize_t end = json_string(t, i);
            if (end < 0)
                return -1;
            PyObject *name = PyUnicode_Substring(text, i + 1, end - 1);
            if (name == NULL || PyList_Append(names, name) < 0) {
                Py_XDECREF(name);
                return -2;
            }
            Py_DECREF(name);
            i = skip_space(t, end);
            if (i >= t->length || at(t, i) != ':')
                return -1;
            i++;
        }
        i = json_value(t, text, i, depth + 1, names);
        if (i < 0)
            return i;
        i = skip_space(t, i);
        if (i >= t->length)
            return -1;
        if (at(t, i) == close)
            return i + 1;
        if (at(t, i) != ',')
            return -1;
        i++;
    }
}

/* Python's str.strip() then the engine's looks_like_json: an object or array in outline. */
static int looks_like_json(const Text *t) {
    Py_ssize_t first = 0, last = t->length - 1;
    while (first <= last && Py_UNICODE_ISSPACE(at(t, first)))
        first++;
    while (last >= first && Py_UNICODE_ISSPACE(at(t, last)))
        last--;
    if (last - first < 1)
        return 0;
    Py_UCS4 open = at(t, first), close = at(t, last);
    return (open == '{' && close == '}') || (open == '[' && close == ']');
}

/* _jsonio.may_be_json: opens like a JSON document (NaN and Infinity included). */
static int may_be_json(const Text *t) {
    Py_ssize_t i = skip_space(t, 0);
    if (i >= t->length)
        return 0;
    Py_UCS4 c = at(t, i);
    if (c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9'))
        return 1;
    static const char *openings[] = {"true", "false", "null", "NaN", "Infinity"};
    for (size_t k = 0; k < sizeof(openings) / sizeof(*openings); k++)
        if (json_literal(t, i, openings[k]) >= 0)
            return 1;
    return 0;
}

static PyObject *replace_spans(PyObject *text, const Spans *spans, PyObject *marker) {
    PyObject *pieces = PyList_New(0);
    if (pieces == NULL)
        return NULL;
    Py_ssize_t last = 0;
    for (Py_ssize_t i = 0; i < spans->count; i++) {
        PyObject *before = PyUnicode_Substring(text, last, spans->pairs[2 * i]);
        if (before == NULL || PyList_Append(pieces, before) < 0 ||
            PyList_Append(pieces, marker) < 0) {
            Py_XDECREF(before);
            Py_DECREF(pieces);
            return NULL;
        }
        Py_DECREF(before);
        last = spans->pairs[2 * i + 1];
    }
    PyObject *after = PyUnicode_Substring(text, last, PyUnicode_GET_LENGTH(text));
    if (after == NULL || PyList_Append(pieces, after) < 0) {
        Py_XDECREF(after);
        Py_DECREF(pieces);
        return NULL;
    }
    Py_DECREF(after);
    PyObject *empty = PyUnicode_New(0, 0);
    PyObject *joined = empty == NULL ? NULL : PyUnicode_Join(empty, pieces);
    Py_XDECREF(empty);
    Py_DECREF(pieces);
    return joined;
}

enum { PLAIN_TEXT = 0, STRICT_JSON = 1, JSON_UNDECIDED = 2 };

static PyObject *redact_emails(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *text, *tlds, *marker;
    int json_key;
    if (!PyArg_ParseTuple(args, "UO!Up:redact_emails", &text, &PyFrozenSet_Type, &tlds, &marker,
                          &json_key))
        return NULL;
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    if (find_char(&t, '\\', 0, t.length) >= 0)
        Py_RETURN_NONE;
    int state = PLAIN_TEXT;
    PyObject *names = Py_None;
    Py_INCREF(names);
    if ((json_key || looks_like_json(&t)) && may_be_json(&t)) {
        Py_SETREF(names, PyList_New(0));
        if (names == NULL)
            return NULL;
        Py_ssize_t end = json_value(&t, text, 0, 0, names);
        if (end == -2) {
            Py_DECREF(names);
            return NULL;
        }
        if (end >= 0 && skip_space(&t, end) == t.length) {
            state = STRICT_JSON;
        } else {
            state = JSON_UNDECIDED;
            Py_SETREF(names, Py_None);
            Py_INCREF(names);
        }
    }
    Spans found;
    spans_init(&found);
    PyObject *result = NULL;
    if (collect_emails(&t, tlds, &found) == 0) {
        merge_overlaps(&found);
        PyObject *redacted = text;
        Py_INCREF(redacted);
        if (found.count)
            Py_SETREF(redacted, replace_spans(text, &found, marker));
        if (redacted != NULL)
            result = Py_BuildValue("(iNNn)", state, names, redacted, found.count);
        else
            Py_DECREF(names);
    } else {
        Py_DECREF(names);
    }
    spans_free(&found);
    return result;
}

static PyMethodDef methods[] = {
    {"find_emails", find_emails, METH_VARARGS, "find_emails(text, tlds) -> list of (start, end)"},
    {"redact_emails", redact_emails, METH_VARARGS,
     "redact_emails(text, tlds, marker, json_key) -> None if the text holds a backslash, else "
     "(state, member names, redacted text, findings)"},
    {"json_member_names", json_member_names, METH_VARARGS,
     "json_member_names(text) -> the member names of JSON text without backslashes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_emails", NULL, -1, methods};

PyMODINIT_FUNC PyInit__emails(void) { return PyModule_Create(&module); }
