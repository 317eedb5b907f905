"""The sparse backend: the same count tree, stored only where something is used.

For huge spaces (an IPv6 /64 has 2**64 addresses, carved into /80 prefixes of
2**48) a dense array is impossible. This backend keeps, per tree level, a dict
``index -> used addresses`` holding only nodes that contain used space, and the
set of claimed blocks. A node strictly inside a claimed block has no entry: its
state follows from the claim. So memory is proportional to what is allocated:
O(bits - k) entries per claimed block of order k.

Why not an interval tree: ``intervaltree`` (and a sorted list of intervals)
answer "is this range free" in O(log n), but "how many free aligned /80s are
left" needs a scan of every gap, and a uniform random free /80 needs the counts
per subtree that a buddy tree keeps anyway. The dict tree gives O(1) counters
and O(bits) updates and picks; see the README's performance section for the
measured comparison.
"""

from __future__ import annotations

from ipfrag.core.base import AddressSpace

__all__ = ["SparseSpace"]


class SparseSpace(AddressSpace):
    """Sparse address space of ``2**bits`` addresses (``bits <= 128``).

    Memory grows with the number of claimed blocks, not with the space. Updates,
    picks and counter queries are O(bits) dict operations; counters are O(1).

    >>> sp = SparseSpace(64)
    >>> sp.claim(0, 48)
    >>> sp.free_block_count(48), sp.pick_block(48, "lowest") == 2**48
    (65535, True)
    """

    __slots__ = ("_claims", "_tu", "_used")

    def __init__(self, bits: int) -> None:
        super().__init__(bits)
        # _used[L][i]: used addresses under node (L, i); only nodes at or above a claim.
        self._used: list[dict[int, int]] = [{} for _ in range(bits + 1)]
        # _claims[offset] = order of every claimed block.
        self._claims: dict[int, int] = {}
        # _tu[j][L][i]: touched (not fully free) order-j blocks under node (L, i), L > j,
        # stored at the same nodes as _used.
        self._tu: dict[int, list[dict[int, int]]] = {}

    # ------------------------------------------------------------ primitives
    def _node_free(self, level: int, index: int) -> int:
        used = self._used
        stored = used[level].get(index)
        if stored:
            return (1 << level) - stored
        # No entry: entirely free, or strictly inside a claim. The first ancestor
        # with an entry tells: inside exactly when that ancestor is a claim.
        for L in range(level + 1, self._bits + 1):
            a = index >> (L - level)
            if used[L].get(a):
                return 0 if self._claims.get(a << L) == L else 1 << level
        return 1 << level

    def _child_free(self, level: int, index: int) -> int:
        return (1 << level) - self._used[level].get(index, 0)

    def _child_blocks_free(self, order: int, level: int, index: int) -> int:
        return (1 << (level - order)) - self._tu[order][level].get(index, 0)

    def _build_tracking(self, order: int) -> None:
        used = self._used
        claims = self._claims
        tree: list[dict[int, int]] = [{} for _ in range(self._bits + 1)]
        for L in range(order + 1, self._bits + 1):
            level = tree[L]
            below = tree[L - 1]
            for i in used[L]:
                if claims.get(i << L) == L:
                    level[i] = 1 << (L - order)
                elif order == L - 1:
                    level[i] = (2 * i in used[order]) + (2 * i + 1 in used[order])
                else:
                    level[i] = below.get(2 * i, 0) + below.get(2 * i + 1, 0)
        self._tu[order] = tree

    def _claim(self, offset: int, order: int) -> None:
        used = self._used
        cnt = self._cnt
        for L in range(order):
            cnt[L] -= 1 << (order - L)
        amount = 1 << order
        top = order - 1
        for L in range(order, self._bits + 1):
            level = used[L]
            i = offset >> L
            c = level.get(i, 0)
            level[i] = c + amount
            if c == 0:
                cnt[L] -= 1
                top = L
        self._claims[offset] = order
        for j, tree in self._tu.items():
            if j <= order:
                d = 1 << (order - j)
                for L in range(max(order, j + 1), self._bits + 1):
                    t = tree[L]
                    i = offset >> L
                    t[i] = t.get(i, 0) + d
            elif j <= top:
                for L in range(j + 1, self._bits + 1):
                    t = tree[L]
                    i = offset >> L
                    t[i] = t.get(i, 0) + 1

    def _split_to(self, offset: int, order: int) -> None:
        """Make ``(offset, order)`` a claim of its own if it lies strictly inside one."""
        used = self._used
        if used[order].get(offset >> order):
            return
        claim_level = next(
            L for L in range(order + 1, self._bits + 1) if self._claims.get((offset >> L) << L) == L
        )
        del self._claims[(offset >> claim_level) << claim_level]
        for L in range(order, claim_level):
            i = offset >> L
            for node in (i, i ^ 1):
                used[L][node] = 1 << L
                for j, tree in self._tu.items():
                    if j < L:
                        tree[L][node] = 1 << (L - j)
            self._claims[(i ^ 1) << L] = L
        self._claims[offset] = order

    def _release(self, offset: int, order: int) -> None:
        self._split_to(offset, order)
        used = self._used
        cnt = self._cnt
        claims = self._claims
        # Drop every entry and claim under the block.
        stack = [(order, offset >> order)]
        while stack:
            L, i = stack.pop()
            if claims.get(i << L) == L:
                del claims[i << L]
                if order > L:
                    del used[L][i]
                    for tree in self._tu.values():
                        tree[L].pop(i, None)
                continue
            if order > L:
                del used[L][i]
                for tree in self._tu.values():
                    tree[L].pop(i, None)
            for c in (2 * i, 2 * i + 1):
                if c in used[L - 1]:
                    stack.append((L - 1, c))
        for L in range(order):
            cnt[L] += 1 << (order - L)
        amount = 1 << order
        top = order - 1
        for L in range(order, self._bits + 1):
            level = used[L]
            i = offset >> L
            c = level[i] - amount
            if c:
                level[i] = c
            else:
                del level[i]
                cnt[L] += 1
                top = L
        for j, tree in self._tu.items():
            if j <= order:
                d = 1 << (order - j)
                for L in range(max(order, j + 1), self._bits + 1):
                    t = tree[L]
                    i = offset >> L
                    c = t[i] - d
                    if c:
                        t[i] = c
                    else:
                        del t[i]
            elif j <= top:
                for L in range(j + 1, self._bits + 1):
                    t = tree[L]
                    i = offset >> L
                    c = t[i] - 1
                    if c:
                        t[i] = c
                    else:
                        del t[i]

    def _descend_address(self, r: int, level: int, index: int, free: int) -> int:
        # The base class's descent with the dict reads inlined; an entirely free node
        # ends it at once (the common case in a mostly empty IPv6 /64).
        used = self._used
        while free != 1 << level:
            level -= 1
            index *= 2
            left = (1 << level) - used[level].get(index, 0)
            if r < left:
                free = left
            else:
                r -= left
                index += 1
                free = (1 << level) - used[level].get(index, 0)
        return (index << level) + r

    def _fullest_partial(self, unit: int, lo: int, hi: int) -> int | None:
        full = 1 << unit
        best: tuple[int, int] | None = None
        for i, v in self._used[unit].items():
            if lo <= i < hi and v < full and (best is None or (-v, i) < best):
                best = (-v, i)
        return None if best is None else best[1]

    # ------------------------------------------------------------------ misc
    def copy(self) -> SparseSpace:
        """An independent copy. O(entries).

        >>> a = SparseSpace(64); b = a.copy(); b.claim(5)
        >>> a.free_count - b.free_count
        1
        """
        new = SparseSpace.__new__(SparseSpace)
        new._bits = self._bits
        new._cnt = list(self._cnt)
        new._tracked = set(self._tracked)
        new._used = [dict(d) for d in self._used]
        new._claims = dict(self._claims)
        new._tu = {j: [dict(d) for d in t] for j, t in self._tu.items()}
        return new

    def entry_count(self) -> int:
        """Stored tree entries (grows with what is claimed, not with the space). O(bits).

        >>> sp = SparseSpace(64); sp.claim(0, 48); sp.entry_count()
        17
        """
        return sum(len(d) for d in self._used) + sum(len(d) for t in self._tu.values() for d in t)

    def _check(self) -> None:
        """Assert every invariant. O(entries * bits).

        >>> sp = SparseSpace(64); sp.claim(2**48, 48); sp.claim(7); sp.track(48); sp._check()
        """
        bits = self._bits
        used = self._used
        claims = self._claims
        for off, k in claims.items():
            assert 0 <= k <= bits and off % (1 << k) == 0
            for L in range(k, bits + 1):
                assert used[L].get(off >> L, 0) > 0, (off, k, L)
        for L in range(bits + 1):
            for i, v in used[L].items():
                assert 0 < v <= 1 << L, (L, i, v)
                if bits > L:
                    assert used[L + 1].get(i >> 1, 0) >= v, (L, i)
                if claims.get(i << L) == L:
                    assert v == 1 << L
                    if L:
                        assert 2 * i not in used[L - 1] and 2 * i + 1 not in used[L - 1]
                else:
                    assert L > 0, (L, i)
                    assert v == used[L - 1].get(2 * i, 0) + used[L - 1].get(2 * i + 1, 0)
        assert (1 << bits) - used[bits].get(0, 0) == self._cnt[0]
        assert set(self._tu) == self._tracked
        for j, tree in list(self._tu.items()):
            self._build_tracking(j)
            rebuilt = self._tu[j]
            self._tu[j] = tree
            assert tree == rebuilt, j
        self._check_counters()
