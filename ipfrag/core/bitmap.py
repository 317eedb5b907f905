"""The dense backend: one count array per tree level.

Level ``L`` holds, for every aligned block of ``2**L`` addresses, how many of its
addresses are free; level 0 is the bitmap itself. Levels whose counts fit a byte
are ``bytearray`` (so "first free address" and "first free /28" are C-speed
``find`` calls), the short upper levels plain lists. A /16 needs about 150 KB.

Why this shape: an update walks one path (bits+1 array cells), every count query
is a counter read, and the flat arrays make scans and copies run in C. A pointer
tree or a sorted interval list pays Python object overhead per node instead.
"""

from __future__ import annotations

import abc
import operator
import os
from array import array
from collections.abc import Mapping, MutableSequence, Sequence
from typing import Literal

from ipfrag.core.base import AddressSpace
from ipfrag.errors import InvalidArgument

__all__ = ["IMPLEMENTATION", "MAX_BITMAP_BITS", "BitmapSpace", "PyBitmapSpace"]

MAX_BITMAP_BITS = 24
"""Largest space the dense backend accepts: 2**24 addresses (a /8 of IPv4)."""

_Level = MutableSequence[int]


def _level_of(level: int, value: int, n: int) -> _Level:
    # Counts up to 128 fit a byte; the upper levels are short (a /16 has 511 cells
    # above level 7), so plain lists, the fastest to index, cost no memory there.
    if level < 8:
        return bytearray(bytes((value,)) * n)
    return [value] * n


def _count_level(value: int, n: int) -> array:  # type: ignore[type-arg]
    return array("I", (value,)) * n


class BitmapSpace(AddressSpace):
    """Dense address space of ``2**bits`` addresses (``bits <= 24``).

    Two implementations keep the same count tree: :class:`PyBitmapSpace` (pure Python,
    the fallback and the test oracle) and ``CBitmapSpace`` (a compiled extension built
    at install time when a C compiler is there). ``BitmapSpace(bits)`` builds the one
    in use, :data:`IMPLEMENTATION`; the environment variable ``IPFRAG_PURE=1`` forces the
    pure one. Both give the same answers and, for the same random draws, the same picks.

    Memory: about ``2**bits * 2`` bytes. Updates of one address and every counter
    query are O(bits); claiming a block of order k writes O(2**k) cells more.

    >>> sp = BitmapSpace(16)
    >>> sp.claim(1000)
    >>> sp.free_block_count(4), sp.pick_block(4, "lowest")
    (4095, 0)
    >>> isinstance(sp, BitmapSpace)
    True
    """

    __slots__ = ()

    def __new__(cls, bits: int) -> BitmapSpace:
        if cls is BitmapSpace:
            cls = _DEFAULT
        return object.__new__(cls)

    def __init__(self, bits: int) -> None:
        super().__init__(bits)
        if bits > MAX_BITMAP_BITS:
            raise InvalidArgument(
                f"the bitmap backend holds at most 2**{MAX_BITMAP_BITS} addresses; "
                f"use the sparse backend for 2**{bits}"
            )

    @abc.abstractmethod
    def memory_bytes(self) -> int:
        """Bytes held by the count tree (an estimate of the state's size). O(bits).

        >>> BitmapSpace(16).memory_bytes() < 400_000
        True
        """


class PyBitmapSpace(BitmapSpace):
    """The pure-Python dense backend: one count array per tree level.

    >>> sp = PyBitmapSpace(16)
    >>> sp.claim(1000)
    >>> sp.free_block_count(4), sp.pick_block(4, "lowest")
    (4095, 0)
    """

    __slots__ = ("_lv", "_tt")

    def __init__(self, bits: int) -> None:
        super().__init__(bits)
        self._lv: list[_Level] = [_level_of(L, 1 << L, 1 << (bits - L)) for L in range(bits + 1)]
        # _tt[j][L - j - 1][i]: fully free order-j blocks under node (L, i), for L > j.
        self._tt: dict[int, list[array]] = {}  # type: ignore[type-arg]

    # ------------------------------------------------------------ primitives
    def _node_free(self, level: int, index: int) -> int:
        return int(self._lv[level][index])

    def _child_free(self, level: int, index: int) -> int:
        return int(self._lv[level][index])

    def _child_blocks_free(self, order: int, level: int, index: int) -> int:
        return int(self._tt[order][level - order - 1][index])

    def _build_tracking(self, order: int) -> None:
        full = 1 << order
        below = self._lv[order]
        tree: list[array] = []  # type: ignore[type-arg]
        for L in range(order + 1, self._bits + 1):
            level = array("I", bytes(4 << (self._bits - L)))
            if order + 1 == L:
                for i in range(len(level)):
                    level[i] = (below[2 * i] == full) + (below[2 * i + 1] == full)
            else:
                prev = tree[-1]
                for i in range(len(level)):
                    level[i] = prev[2 * i] + prev[2 * i + 1]
            tree.append(level)
        self._tt[order] = tree

    def _claim(self, offset: int, order: int) -> None:
        if order == 0:
            self._claim_address(offset)
            return
        self._update_block(offset, order, -1)

    def _release(self, offset: int, order: int) -> None:
        if order == 0:
            self._release_address(offset)
            return
        self._update_block(offset, order, 1)

    def _update_block(self, offset: int, order: int, sign: int) -> None:
        """Claim (sign -1) or release (+1) a block of order > 0, validated and entirely free
        (claim) or used (release). Levels below the order are rewritten whole, the path
        above it counts; the levels where the block's node was (becomes) entirely free
        move the counters and the tracked trees."""
        lv = self._lv
        cnt = self._cnt
        claim = sign < 0
        for L in range(order):
            n = 1 << (order - L)
            s = offset >> L
            lv[L][s : s + n] = _level_of(L, 0 if claim else 1 << L, n)
            cnt[L] += sign * n
        amount = sign << order
        top = order  # the block's own node is entirely free before a claim, after a release
        cnt[order] += sign
        i = offset >> order
        lv[order][i] += amount
        L = order + 1
        i >>= 1
        for arr in lv[L:]:
            c = arr[i]
            arr[i] = c + amount
            if (c if claim else c + amount) != 1 << L:
                L += 1
                break
            cnt[L] += sign
            top = L
            L += 1
            i >>= 1
        else:
            L += 1
        for arr in lv[L:]:
            i >>= 1
            arr[i] += amount
        for j, tree in self._tt.items():
            if j <= order:
                for level in range(j + 1, order + 1):
                    n = 1 << (order - level)
                    s = offset >> level
                    tree[level - j - 1][s : s + n] = _count_level(
                        0 if claim else 1 << (level - j), n
                    )
                d = sign << (order - j)
                start = max(order + 1, j + 1)
            elif j <= top:
                d = sign
                start = j + 1
            else:
                continue
            h = offset >> start
            for counts in tree[start - j - 1 :]:
                counts[h] += d
                h >>= 1

    def _claim_bulk(self, blocks: list[tuple[int, int]]) -> None:
        # A large batch: write the bitmap, then rebuild every level, counter and tracked
        # tree from it in C-speed passes, O(2**bits); a small one: claim one by one.
        if len(blocks) * (self._bits + 1) * 8 < 1 << self._bits:
            super()._claim_bulk(blocks)
            return
        bits = self._bits
        lv = self._lv
        bitmap = lv[0]
        for o, k in blocks:
            bitmap[o : o + (1 << k)] = bytes(1 << k)
        for L in range(1, bits + 1):
            below = lv[L - 1]
            pairs = map(operator.add, below[0::2], below[1::2])
            lv[L] = bytearray(pairs) if L < 8 else list(pairs)
        for L in range(bits + 1):
            self._cnt[L] = lv[L].count(1 << L)
        for j in list(self._tt):
            self._build_tracking(j)

    def _claim_address(self, offset: int) -> None:
        """The hot path: one address. Levels 0..L-1 flip from entirely free, the rest count."""
        lv = self._lv
        cnt = self._cnt
        i = offset
        L = 0
        for arr in lv:
            c = arr[i]
            arr[i] = c - 1
            if c != 1 << L:
                break
            cnt[L] -= 1
            L += 1
            i >>= 1
        for arr in lv[L + 1 :]:
            i >>= 1
            arr[i] -= 1
        for j, tree in self._tt.items():
            if j < L:
                h = offset >> (j + 1)
                for level in tree:
                    level[h] -= 1
                    h >>= 1

    def _release_address(self, offset: int) -> None:
        lv = self._lv
        cnt = self._cnt
        i = offset
        L = 0
        for arr in lv:
            c = arr[i] + 1
            arr[i] = c
            if c != 1 << L:
                break
            cnt[L] += 1
            L += 1
            i >>= 1
        for arr in lv[L + 1 :]:
            i >>= 1
            arr[i] += 1
        for j, tree in self._tt.items():
            if j < L:
                h = offset >> (j + 1)
                for level in tree:
                    level[h] += 1
                    h >>= 1

    def _fullest_partial(self, unit: int, lo: int, hi: int) -> int | None:
        arr = self._lv[unit]
        full = 1 << unit
        if isinstance(arr, bytearray):
            for c in range(1, full):
                i = arr.find(c, lo, hi)
                if i >= 0:
                    return i
            return None
        best: tuple[int, int] | None = None
        for i in range(lo, hi):
            v = arr[i]
            if 0 < v < full and (best is None or v < best[0]):
                best = (v, i)
        return None if best is None else best[1]

    def _descend_address(self, r: int, level: int, index: int, free: int) -> int:
        # The base class's descent with the array reads inlined (the random-IP hot path).
        lv = self._lv
        while free != 1 << level:
            level -= 1
            index *= 2
            left = lv[level][index]
            if r < left:
                free = left
            else:
                r -= left
                index += 1
                free = lv[level][index]
        return (index << level) + r

    def _descend_block(self, order: int, r: int, level: int, index: int) -> int:
        # The base class's descent with the child counts inlined (the random-/28 hot path).
        lv = self._lv
        tt = self._tt.get(order)
        full = lv[level][index] == 1 << level
        while not full:
            level -= 1
            index *= 2
            f = lv[level][index]
            if f == 1 << level:
                left = 1 << (level - order)
            elif f == 0 or level == order:
                left = 0
            else:
                assert tt is not None
                left = tt[level - order - 1][index]
            if r >= left:
                r -= left
                index += 1
                full = lv[level][index] == 1 << level
            else:
                full = f == 1 << level
        return (index << level) + (r << order)

    # C-speed scans for the "lowest" policy.
    def _lowest_address(self, level: int, index: int, free: int) -> int:
        lo = index << level
        bitmap = self._lv[0]
        assert isinstance(bitmap, bytearray)
        return bitmap.find(1, lo, lo + (1 << level))

    def _lowest_block(self, order: int, wo: int, wk: int) -> int | None:
        arr = self._lv[order]
        lo = wo >> order
        hi = lo + (1 << (wk - order))
        full = 1 << order
        if isinstance(arr, bytearray):
            i = arr.find(full, lo, hi)
            return None if i < 0 else i << order
        try:
            return arr.index(full, lo, hi) << order
        except ValueError:
            return None

    def _lowest_maximal(self, order: int) -> int:
        # C-speed scan for an entirely free block whose buddy pair is not entirely free.
        arr = self._lv[order]
        full = 1 << order
        parent = self._lv[order + 1] if order < self._bits else None
        pos = 0
        while True:
            if isinstance(arr, bytearray):
                i = arr.find(full, pos)
            else:
                try:
                    i = arr.index(full, pos)
                except ValueError:
                    i = -1
            if i < 0:  # pragma: no cover - the histogram promised one
                raise AssertionError("the histogram promised a maximal block")
            if parent is None or parent[i >> 1] != 2 * full:
                return i << order
            pos = (i | 1) + 1

    # ------------------------------------------------------------------ misc
    def copy(self) -> PyBitmapSpace:
        """An independent copy. O(2**bits) bytes copied in C.

        >>> a = PyBitmapSpace(8); b = a.copy(); b.claim(3)
        >>> a.free_count, b.free_count
        (256, 255)
        """
        new = object.__new__(PyBitmapSpace)
        new._bits = self._bits
        new._cnt = list(self._cnt)
        new._tracked = set(self._tracked)
        new._lv = [a[:] for a in self._lv]
        new._tt = {j: [a[:] for a in t] for j, t in self._tt.items()}
        return new

    def memory_bytes(self) -> int:
        """Bytes held by the arrays (an estimate of the state's size). O(bits).

        >>> PyBitmapSpace(16).memory_bytes() < 400_000
        True
        """
        total = 0
        for a in self._lv:
            total += len(a) * (1 if isinstance(a, bytearray) else 8)
        for t in self._tt.values():
            total += sum(len(a) * a.itemsize for a in t)
        return total

    def _check(self) -> None:
        """Assert every invariant. O(2**bits).

        >>> sp = PyBitmapSpace(6); sp.claim(8, 3); sp.track(2); sp._check()
        """
        _check_dense(
            self,
            self._lv,
            {j: {j + 1 + h: a for h, a in enumerate(t)} for j, t in self._tt.items()},
        )


def _check_dense(
    space: BitmapSpace,
    lv: Sequence[Sequence[int]],
    tt: Mapping[int, Mapping[int, Sequence[int]]],
) -> None:
    """The dense invariants, shared by both implementations: every level sums its children,
    the counters count the full nodes, ``tt[j][L]`` counts the free order-``j`` blocks."""
    bits = space.bits
    assert len(lv) == bits + 1
    assert all(v in (0, 1) for v in lv[0])
    for L in range(1, bits + 1):
        assert len(lv[L]) == 1 << (bits - L)
        below = lv[L - 1]
        for i, v in enumerate(lv[L]):
            assert v == below[2 * i] + below[2 * i + 1], (L, i)
    for L in range(bits + 1):
        assert space.free_block_count(L) == sum(1 for v in lv[L] if v == 1 << L), L
    assert set(tt) == set(space.tracked_orders)
    for j, tree in tt.items():
        assert sorted(tree) == list(range(j + 1, bits + 1))
        full = 1 << j
        for L, level in tree.items():
            assert len(level) == 1 << (bits - L)
            for i, v in enumerate(level):
                if j + 1 == L:
                    assert v == (lv[j][2 * i] == full) + (lv[j][2 * i + 1] == full), (j, i)
                else:
                    assert v == tree[L - 1][2 * i] + tree[L - 1][2 * i + 1], (j, L, i)


def _select() -> tuple[type[BitmapSpace], Literal["c", "python"]]:
    """The compiled dense core when it was built and IPFRAG_PURE is not set, else the pure one."""
    if os.environ.get("IPFRAG_PURE", "").strip() not in ("", "0"):
        return PyBitmapSpace, "python"
    try:
        from ipfrag.core import _ctree  # noqa: F401
    except ImportError:
        return PyBitmapSpace, "python"
    from ipfrag.core.cbitmap import CBitmapSpace

    return CBitmapSpace, "c"


_DEFAULT, IMPLEMENTATION = _select()
"""Which dense implementation ``BitmapSpace(bits)`` builds: ``"c"`` or ``"python"``."""
