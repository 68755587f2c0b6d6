/* The email detector's findings in one text, without the regular expression engine.
 *
 * find_emails(text, tlds) returns what the engine's window search, start-of-token check and
 * validator keep for the built-in "email" detector (detectors.py), as (start, end) pairs in
 * the order the window search finds them. ``tlds`` is the frozenset of file extensions the
 * validator refuses as top-level domains.
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

static PyObject *json_member_names(PyObject *self, PyObject *args) {
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
        Py_ssize_t i = close + 1;
        while (i < t.length) {
            Py_UCS4 c = at(&t, i);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                break;
            i++;
        }
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

static PyObject *find_emails(PyObject *self, PyObject *args) {
    PyObject *text, *tlds;
    if (!PyArg_ParseTuple(args, "UO!:find_emails", &text, &PyFrozenSet_Type, &tlds))
        return NULL;
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    for (Py_ssize_t keyword = find_char(&t, '@', 0, t.length); keyword >= 0;
         keyword = find_char(&t, '@', keyword + 1, t.length)) {
        Py_ssize_t limit = keyword + 1 + WINDOW_AFTER;
        if (limit > t.length)
            limit = t.length;
        Py_ssize_t pos = keyword - WINDOW_BEFORE < 0 ? 0 : keyword - WINDOW_BEFORE;
        for (;;) { /* engine._window_matches */
            Py_ssize_t nearest = find_char(&t, '@', pos, limit);
            if (nearest < 0)
                break;
            Py_ssize_t first = nearest - WINDOW_BEFORE > pos ? nearest - WINDOW_BEFORE : pos;
            Py_ssize_t stop = rfind_char(&t, ' ', first, nearest);
            if (stop + 1 > first)
                first = stop + 1;
            stop = rfind_char(&t, '\n', first, nearest);
            if (stop + 1 > first)
                first = stop + 1;
            Py_ssize_t ms, me;
            if (!search(&t, first, limit, &ms, &me))
                break;
            pos = me;
            int seen = 0;
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(found) && !seen; i++) {
                PyObject *pair = PyList_GET_ITEM(found, i);
                seen = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 0)) == ms &&
                       PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 1)) == me;
            }
            if (seen || !starts_token(&t, ms))
                continue;
            int ok = email_ok(&t, ms, me, tlds);
            if (ok < 0)
                goto fail;
            if (!ok)
                continue;
            PyObject *pair = Py_BuildValue("(nn)", ms, me);
            if (pair == NULL || PyList_Append(found, pair) < 0) {
                Py_XDECREF(pair);
                goto fail;
            }
            Py_DECREF(pair);
        }
    }
    return found;
fail:
    Py_DECREF(found);
    return NULL;
}

static PyMethodDef methods[] = {
    {"find_emails", find_emails, METH_VARARGS, "find_emails(text, tlds) -> list of (start, end)"},
    {"json_member_names", json_member_names, METH_VARARGS,
     "json_member_names(text) -> the member names of JSON text without backslashes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_emails", NULL, -1, methods};

PyMODINIT_FUNC PyInit__emails(void) { return PyModule_Create(&module); }
