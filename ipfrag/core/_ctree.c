/* The dense count tree in C: the storage and hot loops of ipfrag.core.cbitmap.CBitmapSpace.
 *
 * Same layout and same arithmetic as the pure-Python PyBitmapSpace (ipfrag/core/bitmap.py):
 * level L holds, for every aligned block of 2**L addresses, how many of them are free
 * (uint8 for L < 8, uint32 above); cnt[k] counts the fully free blocks of order k; a
 * tracked order j has a second tree tt[j][L - j - 1][i] = fully free order-j blocks under
 * node (L, i), for L > j. Every method mirrors one primitive of the pure backend, so both
 * give the same answers and, called with the same random draws, the same picks.
 *
 * Validation of user input stays in Python; these methods never crash on bad arguments:
 * claim/release report invalid blocks with a status code, readers raise IndexError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAXBITS 24
#define BYTE_LEVELS 8

typedef struct {
    PyObject_HEAD
    int bits;
    int64_t cnt[MAXBITS + 1];
    void *lv[MAXBITS + 1];              /* uint8_t * below BYTE_LEVELS, uint32_t * above */
    uint32_t **tt[MAXBITS + 1];         /* NULL, or bits - j arrays: tt[j][L - j - 1] */
} Tree;

static PyTypeObject TreeType;

enum { OK = 0, BUSY = 1, INVALID = 2 };

static inline int64_t
lv_get(const Tree *t, int L, int64_t i)
{
    return L < BYTE_LEVELS ? ((uint8_t *)t->lv[L])[i] : ((uint32_t *)t->lv[L])[i];
}

static inline void
lv_set(Tree *t, int L, int64_t i, int64_t v)
{
    if (L < BYTE_LEVELS)
        ((uint8_t *)t->lv[L])[i] = (uint8_t)v;
    else
        ((uint32_t *)t->lv[L])[i] = (uint32_t)v;
}

static void
lv_fill(Tree *t, int L, int64_t s, int64_t n, int64_t v)
{
    if (L < BYTE_LEVELS) {
        memset((uint8_t *)t->lv[L] + s, (int)v, (size_t)n);
    }
    else {
        uint32_t *a = (uint32_t *)t->lv[L] + s;
        for (int64_t x = 0; x < n; x++)
            a[x] = (uint32_t)v;
    }
}

static inline int64_t
cells(const Tree *t, int L)
{
    return (int64_t)1 << (t->bits - L);
}

static size_t
cell_size(int L)
{
    return L < BYTE_LEVELS ? 1 : 4;
}

static void
free_tracking(Tree *t, int j)
{
    if (t->tt[j] == NULL)
        return;
    for (int L = j + 1; L <= t->bits; L++)
        PyMem_Free(t->tt[j][L - j - 1]);
    PyMem_Free(t->tt[j]);
    t->tt[j] = NULL;
}

static void
free_all(Tree *t)
{
    for (int j = 0; j <= MAXBITS; j++)
        free_tracking(t, j);
    for (int L = 0; L <= MAXBITS; L++) {
        PyMem_Free(t->lv[L]);
        t->lv[L] = NULL;
    }
}

static void
Tree_dealloc(Tree *t)
{
    free_all(t);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

/* Allocate the level arrays (contents undefined); -1 with MemoryError on failure. */
static int
alloc_levels(Tree *t)
{
    for (int L = 0; L <= t->bits; L++) {
        t->lv[L] = PyMem_Malloc((size_t)cells(t, L) * cell_size(L));
        if (t->lv[L] == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static int
Tree_init(Tree *t, PyObject *args, PyObject *kwds)
{
    int bits;
    static char *kwlist[] = {"bits", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "i", kwlist, &bits))
        return -1;
    if (bits < 0 || bits > MAXBITS) {
        PyErr_Format(PyExc_ValueError, "bits must be in 0..%d, not %d", MAXBITS, bits);
        return -1;
    }
    free_all(t);
    t->bits = bits;
    if (alloc_levels(t) < 0)
        return -1;
    for (int L = 0; L <= bits; L++) {
        lv_fill(t, L, 0, cells(t, L), (int64_t)1 << L);
        t->cnt[L] = cells(t, L);
    }
    return 0;
}

/* ------------------------------------------------------------------ argument parsing */

/* A Python int in [lo, hi], else -1 (no exception set). */
static int
as_index(PyObject *o, int64_t lo, int64_t hi, int64_t *out)
{
    int overflow;
    long long v;
    if (!PyLong_Check(o))
        return -1;
    v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || v < lo || v > hi) {
        PyErr_Clear();
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/* A valid aligned block (offset, order) of the space, else -1 (no exception set). */
static int
as_block(Tree *t, PyObject *o_off, PyObject *o_ord, int64_t *off, int *order)
{
    int64_t k;
    if (as_index(o_ord, 0, t->bits, &k) < 0)
        return -1;
    if (as_index(o_off, 0, ((int64_t)1 << t->bits) - 1, off) < 0)
        return -1;
    if (*off & (((int64_t)1 << k) - 1))
        return -1;
    *order = (int)k;
    return 0;
}

static int
node_arg(Tree *t, PyObject *o_level, PyObject *o_index, int *level, int64_t *index)
{
    int64_t L;
    if (as_index(o_level, 0, t->bits, &L) < 0 || as_index(o_index, 0, cells(t, (int)L) - 1, index) < 0) {
        PyErr_SetString(PyExc_IndexError, "no such tree node");
        return -1;
    }
    *level = (int)L;
    return 0;
}

static int
nargs_is(Py_ssize_t nargs, Py_ssize_t want, const char *name)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, want, nargs);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------- updates */

static void
do_claim(Tree *t, int64_t off, int order)
{
    int bits = t->bits;
    for (int L = 0; L < order; L++) {
        int64_t n = (int64_t)1 << (order - L);
        lv_fill(t, L, off >> L, n, 0);
        t->cnt[L] -= n;
    }
    int64_t amount = (int64_t)1 << order;
    int top = order - 1; /* highest level whose block was entirely free before */
    for (int L = order; L <= bits; L++) {
        int64_t i = off >> L;
        int64_t c = lv_get(t, L, i);
        lv_set(t, L, i, c - amount);
        if (c == (int64_t)1 << L) {
            t->cnt[L] -= 1;
            top = L;
        }
    }
    for (int j = 1; j <= bits; j++) {
        uint32_t **tree = t->tt[j];
        if (tree == NULL)
            continue;
        if (j <= order) {
            for (int L = j + 1; L <= order; L++)
                memset(tree[L - j - 1] + (off >> L), 0, sizeof(uint32_t) << (order - L));
            uint32_t d = (uint32_t)1 << (order - j);
            for (int L = (order + 1 > j + 1 ? order + 1 : j + 1); L <= bits; L++)
                tree[L - j - 1][off >> L] -= d;
        }
        else if (j <= top) {
            for (int L = j + 1; L <= bits; L++)
                tree[L - j - 1][off >> L] -= 1;
        }
    }
}

static void
do_release(Tree *t, int64_t off, int order)
{
    int bits = t->bits;
    for (int L = 0; L < order; L++) {
        int64_t n = (int64_t)1 << (order - L);
        lv_fill(t, L, off >> L, n, (int64_t)1 << L);
        t->cnt[L] += n;
    }
    int64_t amount = (int64_t)1 << order;
    int top = order - 1; /* highest level whose block is entirely free now */
    for (int L = order; L <= bits; L++) {
        int64_t i = off >> L;
        int64_t c = lv_get(t, L, i) + amount;
        lv_set(t, L, i, c);
        if (c == (int64_t)1 << L) {
            t->cnt[L] += 1;
            top = L;
        }
    }
    for (int j = 1; j <= bits; j++) {
        uint32_t **tree = t->tt[j];
        if (tree == NULL)
            continue;
        if (j <= order) {
            for (int L = j + 1; L <= order; L++) {
                uint32_t *a = tree[L - j - 1] + (off >> L);
                uint32_t v = (uint32_t)1 << (L - j);
                for (int64_t x = 0; x < (int64_t)1 << (order - L); x++)
                    a[x] = v;
            }
            uint32_t d = (uint32_t)1 << (order - j);
            for (int L = (order + 1 > j + 1 ? order + 1 : j + 1); L <= bits; L++)
                tree[L - j - 1][off >> L] += d;
        }
        else if (j <= top) {
            for (int L = j + 1; L <= bits; L++)
                tree[L - j - 1][off >> L] += 1;
        }
    }
}

static PyObject *
Tree_claim(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t off;
    int order;
    if (!nargs_is(nargs, 2, "claim"))
        return NULL;
    if (as_block(t, args[0], args[1], &off, &order) < 0)
        return PyLong_FromLong(INVALID);
    if (lv_get(t, order, off >> order) != (int64_t)1 << order)
        return PyLong_FromLong(BUSY);
    do_claim(t, off, order);
    return PyLong_FromLong(OK);
}

static PyObject *
Tree_release(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t off;
    int order;
    if (!nargs_is(nargs, 2, "release"))
        return NULL;
    if (as_block(t, args[0], args[1], &off, &order) < 0)
        return PyLong_FromLong(INVALID);
    if (lv_get(t, order, off >> order) != 0)
        return PyLong_FromLong(BUSY);
    do_release(t, off, order);
    return PyLong_FromLong(OK);
}

/* try_claim(offset, order=0) / try_release(offset, order=0): claim / release as above,
 * True when done, False (nothing changed) when the block is not entirely free / used or
 * not a block; bound to the Python space itself, so its hot path makes no Python call. */
static PyObject *
try_update(Tree *t, PyObject *const *args, Py_ssize_t nargs, int claiming)
{
    int64_t off;
    int order;
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes 1 or 2 arguments (%zd given)",
                     claiming ? "try_claim" : "try_release", nargs);
        return NULL;
    }
    PyObject *o_ord = nargs == 2 ? args[1] : NULL;
    if (o_ord == NULL) {
        if (as_index(args[0], 0, ((int64_t)1 << t->bits) - 1, &off) < 0)
            Py_RETURN_FALSE;
        order = 0;
    }
    else if (as_block(t, args[0], o_ord, &off, &order) < 0) {
        Py_RETURN_FALSE;
    }
    if (lv_get(t, order, off >> order) != (claiming ? (int64_t)1 << order : 0))
        Py_RETURN_FALSE;
    if (claiming)
        do_claim(t, off, order);
    else
        do_release(t, off, order);
    Py_RETURN_TRUE;
}

static PyObject *
Tree_try_claim(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    return try_update(t, args, nargs, 1);
}

static PyObject *
Tree_try_release(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    return try_update(t, args, nargs, 0);
}

/* claim_many(blocks): claim every (offset, order) of an ascending sequence of disjoint,
 * valid, free blocks, or nothing. Returns (OK, -1), or (INVALID | BUSY, position of the
 * first bad block) with nothing changed. The checks run first, on the whole input. */
static PyObject *
Tree_claim_many(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_is(nargs, 1, "claim_many"))
        return NULL;
    PyObject *seq = PySequence_Fast(args[0], "claim_many() takes a sequence of (offset, order)");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    int64_t *offs = PyMem_Malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int *ords = PyMem_Malloc(sizeof(int) * (size_t)(n ? n : 1));
    PyObject *result = NULL;
    if (offs == NULL || ords == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t end = 0; /* end of the previous block: blocks must be ascending and disjoint */
    for (Py_ssize_t x = 0; x < n; x++) {
        PyObject *item = items[x];
        int bad = !PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 ||
                  as_block(t, PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1), &offs[x],
                           &ords[x]) < 0;
        if (bad) {
            result = Py_BuildValue("(in)", INVALID, x);
            goto done;
        }
        if (offs[x] < end || lv_get(t, ords[x], offs[x] >> ords[x]) != (int64_t)1 << ords[x]) {
            result = Py_BuildValue("(in)", BUSY, x);
            goto done;
        }
        end = offs[x] + ((int64_t)1 << ords[x]);
    }
    for (Py_ssize_t x = 0; x < n; x++)
        do_claim(t, offs[x], ords[x]);
    result = Py_BuildValue("(in)", OK, (Py_ssize_t)-1);
done:
    PyMem_Free(offs);
    PyMem_Free(ords);
    Py_DECREF(seq);
    return result;
}

/* ------------------------------------------------------------------------- readers */

static PyObject *
Tree_free(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int level;
    int64_t index;
    if (!nargs_is(nargs, 2, "free") || node_arg(t, args[0], args[1], &level, &index) < 0)
        return NULL;
    return PyLong_FromLongLong(lv_get(t, level, index));
}

static PyObject *
Tree_blocks(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t j;
    int level;
    int64_t index;
    if (!nargs_is(nargs, 3, "blocks") || node_arg(t, args[1], args[2], &level, &index) < 0)
        return NULL;
    if (as_index(args[0], 1, t->bits, &j) < 0 || t->tt[j] == NULL || level <= j) {
        PyErr_SetString(PyExc_IndexError, "order not tracked, or node not above it");
        return NULL;
    }
    return PyLong_FromUnsignedLong(t->tt[j][level - j - 1][index]);
}

static PyObject *
Tree_track(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t j;
    if (!nargs_is(nargs, 1, "track"))
        return NULL;
    if (as_index(args[0], 1, t->bits, &j) < 0) {
        PyErr_SetString(PyExc_IndexError, "order outside 1..bits");
        return NULL;
    }
    if (t->tt[j] != NULL)
        Py_RETURN_NONE;
    int bits = t->bits;
    uint32_t **tree = PyMem_Calloc((size_t)(bits - j), sizeof(uint32_t *));
    if (tree == NULL)
        return PyErr_NoMemory();
    int64_t full = (int64_t)1 << j;
    for (int L = (int)j + 1; L <= bits; L++) {
        int64_t n = cells(t, L);
        uint32_t *level = PyMem_Malloc(sizeof(uint32_t) * (size_t)n);
        if (level == NULL) {
            for (int M = (int)j + 1; M < L; M++)
                PyMem_Free(tree[M - j - 1]);
            PyMem_Free(tree);
            return PyErr_NoMemory();
        }
        if (L == j + 1) {
            for (int64_t i = 0; i < n; i++)
                level[i] = (lv_get(t, (int)j, 2 * i) == full) + (lv_get(t, (int)j, 2 * i + 1) == full);
        }
        else {
            uint32_t *prev = tree[L - j - 2];
            for (int64_t i = 0; i < n; i++)
                level[i] = prev[2 * i] + prev[2 * i + 1];
        }
        tree[L - j - 1] = level;
    }
    t->tt[j] = tree;
    Py_RETURN_NONE;
}

/* Free order-`order` blocks under a node whose parent is partly used (base._child_count). */
static int64_t
child_count(Tree *t, int order, int level, int64_t index)
{
    int64_t f = lv_get(t, level, index);
    if (f == (int64_t)1 << level)
        return (int64_t)1 << (level - order);
    if (f == 0 || level == order)
        return 0;
    if (order == 0)
        return f;
    return t->tt[order][level - order - 1][index];
}

static PyObject *
Tree_descend_address(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t r, free_, lvl, index;
    if (!nargs_is(nargs, 4, "descend_address"))
        return NULL;
    if (as_index(args[1], 0, t->bits, &lvl) < 0 || as_index(args[2], 0, cells(t, (int)lvl) - 1, &index) < 0 ||
        as_index(args[3], 1, (int64_t)1 << lvl, &free_) < 0 || as_index(args[0], 0, free_ - 1, &r) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return NULL;
    }
    int level = (int)lvl;
    while (free_ != (int64_t)1 << level) {
        level -= 1;
        index *= 2;
        int64_t left = lv_get(t, level, index);
        if (r < left) {
            free_ = left;
        }
        else {
            r -= left;
            index += 1;
            free_ = lv_get(t, level, index);
        }
    }
    return PyLong_FromLongLong((index << level) + r);
}

static PyObject *
Tree_descend_block(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t order, r, lvl, index;
    if (!nargs_is(nargs, 4, "descend_block"))
        return NULL;
    if (as_index(args[0], 1, t->bits, &order) < 0 || as_index(args[2], order, t->bits, &lvl) < 0 ||
        as_index(args[3], 0, cells(t, (int)lvl) - 1, &index) < 0 ||
        as_index(args[1], 0, ((int64_t)1 << (lvl - order)) - 1, &r) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return NULL;
    }
    int level = (int)lvl;
    int k = (int)order;
    int full = lv_get(t, level, index) == (int64_t)1 << level;
    if (!full && t->tt[k] == NULL) {
        PyErr_SetString(PyExc_IndexError, "bad descent: order not tracked");
        return NULL;
    }
    while (!full) {
        if (level <= k) {
            PyErr_SetString(PyExc_IndexError, "bad descent: no such block");
            return NULL;
        }
        level -= 1;
        index *= 2;
        int64_t left = child_count(t, k, level, index);
        if (r >= left) {
            r -= left;
            index += 1;
        }
        full = lv_get(t, level, index) == (int64_t)1 << level;
    }
    return PyLong_FromLongLong((index << level) + (r << k));
}

/* Claim the r-th free address of the whole space (0 <= r < cnt[0]); its offset. */
static int64_t
take_nth_address(Tree *t, int64_t r)
{
    int level = t->bits;
    int64_t index = 0, free_ = t->cnt[0];
    while (free_ != (int64_t)1 << level) {
        level -= 1;
        index *= 2;
        int64_t left = lv_get(t, level, index);
        if (r < left) {
            free_ = left;
        }
        else {
            r -= left;
            index += 1;
            free_ = lv_get(t, level, index);
        }
    }
    int64_t off = (index << level) + r;
    do_claim(t, off, 0);
    return off;
}

/* take_address(r): claim the r-th free address of the whole space (0 <= r < free count)
 * and return its offset: descend_address from the root and claim, in one call. */
static PyObject *
Tree_take_address(Tree *t, PyObject *arg)
{
    int64_t r;
    if (as_index(arg, 0, t->cnt[0] - 1, &r) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return NULL;
    }
    return PyLong_FromLongLong(take_nth_address(t, r));
}

/* Claim the r-th free block of order k (tracked, or the whole space free); its offset. */
static int64_t
take_nth_block(Tree *t, int k, int64_t r)
{
    int level = t->bits;
    int64_t index = 0;
    int full = t->cnt[level] == 1;
    while (!full) {
        level -= 1;
        index *= 2;
        int64_t left = child_count(t, k, level, index);
        if (r >= left) {
            r -= left;
            index += 1;
        }
        full = lv_get(t, level, index) == (int64_t)1 << level;
    }
    int64_t off = (index << level) + (r << k);
    do_claim(t, off, k);
    return off;
}

/* The draw of random.Random.randrange(n) for 0 < n < 2**62, made with the generator's own
 * getrandbits (what Random._randbelow_with_getrandbits does): k = n.bit_length() bits,
 * again until below n. -1 with an exception set if getrandbits fails. */
static int64_t
randbelow(PyObject *getrandbits, int64_t n)
{
    int k = 0;
    while (k < 63 && ((int64_t)1 << k) <= n)
        k++;
    PyObject *bits = PyLong_FromLong(k);
    if (bits == NULL)
        return -1;
    int64_t r;
    do {
        PyObject *v = PyObject_CallOneArg(getrandbits, bits);
        if (v == NULL) {
            Py_DECREF(bits);
            return -1;
        }
        r = PyLong_AsLongLong(v);
        Py_DECREF(v);
        if (r == -1 && PyErr_Occurred()) {
            Py_DECREF(bits);
            return -1;
        }
    } while (r >= n);
    Py_DECREF(bits);
    return r;
}

/* randbelow(getrandbits, n): the module-level form of the draw, for the wrapper's check
 * that it equals random.Random.randrange(n) on this Python. */
static PyObject *
ctree_randbelow(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t n;
    if (!nargs_is(nargs, 2, "randbelow"))
        return NULL;
    if (as_index(args[1], 1, ((int64_t)1 << 62) - 1, &n) < 0) {
        PyErr_SetString(PyExc_ValueError, "randbelow() needs 0 < n < 2**62");
        return NULL;
    }
    int64_t r = randbelow(args[0], n);
    return r < 0 ? NULL : PyLong_FromLongLong(r);
}

/* take_random_address(getrandbits): base.take_address's "random" policy in one call: one
 * draw below the free count, then the descent-and-claim. The offset, or -1 when nothing
 * is free (no draw made). */
static PyObject *
Tree_take_random_address(Tree *t, PyObject *getrandbits)
{
    if (t->cnt[0] == 0)
        return PyLong_FromLong(-1);
    int64_t r = randbelow(getrandbits, t->cnt[0]);
    return r < 0 ? NULL : PyLong_FromLongLong(take_nth_address(t, r));
}

/* take_random_block(order, getrandbits): base.take_block's "random" policy in one call,
 * the same draws in the same order. While at least half the order's blocks are free, a
 * random block is tried until a free one is claimed; otherwise one draw below the free
 * count and the descent-and-claim. The offset; -1 when no block is free; -2 (no draw
 * made) when the order must be tracked first, as base.take_block would track it. */
static PyObject *
Tree_take_random_block(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t order;
    if (!nargs_is(nargs, 2, "take_random_block"))
        return NULL;
    if (as_index(args[0], 0, t->bits, &order) < 0) {
        PyErr_SetString(PyExc_IndexError, "order outside 0..bits");
        return NULL;
    }
    int k = (int)order;
    int64_t total = t->cnt[k], blocks = (int64_t)1 << (t->bits - k);
    if (2 * total >= blocks) {
        for (;;) {
            int64_t r = randbelow(args[1], blocks);
            if (r < 0)
                return NULL;
            if (lv_get(t, k, r) == (int64_t)1 << k) {
                do_claim(t, r << k, k);
                return PyLong_FromLongLong(r << k);
            }
        }
    }
    int64_t full_space = (int64_t)1 << t->bits;
    if (0 < k && k < t->bits && 0 < t->cnt[0] && t->cnt[0] < full_space && t->tt[k] == NULL)
        return PyLong_FromLong(-2);
    if (total == 0)
        return PyLong_FromLong(-1);
    int64_t r = randbelow(args[1], total);
    if (r < 0)
        return NULL;
    return PyLong_FromLongLong(k == 0 ? take_nth_address(t, r) : take_nth_block(t, k, r));
}

/* take_block(order, r): claim the r-th free block of a tracked order (or of any order
 * while the whole space is free) in the whole space (0 <= r < cnt[order]) and return its
 * offset: descend_block from the root and claim, in one call. */
static PyObject *
Tree_take_block(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t order, r;
    if (!nargs_is(nargs, 2, "take_block"))
        return NULL;
    if (as_index(args[0], 1, t->bits, &order) < 0 || as_index(args[1], 0, t->cnt[order] - 1, &r) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return NULL;
    }
    if (t->cnt[t->bits] != 1 && t->tt[order] == NULL) {
        PyErr_SetString(PyExc_IndexError, "bad descent: order not tracked");
        return NULL;
    }
    return PyLong_FromLongLong(take_nth_block(t, (int)order, r));
}

static PyObject *
Tree_fullest_partial(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t unit, lo, hi;
    if (!nargs_is(nargs, 3, "fullest_partial"))
        return NULL;
    if (as_index(args[0], 0, t->bits, &unit) < 0 || as_index(args[1], 0, cells(t, (int)unit), &lo) < 0 ||
        as_index(args[2], lo, cells(t, (int)unit), &hi) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad range");
        return NULL;
    }
    int64_t full = (int64_t)1 << unit, best = -1, best_v = full;
    for (int64_t i = lo; i < hi; i++) {
        int64_t v = lv_get(t, (int)unit, i);
        if (v > 0 && v < best_v) {
            best_v = v;
            best = i;
            if (v == 1)
                break;
        }
    }
    if (best < 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(best);
}

/* find(level, value, lo, hi): first index in [lo, hi) holding value, or -1. */
static PyObject *
Tree_find(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t level, value, lo, hi;
    if (!nargs_is(nargs, 4, "find"))
        return NULL;
    if (as_index(args[0], 0, t->bits, &level) < 0 || as_index(args[1], 0, (int64_t)1 << level, &value) < 0 ||
        as_index(args[2], 0, cells(t, (int)level), &lo) < 0 || as_index(args[3], lo, cells(t, (int)level), &hi) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad range");
        return NULL;
    }
    if (level < BYTE_LEVELS) {
        uint8_t *a = (uint8_t *)t->lv[level];
        uint8_t *p = memchr(a + lo, (int)value, (size_t)(hi - lo));
        return PyLong_FromLongLong(p == NULL ? -1 : (int64_t)(p - a));
    }
    uint32_t *a = (uint32_t *)t->lv[level];
    for (int64_t i = lo; i < hi; i++)
        if (a[i] == (uint32_t)value)
            return PyLong_FromLongLong(i);
    return PyLong_FromLong(-1);
}

/* lowest_maximal(order): offset of the lowest free block of order whose buddy pair is not
 * entirely free, or -1. */
static PyObject *
Tree_lowest_maximal(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t order;
    if (!nargs_is(nargs, 1, "lowest_maximal"))
        return NULL;
    if (as_index(args[0], 0, t->bits, &order) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad order");
        return NULL;
    }
    int k = (int)order;
    int64_t full = (int64_t)1 << k, n = cells(t, k);
    for (int64_t i = 0; i < n; i++) {
        if (lv_get(t, k, i) == full && (k == t->bits || lv_get(t, k + 1, i >> 1) != 2 * full))
            return PyLong_FromLongLong(i << k);
    }
    return PyLong_FromLong(-1);
}

static PyObject *
Tree_level(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t level;
    if (!nargs_is(nargs, 1, "level"))
        return NULL;
    if (as_index(args[0], 0, t->bits, &level) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad level");
        return NULL;
    }
    int64_t n = cells(t, (int)level);
    PyObject *out = PyList_New((Py_ssize_t)n);
    if (out == NULL)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLongLong(lv_get(t, (int)level, i));
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, v);
    }
    return out;
}

static PyObject *
Tree_tracked_level(Tree *t, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t j, level;
    if (!nargs_is(nargs, 2, "tracked_level"))
        return NULL;
    if (as_index(args[0], 1, t->bits, &j) < 0 || t->tt[j] == NULL ||
        as_index(args[1], j + 1, t->bits, &level) < 0) {
        PyErr_SetString(PyExc_IndexError, "order not tracked, or level not above it");
        return NULL;
    }
    int64_t n = cells(t, (int)level);
    PyObject *out = PyList_New((Py_ssize_t)n);
    if (out == NULL)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLong(t->tt[j][level - j - 1][i]);
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, v);
    }
    return out;
}

static PyObject *
Tree_tracked(Tree *t, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (int j = 1; j <= t->bits; j++) {
        if (t->tt[j] == NULL)
            continue;
        PyObject *v = PyLong_FromLong(j);
        if (v == NULL || PyList_Append(out, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(v);
    }
    return out;
}

static PyObject *
Tree_copy(Tree *t, PyObject *Py_UNUSED(ignored))
{
    Tree *n = PyObject_New(Tree, &TreeType);
    if (n == NULL)
        return NULL;
    n->bits = t->bits;
    memcpy(n->cnt, t->cnt, sizeof(t->cnt));
    memset(n->lv, 0, sizeof(n->lv));
    memset(n->tt, 0, sizeof(n->tt));
    if (alloc_levels(n) < 0)
        goto fail;
    for (int L = 0; L <= t->bits; L++)
        memcpy(n->lv[L], t->lv[L], (size_t)cells(t, L) * cell_size(L));
    for (int j = 1; j <= t->bits; j++) {
        if (t->tt[j] == NULL)
            continue;
        n->tt[j] = PyMem_Calloc((size_t)(t->bits - j), sizeof(uint32_t *));
        if (n->tt[j] == NULL)
            goto nomem;
        for (int L = j + 1; L <= t->bits; L++) {
            size_t bytes = sizeof(uint32_t) * (size_t)cells(t, L);
            n->tt[j][L - j - 1] = PyMem_Malloc(bytes);
            if (n->tt[j][L - j - 1] == NULL)
                goto nomem;
            memcpy(n->tt[j][L - j - 1], t->tt[j][L - j - 1], bytes);
        }
    }
    return (PyObject *)n;
nomem:
    PyErr_NoMemory();
fail:
    Py_DECREF(n);
    return NULL;
}

static PyObject *
Tree_nbytes(Tree *t, PyObject *Py_UNUSED(ignored))
{
    int64_t total = (int64_t)sizeof(Tree);
    for (int L = 0; L <= t->bits; L++)
        total += cells(t, L) * (int64_t)cell_size(L);
    for (int j = 1; j <= t->bits; j++)
        if (t->tt[j] != NULL)
            for (int L = j + 1; L <= t->bits; L++)
                total += cells(t, L) * 4;
    return PyLong_FromLongLong(total);
}

/* The counters as a read-only sequence: tree[k] is the number of free order-k blocks. */
static Py_ssize_t
Tree_len(Tree *t)
{
    return t->bits + 1;
}

static PyObject *
Tree_item(Tree *t, Py_ssize_t k)
{
    if (k < 0 || k > t->bits) {
        PyErr_SetString(PyExc_IndexError, "order out of range");
        return NULL;
    }
    return PyLong_FromLongLong(t->cnt[k]);
}

/* block_count(order): the counter of free order-k blocks, as tree[order] (a METH_O call,
 * cheaper than the sequence protocol's method wrapper). */
static PyObject *
Tree_block_count(Tree *t, PyObject *arg)
{
    int64_t k;
    if (as_index(arg, 0, t->bits, &k) < 0) {
        PyErr_SetString(PyExc_IndexError, "order out of range");
        return NULL;
    }
    return PyLong_FromLongLong(t->cnt[k]);
}

static PyObject *
Tree_get_bits(Tree *t, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(t->bits);
}

static PySequenceMethods Tree_as_sequence = {
    .sq_length = (lenfunc)Tree_len,
    .sq_item = (ssizeargfunc)Tree_item,
};

static PyGetSetDef Tree_getset[] = {
    {"bits", (getter)Tree_get_bits, NULL, "log2 of the number of addresses", NULL},
    {NULL},
};

static PyMethodDef Tree_methods[] = {
    {"claim", (PyCFunction)(void (*)(void))Tree_claim, METH_FASTCALL, "claim(offset, order) -> 0 ok, 1 not free, 2 invalid"},
    {"release", (PyCFunction)(void (*)(void))Tree_release, METH_FASTCALL, "release(offset, order) -> 0 ok, 1 not used, 2 invalid"},
    {"try_claim", (PyCFunction)(void (*)(void))Tree_try_claim, METH_FASTCALL, "try_claim(offset, order=0) -> True if claimed"},
    {"try_release", (PyCFunction)(void (*)(void))Tree_try_release, METH_FASTCALL, "try_release(offset, order=0) -> True if released"},
    {"block_count", (PyCFunction)Tree_block_count, METH_O, "block_count(order): free blocks of order"},
    {"claim_many", (PyCFunction)(void (*)(void))Tree_claim_many, METH_FASTCALL, "claim_many(blocks) -> (status, position)"},
    {"free", (PyCFunction)(void (*)(void))Tree_free, METH_FASTCALL, "free(level, index): free addresses under a node"},
    {"blocks", (PyCFunction)(void (*)(void))Tree_blocks, METH_FASTCALL, "blocks(order, level, index): tracked count"},
    {"track", (PyCFunction)(void (*)(void))Tree_track, METH_FASTCALL, "track(order): build the order's count tree"},
    {"descend_address", (PyCFunction)(void (*)(void))Tree_descend_address, METH_FASTCALL, "descend_address(r, level, index, free)"},
    {"descend_block", (PyCFunction)(void (*)(void))Tree_descend_block, METH_FASTCALL, "descend_block(order, r, level, index)"},
    {"take_address", (PyCFunction)Tree_take_address, METH_O, "take_address(r): claim the r-th free address, return its offset"},
    {"take_block", (PyCFunction)(void (*)(void))Tree_take_block, METH_FASTCALL, "take_block(order, r): claim the r-th free block, return its offset"},
    {"take_random_address", (PyCFunction)Tree_take_random_address, METH_O, "take_random_address(getrandbits) -> offset, or -1"},
    {"take_random_block", (PyCFunction)(void (*)(void))Tree_take_random_block, METH_FASTCALL, "take_random_block(order, getrandbits) -> offset, -1 none, -2 track first"},
    {"fullest_partial", (PyCFunction)(void (*)(void))Tree_fullest_partial, METH_FASTCALL, "fullest_partial(unit, lo, hi)"},
    {"find", (PyCFunction)(void (*)(void))Tree_find, METH_FASTCALL, "find(level, value, lo, hi) -> index or -1"},
    {"lowest_maximal", (PyCFunction)(void (*)(void))Tree_lowest_maximal, METH_FASTCALL, "lowest_maximal(order) -> offset or -1"},
    {"level", (PyCFunction)(void (*)(void))Tree_level, METH_FASTCALL, "level(L): the counts of one level, as a list"},
    {"tracked_level", (PyCFunction)(void (*)(void))Tree_tracked_level, METH_FASTCALL, "tracked_level(order, L)"},
    {"tracked", (PyCFunction)Tree_tracked, METH_NOARGS, "tracked orders, ascending"},
    {"copy", (PyCFunction)Tree_copy, METH_NOARGS, "an independent copy"},
    {"nbytes", (PyCFunction)Tree_nbytes, METH_NOARGS, "bytes held"},
    {NULL},
};

static PyTypeObject TreeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ipfrag.core._ctree.Tree",
    .tp_doc = "The dense count tree of a space of 2**bits addresses (bits <= 24).",
    .tp_basicsize = sizeof(Tree),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Tree_init,
    .tp_dealloc = (destructor)Tree_dealloc,
    .tp_methods = Tree_methods,
    .tp_getset = Tree_getset,
    .tp_as_sequence = &Tree_as_sequence,
};

static PyMethodDef ctree_functions[] = {
    {"randbelow", (PyCFunction)(void (*)(void))ctree_randbelow, METH_FASTCALL, "randbelow(getrandbits, n): random.Random.randrange(n)'s draw"},
    {NULL},
};

static struct PyModuleDef ctree_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ipfrag.core._ctree",
    .m_doc = "The compiled dense count tree of ipfrag's core (optional; see cbitmap.py).",
    .m_size = -1,
    .m_methods = ctree_functions,
};

PyMODINIT_FUNC
PyInit__ctree(void)
{
    if (PyType_Ready(&TreeType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&ctree_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&TreeType);
    if (PyModule_AddObject(m, "Tree", (PyObject *)&TreeType) < 0) {
        Py_DECREF(&TreeType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAXBITS", MAXBITS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
