/* ipfrag.aws._cscan: the snapshot loader's scan of clean describe-network-interfaces items,
 * in one C pass over the parsed JSON (dicts), for the fast lane of ipfrag/aws/snapshot.py.
 *
 * scan(datas, version, value_tags) returns what ipfrag.aws.snapshot._scan_py returns for the
 * same items (its pure-Python twin, built on the msgspec shapes of ipfrag/aws/_decode.py), or
 * None for anything it does not take: then the loader runs the twin, which decides. It is
 * conservative: every field must have exactly the type the shape declares (exact str, dict and
 * list, bool, int within 64 bits, or None where the shape allows it), every key of every
 * mapping it reads must be an exact str (msgspec refuses others); any address that does not parse, a top-level primary address
 * not listed, or an address listed twice on one interface (of either family) makes it decline.
 *
 * The result is the tuple
 *   (ids, subnet_ids, keys, singles, single_counts, prefixes, prefix_counts, other_prefixes)
 * ids, subnet_ids: per interface; keys: per interface, the group key of
 *   _scan_py (every field classification and owner info read, the tags' values outside
 *   value_tags left out); singles: (int address, interface id, "ip") of the loaded family, in
 *   order; prefixes: (text, interface id, "prefix") likewise, unchecked; single_counts and
 *   prefix_counts: how many of each per interface; other_prefixes: the other family's prefix
 *   texts, unchecked (the loader checks prefixes as the careful path does).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#define MAX_LISTED 256 /* addresses per interface compared pairwise; more: decline */

/* Interned names, built once. */
static PyObject *s_NetworkInterfaceId, *s_SubnetId, *s_InterfaceType, *s_Description, *s_Status,
    *s_RequesterId, *s_VpcId, *s_AvailabilityZone, *s_RequesterManaged, *s_Attachment,
    *s_Operator, *s_PrivateIpAddress, *s_Ipv6Address, *s_PrivateIpAddresses, *s_Ipv6Addresses,
    *s_Ipv4Prefixes, *s_Ipv6Prefixes, *s_Ipv4Prefix, *s_Ipv6Prefix, *s_TagSet, *s_InstanceId,
    *s_DeviceIndex, *s_NetworkCardIndex, *s_InstanceOwnerId, *s_Principal, *s_Primary, *s_Key,
    *s_Value, *s_ip, *s_prefix;

typedef struct {
    uint64_t hi, lo;
} addr_t;

/* 1: fine; 0: decline; -1: a Python error is set. */
#define DECLINE 0
#define OK 1

/* Every key of d is an exact str: msgspec refuses any other key, str subclasses included,
 * of a mapping it converts. */
static int str_keys(PyObject *d) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) return DECLINE;
    }
    return OK;
}

/* d[name] or NULL when absent (no error) ; *err set on a lookup error. */
static PyObject *get(PyObject *d, PyObject *name, int *err) {
    PyObject *v = PyDict_GetItemWithError(d, name);
    if (v == NULL && PyErr_Occurred()) *err = 1;
    return v;
}

/* An optional str field: NULL or None gives None; a str gives itself; else decline. */
static int opt_str(PyObject *v, PyObject **out) {
    if (v == NULL || v == Py_None) {
        *out = Py_None;
        return OK;
    }
    if (!PyUnicode_CheckExact(v)) return DECLINE;
    *out = v;
    return OK;
}

static int opt_bool(PyObject *v, PyObject **out) {
    if (v == NULL || v == Py_None) {
        *out = Py_None;
        return OK;
    }
    if (!PyBool_Check(v)) return DECLINE;
    *out = v;
    return OK;
}

static int opt_int(PyObject *v, PyObject **out) {
    if (v == NULL || v == Py_None) {
        *out = Py_None;
        return OK;
    }
    if (!PyLong_CheckExact(v)) return DECLINE; /* bool is not an exact int */
    int overflow = 0;
    (void)PyLong_AsLongLongAndOverflow(v, &overflow);
    if (PyErr_Occurred()) return -1;
    if (overflow) return DECLINE;
    *out = v;
    return OK;
}

/* An optional list field: NULL or None gives NULL (no list); a list gives itself. */
static int opt_list(PyObject *v, PyObject **out) {
    if (v == NULL || v == Py_None) {
        *out = NULL;
        return OK;
    }
    if (!PyList_CheckExact(v)) return DECLINE;
    *out = v;
    return OK;
}

/* An optional mapping field (a nested shape): NULL or None gives NULL. */
static int opt_dict(PyObject *v, PyObject **out) {
    if (v == NULL || v == Py_None) {
        *out = NULL;
        return OK;
    }
    if (!PyDict_CheckExact(v)) return DECLINE;
    *out = v;
    return str_keys(v);
}

static int parse(PyObject *text, int version, addr_t *a) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (s == NULL) {
        PyErr_Clear(); /* lone surrogates: the twin's inet_pton fails too */
        return DECLINE;
    }
    if ((Py_ssize_t)strlen(s) != n) return DECLINE; /* an embedded NUL */
    unsigned char buf[16];
    if (inet_pton(version == 4 ? AF_INET : AF_INET6, s, buf) != 1) return DECLINE;
    if (version == 4) {
        a->hi = 0;
        a->lo = ((uint64_t)buf[0] << 24) | ((uint64_t)buf[1] << 16) | ((uint64_t)buf[2] << 8) | buf[3];
    } else {
        uint64_t hi = 0, lo = 0;
        for (int i = 0; i < 8; i++) hi = (hi << 8) | buf[i];
        for (int i = 8; i < 16; i++) lo = (lo << 8) | buf[i];
        a->hi = hi;
        a->lo = lo;
    }
    return OK;
}

static PyObject *addr_int(const addr_t *a) {
    if (a->hi == 0) return PyLong_FromUnsignedLongLong(a->lo);
    PyObject *hi = PyLong_FromUnsignedLongLong(a->hi);
    if (hi == NULL) return NULL;
    PyObject *sixty_four = PyLong_FromLong(64);
    if (sixty_four == NULL) {
        Py_DECREF(hi);
        return NULL;
    }
    PyObject *shifted = PyNumber_Lshift(hi, sixty_four);
    Py_DECREF(hi);
    Py_DECREF(sixty_four);
    if (shifted == NULL) return NULL;
    PyObject *lo = PyLong_FromUnsignedLongLong(a->lo);
    if (lo == NULL) {
        Py_DECREF(shifted);
        return NULL;
    }
    PyObject *r = PyNumber_Or(shifted, lo);
    Py_DECREF(shifted);
    Py_DECREF(lo);
    return r;
}

/* One family's addresses of an interface: top-level primary, list of {key: text}.
 * Checks types, parses every address, the primary listed (same text), no address twice.
 * When out is not NULL, appends (int, eni, "ip") to it; *count gets the number listed. */
static int family_addresses(PyObject *d, int version, PyObject *eni, PyObject *out, Py_ssize_t *count) {
    PyObject *top_name = version == 4 ? s_PrivateIpAddress : s_Ipv6Address;
    PyObject *list_name = version == 4 ? s_PrivateIpAddresses : s_Ipv6Addresses;
    int err = 0, r;
    PyObject *top, *listed;
    PyObject *v = get(d, top_name, &err);
    if (err) return -1;
    if ((r = opt_str(v, &top)) != OK) return r;
    v = get(d, list_name, &err);
    if (err) return -1;
    if ((r = opt_list(v, &listed)) != OK) return r;
    Py_ssize_t n = listed ? PyList_GET_SIZE(listed) : 0;
    *count = n;
    if (n > MAX_LISTED) return DECLINE;
    addr_t values[MAX_LISTED];
    int primary_listed = top == Py_None;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *entry = PyList_GET_ITEM(listed, i);
        if (!PyDict_CheckExact(entry) || str_keys(entry) != OK) return DECLINE;
        PyObject *text = get(entry, top_name, &err);
        if (err) return -1;
        if (text == NULL || !PyUnicode_CheckExact(text)) return DECLINE; /* required str */
        if (version == 4) { /* PrivateIpEntry.Primary: bool | None */
            PyObject *flag, *p = get(entry, s_Primary, &err);
            if (err) return -1;
            if ((r = opt_bool(p, &flag)) != OK) return r;
        }
        if ((r = parse(text, version, &values[i])) != OK) return r;
        for (Py_ssize_t j = 0; j < i; j++) {
            if (values[j].hi == values[i].hi && values[j].lo == values[i].lo) return DECLINE;
        }
        if (!primary_listed) {
            int eq = PyUnicode_Compare(text, top);
            if (eq == -1 && PyErr_Occurred()) return -1;
            primary_listed = eq == 0;
        }
    }
    if (!primary_listed) return DECLINE;
    if (out != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *value = addr_int(&values[i]);
            if (value == NULL) return -1;
            PyObject *t = PyTuple_Pack(3, value, eni, s_ip);
            Py_DECREF(value);
            if (t == NULL) return -1;
            int failed = PyList_Append(out, t);
            Py_DECREF(t);
            if (failed) return -1;
        }
    }
    return OK;
}

/* One family's prefixes: a list of {key: str}; appends (text, eni, "prefix") to out, or the
 * bare text when eni is NULL. */
static int family_prefixes(PyObject *d, int version, PyObject *eni, PyObject *out, Py_ssize_t *count) {
    PyObject *list_name = version == 4 ? s_Ipv4Prefixes : s_Ipv6Prefixes;
    PyObject *key = version == 4 ? s_Ipv4Prefix : s_Ipv6Prefix;
    int err = 0, r;
    PyObject *listed, *v = get(d, list_name, &err);
    if (err) return -1;
    if ((r = opt_list(v, &listed)) != OK) return r;
    Py_ssize_t n = listed ? PyList_GET_SIZE(listed) : 0;
    *count = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *entry = PyList_GET_ITEM(listed, i);
        if (!PyDict_CheckExact(entry) || str_keys(entry) != OK) return DECLINE;
        PyObject *text = get(entry, key, &err);
        if (err) return -1;
        if (text == NULL || !PyUnicode_CheckExact(text)) return DECLINE;
        PyObject *t = eni == NULL ? (Py_INCREF(text), text) : PyTuple_Pack(3, text, eni, s_prefix);
        if (t == NULL) return -1;
        int failed = PyList_Append(out, t);
        Py_DECREF(t);
        if (failed) return -1;
    }
    return OK;
}

/* The tags' key: (Key, Value or None, Key, Value or None, ...), the value kept only for
 * value_tags; None for no tags. *out is a new reference. */
static int tag_key(PyObject *d, PyObject *value_tags, PyObject **out) {
    int err = 0, r;
    PyObject *tags, *v = get(d, s_TagSet, &err);
    if (err) return -1;
    if ((r = opt_list(v, &tags)) != OK) return r;
    Py_ssize_t n = tags ? PyList_GET_SIZE(tags) : 0;
    if (n == 0) {
        Py_INCREF(Py_None);
        *out = Py_None;
        return OK;
    }
    PyObject *key = PyTuple_New(2 * n);
    if (key == NULL) return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *tag = PyList_GET_ITEM(tags, i);
        if (!PyDict_CheckExact(tag) || str_keys(tag) != OK) {
            Py_DECREF(key);
            return DECLINE;
        }
        PyObject *k = get(tag, s_Key, &err), *value;
        if (err) goto error;
        if (k == NULL || !PyUnicode_CheckExact(k)) {
            Py_DECREF(key);
            return DECLINE;
        }
        PyObject *raw = get(tag, s_Value, &err);
        if (err) goto error;
        if ((r = opt_str(raw, &value)) != OK) {
            Py_DECREF(key);
            return r;
        }
        int read = PySet_Contains(value_tags, k);
        if (read < 0) goto error;
        if (!read) value = Py_None;
        Py_INCREF(k);
        PyTuple_SET_ITEM(key, 2 * i, k);
        Py_INCREF(value);
        PyTuple_SET_ITEM(key, 2 * i + 1, value);
    }
    *out = key;
    return OK;
error:
    Py_DECREF(key);
    return -1;
}

/* The group key of one interface (new reference in *out). */
static int group_key(PyObject *d, PyObject *value_tags, PyObject **out) {
    PyObject *names[7] = {s_InterfaceType, s_Description, s_Status, s_RequesterId,
                          s_VpcId, s_AvailabilityZone, s_RequesterManaged};
    PyObject *flat = PyTuple_New(9), *tags = NULL, *key;
    if (flat == NULL) return -1;
    int err = 0, r;
    for (int i = 0; i < 7; i++) {
        PyObject *v = get(d, names[i], &err), *value;
        if (err) goto error;
        r = i == 6 ? opt_bool(v, &value) : opt_str(v, &value);
        if (r != OK) goto done;
        Py_INCREF(value);
        PyTuple_SET_ITEM(flat, i, value);
    }
    /* Attachment: None or (InstanceId, DeviceIndex, NetworkCardIndex) */
    PyObject *att, *v = get(d, s_Attachment, &err);
    if (err) goto error;
    if ((r = opt_dict(v, &att)) != OK) goto done;
    if (att == NULL) {
        Py_INCREF(Py_None);
        PyTuple_SET_ITEM(flat, 7, Py_None);
    } else {
        PyObject *instance, *device, *card, *owner;
        PyObject *a = get(att, s_InstanceId, &err);
        if (err) goto error;
        if ((r = opt_str(a, &instance)) != OK) goto done;
        a = get(att, s_DeviceIndex, &err);
        if (err) goto error;
        if ((r = opt_int(a, &device)) != OK) goto done;
        a = get(att, s_NetworkCardIndex, &err);
        if (err) goto error;
        if ((r = opt_int(a, &card)) != OK) goto done;
        a = get(att, s_InstanceOwnerId, &err);
        if (err) goto error;
        if ((r = opt_str(a, &owner)) != OK) goto done;
        PyObject *t = PyTuple_Pack(3, instance, device, card);
        if (t == NULL) goto error;
        PyTuple_SET_ITEM(flat, 7, t);
    }
    /* Operator: None or its Principal */
    PyObject *op;
    v = get(d, s_Operator, &err);
    if (err) goto error;
    if ((r = opt_dict(v, &op)) != OK) goto done;
    PyObject *principal = Py_None;
    if (op != NULL) {
        PyObject *p = get(op, s_Principal, &err);
        if (err) goto error;
        if ((r = opt_str(p, &principal)) != OK) goto done;
    }
    Py_INCREF(principal);
    PyTuple_SET_ITEM(flat, 8, principal);
    if ((r = tag_key(d, value_tags, &tags)) != OK) goto done;
    key = PyTuple_Pack(2, flat, tags);
    Py_DECREF(flat);
    Py_DECREF(tags);
    if (key == NULL) return -1;
    *out = key;
    return OK;
done: /* a decline (r == 0) or an error (r == -1) */
    Py_DECREF(flat);
    return r;
error:
    Py_DECREF(flat);
    return -1;
}

static int append_ssize(PyObject *list, Py_ssize_t n) {
    PyObject *v = PyLong_FromSsize_t(n);
    if (v == NULL) return -1;
    int failed = PyList_Append(list, v);
    Py_DECREF(v);
    return failed;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *datas, *value_tags;
    int version;
    if (!PyArg_ParseTuple(args, "O!iO!:scan", &PyList_Type, &datas, &version, &PyFrozenSet_Type,
                          &value_tags))
        return NULL;
    if (version != 4 && version != 6) {
        PyErr_SetString(PyExc_ValueError, "version must be 4 or 6");
        return NULL;
    }
    int other = 10 - version;
    Py_ssize_t n = PyList_GET_SIZE(datas);
    PyObject *ids = PyList_New(n), *subnets = PyList_New(n), *keys = PyList_New(n);
    PyObject *singles = PyList_New(0), *single_counts = PyList_New(0), *prefixes = PyList_New(0);
    PyObject *prefix_counts = PyList_New(0), *other_prefixes = PyList_New(0);
    PyObject *result = NULL;
    if (!ids || !subnets || !keys || !singles || !single_counts || !prefixes || !prefix_counts ||
        !other_prefixes)
        goto out;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyList_GET_ITEM(datas, i);
        int err = 0, r;
        if (!PyDict_CheckExact(d) || str_keys(d) != OK) goto decline;
        PyObject *eni = get(d, s_NetworkInterfaceId, &err);
        if (err) goto out;
        PyObject *subnet = get(d, s_SubnetId, &err);
        if (err) goto out;
        if (eni == NULL || subnet == NULL || !PyUnicode_CheckExact(eni) ||
            !PyUnicode_CheckExact(subnet))
            goto decline;
        Py_INCREF(eni);
        PyList_SET_ITEM(ids, i, eni);
        Py_INCREF(subnet);
        PyList_SET_ITEM(subnets, i, subnet);
        PyObject *key = NULL;
        if ((r = group_key(d, value_tags, &key)) != OK) goto stop;
        PyList_SET_ITEM(keys, i, key);
        Py_ssize_t count;
        if ((r = family_addresses(d, version, eni, singles, &count)) != OK) goto stop;
        if (append_ssize(single_counts, count)) goto out;
        if ((r = family_prefixes(d, version, eni, prefixes, &count)) != OK) goto stop;
        if (append_ssize(prefix_counts, count)) goto out;
        if ((r = family_addresses(d, other, eni, NULL, &count)) != OK) goto stop;
        if ((r = family_prefixes(d, other, NULL, other_prefixes, &count)) != OK) goto stop;
        continue;
    stop:
        if (r < 0) goto out;
        goto decline;
    }
    result = PyTuple_Pack(8, ids, subnets, keys, singles, single_counts, prefixes, prefix_counts,
                          other_prefixes);
    goto out;
decline:
    Py_INCREF(Py_None);
    result = Py_None;
out:
    /* Unfilled slots of ids/subnets/keys are NULL: list_dealloc skips them (Py_XDECREF). */
    Py_XDECREF(ids);
    Py_XDECREF(subnets);
    Py_XDECREF(keys);
    Py_XDECREF(singles);
    Py_XDECREF(single_counts);
    Py_XDECREF(prefixes);
    Py_XDECREF(prefix_counts);
    Py_XDECREF(other_prefixes);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(datas, version, value_tags) -> tuple | None: the loader's scan of clean interface "
     "items (see ipfrag.aws.snapshot._scan_py, its twin)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cscan", NULL, -1, methods};

#define INTERN(var, text)                                  \
    do {                                                   \
        if ((var = PyUnicode_InternFromString(text)) == NULL) \
            return NULL;                                   \
    } while (0)

PyMODINIT_FUNC PyInit__cscan(void) {
    INTERN(s_NetworkInterfaceId, "NetworkInterfaceId");
    INTERN(s_SubnetId, "SubnetId");
    INTERN(s_InterfaceType, "InterfaceType");
    INTERN(s_Description, "Description");
    INTERN(s_Status, "Status");
    INTERN(s_RequesterId, "RequesterId");
    INTERN(s_VpcId, "VpcId");
    INTERN(s_AvailabilityZone, "AvailabilityZone");
    INTERN(s_RequesterManaged, "RequesterManaged");
    INTERN(s_Attachment, "Attachment");
    INTERN(s_Operator, "Operator");
    INTERN(s_PrivateIpAddress, "PrivateIpAddress");
    INTERN(s_Ipv6Address, "Ipv6Address");
    INTERN(s_PrivateIpAddresses, "PrivateIpAddresses");
    INTERN(s_Ipv6Addresses, "Ipv6Addresses");
    INTERN(s_Ipv4Prefixes, "Ipv4Prefixes");
    INTERN(s_Ipv6Prefixes, "Ipv6Prefixes");
    INTERN(s_Ipv4Prefix, "Ipv4Prefix");
    INTERN(s_Ipv6Prefix, "Ipv6Prefix");
    INTERN(s_TagSet, "TagSet");
    INTERN(s_InstanceId, "InstanceId");
    INTERN(s_DeviceIndex, "DeviceIndex");
    INTERN(s_NetworkCardIndex, "NetworkCardIndex");
    INTERN(s_InstanceOwnerId, "InstanceOwnerId");
    INTERN(s_Principal, "Principal");
    INTERN(s_Primary, "Primary");
    INTERN(s_Key, "Key");
    INTERN(s_Value, "Value");
    INTERN(s_ip, "ip");
    INTERN(s_prefix, "prefix");
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    /* The fields read, per shape, for the test that keeps them in step with _decode.py. */
    PyObject *fields = Py_BuildValue(
        "{s:(ssssssssssssssssss),s:(ssss),s:(s),s:(ss),s:(s),s:(s),s:(s),s:(ss)}", "Interface",
        "NetworkInterfaceId", "SubnetId", "InterfaceType", "Description", "Status", "RequesterId",
        "VpcId", "AvailabilityZone", "RequesterManaged", "Attachment", "Operator",
        "PrivateIpAddress", "Ipv6Address", "PrivateIpAddresses", "Ipv6Addresses", "Ipv4Prefixes",
        "Ipv6Prefixes", "TagSet", "Attachment", "InstanceId", "DeviceIndex", "NetworkCardIndex",
        "InstanceOwnerId", "Operator", "Principal", "PrivateIpEntry", "PrivateIpAddress",
        "Primary", "Ipv6AddressEntry", "Ipv6Address", "Ipv4PrefixEntry", "Ipv4Prefix",
        "Ipv6PrefixEntry", "Ipv6Prefix", "Tag", "Key", "Value");
    if (fields == NULL || PyModule_AddObject(m, "FIELDS", fields) < 0) {
        Py_XDECREF(fields);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
