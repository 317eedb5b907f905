"""The sparse backend: the count tree, path-compressed, stored only where something is used.

For huge spaces (an IPv6 /64 has 2**64 addresses, carved into /80 prefixes of
2**48) a dense array is impossible. This backend stores the buddy tree as a
path-compressed binary trie (a PATRICIA tree) over the claimed blocks: the leaves
are the claimed blocks, and the only inner nodes stored are the *branching* ones,
where used space lies on both sides. Every stored node knows how many of its
addresses are used, so the free count of any node of the full tree is one walk
down the stored nodes; a chain of 50 single-child levels costs nothing. Memory is
two small objects per claimed block whatever the space's size, and an update walks
the branching nodes on one path (O(log n) for n scattered claims, at most O(bits)).

The per-order counters of free blocks are packed in one big integer, one field per
order, so the O(bits) counters an update changes ("every order from 0 to the
largest block that stopped being free") change in one integer subtraction.

Why not an interval tree: ``intervaltree`` (and a sorted list of intervals)
answer "is this range free" in O(log n), but "how many free aligned /80s are
left" needs a scan of every gap, and a uniform random free /80 needs the counts
per subtree that a buddy tree keeps anyway. See the README's performance section
for the measured comparison.

Two implementations keep this trie: the pure-Python one (:class:`PySparseSpace`, any size,
the fallback and the test oracle) and ``CSparseSpace`` (``ipfrag/core/csparse.py``, the
same trie in a C extension built at install time when a C compiler is there, for spaces
of up to 2**64 addresses: every IPv6 /64). ``SparseSpace(bits)`` builds the compiled one
when it was built, ``bits <= 64`` and ``IPFRAG_PURE`` is not set in the environment, else
the pure one; :data:`SPARSE_IMPLEMENTATION` says which (``"c"`` or ``"python"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from typing import Literal

from ipfrag.core.base import AddressSpace
from ipfrag.errors import AddressInUse, NotAllocated

__all__ = ["MAX_COMPILED_SPARSE_BITS", "SPARSE_IMPLEMENTATION", "PySparseSpace", "SparseSpace"]

MAX_COMPILED_SPARSE_BITS = 64
"""Largest space the compiled sparse trie holds (2**64 addresses: an IPv6 /64)."""


class _Node:
    """A stored node of the trie: a claimed block (leaf) or a branching node.

    A leaf has ``lo is hi is None`` and ``used == 2**level``. A branch has one stored
    subtree in each half (``lo`` below ``off + 2**(level-1)``, ``hi`` above) and
    ``tu[t]``: touched (not fully free) blocks of the t-th tracked order under it.
    """

    __slots__ = ("hi", "level", "lo", "off", "tu", "used")

    def __init__(
        self, level: int, off: int, used: int, lo: _Node | None = None, hi: _Node | None = None
    ) -> None:
        self.level = level
        self.off = off
        self.used = used
        self.lo = lo
        self.hi = hi
        self.tu: list[int] | None = None


@cache
def _layout(bits: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Field positions and masks of the packed counters of a space of 2**bits.

    Field k holds cnt[k] <= 2**(bits - k) in bits - k + 1 bits. Returns (pos, mask,
    ones, geo): ``ones[t]`` is 1 in fields 0..t; ``geo[m]`` is 2**(m - L) in every field
    L < m (what claiming an order-m block takes from the orders below it).
    """
    pos, mask = [], []
    p = 0
    for k in range(bits + 1):
        pos.append(p)
        mask.append((1 << (bits - k + 1)) - 1)
        p += bits - k + 1
    ones, geo = [], []
    acc = 0
    for k in range(bits + 1):
        acc += 1 << pos[k]
        ones.append(acc)
        geo.append(sum((1 << (k - L)) << pos[L] for L in range(k)))
    return tuple(pos), tuple(mask), tuple(ones), tuple(geo)


class _Counters:
    """cnt[k], the fully free blocks of order k, read out of one packed integer."""

    __slots__ = ("_mask", "_pos", "value")

    def __init__(self, bits: int) -> None:
        self._pos, self._mask, _, _ = _layout(bits)
        self.value = sum((1 << (bits - k)) << p for k, p in enumerate(self._pos))

    def __getitem__(self, k: int) -> int:
        return (self.value >> self._pos[k]) & self._mask[k]

    def __len__(self) -> int:
        return len(self._pos)


def _touched(node: _Node, at: int, j: int) -> int:
    """Order-``j`` blocks touched by ``node``'s subtree, inside a half of level >= j."""
    if node.level <= j:
        return 1
    if node.lo is None:
        return 1 << (node.level - j)
    assert node.tu is not None
    return node.tu[at]


class SparseSpace(AddressSpace):
    """Sparse address space of ``2**bits`` addresses (``bits <= 128``).

    Memory grows with the number of claimed blocks, not with the space: two small
    objects per claimed block. Updates and picks walk the branching nodes of one
    path, O(log n) for n scattered claims (O(bits) at most); counters are O(1).

    ``SparseSpace(bits)`` builds the implementation in use (the module says which):
    ``CSparseSpace`` (compiled, ``bits <= 64``) or :class:`PySparseSpace` (pure Python);
    both are ``SparseSpace`` instances and give the same answers and, for the same random
    draws, the same picks.

    >>> sp = SparseSpace(64)
    >>> sp.claim(0, 48)
    >>> sp.free_block_count(48), sp.pick_block(48, "lowest") == 2**48
    (65535, True)
    >>> isinstance(sp, SparseSpace), type(SparseSpace(128)).__name__
    (True, 'PySparseSpace')
    """

    __slots__ = ("_counters", "_geo", "_ones", "_root", "_tord")

    def __new__(cls, bits: int = 0) -> SparseSpace:
        # (bits has a default so that pickle and copy, which call cls.__new__(cls), work.)
        if cls is SparseSpace:
            small = isinstance(bits, int) and bits <= MAX_COMPILED_SPARSE_BITS
            cls = _COMPILED if _COMPILED is not None and small else PySparseSpace
        return object.__new__(cls)

    def __init__(self, bits: int) -> None:
        super().__init__(bits)
        self._root: _Node | None = None
        self._counters = _Counters(bits)
        self._cnt = self._counters  # type: ignore[assignment]
        _, _, self._ones, self._geo = _layout(bits)
        # The tracked orders in the order their counts sit in every branch's ``tu``.
        self._tord: list[int] = []

    # -------------------------------------------------------------- the trie
    def _walk(self, offset: int, order: int) -> tuple[list[_Node], _Node | None]:
        """The stored branches strictly containing block (offset, order), top down, and the
        node met below them: a leaf containing the block, or the next node (or None)."""
        path: list[_Node] = []
        n = self._root
        while n is not None and n.level > order and offset >> n.level == n.off >> n.level:
            if n.lo is None:
                return path, n  # a claimed block holds it
            path.append(n)
            n = n.hi if (offset >> (n.level - 1)) & 1 else n.lo
        return path, n

    def _top_within(self, offset: int, order: int) -> _Node | None:
        """The topmost stored node inside block (offset, order), or a claimed block holding
        it (level above ``order``), or None when the block is entirely free."""
        _, n = self._walk(offset, order)
        if n is None:
            return None
        if n.level > order:
            return n if offset >> n.level == n.off >> n.level else None
        return n if n.off >> order == offset >> order else None

    def _top_free(self, offset: int, order: int, below: _Node | None) -> int:
        """Highest level whose node holding the free block (offset, order) is entirely free,
        given ``below``, the node a walk met next to it (not inside it)."""
        if below is None:
            return self._bits
        return (below.off ^ offset).bit_length() - 1

    def _update_counts(
        self, path: list[_Node], offset: int, order: int, top: int, sign: int
    ) -> None:
        """Used counts, counters and tracked counts above a block that became used (+1)
        or free (-1); ``top`` as :meth:`_top_free` (the block is free on one side)."""
        amount = sign << order
        for n in path:
            n.used += amount
        mask = self._geo[order] + self._ones[top] - (self._ones[order - 1] if order else 0)
        if sign > 0:
            self._counters.value -= mask
        else:
            self._counters.value += mask
        self._update_tracked(path, order, top, sign)

    def _branch(self, a: _Node, b: _Node) -> _Node:
        """The branching node over two disjoint subtrees (neither holds the other)."""
        level = (a.off ^ b.off).bit_length()
        lo, hi = (a, b) if a.off < b.off else (b, a)
        node = _Node(level, (a.off >> level) << level, a.used + b.used, lo, hi)
        if self._tord:
            node.tu = [
                _touched(lo, t, j) + _touched(hi, t, j) if level > j else 0
                for t, j in enumerate(self._tord)
            ]
        return node

    def _replace(self, path: list[_Node], old: _Node, new: _Node | None) -> None:
        """Put ``new`` where ``old`` hangs (the last node of ``path`` is its parent)."""
        if not path:
            self._root = new
            return
        parent = path[-1]
        if parent.lo is old:
            parent.lo = new
        else:
            parent.hi = new

    # ------------------------------------------------------------ primitives
    def _node_free(self, level: int, index: int) -> int:
        offset = index << level
        n = self._root
        while n is not None:
            if n.level > level:
                if offset >> n.level != n.off >> n.level:
                    break  # elsewhere: the node is entirely free
                if n.lo is None:
                    return 0  # inside a claimed block
                n = n.hi if (offset >> (n.level - 1)) & 1 else n.lo
            else:
                if n.off >> level == index:
                    return (1 << level) - n.used
                break
        return 1 << level

    _child_free = _node_free

    def _child_blocks_free(self, order: int, level: int, index: int) -> int:
        t = self._tord.index(order)
        offset = index << level
        n = self._root
        while n is not None:
            if n.level > level:
                if offset >> n.level != n.off >> n.level:
                    break
                if n.lo is None:
                    return 0
                n = n.hi if (offset >> (n.level - 1)) & 1 else n.lo
            else:
                if n.off >> level == index:
                    return (1 << (level - order)) - _touched(n, t, order)
                break
        return 1 << (level - order)

    def _build_tracking(self, order: int) -> None:
        t = len(self._tord)
        self._tord.append(order)
        # Post-order over the branches: children before parents.
        stack: list[tuple[_Node, bool]] = [] if self._root is None else [(self._root, False)]
        while stack:
            n, done = stack.pop()
            if n.lo is None or n.hi is None:
                continue
            if not done:
                stack.append((n, True))
                stack.append((n.lo, False))
                stack.append((n.hi, False))
                continue
            if n.tu is None:
                n.tu = [0] * t
            n.tu.append(
                _touched(n.lo, t, order) + _touched(n.hi, t, order) if n.level > order else 0
            )

    def _claim(self, offset: int, order: int) -> None:
        path, n = self._walk(offset, order)
        top = self._top_free(offset, order, n)
        leaf = _Node(order, offset, 1 << order)
        self._update_counts(path, offset, order, top, 1)
        if n is None:
            self._root = leaf  # an empty space (a branch always has two children)
        else:
            self._replace(path, n, self._branch(n, leaf))

    # ------------------------------------------------- the update hot paths
    def claim(self, offset: int, order: int = 0) -> None:
        """Mark the aligned block ``(offset, order)`` used; all or nothing. O(depth).

        One walk down the stored nodes both checks the block is free and adds it to the
        used counts on the way (undone if it is not free).

        >>> sp = SparseSpace(64); sp.claim(2**63); sp.claim(0, 48); sp.free_block_count(48)
        65534
        """
        self._check_block(offset, order)
        if not self.try_claim(offset, order):
            raise AddressInUse(f"block ({offset}, {order}) is not entirely free")

    def try_claim(self, offset: int, order: int = 0) -> bool:
        """Claim the block if it is entirely free (unchecked; see the base class). O(depth).

        >>> sp = SparseSpace(64); sp.try_claim(0, 48), sp.try_claim(5)
        (True, False)
        """
        amount = 1 << order
        tord = self._tord
        path: list[_Node] = []
        parent: _Node | None = None
        n = self._root
        while n is not None:
            lv = n.level
            if lv <= order:
                if n.off >> order == offset >> order:
                    self._undo(path, parent, amount)
                    return False
                break
            if (offset ^ n.off) >> lv:
                break  # n lies elsewhere
            if n.lo is None:
                self._undo(path, parent, amount)
                return False
            n.used += amount
            if tord:
                path.append(n)
            parent = n
            n = n.hi if offset >> (lv - 1) & 1 else n.lo
        leaf = _Node(order, offset, amount)
        if n is None:
            self._root = leaf
            top = self._bits
        else:
            top = (n.off ^ offset).bit_length() - 1
            branch = self._branch(n, leaf)
            if parent is None:
                self._root = branch
            elif parent.lo is n:
                parent.lo = branch
            else:
                parent.hi = branch
        ones = self._ones
        if order:
            self._counters.value -= self._geo[order] + ones[top] - ones[order - 1]
        else:
            self._counters.value -= ones[top]
        if tord:
            self._update_tracked(path, order, top, 1)
        return True

    def release(self, offset: int, order: int = 0) -> None:
        """Mark the aligned block ``(offset, order)`` free again; all or nothing. O(depth).

        >>> sp = SparseSpace(64); sp.claim(0, 48); sp.release(0, 48); sp.free_count == 2**64
        True
        """
        self._check_block(offset, order)
        if not self.try_release(offset, order):
            raise NotAllocated(f"block ({offset}, {order}) is not entirely used")

    def try_release(self, offset: int, order: int = 0) -> bool:
        """Release the block if it is entirely used (unchecked; see the base class). O(depth).

        >>> sp = SparseSpace(64); sp.claim(0, 48); sp.try_release(0, 47), sp.try_release(0, 48)
        (True, False)
        """
        amount = 1 << order
        tord = self._tord
        path: list[_Node] = []
        parent: _Node | None = None
        grand: _Node | None = None
        n = self._root
        while n is not None:
            lv = n.level
            if lv <= order or (offset ^ n.off) >> lv:
                break
            if n.lo is None:
                break  # a claimed block holds it: split (the general path)
            n.used -= amount
            path.append(n)
            grand, parent = parent, n
            n = n.hi if offset >> (lv - 1) & 1 else n.lo
        if n is None or n.level != order or n.off != offset or n.used != amount:
            self._undo(path, parent, -amount)
            if self._node_free(order, offset >> order) != 0:
                return False
            self._release(offset, order)
            return True
        if parent is None:
            self._root = None
            top = self._bits
        else:
            other = parent.hi if parent.lo is n else parent.lo
            if grand is None:
                self._root = other
            elif grand.lo is parent:
                grand.lo = other
            else:
                grand.hi = other
            top = parent.level - 1
            path.pop()
        ones = self._ones
        if order:
            self._counters.value += self._geo[order] + ones[top] - ones[order - 1]
        else:
            self._counters.value += ones[top]
        if tord:
            self._update_tracked(path, order, top, -1)
        return True

    def _undo(self, path: list[_Node], last: _Node | None, amount: int) -> None:
        """Take ``amount`` back from the used counts a failed walk added, root to ``last``."""
        if last is None:
            return
        n = self._root
        while n is not None:
            n.used -= amount
            if n is last:
                return
            n = n.hi if last.off >> (n.level - 1) & 1 else n.lo

    def _update_tracked(self, path: list[_Node], order: int, top: int, sign: int) -> None:
        """The tracked counts of the branches above a block that became used (+1) or free."""
        for t, j in enumerate(self._tord):
            if j <= order:
                d = sign << (order - j)
            elif j <= top:
                d = sign
            else:
                continue
            for n in path:
                if n.level > j:
                    assert n.tu is not None
                    n.tu[t] += d

    def _release(self, offset: int, order: int) -> None:
        path, n = self._walk(offset, order)
        assert n is not None
        if n.lo is None and n.level > order:
            # Inside a larger claimed block: split it into the block and its buddies.
            whole = n
            node = _Node(order, offset, 1 << order)
            for level in range(order, whole.level):
                buddy = _Node(level, (offset >> level ^ 1) << level, 1 << level)
                node = self._branch(node, buddy)
            self._replace(path, whole, node)
            path, n = self._walk(offset, order)
            assert n is not None
        # n is the block itself (a leaf or a branch over used space); unhook it.
        if path:
            parent = path.pop()
            other = parent.hi if parent.lo is n else parent.lo
            self._replace(path, parent, other)
            top = self._top_free(offset, order, other)
        else:
            self._root = None
            top = self._bits
        self._update_counts(path, offset, order, top, -1)

    def _lowest_address(self, level: int, index: int, free: int) -> int:
        return self._descend_address(0, level, index, free)

    def _lowest_block(self, order: int, wo: int, wk: int) -> int | None:
        n = self._top_within(wo, wk)
        if n is not None and n.level > wk:
            return None  # inside a claimed block
        return _first_free_block(order, wo, 1 << wk, n)

    def _descend_address(self, r: int, level: int, index: int, free: int) -> int:
        # The r-th free address under node (level, index): walk the stored subtree,
        # counting the free gaps before each stored node.
        start = index << level
        n = self._top_within(start, level)
        if n is not None and n.level > level:  # pragma: no cover
            raise AssertionError("descent into a used block")
        while n is not None:
            gap = n.off - start
            if r < gap:
                break
            r -= gap
            cfree = (1 << n.level) - n.used
            if r >= cfree:
                start = n.off + (1 << n.level)
                r -= cfree
                break
            assert n.lo is not None and n.hi is not None
            half = 1 << (n.level - 1)
            lofree = half - n.lo.used
            if r < lofree:
                start, n = n.off, n.lo
            else:
                r -= lofree
                start, n = n.off + half, n.hi
        return start + r

    def _descend_block(self, order: int, r: int, level: int, index: int) -> int:
        """The r-th free order-``order`` block under a node (r < its count). O(depth)."""
        t = self._tord.index(order) if order in self._tracked else -1
        start = index << level
        n = self._top_within(start, level)
        if n is not None and n.level > level:  # pragma: no cover
            raise AssertionError("descent into a used block")
        while n is not None:
            before = (n.off >> order) - (start >> order)
            if r < before:
                break
            r -= before
            if n.level <= order or n.lo is None:
                # The node lies in (or fills) whole order blocks: skip them.
                start = (((n.off + (1 << n.level) - 1) >> order) + 1) << order
                break
            cfree = (1 << (n.level - order)) - _touched(n, t, order)
            if r >= cfree:
                r -= cfree
                start = n.off + (1 << n.level)
                break
            assert n.hi is not None and t >= 0
            half = 1 << (n.level - 1)
            lofree = (half >> order) - _touched(n.lo, t, order)
            if r < lofree:
                start, n = n.off, n.lo
            else:
                r -= lofree
                start, n = n.off + half, n.hi
        return start + (r << order)

    def _fullest_partial(self, unit: int, lo: int, hi: int) -> int | None:
        full = 1 << unit
        best: tuple[int, int] | None = None
        for i, used in self._unit_usage(unit, lo, hi):
            if used < full and (best is None or (-used, i) < best):
                best = (-used, i)
        return None if best is None else best[1]

    def _unit_usage(self, unit: int, lo: int, hi: int) -> Iterator[tuple[int, int]]:
        """(index, used) of every order-``unit`` block in [lo, hi) holding used space."""
        stack = [] if self._root is None else [self._root]
        while stack:
            n = stack.pop()
            first, last = n.off >> unit, (n.off + (1 << n.level) - 1) >> unit
            if last < lo or first >= hi:
                continue
            if n.level <= unit:
                yield first, n.used
            elif n.lo is not None:  # (a claimed block above the unit fills its blocks)
                assert n.hi is not None
                stack.append(n.hi)
                stack.append(n.lo)

    # ------------------------------------------------------------------ misc
    def copy(self) -> SparseSpace:
        """An independent copy. O(stored nodes).

        >>> a = SparseSpace(64); b = a.copy(); b.claim(5)
        >>> a.free_count - b.free_count
        1
        """
        new = object.__new__(PySparseSpace)
        new._bits = self._bits
        new._counters = _Counters(self._bits)
        new._counters.value = self._counters.value
        new._cnt = new._counters  # type: ignore[assignment]
        new._tracked = set(self._tracked)
        new._ones, new._geo = self._ones, self._geo
        new._tord = list(self._tord)
        new._root = _copy_tree(self._root)
        return new

    def entry_count(self) -> int:
        """Stored trie nodes: claimed blocks plus branching nodes. O(stored nodes).

        >>> sp = SparseSpace(64); sp.claim(0, 48); sp.claim(2**63); sp.entry_count()
        3
        """
        return sum(1 for _ in _nodes(self._root))

    def _check(self) -> None:
        """Assert every invariant. O(stored nodes * bits).

        >>> sp = SparseSpace(64); sp.claim(2**48, 48); sp.claim(7); sp.track(48); sp._check()
        """
        bits = self._bits
        assert set(self._tord) == self._tracked and len(self._tord) == len(self._tracked)
        for n in _nodes(self._root):
            assert 0 <= n.level <= bits and n.off % (1 << n.level) == 0
            assert 0 <= n.off < 1 << bits
            if n.lo is None:
                assert n.hi is None and n.used == 1 << n.level and n.tu is None
                continue
            lo, hi = n.lo, n.hi
            assert hi is not None
            half = n.off + (1 << (n.level - 1))
            # Branching: one stored subtree strictly inside each half.
            assert lo.level < n.level and hi.level < n.level
            assert n.off <= lo.off and lo.off + (1 << lo.level) <= half, (n.level, n.off)
            assert half <= hi.off and hi.off + (1 << hi.level) <= n.off + (1 << n.level)
            assert n.used == lo.used + hi.used
            for t, j in enumerate(self._tord):
                assert n.tu is not None and len(n.tu) == len(self._tord)
                if n.level > j:
                    assert n.tu[t] == _touched(lo, t, j) + _touched(hi, t, j), (n.off, j)
            if not self._tord:
                assert n.tu is None
        self._check_counters()


def _first_free_block(order: int, start: int, size: int, n: _Node | None) -> int | None:
    """The lowest free order-``order`` block in [start, start + size), a range aligned on
    at least 2**order that holds the subtree ``n`` (or nothing). O(nodes visited)."""
    if n is None or (n.off >> order) > (start >> order):
        return start
    if n.level > order and n.lo is not None and n.hi is not None:
        half = 1 << (n.level - 1)
        found = _first_free_block(order, n.off, half, n.lo)
        if found is None:
            found = _first_free_block(order, n.off + half, half, n.hi)
        if found is not None:
            return found
    after = (((n.off + (1 << n.level) - 1) >> order) + 1) << order
    return after if after < start + size else None


def _nodes(root: _Node | None) -> Iterator[_Node]:
    stack = [] if root is None else [root]
    while stack:
        n = stack.pop()
        yield n
        if n.lo is not None and n.hi is not None:
            stack.append(n.hi)
            stack.append(n.lo)


def _copy_tree(root: _Node | None) -> _Node | None:
    if root is None:
        return None
    new_root = _Node(root.level, root.off, root.used)
    stack = [(root, new_root)]
    while stack:
        n, c = stack.pop()
        c.tu = None if n.tu is None else list(n.tu)
        if n.lo is not None and n.hi is not None:
            c.lo = _Node(n.lo.level, n.lo.off, n.lo.used)
            c.hi = _Node(n.hi.level, n.hi.off, n.hi.used)
            stack.append((n.lo, c.lo))
            stack.append((n.hi, c.hi))
    return new_root


class PySparseSpace(SparseSpace):
    """The pure-Python sparse space: :class:`SparseSpace`'s trie of Python objects, any size.

    The fallback when the compiled trie is not built (or ``IPFRAG_PURE=1``), the only one
    above 2**64 addresses, and the compiled one's test oracle.

    >>> sp = PySparseSpace(64); sp.claim(2**63); sp.free_count == 2**64 - 1
    True
    """

    __slots__ = ()


def _select() -> tuple[type[SparseSpace] | None, Literal["c", "python"]]:
    """The compiled sparse space when it was built and IPFRAG_PURE is not set, else None."""
    if os.environ.get("IPFRAG_PURE", "").strip() not in ("", "0"):
        return None, "python"
    try:
        from ipfrag.core import _csparse  # noqa: F401
    except ImportError:
        return None, "python"
    from ipfrag.core.csparse import CSparseSpace

    return CSparseSpace, "c"


_COMPILED, SPARSE_IMPLEMENTATION = _select()
"""Which implementation ``SparseSpace(bits)`` builds for ``bits <= 64``: ``"c"`` or
``"python"`` (bigger spaces are always pure Python)."""
