"""The compiled dense backend: :class:`PyBitmapSpace`'s count tree, stored and updated in C.

``ipfrag.core._ctree.Tree`` holds the same per-level counts, counters and tracked
block-count trees as the pure backend and runs its loops (updates, descents, scans) in
C; this class puts it behind the :class:`~ipfrag.core.base.AddressSpace` interface.
The shared algorithms of the base class (iteration, picking policies, histogram) are
unchanged, and every random draw is made here in Python, so a seeded run picks the same
blocks with either backend. Importing this module fails with ImportError when the
extension was not built (no C compiler at install time).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from itertools import compress

from ipfrag.core import _ctree
from ipfrag.core._compiled import _OK, _CompiledSpace
from ipfrag.core.base import Block, Policy, _draws_like_randrange
from ipfrag.core.bitmap import BitmapSpace, _check_dense

__all__ = ["CBitmapSpace"]

_NONE_FREE, _TRACK_FIRST = -1, -2


_USED = bytes([1, 0]) + bytes(254)
"""Level 0 holds 1 for a free address: this table turns it into 1 for a used one."""


def _rebuilt(bits: int, used: bytes, tracked: tuple[int, ...]) -> CBitmapSpace:
    """A compiled space with exactly these used addresses and tracked orders (unpickling)."""
    space = CBitmapSpace(bits)
    space.claim_many([(offset, 0) for offset in compress(range(len(used)), used)])
    for order in tracked:
        space.track(order)
    return space


_C_DRAWS = _draws_like_randrange(lambda rng, n: _ctree.randbelow(rng.getrandbits, n), 1 << 62)
"""The random picks of a plain ``random.Random`` are drawn in C (else in Python)."""


class CBitmapSpace(_CompiledSpace, BitmapSpace):
    """Dense address space of ``2**bits`` addresses (``bits <= 24``), compiled.

    Memory: about ``2**bits * 2`` bytes, as the pure backend. Updates of one address
    are O(bits) steps in C.

    >>> sp = CBitmapSpace(16)
    >>> sp.claim(1000)
    >>> sp.free_block_count(4), sp.pick_block(4, "lowest")
    (4095, 0)
    """

    # The unchecked hot-path primitives (the base class documents them) are the C tree's
    # own bound methods, set per instance by _bind: a call from Subnet is one C call, with
    # no Python frame in between.
    __slots__ = ("_t", "block_count", "try_claim", "try_release")
    _t: _ctree.Tree

    def __init__(self, bits: int) -> None:
        super().__init__(bits)
        self._bind(_ctree.Tree(bits))

    # ------------------------------------------------------------ primitives
    def claim_many(self, blocks: Iterable[Block]) -> None:
        """Mark many aligned blocks used at once, checked and claimed in C; all or nothing.

        As :meth:`AddressSpace.claim_many <ipfrag.core.AddressSpace.claim_many>`.
        Cost: O(n * bits) in C.

        >>> sp = CBitmapSpace(8); sp.claim_many([(0, 0), (16, 4)]); sp.free_count
        239
        """
        # A list or tuple goes to C as it is; anything else is read (and checked) first.
        items = blocks if isinstance(blocks, (list, tuple)) else self._checked_blocks(blocks)
        status, _ = self._t.claim_many(items)
        if status != _OK:
            # The C checks refused (or could not read) a block: the Python checks say
            # which and why, or, when the pairs were merely not tuples, claim them here.
            self._claim_bulk(self._checked_blocks(items))

    def take_address(self, policy: Policy, rng: random.Random | None, unit: int = 0) -> int | None:
        """As :meth:`AddressSpace.take_address <ipfrag.core.AddressSpace.take_address>`; with
        a plain ``random.Random``, the "random" pick's draw is made in C too (the same draw).
        Cost: O(bits) in C.

        >>> sp = CBitmapSpace(8); sp.take_address("random", random.Random(1)) is not None
        True
        """
        if policy == "random" and type(rng) is random.Random and _C_DRAWS:
            offset = self._t.take_random_address(rng.getrandbits)
            return None if offset == _NONE_FREE else offset
        return super().take_address(policy, rng, unit)

    def take_block(self, order: int, policy: Policy, rng: random.Random | None) -> int | None:
        """As :meth:`AddressSpace.take_block <ipfrag.core.AddressSpace.take_block>`; with a
        plain ``random.Random``, the "random" pick (its draws, tries and claim) runs in C,
        drawing exactly what the Python pick draws. Cost: O(bits) in C per try.

        >>> sp = CBitmapSpace(8); sp.take_block(4, "random", random.Random(1)) % 16
        0
        """
        if policy == "random" and type(rng) is random.Random and _C_DRAWS:
            offset = self._t.take_random_block(order, rng.getrandbits)
            if offset == _TRACK_FIRST:  # where the Python pick tracks the order: here too
                self.track(order)
                offset = self._t.take_random_block(order, rng.getrandbits)
            return None if offset == _NONE_FREE else offset
        return super().take_block(order, policy, rng)

    def _descend_address(self, r: int, level: int, index: int, free: int) -> int:
        return self._t.descend_address(r, level, index, free)

    def _lowest_address(self, level: int, index: int, free: int) -> int:
        lo = index << level
        return self._t.find(0, 1, lo, lo + (1 << level))

    def _lowest_block(self, order: int, wo: int, wk: int) -> int | None:
        lo = wo >> order
        i = self._t.find(order, 1 << order, lo, lo + (1 << (wk - order)))
        return None if i < 0 else i << order

    # ------------------------------------------------------------------ misc
    def __reduce__(self) -> tuple[object, ...]:
        """Pickle support: the space is rebuilt from its used addresses (the tree is a
        function of them) and its tracked orders. O(2**bits).

        >>> import pickle
        >>> sp = CBitmapSpace(8); sp.claim(16, 4); sp.track(4)
        >>> back = pickle.loads(pickle.dumps(sp))
        >>> back.free_block_count(4), back.tracked_orders
        (15, (4,))
        """
        used = bytes(self._t.level(0)).translate(_USED)  # 1 where an address is used
        return (_rebuilt, (self._bits, used, tuple(sorted(self._tracked))))

    def _check(self) -> None:
        """Assert every invariant (the pure backend's, on the C arrays). O(2**bits).

        >>> sp = CBitmapSpace(6); sp.claim(8, 3); sp.track(2); sp._check()
        """
        t = self._t
        bits = self._bits
        assert t.bits == bits and len(t) == bits + 1
        assert t.tracked() == sorted(self._tracked)
        levels = [t.level(L) for L in range(bits + 1)]
        tt = {j: {L: t.tracked_level(j, L) for L in range(j + 1, bits + 1)} for j in t.tracked()}
        _check_dense(self, levels, tt)
