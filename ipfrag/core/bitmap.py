"""The dense backend: per-node free counts of the complete binary tree of aligned blocks.

Two layouts keep the same counts. The compiled one (``cbitmap.py``, ``_ctree.c``) stores
one count array per tree level (about 130 KB for a /16). The pure-Python one,
:class:`PyBitmapSpace`, stores a bit per address in 16-bit words (one word per aligned
/28) and counts only every fourth level (4, 8, 12, ...): in Python every touched cell is
an interpreter step, so an update of one address writes a word and ``bits / 4`` cells
instead of ``bits + 1``, and descents step through 16 children at a time (about 15 KB for
a /16).

Why this shape: an update walks one path, every count query is a counter read, and the
flat arrays make scans and copies run in C. A pointer tree or a sorted interval list pays
Python object overhead per node instead.
"""

from __future__ import annotations

import abc
import operator
import os
import random
import sys
from array import array
from collections.abc import Mapping, MutableSequence, Sequence
from typing import Literal

from ipfrag.core.base import _PLAIN_DRAWS, AddressSpace, Policy, _randbelow
from ipfrag.errors import InvalidArgument

__all__ = ["IMPLEMENTATION", "MAX_BITMAP_BITS", "BitmapSpace", "PyBitmapSpace"]

MAX_BITMAP_BITS = 24
"""Largest space the dense backend accepts: 2**24 addresses (a /8 of IPv4)."""


class BitmapSpace(AddressSpace):
    """Dense address space of ``2**bits`` addresses (``bits <= 24``).

    Two implementations keep the same counts (see the module's notes for their layouts):
    :class:`PyBitmapSpace` (pure Python, the fallback and the test oracle) and
    ``CBitmapSpace`` (a compiled extension built at install time when a C compiler is
    there). ``BitmapSpace(bits)`` builds the one in use, :data:`IMPLEMENTATION`; the
    environment variable ``IPFRAG_PURE=1`` forces the pure one. Both give the same
    answers and, for the same random draws, the same picks.

    Memory: about ``2**bits * 2`` bytes compiled, ``2**bits / 4`` pure. Updates of one
    address and every counter query are O(bits); claiming a block of order k writes
    O(2**k) cells more (O(2**k / 16) pure).

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


_ONES = (1, 3, 15, 255, 0xFFFF)
"""``_ONES[k]``: the bits of one aligned order-``k`` block inside a word."""

_FULL = 0xFFFF
"""An entirely free word (16 addresses: an aligned /28 of IPv4)."""


def _block_starts(x: int, order: int) -> int:
    """The bits of word ``x`` that start an entirely free aligned block of ``order`` (<= 4)."""
    if order > 0:
        x &= (x >> 1) & 0x5555
        if order > 1:
            x &= (x >> 2) & 0x1111
            if order > 2:
                x &= (x >> 4) & 0x0101
                if order > 3:
                    x &= (x >> 8) & 0x0001
    return x


def _nth_bit(x: int, r: int) -> int:
    """Position of the ``r``-th (from 0) set bit of the word ``x``, which has more than ``r``."""
    low = x & 255
    c = _POPCOUNT[low]
    if r < c:
        return _NTH[low << 3 | r]
    return 8 + _NTH[(x >> 8) << 3 | (r - c)]


_BYTE_TOP = bytes(
    0 if b >> (q & 6) & 3 != 3 else 1 if b >> (q & 4) & 15 != 15 else 2 if b != 255 else 3
    for b in range(256)
    for q in range(8)
)
"""``_BYTE_TOP[b << 3 | q]``: for a set bit ``q`` of the byte ``b``, the largest order (up
to 3) of the aligned blocks around it whose bits are all set (0: its pair's are not)."""

_POPCOUNT = bytes(b.bit_count() for b in range(256))
_NTH = bytes(
    next(p for p in range(8) if (b >> p & 1) and (b & ((1 << p) - 1)).bit_count() == r)
    if r < b.bit_count()
    else 0
    for b in range(256)
    for r in range(8)
)
"""``_NTH[b << 3 | r]``: position of the ``r``-th set bit of the byte ``b``."""


def _pair_sums(values: list[int], steps: int) -> list[int]:
    """Add adjacent pairs ``steps`` times (a level's counts from those ``steps`` below)."""
    for _ in range(steps):
        values = list(map(operator.add, values[0::2], values[1::2]))
    return values


_ENOUGH = {
    (order, maximal): bytes((1 << order) <= c < (16 if maximal else 17) for c in range(256))
    for order in range(4)
    for maximal in (False, True)
}
"""``_ENOUGH[order, maximal]``: a translation table flagging the level-4 counts of the
words that may hold a free (maximal) block of ``order``."""

_BYTE_BLOCKS = tuple(bytes(_block_starts(b, k).bit_count() for b in range(256)) for k in range(4))
"""``_BYTE_BLOCKS[k][b]``: the free aligned order-``k`` blocks among a byte's 8 address bits."""

_IS_FULL_WORD = bytes(c == 16 for c in range(256))
"""Translates a level-4 count to 1 when the word is entirely free."""

_Levels = list[tuple[int, MutableSequence[int]]]
"""Stored levels as ``(level, counts)`` pairs, ascending."""


class PyBitmapSpace(BitmapSpace):
    """The pure-Python dense backend: bit words under a 16-ary count tree.

    ``_w`` is an array of 16-bit words, bit ``p`` of word ``i`` set when address
    ``16 * i + p`` is free (a word is one order-4 node, an aligned /28 of IPv4).
    ``_lv[L]`` lists the free counts of the level-``L`` nodes for ``L`` = 4, 8, 12, ...
    below ``bits`` (None at the other levels, whose counts are word popcounts or short
    slice sums). ``_tt[j]`` holds, per tracked order ``j``, the free order-``j`` blocks
    under each node of the stored levels above ``j``. Updating one address writes one
    word and one cell per stored level (3 for a /16, 1 for a /24) instead of one cell on
    each of the ``bits + 1`` levels; the binary levels in between never need storing,
    since every descent steps through them 16 children at a time. Lists, the fastest to
    index, hold the counts; an array the words (a list would hold an int object each).

    >>> sp = PyBitmapSpace(16)
    >>> sp.claim(1000)
    >>> sp.free_block_count(4), sp.pick_block(4, "lowest")
    (4095, 0)
    """

    # block_count, the counter read behind Subnet.can_carve, is the counter list's own
    # __getitem__, bound per instance: one C call.
    __slots__ = ("_lv", "_tmin", "_tt", "_up", "_w", "block_count")

    def __init__(self, bits: int) -> None:
        super().__init__(bits)
        self._w = array("H", (_ONES[min(bits, 4)],)) * (1 << max(bits - 4, 0))
        self._lv: list[MutableSequence[int] | None] = [None] * (bits + 1)
        for L in range(4, bits, 4):
            # Level 4's counts fit a byte: a bytearray, so scans for a count are memchr.
            n = 1 << (bits - L)
            self._lv[L] = bytearray(b"\x10") * n if L == 4 else [1 << L] * n
        self._up: _Levels = [(L, a) for L, a in enumerate(self._lv) if a is not None]
        self._tt: dict[int, _Levels] = {}
        self._tmin = bits + 1  # the lowest tracked order (bits + 1: none)
        self.block_count = self._cnt.__getitem__  # type: ignore[method-assign,assignment]

    # ------------------------------------------------------------ primitives
    def _node_free(self, level: int, index: int) -> int:
        if not level:  # one address: the checks of every claim and release
            return self._w[index >> 4] >> (index & 15) & 1
        arr = self._lv[level]
        if arr is not None:
            return arr[index]
        if level <= 4:
            x = self._w[index >> (4 - level)]
            return (x >> ((index << level) & 15) & _ONES[level]).bit_count()
        if level == self._bits:
            return self._cnt[0]
        below = self._lv[(level - 1) & ~3]  # the stored level below
        assert below is not None
        s = index << (level - ((level - 1) & ~3))
        return sum(below[s : s + (1 << (level - ((level - 1) & ~3)))])

    _child_free = _node_free

    def _is_full(self, level: int, index: int) -> bool:
        """True when node ``(level, index)`` is entirely free; reads no counter, so it
        holds in the middle of an update."""
        arr = self._lv[level]
        if arr is not None:
            return arr[index] == 1 << level
        if level <= 4:
            mask = _ONES[level] << ((index << level) & 15)
            return self._w[index >> (4 - level)] & mask == mask
        base = (level - 1) & ~3  # the stored level below
        below = self._lv[base]
        assert below is not None
        n = 1 << (level - base)
        s = index << (level - base)
        if isinstance(below, bytearray):  # level 4
            return below[s : s + n] == b"\x10" * n
        return below[s : s + n] == [1 << base] * n

    def _top(self, offset: int, order: int, hi: int = -1) -> int:
        """The largest order whose block holding ``offset`` is entirely free (given that
        the order-``order`` one is; ``hi``, when given, bounds it). Reads no counter, as
        :meth:`_is_full`: first the stored levels above, each full node proving the levels
        below it full (skipped when ``hi`` is given), then the levels between the last
        full one and the first that is not, one by one: a block is full when the full half
        below it has a full buddy, whose count or counts are cells of the stored level
        just below (the word itself below level 4)."""
        if hi < 0:
            hi = self._bits
            for L, arr in self._up:
                if order < L:
                    if arr[offset >> L] != 1 << L:
                        hi = L - 1
                        break
                    order = L
        lv = self._lv
        while order < hi:
            if order < 4:
                if not self._is_full(order + 1, offset >> (order + 1)):
                    break
            else:
                base = order & ~3
                below = lv[base]
                assert below is not None  # levels 4, 8, ... below bits are stored
                buddy = (offset >> order) ^ 1
                if order == base:
                    if below[buddy] != 1 << base:
                        break
                else:
                    n = 1 << (order - base)
                    s = buddy << (order - base)
                    if below[s : s + n].count(1 << base) != n:
                        break
            order += 1
        return order

    def _count_full(self, order: int, lo: int, n: int) -> int:
        """How many of the order-``order`` nodes ``lo .. lo + n - 1`` are entirely free."""
        w = self._w
        if order == 4:
            c4 = self._lv[4]
            return w[lo : lo + n].count(_FULL) if c4 is None else c4[lo : lo + n].count(16)
        if order < 4:
            per = 4 - order  # log2 of the order's blocks per word
            if n < 1 << per:  # inside one word
                span = ((1 << (n << order)) - 1) << ((lo << order) & 15)
                return (_block_starts(w[lo >> per], order) & span).bit_count()
            return sum(_block_starts(x, order).bit_count() for x in w[lo >> per : (lo + n) >> per])
        arr = self._lv[order]
        if arr is not None:
            return arr[lo : lo + n].count(1 << order)
        return sum(1 for i in range(lo, lo + n) if self._is_full(order, i))

    def _nth_full(self, order: int, r: int, lo: int, n: int) -> int:
        """Index of the ``r``-th (from 0) entirely free node of ``order`` among
        ``lo .. lo + n - 1`` (there are more than ``r``)."""
        w = self._w
        if order == 4:
            for x in w[lo : lo + n]:
                if x == _FULL:
                    if not r:
                        return lo
                    r -= 1
                lo += 1
        elif order < 4:
            per = 4 - order
            wi = lo >> per
            if n < 1 << per:
                span = ((1 << (n << order)) - 1) << ((lo << order) & 15)
                starts = _block_starts(w[wi], order) & span
                return (wi << per) + (_nth_bit(starts, r) >> order)
            for x in w[wi : (lo + n) >> per]:
                starts = _block_starts(x, order)
                c = starts.bit_count()
                if r < c:
                    return (wi << per) + (_nth_bit(starts, r) >> order)
                r -= c
                wi += 1
        else:
            for i in range(lo, lo + n):
                if self._is_full(order, i):
                    if not r:
                        return i
                    r -= 1
        raise AssertionError("fewer free blocks than counted")  # pragma: no cover

    def _child_blocks_free(self, order: int, level: int, index: int) -> int:
        stored = None
        for T, arr in self._tt.get(order, ()):
            if level < T:
                break
            stored = (T, arr)
        if stored is None:
            return self._count_full(order, index << (level - order), 1 << (level - order))
        T, arr = stored
        if level == T:
            return arr[index]
        return sum(arr[index << (level - T) : (index + 1) << (level - T)])

    def _tracking_levels(self, order: int) -> _Levels:
        """The tracked counts of ``order`` at the stored levels above it, built from the words."""
        levels = [L for L, _ in self._up if order < L]
        if not levels:
            return []
        if order <= 4:
            base, values = 4, self._per_word(order)
        else:
            base, values = order, [int(f) for f in self._full_flags(order)]
        out: _Levels = []
        for L in levels:
            values = _pair_sums(values, L - base)
            base = L
            out.append((L, values))
        return out

    def _full_flags(self, order: int) -> list[bool]:
        """For every node of ``order`` (>= 4): is it entirely free? O(2**bits / 16)."""
        base = order
        while base > 4 and self._lv[base] is None:
            base -= 1
        below = self._lv[base]
        flags = [x == _FULL for x in self._w] if below is None else [v == 1 << base for v in below]
        for _ in range(order - base):
            flags = list(map(operator.and_, flags[0::2], flags[1::2]))
        return flags

    def _per_word(self, order: int) -> list[int]:
        """The free order-``order`` blocks (``order`` <= 4) in each word, by C-speed
        passes (a byte's 8 address bits are aligned blocks of up to 8). O(2**bits / 16)."""
        if order == 4:
            c4 = self._lv[4]
            if isinstance(c4, bytearray):
                return list(c4.translate(_IS_FULL_WORD))
            return [int(x == _FULL) for x in self._w]  # one word
        per_byte = self._w.tobytes().translate(_BYTE_BLOCKS[order])
        return list(map(operator.add, per_byte[0::2], per_byte[1::2]))

    def _recount(self) -> list[int]:
        """Every counter, recounted from the words. O(2**bits / 16 * bits)."""
        return [
            sum(self._per_word(k)) if k <= 4 else sum(self._full_flags(k))
            for k in range(self._bits + 1)
        ]

    def _build_tracking(self, order: int) -> None:
        self._tt[order] = self._tracking_levels(order)
        self._tmin = min(self._tmin, order)

    # ----------------------------------------------------------------- updates
    def try_claim(self, offset: int, order: int = 0) -> bool:
        """Claim the block if it is entirely free and say so; False changes nothing.

        Unchecked (see :meth:`AddressSpace.try_claim
        <ipfrag.core.AddressSpace.try_claim>`). One address: a word, one cell per stored
        level and the counters of the blocks it ends; O(bits / 4).

        >>> sp = PyBitmapSpace(8); sp.try_claim(16, 4), sp.try_claim(20)
        (True, False)
        """
        if order:
            if order == 4 and self._bits > 4:  # a /28 of IPv4: its count, its word
                if self._lv[4][offset >> 4] != 16:  # type: ignore[index]
                    return False
                self._update_word(offset, -1)
                return True
            if not self._is_full(order, offset >> order):
                return False
            self._update_block(offset, order, -1)
            return True
        w = self._w
        i = offset >> 4
        x = w[i]
        p = offset & 15
        if not x >> p & 1:
            return False
        # The largest block around the address that was entirely free, before writing.
        top = 0
        if x >> (p & 14) & 3 == 3:
            top = 1
            if x >> (p & 12) & 15 == 15:
                top = 2
                if x >> (p & 8) & 255 == 255:
                    top = 3
                    if x == _FULL:
                        top = self._top(offset, 4)
        w[i] = x ^ (1 << p)
        for L, arr in self._up:
            arr[offset >> L] -= 1
        cnt = self._cnt
        cnt[0] -= 1
        if top:
            for k in range(1, top + 1):
                cnt[k] -= 1
            if top >= self._tmin:
                self._track_single(offset, top, -1)
        return True

    def try_release(self, offset: int, order: int = 0) -> bool:
        """Release the block if it is entirely used and say so; False changes nothing.

        Unchecked like :meth:`try_claim`. O(bits / 4) for one address.

        >>> sp = PyBitmapSpace(8); sp.claim(16, 4); sp.try_release(0, 4), sp.try_release(16, 4)
        (False, True)
        """
        if order:
            if order == 4 and self._bits > 4:
                if self._lv[4][offset >> 4]:  # type: ignore[index]
                    return False
                self._update_word(offset, 1)
                return True
            if self._node_free(order, offset >> order):
                return False
            self._update_block(offset, order, 1)
            return True
        w = self._w
        i = offset >> 4
        x = w[i]
        p = offset & 15
        if x >> p & 1:
            return False
        x |= 1 << p
        w[i] = x
        for L, arr in self._up:
            arr[offset >> L] += 1
        cnt = self._cnt
        cnt[0] += 1
        # The largest block around the address that is now entirely free, after writing.
        if x >> (p & 14) & 3 == 3:
            top = 1
            if x >> (p & 12) & 15 == 15:
                top = 2
                if x >> (p & 8) & 255 == 255:
                    top = 3
                    if x == _FULL:
                        top = self._top(offset, 4)
            for k in range(1, top + 1):
                cnt[k] += 1
            if top >= self._tmin:
                self._track_single(offset, top, 1)
        return True

    def _track_single(self, offset: int, top: int, sign: int) -> None:
        """One block of each tracked order up to ``top`` changed freeness around ``offset``."""
        for j, levels in self._tt.items():
            if j <= top:
                for L, arr in levels:
                    arr[offset >> L] += sign

    def _claim(self, offset: int, order: int) -> None:
        if order:
            self._update_block(offset, order, -1)
        else:
            self.try_claim(offset)

    def _release(self, offset: int, order: int) -> None:
        if order:
            self._update_block(offset, order, 1)
        else:
            self.try_release(offset)

    def _update_block(self, offset: int, order: int, sign: int) -> None:
        """Claim (sign -1) or release (+1) a validated block, entirely free (claim) or used
        (release). The words and stored levels inside it are rewritten whole, the path
        above it counts; the orders up to the largest block around it that was (becomes)
        entirely free move their counters and tracked counts."""
        if order == 4:
            self._update_word(offset, sign)
            return
        claim = sign < 0
        k = order
        if claim:
            top = self._top(offset, k)
        w = self._w
        if k < 4:
            w[offset >> 4] ^= _ONES[k] << (offset & 15)
        else:
            n = 1 << (k - 4)
            s = offset >> 4
            w[s : s + n] = array("H", (0 if claim else _FULL,)) * n
        for L, arr in self._up:
            if k >= L:
                n = 1 << (k - L)
                s = offset >> L
                arr[s : s + n] = [0 if claim else 1 << L] * n
            else:
                arr[offset >> L] += sign << k
        if not claim:
            top = self._top(offset, k)
        cnt = self._cnt
        for m in range(k):
            cnt[m] += sign << (k - m)
        for m in range(k, top + 1):
            cnt[m] += sign
        for j, levels in self._tt.items():
            if j <= k:
                d = sign << (k - j)
                for L, arr in levels:
                    if k >= L:
                        n = 1 << (k - L)
                        s = offset >> L
                        arr[s : s + n] = [0 if claim else 1 << (L - j)] * n
                    else:
                        arr[offset >> L] += d
            elif j <= top:
                for L, arr in levels:
                    arr[offset >> L] += sign

    def _update_word(self, offset: int, sign: int) -> None:
        """:meth:`_update_block` for one word (an aligned /28 of IPv4, the default prefix)."""
        w = self._w
        i = offset >> 4
        # The largest block around the word that was (becomes) entirely free: above 4 only
        # when the buddy word is free; read before a claim writes, after a release wrote.
        claim = sign < 0
        above = self._bits > 4 and w[i ^ 1] == _FULL
        top = self._top(offset, 5) if above and claim else 4
        w[i] = 0 if claim else _FULL
        d = sign << 4
        for L, arr in self._up:
            arr[offset >> L] += d
        if above and not claim:
            top = self._top(offset, 5)
        cnt = self._cnt
        cnt[0] += d
        cnt[1] += sign << 3
        cnt[2] += sign << 2
        cnt[3] += sign << 1
        cnt[4] += sign
        if top > 4:
            for m in range(5, top + 1):
                cnt[m] += sign
        if self._tmin <= top:
            for j, levels in self._tt.items():
                if j <= 4:
                    d = sign << (4 - j)
                    for L, arr in levels:
                        arr[offset >> L] += d
                elif j <= top:
                    for L, arr in levels:
                        arr[offset >> L] += sign

    def _claim_bulk(self, blocks: list[tuple[int, int]]) -> None:
        # A large batch: clear the words, then rebuild every level, counter and tracked
        # count from them in C-speed passes, O(2**bits / 16); a small one: one by one.
        if len(blocks) * (self._bits + 1) * 8 < 1 << self._bits:
            super()._claim_bulk(blocks)
            return
        w = self._w
        for o, k in blocks:
            if k < 4:
                w[o >> 4] &= ~(_ONES[k] << (o & 15))
            else:
                n = 1 << (k - 4)
                w[o >> 4 : (o >> 4) + n] = array("H", (0,)) * n
        values, base = list(map(int.bit_count, w)), 4
        for L, arr in self._up:
            values = _pair_sums(values, L - base)
            base = L
            arr[:] = values
        self._cnt[:] = self._recount()
        for j in self._tt:
            self._tt[j] = self._tracking_levels(j)

    # --------------------------------------------------------------- hot paths
    def take_address(self, policy: Policy, rng: random.Random | None, unit: int = 0) -> int | None:
        """As :meth:`AddressSpace.take_address <ipfrag.core.AddressSpace.take_address>`; with
        a plain ``random.Random``, the "random" pick is one draw (the same), one descent and
        the claim, without the generic layers. Cost: O(bits / 4) steps of up to 16 children.

        >>> sp = PyBitmapSpace(8); sp.take_address("random", random.Random(1)) is not None
        True
        """
        if policy == "random" and type(rng) is random.Random and _PLAIN_DRAWS:
            free = self._cnt[0]
            if not free:
                return None
            return self._take_address(_randbelow(rng, free))
        return super().take_address(policy, rng, unit)

    def take_block(self, order: int, policy: Policy, rng: random.Random | None) -> int | None:
        """As :meth:`AddressSpace.take_block <ipfrag.core.AddressSpace.take_block>`; with a
        plain ``random.Random``, the "random" pick makes the same draws and tries without
        the generic layers (a /28 try reads its level-4 count). Cost: O(bits / 4) per try,
        or one descent of up to 16 children a step.

        >>> sp = PyBitmapSpace(8); sp.take_block(4, "random", random.Random(1)) % 16
        0
        """
        if policy != "random" or type(rng) is not random.Random or not _PLAIN_DRAWS:
            return super().take_block(order, policy, rng)
        bits = self._bits
        total = self._cnt[order]
        blocks = 1 << (bits - order)
        if 2 * total >= blocks:  # rejection sampling, as AddressSpace.take_block
            if order == 4 and bits > 4:
                c4 = self._lv[4]
                assert c4 is not None
                while True:
                    i = _randbelow(rng, blocks)
                    if c4[i] == 16:
                        self._update_word(i << 4, -1)
                        return i << 4
            try_claim = self.try_claim
            while True:
                offset = _randbelow(rng, blocks) << order
                if try_claim(offset, order):
                    return offset
        if order not in self._tracked and 0 < order < bits and 0 < self._cnt[0] < 1 << bits:
            self.track(order)
        if total == 0:
            return None
        if order == 4:  # a /28: its word
            offset = self._descend_block(4, _randbelow(rng, total), bits, 0)
            self._update_word(offset, -1)
            return offset
        return self._take_nth(order, _randbelow(rng, total))

    # ---------------------------------------------------------------- descents
    def _take_nth(self, order: int, r: int) -> int:
        if order == 0:
            return self._take_address(r)
        offset = self._descend_block(order, r, self._bits, 0)
        self._update_block(offset, order, -1)
        return offset

    def _take_address(self, r: int) -> int:
        """Claim the r-th free address of the whole space (``r`` below the free count); its
        offset. :meth:`_descend_address` from the root and the claim of :meth:`try_claim` in
        one pass, knowing what the descent learnt: the address is free, and the entirely
        free node where the descent stops (below a partly used one) is the lowest order
        :meth:`_top` needs to look from; a descent into a partly used word finds the block
        around the address inside the word."""
        bits = self._bits
        free = self._cnt[0]
        level = bits
        index = 0
        if free == 1 << bits:
            offset = r
            top = bits
        else:
            for T, arr in reversed(self._up):
                n = 1 << (level - T)
                s = index << (level - T)
                if 2 * r < free:
                    for v in arr[s : s + n]:
                        if r < v:
                            break
                        r -= v
                        s += 1
                else:
                    r = free - 1 - r
                    s += n - 1
                    for v in reversed(arr[s - n + 1 : s + 1]):
                        if r < v:
                            break
                        r -= v
                        s -= 1
                    r = v - 1 - r
                if v == 1 << T:
                    offset = (s << T) + r
                    top = self._top(offset, T, level - 1)
                    break
                level, index, free = T, s, v
            else:
                # Inside a partly used word (level 4, or the root of a space of one word).
                x = self._w[index]
                p = _nth_bit(x, r)
                offset = (index << level) + p
                top = _BYTE_TOP[(x >> (p & 8) & 255) << 3 | (p & 7)]
        # The claim: try_claim's writes.
        self._w[offset >> 4] ^= 1 << (offset & 15)
        for L, arr in self._up:
            arr[offset >> L] -= 1
        cnt = self._cnt
        cnt[0] -= 1
        if top:
            for k in range(1, top + 1):
                cnt[k] -= 1
            if top >= self._tmin:
                self._track_single(offset, top, -1)
        return offset

    def _descend_address(self, r: int, level: int, index: int, free: int) -> int:
        # The r-th free address, 16 children a step (the stored levels, then the words),
        # each scan from the nearer end: from the right, r counts the addresses after it.
        if free == 1 << level:
            return (index << level) + r
        for T, arr in reversed(self._up):
            if level <= T:
                continue
            n = 1 << (level - T)
            s = index << (level - T)
            if 2 * r < free:
                for v in arr[s : s + n]:
                    if r < v:
                        break
                    r -= v
                    s += 1
            else:
                r = free - 1 - r
                s += n - 1
                for v in reversed(arr[s - n + 1 : s + 1]):
                    if r < v:
                        break
                    r -= v
                    s -= 1
                r = v - 1 - r
            if v == 1 << T:
                return (s << T) + r
            level, index, free = T, s, v
        # Inside one word (level 4 is stored whenever the space is larger).
        w = self._w
        shift = (index << level) & 15
        return (index << level) + _nth_bit(w[index >> (4 - level)] >> shift & _ONES[level], r)

    def _descend_block(self, order: int, r: int, level: int, index: int) -> int:
        # The r-th free block of the order: the tracked counts 16 children a step, each
        # scan from the nearer end, then the candidate blocks under the lowest tracked node.
        if level == self._bits:  # the root: its counters
            if self._cnt[0] == 1 << level:
                return r << order
            total = self._cnt[order]
        elif self._is_full(level, index):
            return (index << level) + (r << order)
        else:
            total = -1
        for T, arr in reversed(self._tt.get(order, ())):
            if level <= T:
                continue
            n = 1 << (level - T)
            s = index << (level - T)
            if total < 0:
                total = sum(arr[s : s + n])
            if 2 * r < total:
                for v in arr[s : s + n]:
                    if r < v:
                        break
                    r -= v
                    s += 1
            else:
                r = total - 1 - r
                s += n - 1
                for v in reversed(arr[s - n + 1 : s + 1]):
                    if r < v:
                        break
                    r -= v
                    s -= 1
                r = v - 1 - r
            if v == 1 << (T - order):
                return (s << T) + (r << order)
            level, index, total = T, s, v
        lo = index << (level - order)
        n = 1 << (level - order)
        if order == 4:
            # The r-th full word: C-speed finds of its level-4 count, one per full word
            # passed, from the right (the total - 1 - r-th) when that end is nearer.
            c4 = self._lv[4]
            assert isinstance(c4, bytearray)  # the space is larger than this partly used node
            if 0 <= total <= 2 * r:
                i = lo + n
                for _ in range(total - r):
                    i = c4.rindex(16, lo, i)
            else:
                i = lo - 1
                for _ in range(r + 1):
                    i = c4.index(16, i + 1, lo + n)
            return i << 4
        return self._nth_full(order, r, lo, n) << order

    # C-speed scans where a level is a list ("lowest" and "best-fit" policies).
    def _lowest_address(self, level: int, index: int, free: int) -> int:
        return self._descend_address(0, level, index, free)

    def _level_counts(self, unit: int, lo: int, hi: int) -> Sequence[int]:
        """Free counts of the order-``unit`` nodes ``lo .. hi - 1``."""
        arr = self._lv[unit]
        if arr is not None:
            return arr[lo:hi]
        return [self._node_free(unit, i) for i in range(lo, hi)]

    def _fullest_partial(self, unit: int, lo: int, hi: int) -> int | None:
        full = 1 << unit
        counts = self._level_counts(unit, lo, hi)
        if full <= 256:
            for c in range(1, full):
                try:
                    return lo + counts.index(c)
                except ValueError:
                    pass
            return None
        best = min(((v, i) for i, v in enumerate(counts) if 0 < v < full), default=None)
        return None if best is None else lo + best[1]

    def _lowest_block(self, order: int, wo: int, wk: int) -> int | None:
        lo = wo >> order
        i = self._scan_full(order, lo, lo + (1 << (wk - order)), maximal=False)
        return None if i is None else i << order

    def _lowest_maximal(self, order: int) -> int:
        i = self._scan_full(order, 0, 1 << (self._bits - order), maximal=True)
        if i is None:  # pragma: no cover - the histogram promised one
            raise AssertionError("the histogram promised a maximal block")
        return i << order

    def _scan_full(self, order: int, lo: int, hi: int, maximal: bool) -> int | None:
        """The first entirely free order-``order`` node among ``lo .. hi - 1`` (with
        ``maximal``, whose buddy is not entirely free), or None: C-speed scans of the
        stored level at or below the order for full nodes, then a check of each hit."""
        if order == self._bits:
            return 0 if self._is_full(order, 0) else None
        if order >= 4:
            base = order if self._lv[order] is not None else (order - 1) & ~3
            arr = self._lv[base]
            assert arr is not None
            sh = order - base
            pos = lo << sh
            while True:
                try:
                    i = arr.index(1 << base, pos, hi << sh) >> sh
                except ValueError:
                    return None
                if sh == 0 or self._is_full(order, i):
                    if not maximal or not self._is_full(order + 1, i >> 1):
                        return i
                    i |= 1  # its buddy is not maximal either
                pos = (i + 1) << sh
        # Below a word: the words with enough free addresses, then their bits.
        per = 4 - order
        w = self._w
        c4 = self._lv[4] if self._bits > 4 else None
        pos, end = lo >> per, max(hi >> per, (lo >> per) + 1)
        span = -1  # the whole word, unless the range lies inside one
        if hi - lo < 1 << per:
            span = ((1 << ((hi - lo) << order)) - 1) << ((lo << order) & 15)
        if isinstance(c4, bytearray):
            # One C pass flags the words with enough free addresses (a full word holds
            # no maximal block below it); each flagged word is then checked.
            first = pos
            enough = c4[pos:end].translate(_ENOUGH[order, maximal])
        while pos < end:
            if isinstance(c4, bytearray):
                pos = enough.find(1, pos - first) + first
                if pos < first:
                    return None
            x = w[pos]
            starts = _block_starts(x, order)
            if maximal:
                pairs = _block_starts(x, order + 1)
                starts &= ~(pairs | pairs << (1 << order))
            starts &= span
            if starts:
                return (pos << per) + (((starts & -starts).bit_length() - 1) >> order)
            pos += 1
        return None

    # ------------------------------------------------------------------ misc
    def copy(self) -> PyBitmapSpace:
        """An independent copy. O(2**bits / 16) list cells copied in C.

        >>> a = PyBitmapSpace(8); b = a.copy(); b.claim(3)
        >>> a.free_count, b.free_count
        (256, 255)
        """
        new = object.__new__(PyBitmapSpace)
        new._bits = self._bits
        new._cnt = list(self._cnt)
        new._tracked = set(self._tracked)
        new._w = self._w[:]
        new._lv = [None if a is None else a[:] for a in self._lv]
        new._up = [(L, a) for L, a in enumerate(new._lv) if a is not None]
        new._tt = {j: [(L, list(a)) for L, a in t] for j, t in self._tt.items()}
        new._tmin = self._tmin
        new.block_count = new._cnt.__getitem__  # type: ignore[method-assign,assignment]
        return new

    def memory_bytes(self) -> int:
        """Bytes held by the word array, the count lists and the count objects above 256
        they point to. O(2**bits / 16).

        >>> PyBitmapSpace(16).memory_bytes() < 400_000
        True
        """
        lists = [a for _, a in self._up] + [a for t in self._tt.values() for _, a in t]
        total = sum(sys.getsizeof(a) for a in lists) + sys.getsizeof(self._cnt)
        total += sys.getsizeof(self._w)
        # Values above 256 are objects of their own (smaller ones are shared).
        objects = {id(v): v for a in lists for v in a if v > 256}
        return total + sum(map(sys.getsizeof, objects.values()))

    def _check(self) -> None:
        """Assert every invariant: the stored levels sum the words, the counters count the
        entirely free nodes, the tracked counts count the free blocks. O(2**bits).

        >>> sp = PyBitmapSpace(6); sp.claim(8, 3); sp.track(2); sp._check()
        """
        bits = self._bits
        w = self._w
        assert isinstance(w, array) and w.typecode == "H" and len(w) == 1 << max(bits - 4, 0)
        assert all(type(x) is int and 0 <= x <= _ONES[min(bits, 4)] for x in w)
        assert len(self._lv) == bits + 1
        assert [L for L, a in enumerate(self._lv) if a is not None] == list(range(4, bits, 4))
        assert all(a is self._lv[L] for L, a in self._up)
        assert [L for L, _ in self._up] == list(range(4, bits, 4))
        values, base = list(map(int.bit_count, w)), 4
        for L, arr in self._up:
            values = _pair_sums(values, L - base)
            base = L
            assert list(arr) == values, L
        assert self._cnt == self._recount()
        assert self.block_count.__self__ is self._cnt  # type: ignore[attr-defined]
        assert set(self._tt) == self._tracked
        assert self._tmin == min(self._tracked, default=bits + 1)
        for j, levels in self._tt.items():
            assert levels == self._tracking_levels(j), j
        self._check_counters()


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
