"""The compiled sparse backend: :class:`SparseSpace`'s trie, stored and updated in C.

``ipfrag.core._csparse.Trie`` holds the same path-compressed trie as the pure backend
(leaves the claimed blocks, inner nodes the branching ones, used counts, tracked-order
counts) and the same per-order counters, for spaces of up to 2**64 addresses (64-bit
offsets, 128-bit counts); it runs the updates, descents and scans in C. This class puts
it behind the :class:`~ipfrag.core.base.AddressSpace` interface. The shared algorithms of
the base class (iteration, picking policies, histogram, bulk claims) are unchanged, and
every random draw is made here in Python, so a seeded run picks the same blocks with
either backend. Importing this module fails with ImportError when the extension was not
built (no C compiler, or one without 128-bit integers, at install time).
"""

from __future__ import annotations

from typing import Any

from ipfrag.core import _csparse
from ipfrag.core._compiled import _CompiledSpace
from ipfrag.core.base import AddressSpace
from ipfrag.core.sparse import MAX_COMPILED_SPARSE_BITS, PySparseSpace, SparseSpace, _layout, _Node
from ipfrag.errors import InvalidArgument

__all__ = ["CSparseSpace"]


if _csparse.MAXBITS != MAX_COMPILED_SPARSE_BITS:  # pragma: no cover - a stale build
    raise ImportError("ipfrag.core._csparse was built for another size; rebuild it")


class CSparseSpace(_CompiledSpace, SparseSpace):
    """Sparse address space of ``2**bits`` addresses (``bits <= 64``), compiled.

    Memory: one C node (64 bytes) per claimed block and per branching node, whatever
    the space's size. Updates walk the branching nodes of one path, O(log n) for n
    scattered claims (O(bits) at most), in C.

    >>> sp = CSparseSpace(64)
    >>> sp.claim(0, 48)
    >>> sp.free_block_count(48), sp.pick_block(48, "lowest") == 2**48
    (65535, True)
    """

    # The unchecked hot-path primitives (the base class documents them) are the C trie's
    # own bound methods, set per instance by _bind: a call from Subnet is one C call, with
    # no Python frame in between.
    __slots__ = ("_t", "block_count", "try_claim", "try_release")
    _t: _csparse.Trie

    def __init__(self, bits: int) -> None:
        AddressSpace.__init__(self, bits)
        if bits > MAX_COMPILED_SPARSE_BITS:
            raise InvalidArgument(
                f"the compiled sparse backend holds at most 2**{MAX_COMPILED_SPARSE_BITS} "
                f"addresses; use PySparseSpace for 2**{bits}"
            )
        self._bind(_csparse.Trie(bits))

    # ------------------------------------------------------------ primitives
    def _descend_address(self, r: int, level: int, index: int, free: int) -> int:
        return self._t.descend_address(r, level, index)

    def _lowest_address(self, level: int, index: int, free: int) -> int:
        return self._t.descend_address(0, level, index)

    def _lowest_block(self, order: int, wo: int, wk: int) -> int | None:
        return self._t.lowest_block(order, wo, wk)

    # ------------------------------------------------------------------ misc
    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (and ``copy.copy`` / ``deepcopy``) as the tracked orders and the claimed
        blocks (the trie's leaves, ascending), from which the same trie is rebuilt.
        O(stored nodes).

        >>> import pickle
        >>> sp = CSparseSpace(64); sp.claim(2**63); sp.track(48)
        >>> again = pickle.loads(pickle.dumps(sp)); again.free_count == sp.free_count
        True
        """
        return (_rebuild, (self._bits, self._t.tracked(), _leaves(self._t.export())))

    def entry_count(self) -> int:
        """Stored trie nodes: claimed blocks plus branching nodes. O(1).

        >>> sp = CSparseSpace(64); sp.claim(0, 48); sp.claim(2**63); sp.entry_count()
        3
        """
        return self._t.entry_count()

    def _check(self) -> None:
        """Assert every invariant: the pure backend's checks, on the exported C trie.

        O(stored nodes * bits).

        >>> sp = CSparseSpace(64); sp.claim(2**48, 48); sp.claim(7); sp.track(48); sp._check()
        """
        t = self._t
        bits = self._bits
        assert t.bits == bits and len(t) == bits + 1
        tord = t.tracked()
        assert len(set(tord)) == len(tord) and set(tord) == self._tracked
        pure = PySparseSpace(bits)
        pure._tracked = set(self._tracked)
        pure._tord = list(tord)
        pure._root = _import(t.export())
        pos, _, _, _ = _layout(bits)
        pure._counters.value = sum(t[k] << pos[k] for k in range(bits + 1))
        pure._check()
        assert pure.entry_count() == t.entry_count()


def _import(node: Any) -> _Node | None:
    """The pure trie of an exported C one: ``(level, off, used, tu, lo, hi)`` tuples."""
    if node is None:
        return None
    level, off, used, tu, lo, hi = node
    new = _Node(level, off, used, _import(lo), _import(hi))
    new.tu = tu
    return new


def _leaves(node: Any) -> list[tuple[int, int]]:
    """The claimed blocks ``(offset, order)`` of an exported trie, ascending."""
    out: list[tuple[int, int]] = []
    stack = [] if node is None else [node]
    while stack:
        level, off, _, _, lo, hi = stack.pop()
        if lo is None:
            out.append((off, level))
        else:
            stack.append(hi)
            stack.append(lo)
    return out


def _rebuild(bits: int, tracked: list[int], leaves: list[tuple[int, int]]) -> CSparseSpace:
    """A space of ``2**bits`` tracking ``tracked`` (in that order) with ``leaves`` claimed."""
    sp = CSparseSpace(bits)
    for order in tracked:
        sp.track(order)
    sp._claim_bulk(leaves)
    return sp
