"""Who holds what: the allocations of a subnet, by offset.

Two layouts, like the core: a dense one (two flat arrays indexed by offset,
320 KB for a /16 whatever its use) and a sparse one (a dict of allocations) for
IPv6 subnets. An allocation is ``(offset, order, owner_id, is_prefix)``; owners
are interned to small integers by the subnet.
"""

from __future__ import annotations

import abc
from array import array
from collections.abc import Iterator
from itertools import compress

__all__ = ["DenseLedger", "Ledger", "SparseLedger", "make_ledger"]

Entry = tuple[int, int, int, bool]
"""``(offset, order, owner_id, is_prefix)``."""

_PREFIX = 0x80
_NONZERO = bytes([0] + [1] * 255)


class Ledger(abc.ABC):
    """The allocations of one subnet, keyed by their first offset.

    ``changes`` counts every ``add`` and ``remove``: iterators over the subnet compare
    it to notice a change under them. ``prefixes[k]`` counts the prefix allocations of
    order ``k`` (2**k addresses), so the blocks that prefixes cover are known in O(bits).
    """

    __slots__ = ("_bits", "changes", "prefixes")

    def __init__(self, bits: int) -> None:
        self._bits = bits
        self.changes = 0
        self.prefixes = [0] * (bits + 1)

    @abc.abstractmethod
    def add(self, offset: int, order: int, owner_id: int, is_prefix: bool) -> None:
        """Record an allocation (the caller has checked it is free). O(1)."""

    def add_many(self, entries: list[Entry]) -> None:
        """Record many allocations (checked free by the caller), as ``add`` one by one. O(n)."""
        for offset, order, owner_id, is_prefix in entries:
            self.add(offset, order, owner_id, is_prefix)

    @abc.abstractmethod
    def remove(self, offset: int) -> None:
        """Forget the allocation starting at ``offset``. O(1)."""

    @abc.abstractmethod
    def get(self, offset: int) -> Entry | None:
        """The allocation starting exactly at ``offset``. O(1)."""

    @abc.abstractmethod
    def offsets_of(self, owner_id: int) -> list[int]:
        """Offsets of every allocation of one owner, ascending. O(allocations)."""

    @abc.abstractmethod
    def __iter__(self) -> Iterator[Entry]:
        """Every allocation, ascending by offset."""

    def entries(self) -> list[Entry]:
        """Every allocation, ascending by offset, as a list. O(allocations)."""
        return list(self)

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of allocations. O(1)."""

    @abc.abstractmethod
    def copy(self) -> Ledger:
        """An independent copy."""

    def containing(self, offset: int) -> Entry | None:
        """The allocation that contains ``offset``, if any. O(bits)."""
        for k in range(self._bits + 1):
            entry = self.get((offset >> k) << k)
            if entry is not None and entry[1] >= k:
                return entry
        return None


class DenseLedger(Ledger):
    """Two arrays over every offset: order+kind of an allocation's start, and its owner."""

    __slots__ = ("_count", "_owner", "_start")

    def __init__(self, bits: int) -> None:
        super().__init__(bits)
        self._start = bytearray(
            1 << bits
        )  # 0: no allocation starts here; else order+1 | 0x80 prefix
        self._owner = array("I", bytes(4 << bits))
        self._count = 0

    def add(self, offset: int, order: int, owner_id: int, is_prefix: bool) -> None:
        self._start[offset] = (order + 1) | (_PREFIX if is_prefix else 0)
        self._owner[offset] = owner_id
        self._count += 1
        self.changes += 1
        if is_prefix:
            self.prefixes[order] += 1

    def add_many(self, entries: list[Entry]) -> None:
        start, owner, prefixes = self._start, self._owner, self.prefixes
        for offset, order, owner_id, is_prefix in entries:
            if is_prefix:
                start[offset] = (order + 1) | _PREFIX
                prefixes[order] += 1
            else:
                start[offset] = order + 1
            owner[offset] = owner_id
        self._count += len(entries)
        self.changes += len(entries)

    def remove(self, offset: int) -> None:
        v = self._start[offset]
        if v & _PREFIX:
            self.prefixes[(v & 0x7F) - 1] -= 1
        self._start[offset] = 0
        self._owner[offset] = 0
        self._count -= 1
        self.changes += 1

    def get(self, offset: int) -> Entry | None:
        v = self._start[offset]
        if not v:
            return None
        return (offset, (v & 0x7F) - 1, self._owner[offset], bool(v & _PREFIX))

    def offsets_of(self, owner_id: int) -> list[int]:
        out: list[int] = []
        owner = self._owner
        start = self._start
        pos = 0
        while True:
            try:
                pos = owner.index(owner_id, pos)
            except ValueError:
                return out
            if start[pos]:
                out.append(pos)
            pos += 1

    def __iter__(self) -> Iterator[Entry]:
        marks = self._start.translate(_NONZERO)
        pos = marks.find(1)
        while pos >= 0:
            entry = self.get(pos)
            assert entry is not None
            yield entry
            pos = marks.find(1, pos + 1)

    def entries(self) -> list[Entry]:
        start, owner = self._start, self._owner
        return [
            (pos, (v & 0x7F) - 1, owner[pos], v >= _PREFIX)
            for pos in compress(range(len(start)), start)  # the starts, found at C speed
            for v in (start[pos],)
        ]

    def __len__(self) -> int:
        return self._count

    def copy(self) -> DenseLedger:
        new = DenseLedger.__new__(DenseLedger)
        new._bits = self._bits
        new.changes = self.changes
        new.prefixes = self.prefixes[:]
        new._start = self._start[:]
        new._owner = self._owner[:]
        new._count = self._count
        return new


class SparseLedger(Ledger):
    """A dict ``offset -> (order, owner_id, is_prefix)``."""

    __slots__ = ("_d",)

    def __init__(self, bits: int) -> None:
        super().__init__(bits)
        self._d: dict[int, tuple[int, int, bool]] = {}

    def add(self, offset: int, order: int, owner_id: int, is_prefix: bool) -> None:
        self._d[offset] = (order, owner_id, is_prefix)
        self.changes += 1
        if is_prefix:
            self.prefixes[order] += 1

    def remove(self, offset: int) -> None:
        order, _, is_prefix = self._d.pop(offset)
        self.changes += 1
        if is_prefix:
            self.prefixes[order] -= 1

    def get(self, offset: int) -> Entry | None:
        v = self._d.get(offset)
        return None if v is None else (offset, v[0], v[1], v[2])

    def offsets_of(self, owner_id: int) -> list[int]:
        return sorted(o for o, v in self._d.items() if v[1] == owner_id)

    def __iter__(self) -> Iterator[Entry]:
        for o in sorted(self._d):
            order, owner_id, is_prefix = self._d[o]
            yield (o, order, owner_id, is_prefix)

    def __len__(self) -> int:
        return len(self._d)

    def copy(self) -> SparseLedger:
        new = SparseLedger.__new__(SparseLedger)
        new._bits = self._bits
        new.changes = self.changes
        new.prefixes = self.prefixes[:]
        new._d = dict(self._d)
        return new


def make_ledger(bits: int, dense: bool) -> Ledger:
    """A new, empty ledger of the given layout."""
    return DenseLedger(bits) if dense else SparseLedger(bits)
