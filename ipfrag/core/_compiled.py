"""What the two compiled spaces share: a C object behind the ``AddressSpace`` interface.

``CBitmapSpace`` (``_ctree.Tree``) and ``CSparseSpace`` (``_csparse.Trie``) hold their
structure in a C object with the same primitive methods (status-code ``claim`` and
``release``, ``try_claim`` / ``try_release`` / ``block_count`` for ``Subnet``'s hot paths,
readers, descents, bulk claims); this mixin puts those primitives behind the base class's
hooks once, and each space adds what its structure does differently.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ipfrag.core.base import AddressSpace
from ipfrag.errors import AddressInUse, NotAllocated, OutsideSubnet

__all__: list[str] = []

_OK, _BUSY = 0, 1
_S = TypeVar("_S", bound="_CompiledSpace")


class _CompiledSpace(AddressSpace):
    """The C object's primitives as the hooks of :class:`AddressSpace` (abstract)."""

    __slots__ = ()
    _t: Any

    def _bind(self, tree: Any) -> None:
        """Hold a C object; its unchecked hot-path primitives become this instance's own
        (bound per instance: a call from ``Subnet`` is one C call, no Python frame)."""
        self._t = tree
        # The counters live in C; the object reads as the sequence of them.
        self._cnt = tree
        self.try_claim = tree.try_claim  # type: ignore[method-assign]
        self.try_release = tree.try_release  # type: ignore[method-assign]
        self.block_count = tree.block_count  # type: ignore[method-assign]

    # ------------------------------------------------------------ primitives
    def _node_free(self, level: int, index: int) -> int:
        return int(self._t.free(level, index))

    def _child_free(self, level: int, index: int) -> int:
        return int(self._t.free(level, index))

    def _child_blocks_free(self, order: int, level: int, index: int) -> int:
        return int(self._t.blocks(order, level, index))

    def _build_tracking(self, order: int) -> None:
        self._t.track(order)

    def _claim(self, offset: int, order: int) -> None:
        self._t.claim(offset, order)

    def _release(self, offset: int, order: int) -> None:
        self._t.release(offset, order)

    def _refuse(self, offset: int, order: int, status: int, claiming: bool) -> None:
        """The error of a refused update (the pure backends', in the same order)."""
        self._check_block(offset, order)
        if status == _BUSY:
            if claiming:
                raise AddressInUse(f"block ({offset}, {order}) is not entirely free")
            raise NotAllocated(f"block ({offset}, {order}) is not entirely used")
        raise OutsideSubnet(f"block ({offset!r}, {order!r}) is not a block of this space")

    def claim(self, offset: int, order: int = 0) -> None:
        """Mark the aligned block ``(offset, order)`` used; all or nothing. O(bits) in C.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(16, 4); sp.free_block_count(4)
        15
        """
        status = self._t.claim(offset, order)
        if status != _OK:
            self._refuse(offset, order, status, True)

    def release(self, offset: int, order: int = 0) -> None:
        """Mark the aligned block ``(offset, order)`` free again; all or nothing. O(bits) in C.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(16, 4); sp.release(16, 4); sp.free_count
        256
        """
        status = self._t.release(offset, order)
        if status != _OK:
            self._refuse(offset, order, status, False)

    def _take_nth(self, order: int, r: int) -> int:
        # One descent-and-claim in C.
        return int(self._t.take_address(r) if order == 0 else self._t.take_block(order, r))

    def _fullest_partial(self, unit: int, lo: int, hi: int) -> int | None:
        found = self._t.fullest_partial(unit, lo, hi)
        return None if found is None else int(found)

    def _descend_block(self, order: int, r: int, level: int, index: int) -> int:
        return int(self._t.descend_block(order, r, level, index))

    def _lowest_maximal(self, order: int) -> int:
        offset = int(self._t.lowest_maximal(order))
        if offset < 0:  # pragma: no cover - the histogram promised one
            raise AssertionError("the histogram promised a maximal block")
        return offset

    def copy(self: _S) -> _S:
        """An independent copy: the C object copied in C. O(its size).

        >>> from ipfrag.core import BitmapSpace
        >>> a = BitmapSpace(8); b = a.copy(); b.claim(3)
        >>> a.free_count, b.free_count
        (256, 255)
        """
        new = object.__new__(type(self))
        new._bits = self._bits
        new._bind(self._t.copy())
        new._tracked = set(self._tracked)
        return new

    def memory_bytes(self) -> int:
        """Bytes held by the C object. O(1).

        >>> from ipfrag.core import BitmapSpace
        >>> BitmapSpace(16).memory_bytes() < 400_000
        True
        """
        return int(self._t.nbytes())
