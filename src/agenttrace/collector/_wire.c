/* The layout of a serialized ExportTraceServiceRequest, read straight off the wire.
 *
 * The pipeline processors screen whole requests as bytes and only take apart the spans that
 * need it. For that they need to know where each resource, scope and span lies in the bytes,
 * and a few counts per span (attributes, events, links) that the limits check compares. From
 * Python, reading those through the protobuf runtime costs microseconds per span; here it is a
 * single pass over the tags. The pure-Python twin in _layout.py gives the same records.
 *
 * layout(data) -> bytes: packed native int64 records of RECORD_FIELDS values, one per unit,
 * in wire order:
 *   kind (0 resource, 1 scope, 2 span), resource index, scope index, span index (-1 unless a
 *   span), start, end (the message's bytes, without its tag and length), attribute count,
 *   event count, link count, most attributes on one event, most attributes on one link,
 *   problem bits (span ids and times; see the PROBLEM_ constants in _layout.py).
 * Malformed input raises ValueError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define RECORD_FIELDS 12

enum { KIND_RESOURCE = 0, KIND_SCOPE = 1, KIND_SPAN = 2 };
enum { BAD_TRACE_ID = 1, BAD_SPAN_ID = 2, BAD_PARENT_ID = 4, BAD_TIME = 8 };
enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_START_GROUP = 3, WIRE_END_GROUP = 4,
       WIRE_I32 = 5 };
/* As deep as the protobuf runtime lets unknown groups nest before it refuses the message. */
#define MAX_GROUP_DEPTH 100

typedef struct {
    const uint8_t *base;
    const uint8_t *p;
    const uint8_t *end;
} Reader;

typedef struct {
    int64_t *items;
    Py_ssize_t len;
    Py_ssize_t cap;
} Records;

static int fail(const char *what) {
    PyErr_Format(PyExc_ValueError, "malformed OTLP protobuf: %s", what);
    return -1;
}

static int read_varint(Reader *r, uint64_t *out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return fail("truncated varint");
        uint8_t byte = *r->p++;
        value |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            *out = value;
            return 0;
        }
    }
    return fail("varint longer than 10 bytes");
}

static int read_field_at(Reader *r, uint32_t *number, int *wire, Reader *sub, int depth);

/* Skips an unknown group (no OTLP field is one, but the runtime keeps them as unknown fields):
 * everything up to the end tag of the same field number. */
static int skip_group(Reader *r, uint32_t number, int depth) {
    if (depth >= MAX_GROUP_DEPTH) return fail("groups nested too deeply");
    for (;;) {
        uint32_t inner;
        int wire;
        Reader sub;
        if (r->p >= r->end) return fail("unterminated group");
        if (read_field_at(r, &inner, &wire, &sub, depth + 1) < 0) return -1;
        if (wire == WIRE_END_GROUP) {
            if (inner != number) return fail("group ended by another field's end tag");
            return 0;
        }
    }
}

/* One field's tag; for a length-delimited field also its payload as a sub-reader. */
static int read_field(Reader *r, uint32_t *number, int *wire, Reader *sub) {
    if (read_field_at(r, number, wire, sub, 0) < 0) return -1;
    if (*wire == WIRE_END_GROUP) return fail("end of a group that was not started");
    return 0;
}

static int read_field_at(Reader *r, uint32_t *number, int *wire, Reader *sub, int depth) {
    uint64_t tag;
    if (read_varint(r, &tag) < 0) return -1;
    if (tag >> 32) return fail("field number out of range");
    *number = (uint32_t)(tag >> 3);
    *wire = (int)(tag & 7);
    if (*number == 0) return fail("field number 0");
    sub->base = r->base;
    switch (*wire) {
    case WIRE_START_GROUP:
        sub->p = r->p;
        if (skip_group(r, *number, depth) < 0) return -1;
        sub->end = sub->p;  /* nothing of a group is read */
        return 0;
    case WIRE_END_GROUP:
        sub->p = sub->end = r->p;
        return 0;
    case WIRE_VARINT: {
        uint64_t ignored;
        sub->p = r->p;
        if (read_varint(r, &ignored) < 0) return -1;
        sub->end = r->p;
        return 0;
    }
    case WIRE_I64:
    case WIRE_I32: {
        Py_ssize_t size = *wire == WIRE_I64 ? 8 : 4;
        if (r->end - r->p < size) return fail("truncated fixed-width field");
        sub->p = r->p;
        r->p += size;
        sub->end = r->p;
        return 0;
    }
    case WIRE_LEN: {
        uint64_t length;
        if (read_varint(r, &length) < 0) return -1;
        if (length > (uint64_t)(r->end - r->p)) return fail("length beyond the end of its message");
        sub->p = r->p;
        r->p += length;
        sub->end = r->p;
        return 0;
    }
    default:
        return fail("invalid wire type");
    }
}

static int count_fields(Reader msg, uint32_t wanted, int64_t *count) {
    *count = 0;
    while (msg.p < msg.end) {
        uint32_t number;
        int wire;
        Reader sub;
        if (read_field(&msg, &number, &wire, &sub) < 0) return -1;
        if (number == wanted && wire == WIRE_LEN) (*count)++;
    }
    return 0;
}

static int64_t *push(Records *records) {
    if (records->len + RECORD_FIELDS > records->cap) {
        Py_ssize_t cap = records->cap ? records->cap * 2 : 64 * RECORD_FIELDS;
        int64_t *grown = PyMem_Realloc(records->items, (size_t)cap * sizeof(int64_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        records->items = grown;
        records->cap = cap;
    }
    int64_t *record = records->items + records->len;
    records->len += RECORD_FIELDS;
    memset(record, 0, RECORD_FIELDS * sizeof(int64_t));
    return record;
}

static int64_t *push_unit(Records *records, int kind, int64_t r, int64_t s, int64_t i,
                          const Reader *msg) {
    int64_t *record = push(records);
    if (record == NULL) return NULL;
    record[0] = kind;
    record[1] = r;
    record[2] = s;
    record[3] = i;
    record[4] = msg->p - msg->base;
    record[5] = msg->end - msg->base;
    return record;
}

static int all_zero(const Reader *field) {
    for (const uint8_t *q = field->p; q < field->end; q++)
        if (*q) return 0;
    return 1;
}

static uint64_t fixed64(const Reader *field) {
    uint64_t value = 0;
    for (int k = 7; k >= 0; k--) value = (value << 8) | field->p[k];
    return value;
}

/* Span fields: trace_id 1, span_id 2, parent_span_id 4, start 7, end 8, attributes 9,
 * events 11 (Event.attributes 3), links 13 (Link.attributes 4). The last occurrence of a
 * singular field wins, as in protobuf. */
static int span_record(Reader msg, int64_t *record) {
    Py_ssize_t trace_len = 0, span_len = 0, parent_len = 0;
    int trace_zero = 1, span_zero = 1;
    uint64_t start = 0, end = 0;
    while (msg.p < msg.end) {
        uint32_t number;
        int wire;
        Reader sub;
        if (read_field(&msg, &number, &wire, &sub) < 0) return -1;
        int64_t nested;
        switch (number) {
        case 1:
            if (wire != WIRE_LEN) break;
            trace_len = sub.end - sub.p;
            trace_zero = all_zero(&sub);
            break;
        case 2:
            if (wire != WIRE_LEN) break;
            span_len = sub.end - sub.p;
            span_zero = all_zero(&sub);
            break;
        case 4:
            if (wire == WIRE_LEN) parent_len = sub.end - sub.p;
            break;
        case 7:
            if (wire == WIRE_I64) start = fixed64(&sub);
            break;
        case 8:
            if (wire == WIRE_I64) end = fixed64(&sub);
            break;
        case 9:
            if (wire == WIRE_LEN) record[6]++;
            break;
        case 11:
            if (wire != WIRE_LEN) break;
            record[7]++;
            if (count_fields(sub, 3, &nested) < 0) return -1;
            if (nested > record[9]) record[9] = nested;
            break;
        case 13:
            if (wire != WIRE_LEN) break;
            record[8]++;
            if (count_fields(sub, 4, &nested) < 0) return -1;
            if (nested > record[10]) record[10] = nested;
            break;
        default:
            break;
        }
    }
    int64_t problems = 0;
    if (trace_len != 16 || trace_zero) problems |= BAD_TRACE_ID;
    if (span_len != 8 || span_zero) problems |= BAD_SPAN_ID;
    if (parent_len != 0 && parent_len != 8) problems |= BAD_PARENT_ID;
    if (start >= (UINT64_C(1) << 63) || end >= (UINT64_C(1) << 63)) problems |= BAD_TIME;
    record[11] = problems;
    return 0;
}

/* Resource.attributes is field 1, InstrumentationScope.attributes field 3. */
static int attribute_owner(Records *records, int kind, int64_t r, int64_t s, Reader msg) {
    int64_t *record = push_unit(records, kind, r, s, -1, &msg);
    if (record == NULL) return -1;
    int64_t count;
    if (count_fields(msg, kind == KIND_RESOURCE ? 1 : 3, &count) < 0) return -1;
    record[6] = count;
    return 0;
}

static int scope_spans(Records *records, int64_t r, int64_t s, Reader msg) {
    int64_t i = 0;
    while (msg.p < msg.end) {
        uint32_t number;
        int wire;
        Reader sub;
        if (read_field(&msg, &number, &wire, &sub) < 0) return -1;
        if (wire != WIRE_LEN) continue;
        if (number == 1) {
            if (attribute_owner(records, KIND_SCOPE, r, s, sub) < 0) return -1;
        } else if (number == 2) {
            int64_t *record = push_unit(records, KIND_SPAN, r, s, i++, &sub);
            if (record == NULL || span_record(sub, record) < 0) return -1;
        }
    }
    return 0;
}

static int resource_spans(Records *records, int64_t r, Reader msg) {
    int64_t s = 0;
    while (msg.p < msg.end) {
        uint32_t number;
        int wire;
        Reader sub;
        if (read_field(&msg, &number, &wire, &sub) < 0) return -1;
        if (wire != WIRE_LEN) continue;
        if (number == 1) {
            if (attribute_owner(records, KIND_RESOURCE, r, -1, sub) < 0) return -1;
        } else if (number == 2) {
            if (scope_spans(records, r, s++, sub) < 0) return -1;
        }
    }
    return 0;
}

static PyObject *layout(PyObject *module, PyObject *arg) {
    (void)module;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Reader msg = {view.buf, view.buf, (const uint8_t *)view.buf + view.len};
    Records records = {NULL, 0, 0};
    int64_t r = 0;
    int status = 0;
    while (status == 0 && msg.p < msg.end) {
        uint32_t number;
        int wire;
        Reader sub;
        status = read_field(&msg, &number, &wire, &sub);
        if (status == 0 && number == 1 && wire == WIRE_LEN) status = resource_spans(&records, r++, sub);
    }
    PyObject *result = NULL;
    if (status == 0)
        result = PyBytes_FromStringAndSize((const char *)records.items,
                                           records.len * (Py_ssize_t)sizeof(int64_t));
    PyMem_Free(records.items);
    PyBuffer_Release(&view);
    return result;
}

/* Where each string-bearing part of one span lies: SLOT_FIELDS int64 values per slot, in wire
 * order: slot kind (SLOT_ constants in _layout.py), index (attribute, event or link), index
 * within that event or link (its attribute), start, end. */
#define SLOT_FIELDS 5
enum { SLOT_KIND_AT, SLOT_INDEX_AT, SLOT_SUB_AT, SLOT_START_AT, SLOT_END_AT };
/* The tag of an entry of Span.attributes (field 9, length-delimited). */
#define SPAN_ATTRIBUTES_TAG 0x4A
enum {
    SLOT_NAME, SLOT_TRACE_STATE, SLOT_STATUS, SLOT_ATTRIBUTE, SLOT_EVENT_NAME,
    SLOT_EVENT_ATTRIBUTE, SLOT_LINK_TRACE_STATE, SLOT_LINK_ATTRIBUTE
};

static int push_slot(Records *slots, int kind, int64_t index, int64_t sub, const Reader *at) {
    if (slots->len + SLOT_FIELDS > slots->cap) {
        Py_ssize_t cap = slots->cap ? slots->cap * 2 : 32 * SLOT_FIELDS;
        int64_t *grown = PyMem_Realloc(slots->items, (size_t)cap * sizeof(int64_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        slots->items = grown;
        slots->cap = cap;
    }
    int64_t *slot = slots->items + slots->len;
    slots->len += SLOT_FIELDS;
    slot[SLOT_KIND_AT] = kind;
    slot[SLOT_INDEX_AT] = index;
    slot[SLOT_SUB_AT] = sub;
    slot[SLOT_START_AT] = at->p - at->base;
    slot[SLOT_END_AT] = at->end - at->base;
    return 0;
}

/* The slots of an event (name 2, attributes 3) or a link (trace_state 3, attributes 4). */
static int nested_slots(Records *slots, Reader msg, int64_t index, uint32_t text_field,
                        int text_kind, uint32_t attribute_field, int attribute_kind) {
    int64_t attribute = 0;
    while (msg.p < msg.end) {
        uint32_t number;
        int wire;
        Reader sub;
        if (read_field(&msg, &number, &wire, &sub) < 0) return -1;
        if (wire != WIRE_LEN) continue;
        if (number == text_field) {
            if (push_slot(slots, text_kind, index, -1, &sub) < 0) return -1;
        } else if (number == attribute_field) {
            if (push_slot(slots, attribute_kind, index, attribute++, &sub) < 0) return -1;
        }
    }
    return 0;
}

/* Parses (data, start, end) into `view` and a reader of data[start:end]; -1 with an exception
 * set on bad arguments (the view is then released). */
static int range_args(PyObject *args, Py_buffer *view, Reader *r, const char *what) {
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "y*nn", view, &start, &end)) return -1;
    if (start < 0 || end < start || end > view->len) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s range outside the data", what);
        return -1;
    }
    const uint8_t *base = view->buf;
    r->base = base;
    r->p = base + start;
    r->end = base + end;
    return 0;
}

/* The slot records of the span message `msg` (see _layout.span_slots); -1 on malformed input. */
static int collect_span_slots(Reader msg, Records *slots) {
    int64_t attribute = 0, event = 0, link = 0;
    int status = 0;
    while (status == 0 && msg.p < msg.end) {
        uint32_t number;
        int wire;
        Reader sub;
        status = read_field(&msg, &number, &wire, &sub);
        if (status < 0 || wire != WIRE_LEN) continue;
        switch (number) {
        case 5:
            status = push_slot(slots, SLOT_NAME, -1, -1, &sub);
            break;
        case 3:
            status = push_slot(slots, SLOT_TRACE_STATE, -1, -1, &sub);
            break;
        case 15:
            status = push_slot(slots, SLOT_STATUS, -1, -1, &sub);
            break;
        case 9:
            status = push_slot(slots, SLOT_ATTRIBUTE, attribute++, -1, &sub);
            break;
        case 11:
            status = nested_slots(slots, sub, event++, 2, SLOT_EVENT_NAME, 3, SLOT_EVENT_ATTRIBUTE);
            break;
        case 13:
            status = nested_slots(slots, sub, link++, 3, SLOT_LINK_TRACE_STATE, 4,
                                  SLOT_LINK_ATTRIBUTE);
            break;
        default:
            break;
        }
    }
    return status;
}

static PyObject *span_slots(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer view;
    Reader msg;
    if (range_args(args, &view, &msg, "span") < 0) return NULL;
    Records slots = {NULL, 0, 0};
    PyObject *result = NULL;
    if (collect_span_slots(msg, &slots) == 0)
        result = PyBytes_FromStringAndSize((const char *)slots.items,
                                           slots.len * (Py_ssize_t)sizeof(int64_t));
    PyMem_Free(slots.items);
    PyBuffer_Release(&view);
    return result;
}

/* The payload of the length-delimited field whose tag byte is `tag` at r->p; 0 if found. */
static int delimited(Reader *r, uint8_t tag, Reader *payload) {
    uint64_t length;
    if (r->p >= r->end || *r->p != tag) return -1;
    r->p++;
    if (read_varint(r, &length) < 0) {
        PyErr_Clear();
        return -1;
    }
    if (length > (uint64_t)(r->end - r->p)) return -1;
    payload->base = r->base;
    payload->p = r->p;
    payload->end = r->p + length;
    r->p += length;
    return 0;
}

/* Whether `kv` is a KeyValue holding exactly a key and a string value, with one-byte canonical
 * tags; then `key` and `text` are their payloads. */
static int plain_string_entry(Reader kv, Reader *key, Reader *text) {
    Reader value;
    return delimited(&kv, 0x0A, key) == 0 && delimited(&kv, 0x12, &value) == 0
           && kv.p == kv.end && delimited(&value, 0x0A, text) == 0 && value.p == value.end;
}

/* string_key_value(data, start, end): see _layout.string_key_value. */
static PyObject *string_key_value(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer view;
    Reader kv;
    if (range_args(args, &view, &kv, "key-value") < 0) return NULL;
    const uint8_t *base = view.buf;
    Reader key, text;
    PyObject *result = Py_None;
    if (plain_string_entry(kv, &key, &text))
        result = Py_BuildValue("(nnnn)", (Py_ssize_t)(key.p - base), (Py_ssize_t)(key.end - base),
                               (Py_ssize_t)(text.p - base), (Py_ssize_t)(text.end - base));
    else
        Py_INCREF(result);
    PyBuffer_Release(&view);
    return result;
}

static int varint_size(uint64_t n) {
    int size = 1;
    while (n >= 0x80) {
        n >>= 7;
        size++;
    }
    return size;
}

static uint8_t *put_varint(uint8_t *out, uint64_t n) {
    while (n >= 0x80) {
        *out++ = (uint8_t)(n | 0x80);
        n >>= 7;
    }
    *out++ = (uint8_t)n;
    return out;
}

/* string_value_edits(data, tag_at, (key_start, key_end, text_start, text_end), new): see
 * _layout.string_value_edits. */
static PyObject *string_value_edits(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer data, new;
    Py_ssize_t tag_at, key_start, key_end, text_start, text_end;
    if (!PyArg_ParseTuple(args, "y*n(nnnn)y*:string_value_edits", &data, &tag_at, &key_start,
                          &key_end, &text_start, &text_end, &new))
        return NULL;
    PyObject *result = NULL, *header = NULL, *middle = NULL;
    if (!(0 <= tag_at && tag_at <= key_start && key_start <= key_end && key_end <= text_start
          && text_start <= text_end && text_end <= data.len)) {
        PyErr_SetString(PyExc_ValueError, "key-value ranges outside the data");
        goto done;
    }
    const uint8_t *base = data.buf, *old = base + text_start, *now = new.buf;
    uint64_t key_length = (uint64_t)(key_end - key_start), text_length = (uint64_t)new.len;
    uint64_t value_length = 1 + (uint64_t)varint_size(text_length) + text_length;
    uint64_t entry_length = 2 + (uint64_t)varint_size(key_length) + key_length
                            + (uint64_t)varint_size(value_length) + value_length;
    Py_ssize_t header_size = 1 + varint_size(entry_length) + 1 + varint_size(key_length)
                             + (Py_ssize_t)key_length + 1 + varint_size(value_length) + 1
                             + varint_size(text_length);
    header = PyBytes_FromStringAndSize(NULL, header_size);
    if (header == NULL) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(header);
    *out++ = SPAN_ATTRIBUTES_TAG;
    out = put_varint(out, entry_length);
    *out++ = 0x0A; /* key */
    out = put_varint(out, key_length);
    memcpy(out, base + key_start, (size_t)key_length);
    out += key_length;
    *out++ = 0x12; /* value */
    out = put_varint(out, value_length);
    *out++ = 0x0A; /* string_value */
    put_varint(out, text_length);
    /* Only what lies between the common start and end of the two texts is replaced. */
    Py_ssize_t old_length = text_end - text_start;
    Py_ssize_t shortest = old_length < new.len ? old_length : new.len;
    Py_ssize_t same_start = 0, same_end = 0;
    while (same_start + 8 <= shortest && memcmp(old + same_start, now + same_start, 8) == 0)
        same_start += 8;
    while (same_start < shortest && old[same_start] == now[same_start]) same_start++;
    while (same_end < shortest - same_start
           && old[old_length - 1 - same_end] == now[new.len - 1 - same_end])
        same_end++;
    middle = PyBytes_FromStringAndSize((const char *)now + same_start,
                                       new.len - same_end - same_start);
    if (middle == NULL) goto done;
    result = Py_BuildValue("[(nnO)(nnO)]", tag_at, text_start, header, text_start + same_start,
                           text_end - same_end, middle);
done:
    Py_XDECREF(header);
    Py_XDECREF(middle);
    PyBuffer_Release(&data);
    PyBuffer_Release(&new);
    return result;
}

/* pack_edits(edits) -> (positions, replacements): see _layout.pack_edits. */
static PyObject *pack_edits(PyObject *module, PyObject *edits) {
    (void)module;
    PyObject *items = PySequence_Fast(edits, "edits must be a sequence");
    if (items == NULL) return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items), total = 0;
    PyObject *positions = PyBytes_FromStringAndSize(NULL, count * 3 * (Py_ssize_t)sizeof(int64_t));
    PyObject *replacements = NULL, *result = NULL;
    if (positions == NULL) goto done;
    int64_t *out = (int64_t *)PyBytes_AS_STRING(positions);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *edit = PySequence_Fast_GET_ITEM(items, k);
        if (!PyTuple_Check(edit) || PyTuple_GET_SIZE(edit) != 3
            || !PyBytes_Check(PyTuple_GET_ITEM(edit, 2))) {
            PyErr_SetString(PyExc_TypeError, "an edit is a (start, end, bytes) tuple");
            goto done;
        }
        Py_ssize_t start = PyLong_AsSsize_t(PyTuple_GET_ITEM(edit, 0));
        Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(edit, 1));
        if ((start == -1 || end == -1) && PyErr_Occurred()) goto done;
        Py_ssize_t size = PyBytes_GET_SIZE(PyTuple_GET_ITEM(edit, 2));
        out[3 * k] = start;
        out[3 * k + 1] = end;
        out[3 * k + 2] = size;
        total += size;
    }
    replacements = PyBytes_FromStringAndSize(NULL, total);
    if (replacements == NULL) goto done;
    char *blob = PyBytes_AS_STRING(replacements);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *new = PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(items, k), 2);
        memcpy(blob, PyBytes_AS_STRING(new), (size_t)PyBytes_GET_SIZE(new));
        blob += PyBytes_GET_SIZE(new);
    }
    result = PyTuple_Pack(2, positions, replacements);
done:
    Py_DECREF(items);
    Py_XDECREF(positions);
    Py_XDECREF(replacements);
    return result;
}

/* apply_packed_edits(data, positions, replacements): see _layout.apply_packed_edits. */
static PyObject *apply_packed_edits(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer data, positions, replacements;
    if (!PyArg_ParseTuple(args, "y*y*y*:apply_packed_edits", &data, &positions, &replacements))
        return NULL;
    PyObject *result = NULL;
    const int64_t *edit = positions.buf;
    Py_ssize_t count = positions.len / (Py_ssize_t)(3 * sizeof(int64_t));
    Py_ssize_t size = data.len, used = 0, last = 0;
    if (positions.len % (Py_ssize_t)(3 * sizeof(int64_t))) goto bad;
    for (Py_ssize_t k = 0; k < count; k++, edit += 3) {
        if (edit[0] < last || edit[1] < edit[0] || edit[1] > data.len || edit[2] < 0
            || edit[2] > replacements.len - used)
            goto bad;
        size += edit[2] - (edit[1] - edit[0]);
        used += edit[2];
        last = edit[1];
    }
    if (used != replacements.len) goto bad;
    result = PyBytes_FromStringAndSize(NULL, size);
    if (result == NULL) goto done;
    char *out = PyBytes_AS_STRING(result);
    const char *in = data.buf, *blob = replacements.buf;
    last = 0;
    edit = positions.buf;
    for (Py_ssize_t k = 0; k < count; k++, edit += 3) {
        memcpy(out, in + last, (size_t)(edit[0] - last));
        out += edit[0] - last;
        memcpy(out, blob, (size_t)edit[2]);
        out += edit[2];
        blob += edit[2];
        last = edit[1];
    }
    memcpy(out, in + last, (size_t)(data.len - last));
    goto done;
bad:
    PyErr_SetString(PyExc_ValueError, "packed edits do not fit the data: out of order, overlapping, out of range or replacements of other sizes");
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&positions);
    PyBuffer_Release(&replacements);
    return result;
}

/* string_places(data, start, end, hits, mark): see _layout.string_places. */
static PyObject *string_places(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer view, mark;
    Py_ssize_t start, end;
    PyObject *hits;
    if (!PyArg_ParseTuple(args, "y*nnOy*:string_places", &view, &start, &end, &hits, &mark))
        return NULL;
    PyObject *result = NULL, *items = NULL;
    Records slots = {NULL, 0, 0};
    uint64_t *patterns = NULL;
    const uint8_t *base = view.buf;
    if (start < 0 || end < start || end > view.len) {
        PyErr_SetString(PyExc_ValueError, "span range outside the data");
        goto done;
    }
    /* A span that already carries a summary is taken apart (its summary is rewritten). */
    if (mark.len > 0 && memmem(base + start, (size_t)(end - start), mark.buf, (size_t)mark.len))
        goto take_apart;
    Reader msg = {base, base + start, base + end};
    if (collect_span_slots(msg, &slots) < 0) goto done;
    Py_ssize_t count = slots.len / SLOT_FIELDS;
    patterns = PyMem_Calloc((size_t)(count ? count : 1), sizeof(uint64_t));
    items = PySequence_Fast(hits, "hits must be a sequence");
    if (patterns == NULL || items == NULL) {
        if (patterns == NULL) PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(items); k++) {
        PyObject *hit = PySequence_Fast_GET_ITEM(items, k);
        if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 2) {
            PyErr_SetString(PyExc_TypeError, "a hit is an (offset, pattern) tuple");
            goto done;
        }
        Py_ssize_t offset = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 0));
        Py_ssize_t pattern = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 1));
        if ((offset == -1 || pattern == -1) && PyErr_Occurred()) goto done;
        if (pattern < 0 || pattern >= 64) goto take_apart;  /* beyond the mask: the slow path */
        /* The last slot starting at or before the offset (slots are in wire order). */
        Py_ssize_t low = 0, high = count;
        while (low < high) {
            Py_ssize_t middle = (low + high) / 2;
            if (slots.items[middle * SLOT_FIELDS + SLOT_START_AT] <= offset) low = middle + 1;
            else high = middle;
        }
        if (low > 0 && offset < slots.items[(low - 1) * SLOT_FIELDS + SLOT_END_AT])
            patterns[low - 1] |= (uint64_t)1 << pattern;
    }
    result = PyList_New(0);
    if (result == NULL) goto done;
    for (Py_ssize_t k = 0; k < count; k++) {
        if (!patterns[k]) continue;
        const int64_t *slot = slots.items + k * SLOT_FIELDS;
        if (slot[SLOT_KIND_AT] != SLOT_ATTRIBUTE) goto take_apart;
        Reader kv = {base, base + slot[SLOT_START_AT], base + slot[SLOT_END_AT]}, key, text;
        if (!plain_string_entry(kv, &key, &text)) goto take_apart;
        /* The tag in front of the entry's length varint, found as _layout.field_start does. */
        Py_ssize_t tag_at = (Py_ssize_t)slot[SLOT_START_AT] - 1;
        while (tag_at > 0 && base[tag_at - 1] & 0x80) tag_at--;
        tag_at--;
        if (tag_at < 0 || base[tag_at] != SPAN_ATTRIBUTES_TAG) goto take_apart;
        PyObject *place = Py_BuildValue(
            "(nnnnnnK)", tag_at, (Py_ssize_t)slot[SLOT_END_AT], (Py_ssize_t)(key.p - base),
            (Py_ssize_t)(key.end - base), (Py_ssize_t)(text.p - base),
            (Py_ssize_t)(text.end - base), (unsigned long long)patterns[k]);
        if (place == NULL || PyList_Append(result, place) < 0) {
            Py_XDECREF(place);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(place);
    }
    goto done;
take_apart:
    Py_CLEAR(result);
    result = Py_None;
    Py_INCREF(result);
done:
    Py_XDECREF(items);
    PyMem_Free(patterns);
    PyMem_Free(slots.items);
    PyBuffer_Release(&view);
    PyBuffer_Release(&mark);
    return result;
}

static PyMethodDef methods[] = {
    {"layout", layout, METH_O, "Unit records of a serialized ExportTraceServiceRequest."},
    {"span_slots", span_slots, METH_VARARGS, "Slot records of one span: (data, start, end)."},
    {"string_key_value", string_key_value, METH_VARARGS,
     "Key and text ranges of a KeyValue holding a string: (data, start, end)."},
    {"pack_edits", pack_edits, METH_O, "Edits as (positions, replacements): (edits)."},
    {"apply_packed_edits", apply_packed_edits, METH_VARARGS,
     "Data with packed edits applied: (data, positions, replacements)."},
    {"string_places", string_places, METH_VARARGS,
     "Matched plain string attributes of a span: (data, start, end, hits, mark)."},
    {"string_value_edits", string_value_edits, METH_VARARGS,
     "Edits giving a span's string attribute a new text: (data, tag_at, ranges, new)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_wire", "Wire-level layout of OTLP trace requests.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__wire(void) {
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL && PyModule_AddIntConstant(module, "RECORD_FIELDS", RECORD_FIELDS) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
