/* The sparse count tree in C: the storage and hot loops of ipfrag.core.csparse.CSparseSpace.
 *
 * Same structure and same arithmetic as the pure-Python SparseSpace (ipfrag/core/sparse.py):
 * a path-compressed binary trie (PATRICIA tree) over the claimed blocks of a space of
 * 2**bits addresses (bits <= 64). The leaves are the claimed blocks; the only inner nodes
 * stored are the branching ones, with used space in both halves. Every node knows how many
 * of its addresses are used; a branch also holds tu[t], the touched (not entirely free)
 * blocks of the t-th tracked order under it. cnt[k] counts the fully free blocks of order k.
 * Every method mirrors one primitive of the pure backend, so both give the same answers and,
 * called with the same random draws, the same picks.
 *
 * Offsets are unsigned 64-bit; counts of a 2**64 space need 65 bits, so used counts and
 * counters are unsigned __int128 (a compiler without it cannot build this module, and
 * ipfrag then runs on the pure backend).
 *
 * Validation of user input stays in Python; these methods never crash on bad arguments:
 * claim/release report invalid blocks with a status code, try_* answer False, readers
 * raise IndexError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#ifndef __SIZEOF_INT128__
#error "ipfrag.core._csparse needs unsigned __int128; the pure-Python sparse backend is used"
#endif

typedef unsigned __int128 u128;

#define MAXBITS 64
#define MAXDEPTH (MAXBITS + 2)

typedef struct Node {
    u128 used;           /* used addresses under the node (2**level for a leaf) */
    uint64_t off;        /* first address; aligned on 2**level */
    struct Node *lo;     /* NULL for a leaf (a claimed block) */
    struct Node *hi;
    uint64_t *tu;        /* branches, when some order is tracked: touched blocks per order */
    int level;
} Node;

typedef struct {
    PyObject_HEAD
    int bits;
    int ntord;                 /* tracked orders, in the order of every branch's tu */
    int tord[MAXBITS + 1];
    Py_ssize_t nodes;          /* stored nodes */
    Py_ssize_t tracked_nodes;  /* branches holding a tu array (for nbytes) */
    Node *root;
    u128 cnt[MAXBITS + 1];
} Trie;

static PyTypeObject TrieType;

enum { OK = 0, BUSY = 1, INVALID = 2 };

/* ------------------------------------------------------------------------ arithmetic */

static inline u128
pow2(int k)
{
    return (u128)1 << k;
}

/* x >> s for s in 0..64 (a shift by 64 is undefined in C). */
static inline uint64_t
shr(uint64_t x, int s)
{
    return s >= 64 ? 0 : x >> s;
}

static inline int
bitlen(uint64_t x)
{
    return x ? 64 - __builtin_clzll(x) : 0;
}

static inline int
bit_at(uint64_t x, int i)
{
    return (int)((x >> i) & 1);
}

/* A Python int from an unsigned 128-bit value. */
static PyObject *
from_u128(u128 v)
{
    uint64_t hi = (uint64_t)(v >> 64), lo = (uint64_t)v;
    if (hi == 0)
        return PyLong_FromUnsignedLongLong(lo);
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(&v, sizeof(v), Py_ASNATIVEBYTES_NATIVE_ENDIAN);
#elif PY_LITTLE_ENDIAN
    return _PyLong_FromByteArray((const unsigned char *)&v, sizeof(v), 1, 0);
#endif
    PyObject *h = PyLong_FromUnsignedLongLong(hi), *l = NULL, *s = NULL, *sh = NULL, *r = NULL;
    if (h == NULL)
        return NULL;
    s = PyLong_FromLong(64);
    l = PyLong_FromUnsignedLongLong(lo);
    if (s != NULL && l != NULL)
        sh = PyNumber_Lshift(h, s);
    if (sh != NULL)
        r = PyNumber_Or(sh, l);
    Py_XDECREF(h);
    Py_XDECREF(l);
    Py_XDECREF(s);
    Py_XDECREF(sh);
    return r;
}

/* A Python int in [0, max] as an unsigned 128-bit value, else -1 (no exception set). */
static int
as_u128(PyObject *o, u128 max, u128 *out)
{
    if (!PyLong_Check(o))
        return -1;
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        /* negative, or 2**64 and above: the rare slow path */
        PyErr_Clear();
        PyObject *zero = PyLong_FromLong(0);
        if (zero == NULL) {
            PyErr_Clear();
            return -1;
        }
        int neg = PyObject_RichCompareBool(o, zero, Py_LT);
        Py_DECREF(zero);
        if (neg != 0) {
            PyErr_Clear();
            return -1;
        }
        PyObject *s = PyLong_FromLong(64);
        PyObject *h = s == NULL ? NULL : PyNumber_Rshift(o, s);
        Py_XDECREF(s);
        if (h == NULL) {
            PyErr_Clear();
            return -1;
        }
        unsigned long long hv = PyLong_AsUnsignedLongLong(h);
        Py_DECREF(h);
        if (hv == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return -1; /* 2**128 and above */
        }
        PyObject *m = PyLong_FromUnsignedLongLong(~0ULL);
        PyObject *l = m == NULL ? NULL : PyNumber_And(o, m);
        Py_XDECREF(m);
        if (l == NULL) {
            PyErr_Clear();
            return -1;
        }
        unsigned long long lv = PyLong_AsUnsignedLongLong(l);
        Py_DECREF(l);
        u128 w = ((u128)hv << 64) | lv;
        if (w > max)
            return -1;
        *out = w;
        return 0;
    }
    if ((u128)v > max)
        return -1;
    *out = v;
    return 0;
}

/* A Python int in [lo, hi] (small ranges: orders and levels), else -1 (no exception set). */
static int
as_small(PyObject *o, int lo, int hi, int *out)
{
    int overflow;
    long v;
    if (!PyLong_Check(o))
        return -1;
    v = PyLong_AsLongAndOverflow(o, &overflow);
    if (overflow || v < lo || v > hi) {
        PyErr_Clear();
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* A valid aligned block (offset, order) of the space, else -1 (no exception set). */
static int
as_block(Trie *t, PyObject *o_off, PyObject *o_ord, uint64_t *off, int *order)
{
    u128 v;
    if (as_small(o_ord, 0, t->bits, order) < 0)
        return -1;
    if (as_u128(o_off, pow2(t->bits) - 1, &v) < 0)
        return -1;
    *off = (uint64_t)v;
    if (*order && (*off & (((uint64_t)-1) >> (64 - *order))))
        return -1;
    return 0;
}

/* A node (level, index) of the full tree, else -1 with IndexError. */
static int
node_arg(Trie *t, PyObject *o_level, PyObject *o_index, int *level, uint64_t *start)
{
    u128 index;
    if (as_small(o_level, 0, t->bits, level) < 0 ||
        as_u128(o_index, pow2(t->bits - *level) - 1, &index) < 0) {
        PyErr_SetString(PyExc_IndexError, "no such tree node");
        return -1;
    }
    *start = (uint64_t)(index << *level);
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

/* --------------------------------------------------------------------------- nodes */

static void
node_free(Trie *t, Node *n)
{
    if (n->tu != NULL)
        t->tracked_nodes--;
    PyMem_Free(n->tu);
    PyMem_Free(n);
    t->nodes--;
}

static void
free_subtree(Trie *t, Node *n)
{
    /* Iterative: at most MAXDEPTH pending right children. */
    Node *stack[2 * MAXDEPTH];
    int sp = 0;
    if (n != NULL)
        stack[sp++] = n;
    while (sp) {
        Node *x = stack[--sp];
        if (x->lo != NULL) {
            stack[sp++] = x->lo;
            stack[sp++] = x->hi;
        }
        node_free(t, x);
    }
}

/* A new node (leaf, or branch with a tu array when orders are tracked); NULL on no memory. */
static Node *
node_new(Trie *t, int branch)
{
    Node *n = PyMem_Malloc(sizeof(Node));
    if (n == NULL)
        return NULL;
    n->tu = NULL;
    if (branch && t->ntord) {
        n->tu = PyMem_Malloc(sizeof(uint64_t) * (size_t)t->ntord);
        if (n->tu == NULL) {
            PyMem_Free(n);
            return NULL;
        }
        t->tracked_nodes++;
    }
    n->lo = n->hi = NULL;
    t->nodes++;
    return n;
}

static Node *
leaf_new(Trie *t, int level, uint64_t off)
{
    Node *n = node_new(t, 0);
    if (n != NULL) {
        n->level = level;
        n->off = off;
        n->used = pow2(level);
    }
    return n;
}

/* Order-j blocks touched by n's subtree, inside a half of level >= j (pure: _touched). */
static inline uint64_t
touched(const Node *n, int at, int j)
{
    if (n->level <= j)
        return 1;
    if (n->lo == NULL)
        return (uint64_t)1 << (n->level - j);
    return n->tu[at];
}

/* Make `b` (allocated by node_new(t, 1)) the branching node over two disjoint subtrees. */
static void
branch_init(Trie *t, Node *b, Node *x, Node *y)
{
    int level = bitlen(x->off ^ y->off);
    Node *lo = x->off < y->off ? x : y, *hi = x->off < y->off ? y : x;
    b->level = level;
    b->off = level >= 64 ? 0 : (x->off >> level) << level;
    b->used = x->used + y->used;
    b->lo = lo;
    b->hi = hi;
    for (int at = 0; at < t->ntord; at++) {
        int j = t->tord[at];
        b->tu[at] = level > j ? touched(lo, at, j) + touched(hi, at, j) : 0;
    }
}

/* -------------------------------------------------------------------------- updates */

/* Counters after a block (off, order) became used (sign 1) or free (-1); top: the highest
 * level whose node holding the block is (was) entirely free. */
static void
update_counters(Trie *t, int order, int top, int sign)
{
    for (int L = 0; L < order; L++) {
        if (sign > 0)
            t->cnt[L] -= pow2(order - L);
        else
            t->cnt[L] += pow2(order - L);
    }
    for (int L = order; L <= top; L++) {
        if (sign > 0)
            t->cnt[L] -= 1;
        else
            t->cnt[L] += 1;
    }
}

/* The tracked counts of the branches above a block that became used (+1) or free (-1). */
static void
update_tracked(Trie *t, Node **path, int depth, int order, int top, int sign)
{
    for (int at = 0; at < t->ntord; at++) {
        int j = t->tord[at];
        uint64_t d;
        if (j <= order)
            d = (uint64_t)1 << (order - j);
        else if (j <= top)
            d = 1;
        else
            continue;
        for (int x = 0; x < depth; x++) {
            Node *n = path[x];
            if (n->level > j) {
                if (sign > 0)
                    n->tu[at] += d;
                else
                    n->tu[at] -= d;
            }
        }
    }
}

/* Claim a valid block: OK, BUSY (not entirely free; nothing changed) or -1 (MemoryError). */
static int
do_claim(Trie *t, uint64_t off, int order)
{
    Node *path[MAXDEPTH];
    int depth = 0;
    Node **slot = &t->root;
    Node *n = t->root;
    while (n != NULL) {
        int lv = n->level;
        if (lv <= order) {
            if (shr(n->off, order) == shr(off, order))
                return BUSY;
            break;
        }
        if (shr(off ^ n->off, lv))
            break; /* n lies elsewhere */
        if (n->lo == NULL)
            return BUSY; /* inside a claimed block */
        path[depth++] = n;
        slot = bit_at(off, lv - 1) ? &n->hi : &n->lo;
        n = *slot;
    }
    Node *leaf = leaf_new(t, order, off);
    if (leaf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int top;
    if (n == NULL) {
        *slot = leaf; /* an empty space (a branch always has two children) */
        top = t->bits;
    }
    else {
        Node *b = node_new(t, 1);
        if (b == NULL) {
            node_free(t, leaf);
            PyErr_NoMemory();
            return -1;
        }
        top = bitlen(n->off ^ off) - 1;
        branch_init(t, b, n, leaf);
        *slot = b;
    }
    u128 amount = pow2(order);
    for (int x = 0; x < depth; x++)
        path[x]->used += amount;
    update_counters(t, order, top, 1);
    update_tracked(t, path, depth, order, top, 1);
    return OK;
}

/* Release a valid block: OK, BUSY (not entirely used; nothing changed) or -1 (MemoryError). */
static int
do_release(Trie *t, uint64_t off, int order)
{
    Node *path[MAXDEPTH];
    Node **slots[MAXDEPTH];
    int depth = 0;
    Node **slot = &t->root;
    Node *n = t->root;
    while (n != NULL) {
        int lv = n->level;
        if (lv <= order || shr(off ^ n->off, lv) || n->lo == NULL)
            break;
        path[depth] = n;
        slots[depth] = slot;
        depth++;
        slot = bit_at(off, lv - 1) ? &n->hi : &n->lo;
        n = *slot;
    }
    if (n == NULL)
        return BUSY;
    u128 amount = pow2(order);
    int top;
    if (n->lo == NULL && n->level > order && !shr(off ^ n->off, n->level)) {
        /* Inside a larger claimed block: it becomes its buddies at levels order..W-1, under
         * branches at levels order+2..W. */
        int w = n->level, count = w - order;
        Node *buddies[MAXDEPTH], *branches[MAXDEPTH];
        int nb = 0, nbr = 0;
        for (int L = order; L < w; L++) {
            Node *b = leaf_new(t, L, (uint64_t)((shr(off, L) ^ 1) << L));
            if (b == NULL)
                goto nomem;
            buddies[nb++] = b;
        }
        for (int x = 0; x < count - 1; x++) {
            Node *b = node_new(t, 1);
            if (b == NULL)
                goto nomem;
            branches[nbr++] = b;
        }
        Node *cur = buddies[0];
        for (int x = 1; x < count; x++) {
            branch_init(t, branches[x - 1], cur, buddies[x]);
            cur = branches[x - 1];
        }
        *slot = cur;
        node_free(t, n);
        top = order;
        goto counts;
    nomem:
        for (int x = 0; x < nb; x++)
            node_free(t, buddies[x]);
        for (int x = 0; x < nbr; x++)
            node_free(t, branches[x]);
        PyErr_NoMemory();
        return -1;
    }
    if (n->level != order || n->off != off || n->used != amount)
        return BUSY;
    /* n is the block itself (a leaf, or a branch over used space): unhook it. */
    if (depth == 0) {
        t->root = NULL;
        top = t->bits;
    }
    else {
        Node *parent = path[--depth];
        Node *other = parent->lo == n ? parent->hi : parent->lo;
        *slots[depth] = other;
        top = parent->level - 1;
        node_free(t, parent);
    }
    free_subtree(t, n);
counts:
    for (int x = 0; x < depth; x++)
        path[x]->used -= amount;
    update_counters(t, order, top, -1);
    update_tracked(t, path, depth, order, top, -1);
    return OK;
}

static PyObject *
status_of(int status)
{
    return status < 0 ? NULL : PyLong_FromLong(status);
}

static PyObject *
Trie_claim(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t off;
    int order;
    if (!nargs_is(nargs, 2, "claim"))
        return NULL;
    if (as_block(t, args[0], args[1], &off, &order) < 0)
        return PyLong_FromLong(INVALID);
    return status_of(do_claim(t, off, order));
}

static PyObject *
Trie_release(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t off;
    int order;
    if (!nargs_is(nargs, 2, "release"))
        return NULL;
    if (as_block(t, args[0], args[1], &off, &order) < 0)
        return PyLong_FromLong(INVALID);
    return status_of(do_release(t, off, order));
}

/* try_claim(offset, order=0) / try_release(offset, order=0): True when done, False (nothing
 * changed) when the block is not entirely free / used or not a block; bound to the Python
 * space itself, so its hot path makes no Python call. */
static PyObject *
try_update(Trie *t, PyObject *const *args, Py_ssize_t nargs, int claiming)
{
    uint64_t off;
    int order = 0;
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes 1 or 2 arguments (%zd given)",
                     claiming ? "try_claim" : "try_release", nargs);
        return NULL;
    }
    if (nargs == 1) {
        u128 v;
        if (as_u128(args[0], pow2(t->bits) - 1, &v) < 0)
            Py_RETURN_FALSE;
        off = (uint64_t)v;
    }
    else if (as_block(t, args[0], args[1], &off, &order) < 0) {
        Py_RETURN_FALSE;
    }
    int status = claiming ? do_claim(t, off, order) : do_release(t, off, order);
    if (status < 0)
        return NULL;
    if (status == OK)
        Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

static PyObject *
Trie_try_claim(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    return try_update(t, args, nargs, 1);
}

static PyObject *
Trie_try_release(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    return try_update(t, args, nargs, 0);
}

/* -------------------------------------------------------------------------- readers */

/* The topmost stored node inside block (off, order), or a claimed block holding it (level
 * above order), or NULL when the block is entirely free (pure: _top_within). */
static Node *
top_within(Trie *t, uint64_t off, int order)
{
    Node *n = t->root;
    while (n != NULL && n->level > order && !shr(off ^ n->off, n->level)) {
        if (n->lo == NULL)
            return n; /* a claimed block holds it */
        n = bit_at(off, n->level - 1) ? n->hi : n->lo;
    }
    if (n == NULL)
        return NULL;
    if (n->level > order)
        return shr(off ^ n->off, n->level) ? NULL : n;
    return shr(n->off, order) == shr(off, order) ? n : NULL;
}

/* Free addresses of the block (start, level) (pure: _node_free). */
static u128
node_free_count(Trie *t, uint64_t start, int level)
{
    Node *n = top_within(t, start, level);
    if (n == NULL)
        return pow2(level);
    if (n->level > level)
        return 0;
    return pow2(level) - n->used;
}

static int
tracked_at(Trie *t, int order)
{
    for (int at = 0; at < t->ntord; at++)
        if (t->tord[at] == order)
            return at;
    return -1;
}

static PyObject *
Trie_free(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int level;
    uint64_t start;
    if (!nargs_is(nargs, 2, "free") || node_arg(t, args[0], args[1], &level, &start) < 0)
        return NULL;
    return from_u128(node_free_count(t, start, level));
}

/* Fully free order-j blocks under the block (start, level), j tracked (or 0), level >= j;
 * -1 when j is not tracked and the count needs it. */
static int
blocks_free(Trie *t, int j, uint64_t start, int level, u128 *out)
{
    Node *n = top_within(t, start, level);
    if (n == NULL) {
        *out = pow2(level - j);
        return 0;
    }
    if (n->level > level || level == j) {
        *out = 0;
        return 0;
    }
    if (j == 0) {
        *out = pow2(level) - n->used;
        return 0;
    }
    int at = tracked_at(t, j);
    if (at < 0 && n->lo != NULL && n->level > j)
        return -1;
    *out = pow2(level - j) - touched(n, at, j);
    return 0;
}

static PyObject *
Trie_blocks(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int j, level;
    uint64_t start;
    u128 out;
    if (!nargs_is(nargs, 3, "blocks") || node_arg(t, args[1], args[2], &level, &start) < 0)
        return NULL;
    if (as_small(args[0], 1, t->bits, &j) < 0 || tracked_at(t, j) < 0 || level <= j ||
        blocks_free(t, j, start, level, &out) < 0) {
        PyErr_SetString(PyExc_IndexError, "order not tracked, or node not above it");
        return NULL;
    }
    return from_u128(out);
}

/* Post-order over the branches: append the tracked count of order j (index at). */
static void
build_tracked(Trie *t, Node *n, int at, int j)
{
    if (n == NULL || n->lo == NULL)
        return;
    build_tracked(t, n->lo, at, j);
    build_tracked(t, n->hi, at, j);
    n->tu[at] = n->level > j ? touched(n->lo, at, j) + touched(n->hi, at, j) : 0;
}

/* Grow every branch's tu to n entries (allocating it when absent); -1 on no memory (the
 * grown arrays are kept: spare room changes nothing). */
static int
grow_tu(Trie *t, Node *root, int n)
{
    Node *stack[2 * MAXDEPTH];
    int sp = 0;
    if (root != NULL)
        stack[sp++] = root;
    while (sp) {
        Node *x = stack[--sp];
        if (x->lo == NULL)
            continue;
        uint64_t *tu = PyMem_Realloc(x->tu, sizeof(uint64_t) * (size_t)n);
        if (tu == NULL)
            return -1;
        if (x->tu == NULL)
            t->tracked_nodes++;
        x->tu = tu;
        stack[sp++] = x->lo;
        stack[sp++] = x->hi;
    }
    return 0;
}

static PyObject *
Trie_track(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int j;
    if (!nargs_is(nargs, 1, "track"))
        return NULL;
    if (as_small(args[0], 1, t->bits, &j) < 0) {
        PyErr_SetString(PyExc_IndexError, "order outside 1..bits");
        return NULL;
    }
    if (tracked_at(t, j) >= 0)
        Py_RETURN_NONE;
    if (grow_tu(t, t->root, t->ntord + 1) < 0)
        return PyErr_NoMemory();
    int at = t->ntord;
    t->tord[at] = j;
    t->ntord++;
    build_tracked(t, t->root, at, j);
    Py_RETURN_NONE;
}

/* The r-th free address under the block (start, level), r below its free count (pure:
 * _descend_address). */
static uint64_t
descend_address(Trie *t, u128 r, uint64_t start_, int level)
{
    u128 start = start_;
    Node *n = top_within(t, start_, level);
    while (n != NULL) {
        u128 gap = n->off - start;
        if (r < gap)
            break;
        r -= gap;
        u128 cfree = pow2(n->level) - n->used;
        if (r >= cfree) {
            start = (u128)n->off + pow2(n->level);
            r -= cfree;
            break;
        }
        u128 half = pow2(n->level - 1);
        u128 lofree = half - n->lo->used;
        if (r < lofree) {
            start = n->off;
            n = n->lo;
        }
        else {
            r -= lofree;
            start = n->off + half;
            n = n->hi;
        }
    }
    return (uint64_t)(start + r);
}

/* The r-th free order-k block under (start, level), r below their count, k tracked when
 * the node is partly used (pure: _descend_block). */
static uint64_t
descend_block(Trie *t, int k, u128 r, uint64_t start_, int level)
{
    int at = tracked_at(t, k);
    u128 start = start_;
    Node *n = top_within(t, start_, level);
    while (n != NULL) {
        u128 before = (u128)shr(n->off, k) - (start >> k);
        if (r < before)
            break;
        r -= before;
        if (n->level <= k || n->lo == NULL) {
            /* The node lies in (or fills) whole order-k blocks: skip them. */
            start = ((((u128)n->off + pow2(n->level) - 1) >> k) + 1) << k;
            break;
        }
        u128 cfree = pow2(n->level - k) - touched(n, at, k);
        if (r >= cfree) {
            r -= cfree;
            start = (u128)n->off + pow2(n->level);
            break;
        }
        u128 half = pow2(n->level - 1);
        u128 lofree = (half >> k) - touched(n->lo, at, k);
        if (r < lofree) {
            start = n->off;
            n = n->lo;
        }
        else {
            r -= lofree;
            start = n->off + half;
            n = n->hi;
        }
    }
    return (uint64_t)(start + (r << k));
}

static PyObject *
Trie_descend_address(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int level;
    uint64_t start;
    u128 r;
    if (!nargs_is(nargs, 3, "descend_address") || node_arg(t, args[1], args[2], &level, &start) < 0)
        return NULL;
    u128 free_ = node_free_count(t, start, level);
    if (free_ == 0 || as_u128(args[0], free_ - 1, &r) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(descend_address(t, r, start, level));
}

/* A valid descent of order k under (start, level): 0, else -1 with IndexError. */
static int
block_descent_arg(Trie *t, int k, PyObject *o_r, uint64_t start, int level, u128 *r)
{
    u128 count;
    if (k < 1 || level < k || blocks_free(t, k, start, level, &count) < 0 || count == 0 ||
        as_u128(o_r, count - 1, r) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return -1;
    }
    return 0;
}

static PyObject *
Trie_descend_block(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int k, level;
    uint64_t start;
    u128 r;
    if (!nargs_is(nargs, 4, "descend_block") || node_arg(t, args[2], args[3], &level, &start) < 0)
        return NULL;
    if (as_small(args[0], 1, t->bits, &k) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return NULL;
    }
    if (block_descent_arg(t, k, args[1], start, level, &r) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(descend_block(t, k, r, start, level));
}

/* take_address(r): claim the r-th free address of the whole space (0 <= r < free count)
 * and return its offset: descend and claim in one call. */
static PyObject *
Trie_take_address(Trie *t, PyObject *arg)
{
    u128 r;
    if (t->cnt[0] == 0 || as_u128(arg, t->cnt[0] - 1, &r) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return NULL;
    }
    uint64_t off = descend_address(t, r, 0, t->bits);
    if (do_claim(t, off, 0) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(off);
}

/* take_block(order, r): claim the r-th free block of a tracked order (or of any order while
 * the whole space is free) in the whole space (0 <= r < its counter), return its offset. */
static PyObject *
Trie_take_block(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int k;
    u128 r;
    if (!nargs_is(nargs, 2, "take_block"))
        return NULL;
    if (as_small(args[0], 1, t->bits, &k) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad descent");
        return NULL;
    }
    if (block_descent_arg(t, k, args[1], 0, t->bits, &r) < 0)
        return NULL;
    uint64_t off = descend_block(t, k, r, 0, t->bits);
    if (do_claim(t, off, k) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(off);
}

/* The lowest free order-k block in [start, start + size), a range aligned on at least 2**k
 * holding the subtree n (or nothing); 0 with *out set, or 1 when there is none (pure:
 * _first_free_block). */
static int
first_free_block(int k, u128 start, u128 size, Node *n, u128 *out)
{
    if (n == NULL || (u128)shr(n->off, k) > (start >> k)) {
        *out = start;
        return 0;
    }
    if (n->level > k && n->lo != NULL) {
        u128 half = pow2(n->level - 1);
        if (first_free_block(k, n->off, half, n->lo, out) == 0)
            return 0;
        if (first_free_block(k, (u128)n->off + half, half, n->hi, out) == 0)
            return 0;
    }
    u128 after = ((((u128)n->off + pow2(n->level) - 1) >> k) + 1) << k;
    if (after < start + size) {
        *out = after;
        return 0;
    }
    return 1;
}

/* lowest_block(order, wo, wk): the lowest free order-`order` block inside the block
 * (wo, wk), wk >= order, or None. */
static PyObject *
Trie_lowest_block(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int k, wk;
    uint64_t wo;
    u128 out;
    if (!nargs_is(nargs, 3, "lowest_block"))
        return NULL;
    if (as_block(t, args[1], args[2], &wo, &wk) < 0 || as_small(args[0], 0, wk, &k) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad block");
        return NULL;
    }
    Node *n = top_within(t, wo, wk);
    if (n != NULL && n->level > wk)
        Py_RETURN_NONE; /* inside a claimed block */
    if (first_free_block(k, wo, pow2(wk), n, &out))
        Py_RETURN_NONE;
    return from_u128(out);
}

/* The lowest maximal free block of order k (free, its buddy not) under the partly used node
 * (start, level), level > k, whose topmost stored node is n; 1 with *out set, else 0. */
static int
lowest_maximal(int k, uint64_t start, int level, Node *n, u128 *out)
{
    int cl = level - 1;
    for (int h = 0; h < 2; h++) {
        u128 hs = (u128)start + ((u128)h << cl);
        Node *m;
        if (n->level == level)
            m = h ? n->hi : n->lo; /* n branches here */
        else
            m = bit_at(n->off, cl) == h ? n : NULL; /* n lies in one half */
        if (m == NULL) {
            if (cl == k) {
                *out = hs;
                return 1;
            }
        }
        else if (!(m->level == cl && m->used == pow2(cl)) && cl > k) {
            if (lowest_maximal(k, (uint64_t)hs, cl, m, out))
                return 1;
        }
    }
    return 0;
}

/* lowest_maximal(order): offset of the lowest maximal free block of order, or -1. */
static PyObject *
Trie_lowest_maximal(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int k;
    u128 out;
    if (!nargs_is(nargs, 1, "lowest_maximal"))
        return NULL;
    if (as_small(args[0], 0, t->bits, &k) < 0) {
        PyErr_SetString(PyExc_IndexError, "bad order");
        return NULL;
    }
    Node *root = t->root;
    if (root == NULL)
        return PyLong_FromLong(k == t->bits ? 0 : -1);
    if (k < t->bits && !(root->level == t->bits && root->used == pow2(t->bits)) &&
        lowest_maximal(k, 0, t->bits, root, &out))
        return from_u128(out);
    return PyLong_FromLong(-1);
}

/* fullest_partial(unit, lo, hi): the index of the order-`unit` block in [lo, hi) with the
 * most used addresses among those partly used (ties: the lowest), or None. */
static PyObject *
Trie_fullest_partial(Trie *t, PyObject *const *args, Py_ssize_t nargs)
{
    int unit;
    u128 lo, hi;
    if (!nargs_is(nargs, 3, "fullest_partial"))
        return NULL;
    if (as_small(args[0], 0, t->bits, &unit) < 0 ||
        as_u128(args[1], pow2(t->bits - unit), &lo) < 0 ||
        as_u128(args[2], pow2(t->bits - unit), &hi) < 0 || hi < lo) {
        PyErr_SetString(PyExc_IndexError, "bad range");
        return NULL;
    }
    u128 full = pow2(unit), best_used = 0, best = 0;
    int found = 0;
    Node *stack[2 * MAXDEPTH];
    int sp = 0;
    if (t->root != NULL)
        stack[sp++] = t->root;
    while (sp) {
        Node *n = stack[--sp];
        u128 first = (u128)n->off >> unit;
        u128 last = ((u128)n->off + pow2(n->level) - 1) >> unit;
        if (last < lo || first >= hi)
            continue;
        if (n->level <= unit) {
            /* visited in ascending order: the first of the most used wins */
            if (n->used < full && (!found || n->used > best_used)) {
                found = 1;
                best_used = n->used;
                best = first;
            }
        }
        else if (n->lo != NULL) {
            stack[sp++] = n->hi;
            stack[sp++] = n->lo;
        }
    }
    if (!found)
        Py_RETURN_NONE;
    return from_u128(best);
}

/* ------------------------------------------------------------------- introspection */

static PyObject *
Trie_tracked(Trie *t, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyList_New(t->ntord);
    if (out == NULL)
        return NULL;
    for (int at = 0; at < t->ntord; at++) {
        PyObject *v = PyLong_FromLong(t->tord[at]);
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, at, v);
    }
    return out;
}

/* A node as (level, off, used, tu, lo, hi): tu a list or None, lo/hi None for a leaf. */
static PyObject *
export_node(Trie *t, Node *n)
{
    if (n == NULL)
        Py_RETURN_NONE;
    PyObject *tu, *lo, *hi;
    if (n->tu == NULL) {
        tu = Py_NewRef(Py_None);
    }
    else {
        tu = PyList_New(t->ntord);
        if (tu == NULL)
            return NULL;
        for (int at = 0; at < t->ntord; at++) {
            PyObject *v = PyLong_FromUnsignedLongLong(n->tu[at]);
            if (v == NULL) {
                Py_DECREF(tu);
                return NULL;
            }
            PyList_SET_ITEM(tu, at, v);
        }
    }
    lo = export_node(t, n->lo);
    hi = lo == NULL ? NULL : export_node(t, n->hi);
    PyObject *used = hi == NULL ? NULL : from_u128(n->used);
    PyObject *out = NULL;
    if (used != NULL)
        out = Py_BuildValue("(iKOOOO)", n->level, (unsigned long long)n->off, used, tu, lo, hi);
    Py_XDECREF(used);
    Py_XDECREF(tu);
    Py_XDECREF(lo);
    Py_XDECREF(hi);
    return out;
}

static PyObject *
Trie_export(Trie *t, PyObject *Py_UNUSED(ignored))
{
    return export_node(t, t->root);
}

static Node *
copy_subtree(Trie *dst, Trie *src, Node *n)
{
    Node *c = node_new(dst, n->lo != NULL);
    if (c == NULL)
        return NULL;
    c->level = n->level;
    c->off = n->off;
    c->used = n->used;
    if (c->tu != NULL)
        memcpy(c->tu, n->tu, sizeof(uint64_t) * (size_t)src->ntord);
    if (n->lo != NULL) {
        c->lo = copy_subtree(dst, src, n->lo);
        c->hi = c->lo == NULL ? NULL : copy_subtree(dst, src, n->hi);
        if (c->hi == NULL) {
            if (c->lo != NULL)
                free_subtree(dst, c->lo);
            c->lo = NULL;
            node_free(dst, c);
            return NULL;
        }
    }
    return c;
}

static PyObject *
Trie_copy(Trie *t, PyObject *Py_UNUSED(ignored))
{
    Trie *c = PyObject_New(Trie, &TrieType);
    if (c == NULL)
        return NULL;
    c->bits = t->bits;
    c->ntord = t->ntord;
    memcpy(c->tord, t->tord, sizeof(t->tord));
    memcpy(c->cnt, t->cnt, sizeof(t->cnt));
    c->nodes = c->tracked_nodes = 0;
    c->root = NULL;
    if (t->root != NULL) {
        c->root = copy_subtree(c, t, t->root);
        if (c->root == NULL) {
            Py_DECREF(c);
            return PyErr_NoMemory();
        }
    }
    return (PyObject *)c;
}

static PyObject *
Trie_nbytes(Trie *t, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t total = (Py_ssize_t)sizeof(Trie) + t->nodes * (Py_ssize_t)sizeof(Node) +
                       t->tracked_nodes * t->ntord * (Py_ssize_t)sizeof(uint64_t);
    return PyLong_FromSsize_t(total);
}

static PyObject *
Trie_entry_count(Trie *t, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t(t->nodes);
}

/* ---------------------------------------------------------------------- the object */

static int
Trie_init(Trie *t, PyObject *args, PyObject *kwds)
{
    int bits;
    static char *kwlist[] = {"bits", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "i", kwlist, &bits))
        return -1;
    if (bits < 0 || bits > MAXBITS) {
        PyErr_Format(PyExc_ValueError, "bits must be in 0..%d, not %d", MAXBITS, bits);
        return -1;
    }
    free_subtree(t, t->root);
    t->root = NULL;
    t->bits = bits;
    t->ntord = 0;
    t->nodes = t->tracked_nodes = 0;
    for (int k = 0; k <= MAXBITS; k++)
        t->cnt[k] = k <= bits ? pow2(bits - k) : 0;
    return 0;
}

static void
Trie_dealloc(Trie *t)
{
    free_subtree(t, t->root);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

/* The counters as a read-only sequence: trie[k] is the number of free order-k blocks. */
static Py_ssize_t
Trie_len(Trie *t)
{
    return t->bits + 1;
}

static PyObject *
Trie_item(Trie *t, Py_ssize_t k)
{
    if (k < 0 || k > t->bits) {
        PyErr_SetString(PyExc_IndexError, "order out of range");
        return NULL;
    }
    return from_u128(t->cnt[k]);
}

/* block_count(order): the counter of free order-k blocks, as trie[order] (a METH_O call). */
static PyObject *
Trie_block_count(Trie *t, PyObject *arg)
{
    int k;
    if (as_small(arg, 0, t->bits, &k) < 0) {
        PyErr_SetString(PyExc_IndexError, "order out of range");
        return NULL;
    }
    return from_u128(t->cnt[k]);
}

static PyObject *
Trie_get_bits(Trie *t, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(t->bits);
}

static PySequenceMethods Trie_as_sequence = {
    .sq_length = (lenfunc)Trie_len,
    .sq_item = (ssizeargfunc)Trie_item,
};

static PyGetSetDef Trie_getset[] = {
    {"bits", (getter)Trie_get_bits, NULL, "log2 of the number of addresses", NULL},
    {NULL},
};

#define FAST(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL

static PyMethodDef Trie_methods[] = {
    {"claim", FAST(Trie_claim), "claim(offset, order) -> 0 ok, 1 not free, 2 invalid"},
    {"release", FAST(Trie_release), "release(offset, order) -> 0 ok, 1 not used, 2 invalid"},
    {"try_claim", FAST(Trie_try_claim), "try_claim(offset, order=0) -> True if claimed"},
    {"try_release", FAST(Trie_try_release), "try_release(offset, order=0) -> True if released"},
    {"block_count", (PyCFunction)Trie_block_count, METH_O, "block_count(order): free blocks of order"},
    {"free", FAST(Trie_free), "free(level, index): free addresses under a node"},
    {"blocks", FAST(Trie_blocks), "blocks(order, level, index): free blocks of a tracked order"},
    {"track", FAST(Trie_track), "track(order): maintain the touched counts of order"},
    {"descend_address", FAST(Trie_descend_address), "descend_address(r, level, index)"},
    {"descend_block", FAST(Trie_descend_block), "descend_block(order, r, level, index)"},
    {"take_address", (PyCFunction)Trie_take_address, METH_O, "take_address(r): claim the r-th free address"},
    {"take_block", FAST(Trie_take_block), "take_block(order, r): claim the r-th free block"},
    {"lowest_block", FAST(Trie_lowest_block), "lowest_block(order, wo, wk) -> offset or None"},
    {"lowest_maximal", FAST(Trie_lowest_maximal), "lowest_maximal(order) -> offset or -1"},
    {"fullest_partial", FAST(Trie_fullest_partial), "fullest_partial(unit, lo, hi) -> index or None"},
    {"tracked", (PyCFunction)Trie_tracked, METH_NOARGS, "tracked orders, in the order of tu"},
    {"export", (PyCFunction)Trie_export, METH_NOARGS, "the nodes as nested tuples (for checks)"},
    {"copy", (PyCFunction)Trie_copy, METH_NOARGS, "an independent copy"},
    {"nbytes", (PyCFunction)Trie_nbytes, METH_NOARGS, "bytes held"},
    {"entry_count", (PyCFunction)Trie_entry_count, METH_NOARGS, "stored nodes"},
    {NULL},
};

static PyTypeObject TrieType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ipfrag.core._csparse.Trie",
    .tp_doc = "The sparse count tree of a space of 2**bits addresses (bits <= 64).",
    .tp_basicsize = sizeof(Trie),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Trie_init,
    .tp_dealloc = (destructor)Trie_dealloc,
    .tp_methods = Trie_methods,
    .tp_getset = Trie_getset,
    .tp_as_sequence = &Trie_as_sequence,
};

static struct PyModuleDef csparse_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ipfrag.core._csparse",
    .m_doc = "The compiled sparse count tree of ipfrag's core (optional; see csparse.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__csparse(void)
{
    if (PyType_Ready(&TrieType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&csparse_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&TrieType);
    if (PyModule_AddObject(m, "Trie", (PyObject *)&TrieType) < 0) {
        Py_DECREF(&TrieType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAXBITS", MAXBITS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
