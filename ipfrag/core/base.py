"""The address-space interface and the algorithms both backends share.

An address space is the range of offsets ``0 .. 2**bits - 1``. It knows nothing of
IP addresses: a *block of order k* is the aligned run ``[i * 2**k, (i + 1) * 2**k)``,
and the space is the complete binary tree of those blocks (the buddy allocator's
tree). Every backend keeps, per node of that tree, how many addresses under it are
used, and per order ``k`` a counter of fully free blocks of that order. From the
counters alone come, in O(1), the answers EKS operators need: "is there still a
free aligned /28?" and "how many?"; the buddy free lists' histogram is O(bits).

Orders whose blocks are picked at random are *tracked*: a second count tree per
order says how many fully free blocks of that order lie under each node, so a
uniform choice among them is one descent, O(bits).
"""

from __future__ import annotations

import abc
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Literal

from ipfrag._repr import short
from ipfrag.errors import (
    AddressInUse,
    InvalidArgument,
    InvalidType,
    IpfragError,
    Misaligned,
    NotAllocated,
    OutsideSubnet,
)

__all__ = ["POLICIES", "AddressSpace", "Block", "Policy"]

Policy = Literal["random", "lowest", "best-fit"]
POLICIES: tuple[Policy, ...] = ("random", "lowest", "best-fit")

Block = tuple[int, int]
"""An aligned block as ``(offset, order)``: ``2**order`` addresses from ``offset``."""


class AddressSpace(abc.ABC):
    """Free/used state of ``2**bits`` addresses, with aligned-block counters.

    The two backends, :class:`~ipfrag.core.BitmapSpace` (dense, up to 2**24
    addresses) and :class:`~ipfrag.core.SparseSpace` (sparse, any size up to
    2**128), answer every query identically; the tests hold them to a plain
    set-of-integers oracle.

    >>> from ipfrag.core import BitmapSpace
    >>> sp = BitmapSpace(8)
    >>> sp.claim(17)
    >>> sp.free_count, sp.free_block_count(4), sp.is_free(16, 4)
    (255, 15, False)
    """

    __slots__ = ("_bits", "_cnt", "_tracked")

    def __init__(self, bits: int) -> None:
        if not isinstance(bits, int) or isinstance(bits, bool):
            raise InvalidType(f"bits must be an int, not {short(bits)}")
        if not 0 <= bits <= 128:
            raise InvalidArgument(f"bits must be in 0..128, not {short(bits)}")
        self._bits = bits
        # _cnt[k]: number of fully free aligned blocks of order k.
        self._cnt = [1 << (bits - k) for k in range(bits + 1)]
        self._tracked: set[int] = set()

    # ------------------------------------------------------------------ sizes
    @property
    def bits(self) -> int:
        """log2 of the number of addresses. O(1).

        >>> from ipfrag.core import SparseSpace
        >>> SparseSpace(64).bits
        64
        """
        return self._bits

    @property
    def size(self) -> int:
        """Number of addresses, ``2**bits``. O(1).

        >>> from ipfrag.core import BitmapSpace
        >>> BitmapSpace(8).size
        256
        """
        return 1 << self._bits

    @property
    def free_count(self) -> int:
        """Number of free addresses. O(1).

        >>> from ipfrag.core import SparseSpace
        >>> sp = SparseSpace(64)
        >>> sp.claim(0, 16)
        >>> sp.free_count == 2**64 - 2**16
        True
        """
        return self._cnt[0]

    @property
    def used_count(self) -> int:
        """Number of used addresses. O(1).

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(16, 4); sp.used_count
        16
        """
        return (1 << self._bits) - self._cnt[0]

    # ------------------------------------------------------------- validation
    def _check_block(self, offset: int, order: int) -> None:
        if not isinstance(order, int) or not 0 <= order <= self._bits:
            raise self._order_error(order)
        if not isinstance(offset, int) or not 0 <= offset < (1 << self._bits):
            raise self._offset_error(offset)
        if offset & ((1 << order) - 1):
            raise Misaligned(f"offset {offset} is not aligned on a block of 2**{order}")

    def _within(self, within: Block | None) -> Block:
        if within is None:
            return (0, self._bits)
        if not isinstance(within, tuple) or len(within) != 2:
            raise InvalidType(f"within must be an (offset, order) tuple, not {short(within)}")
        self._check_block(*within)
        return within

    # The errors of the checks above, built only on the failing path.
    def _order_error(self, order: object) -> IpfragError:
        if not isinstance(order, int):
            return InvalidType(f"a block order must be an int, not {short(order)}")
        return OutsideSubnet(f"block order {short(order)} outside 0..{self._bits}")

    def _offset_error(self, offset: object) -> IpfragError:
        if not isinstance(offset, int):
            return InvalidType(f"an offset must be an int, not {short(offset)}")
        return OutsideSubnet(f"offset {short(offset)} outside 0..{(1 << self._bits) - 1}")

    # ------------------------------------------------------ backend primitives
    @abc.abstractmethod
    def _node_free(self, level: int, index: int) -> int:
        """Exact free count of node ``(level, index)``, in any context."""

    @abc.abstractmethod
    def _child_free(self, level: int, index: int) -> int:
        """Free count of a node whose parent is partly used (cheaper where it matters)."""

    @abc.abstractmethod
    def _child_blocks_free(self, order: int, level: int, index: int) -> int:
        """Fully free order-``order`` blocks under a node whose parent is partly used.

        ``order`` must be tracked and ``level > order``.
        """

    @abc.abstractmethod
    def _build_tracking(self, order: int) -> None:
        """Start maintaining the block-count tree of ``order`` (already validated)."""

    @abc.abstractmethod
    def _claim(self, offset: int, order: int) -> None:
        """Mark a fully free, validated block used."""

    @abc.abstractmethod
    def _release(self, offset: int, order: int) -> None:
        """Mark a fully used, validated block free."""

    @abc.abstractmethod
    def _fullest_partial(self, unit: int, lo: int, hi: int) -> int | None:
        """Index of the order-``unit`` block in ``[lo, hi)`` with the fewest free addresses > 0.

        Only partly used blocks count; ties go to the lowest index. None when none.
        """

    @abc.abstractmethod
    def copy(self) -> AddressSpace:
        """An independent copy. O(size of the state)."""

    @abc.abstractmethod
    def _check(self) -> None:
        """Assert every invariant of the structure (for tests). O(size of the state)."""

    # ---------------------------------------------------------------- updates
    def claim(self, offset: int, order: int = 0) -> None:
        """Mark the aligned block ``(offset, order)`` used; all or nothing.

        Raises :class:`~ipfrag.errors.AddressInUse` if any address of it is
        already used, and leaves the space unchanged.
        Cost: O(bits) for one address; O(2**order) more on the dense backend.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8)
        >>> sp.claim(16, 4); sp.free_block_count(4)
        15
        >>> sp.claim(20)
        Traceback (most recent call last):
        ...
        ipfrag.errors.AddressInUse: block (20, 0) is not entirely free
        """
        self._check_block(offset, order)
        if self._node_free(order, offset >> order) != 1 << order:
            raise AddressInUse(f"block ({offset}, {order}) is not entirely free")
        self._claim(offset, order)

    def release(self, offset: int, order: int = 0) -> None:
        """Mark the aligned block ``(offset, order)`` free again; all or nothing.

        Every address of the block must be used (else :class:`~ipfrag.errors.NotAllocated`).
        Cost: as :meth:`claim`.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8)
        >>> sp.claim(16, 4); sp.release(16, 4); sp.free_block_count(4)
        16
        """
        self._check_block(offset, order)
        if self._node_free(order, offset >> order) != 0:
            raise NotAllocated(f"block ({offset}, {order}) is not entirely used")
        self._release(offset, order)

    # ------------------------------------------- unchecked primitives (hot paths)
    def try_claim(self, offset: int, order: int = 0) -> bool:
        """Claim the block if it is entirely free and say so; False changes nothing.

        Unchecked: the block must be valid (in range, aligned), as a caller that has
        validated it already knows; :meth:`claim` is the checked form. O(bits).

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.try_claim(16, 4), sp.try_claim(20)
        (True, False)
        """
        if self._node_free(order, offset >> order) != 1 << order:
            return False
        self._claim(offset, order)
        return True

    def try_release(self, offset: int, order: int = 0) -> bool:
        """Release the block if it is entirely used and say so; False changes nothing.

        Unchecked like :meth:`try_claim`; :meth:`release` is the checked form. O(bits).

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(16, 4); sp.try_release(0, 4), sp.try_release(16, 4)
        (False, True)
        """
        if self._node_free(order, offset >> order) != 0:
            return False
        self._release(offset, order)
        return True

    def block_count(self, order: int) -> int:
        """Fully free blocks of ``order`` in the whole space: the counter, unchecked.

        ``order`` must be in 0..bits; :meth:`free_block_count` is the checked form. O(1).

        >>> from ipfrag.core import BitmapSpace
        >>> BitmapSpace(8).block_count(4)
        16
        """
        return self._cnt[order]

    def claim_many(self, blocks: Iterable[Block]) -> None:
        """Mark many aligned blocks used at once (a bulk build); all or nothing.

        ``blocks`` are ``(offset, order)`` pairs in ascending offset order, disjoint. Every
        block is checked before anything changes: an invalid block raises what
        :meth:`claim` raises (:class:`~ipfrag.errors.OutsideSubnet`,
        :class:`~ipfrag.errors.Misaligned`), blocks out of order or overlapping each other
        :class:`~ipfrag.errors.InvalidArgument`, a block not entirely free
        :class:`~ipfrag.errors.AddressInUse`; the message names the block's position.
        The end state is exactly that of claiming the blocks one by one.
        Cost: O(n * bits) checks, then O(n * bits) updates (O(2**bits) in C-speed
        passes for a large batch on the pure dense backend).

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8)
        >>> sp.claim_many([(0, 0), (16, 4), (40, 3)]); sp.free_count, sp.free_block_count(4)
        (231, 13)
        >>> sp.claim_many([(100, 0), (64, 0)])
        Traceback (most recent call last):
        ...
        ipfrag.errors.InvalidArgument: blocks[1] = (64, 0) is not after the end of blocks[0]
        """
        items = self._checked_blocks(blocks)
        self._claim_bulk(items)

    def _checked_blocks(self, blocks: Iterable[Block]) -> list[Block]:
        """The blocks as a list, once each is valid, in order, disjoint and free (else raise)."""
        try:
            items = [(o, k) for o, k in blocks]
        except (TypeError, ValueError) as e:
            raise InvalidArgument(f"blocks must be (offset, order) pairs: {e}") from e
        end = 0
        for x, (o, k) in enumerate(items):
            try:
                self._check_block(o, k)
            except (OutsideSubnet, Misaligned) as e:
                raise type(e)(f"blocks[{x}]: {e}") from None
            if o < end:
                raise InvalidArgument(
                    f"blocks[{x}] = ({o}, {k}) is not after the end of blocks[{x - 1}]"
                )
            if self._node_free(k, o >> k) != 1 << k:
                raise AddressInUse(f"blocks[{x}] = ({o}, {k}) is not entirely free")
            end = o + (1 << k)
        return items

    def _claim_bulk(self, blocks: list[Block]) -> None:
        """Claim checked blocks (valid, ascending, disjoint, free)."""
        for o, k in blocks:
            self._claim(o, k)

    def fill(self, offset: int, order: int) -> int:
        """Mark every free address of the block used; returns how many were free.

        Cost: O(B * bits) for the B maximal free blocks inside.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(4)
        >>> sp.claim(3)
        >>> sp.fill(0, 2), sp.free_count
        (3, 12)
        """
        blocks = list(self.iter_maximal_free((offset, order)))
        for o, k in blocks:
            self._claim(o, k)
        return sum(1 << k for _, k in blocks)

    # ---------------------------------------------------------------- queries
    def is_free(self, offset: int, order: int = 0) -> bool:
        """True when every address of the aligned block is free. O(1) dense, O(bits) sparse.

        >>> from ipfrag.core import BitmapSpace
        >>> BitmapSpace(8).is_free(16, 4)
        True
        """
        self._check_block(offset, order)
        return self._node_free(order, offset >> order) == 1 << order

    def free_within(self, offset: int, order: int) -> int:
        """Free addresses inside an aligned block. O(1) dense, O(bits) sparse.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(17)
        >>> sp.free_within(16, 4)
        15
        """
        self._check_block(offset, order)
        return self._node_free(order, offset >> order)

    def track(self, order: int) -> None:
        """Maintain per-node counts of free blocks of ``order`` (for uniform random picks).

        Building costs O(size / 2**order) dense, O(state) sparse; afterwards every
        update pays O(bits) more. Picking at random tracks the order by itself.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.track(4); sp.tracked_orders
        (4,)
        """
        if not isinstance(order, int) or not 0 <= order <= self._bits:
            raise self._order_error(order)
        if order not in self._tracked and order > 0:
            self._build_tracking(order)
            self._tracked.add(order)

    @property
    def tracked_orders(self) -> tuple[int, ...]:
        """Orders with maintained block-count trees, ascending. O(t log t).

        >>> from ipfrag.core import SparseSpace
        >>> sp = SparseSpace(64); sp.track(48); sp.track(4); sp.tracked_orders
        (4, 48)
        """
        return tuple(sorted(self._tracked))

    def free_block_count(self, order: int, within: Block | None = None) -> int:
        """Number of fully free aligned blocks of ``order``.

        O(1) for the whole space (a maintained counter); inside a block ``within``,
        O(1) dense / O(bits) sparse once the order is tracked (tracks it otherwise).

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(17)
        >>> sp.free_block_count(4), sp.free_block_count(4, within=(0, 5))
        (15, 1)
        """
        if not isinstance(order, int) or not 0 <= order <= self._bits:
            raise self._order_error(order)
        if within is None:
            return self._cnt[order]
        wo, wk = self._within(within)
        if wk < order:
            return 0
        return self._blocks_free(order, wk, wo >> wk)

    def _blocks_free(self, order: int, level: int, index: int) -> int:
        """Fully free order-``order`` blocks under any node (exact, any context)."""
        free = self._node_free(level, index)
        if free == 1 << level:
            return 1 << (level - order)
        if level == order or free == 0:
            return 0
        if order == 0:
            return free
        self.track(order)
        c = 2 * index
        return self._child_count(order, level - 1, c) + self._child_count(order, level - 1, c + 1)

    def _child_count(self, order: int, level: int, index: int) -> int:
        """Fully free order-``order`` blocks under a node whose parent is partly used."""
        free = self._child_free(level, index)
        if free == 1 << level:
            return 1 << (level - order)
        if free == 0 or level == order:
            return 0
        if order == 0:
            return free
        return self._child_blocks_free(order, level, index)

    def has_free_block(self, order: int) -> bool:
        """True when a fully free aligned block of ``order`` exists. O(1).

        >>> from ipfrag.core import BitmapSpace
        >>> BitmapSpace(4).has_free_block(4)
        True
        """
        return self.free_block_count(order) > 0

    def largest_free_order(self) -> int | None:
        """Order of the largest fully free aligned block, None when full. O(bits).

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(0)
        >>> sp.largest_free_order()
        7
        """
        for k in range(self._bits, -1, -1):
            if self._cnt[k]:
                return k
        return None

    def histogram(self) -> dict[int, int]:
        """Maximal free aligned blocks per order (the buddy free lists' lengths). O(bits).

        A block is maximal when it is free and its buddy is not. Orders with no
        block are left out.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(4); sp.claim(0)
        >>> sp.histogram()
        {0: 1, 1: 1, 2: 1, 3: 1}
        """
        cnt = self._cnt
        out: dict[int, int] = {}
        for k in range(self._bits + 1):
            n = cnt[k] - (2 * cnt[k + 1] if k < self._bits else 0)
            if n:
                out[k] = n
        return out

    # -------------------------------------------------------------- iteration
    def iter_free_blocks(self, order: int, within: Block | None = None) -> Iterator[int]:
        """Offsets of the fully free aligned blocks of ``order``, ascending.

        Cost: O((F + U) * bits) for F results and U partly used nodes visited.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(4); sp.claim(5)
        >>> list(sp.iter_free_blocks(2))
        [0, 8, 12]
        """
        if not isinstance(order, int) or not 0 <= order <= self._bits:
            raise self._order_error(order)
        wo, wk = self._within(within)
        if wk < order:
            return
        free = self._node_free(wk, wo >> wk)
        yield from self._iter_free(order, wk, wo >> wk, free)

    def _iter_free(self, order: int, level: int, index: int, free: int) -> Iterator[int]:
        stack = [(level, index, free)]
        while stack:
            lv, i, f = stack.pop()
            if f == 1 << lv:
                step = 1 << order
                start = i << lv
                yield from range(start, start + (1 << lv), step)
            elif f == 0 or lv == order:
                continue
            else:
                c = 2 * i
                stack.append((lv - 1, c + 1, self._child_free(lv - 1, c + 1)))
                stack.append((lv - 1, c, self._child_free(lv - 1, c)))

    def iter_maximal_free(self, within: Block | None = None) -> Iterator[Block]:
        """The free space as maximal aligned blocks ``(offset, order)``, ascending.

        Inside ``within`` the blocks are maximal relative to that block.
        Cost: O(B * bits) for B blocks.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(4); sp.claim(5)
        >>> list(sp.iter_maximal_free())
        [(0, 2), (4, 0), (6, 1), (8, 3)]
        """
        wo, wk = self._within(within)
        stack = [(wk, wo >> wk, self._node_free(wk, wo >> wk))]
        while stack:
            lv, i, f = stack.pop()
            if f == 1 << lv:
                yield (i << lv, lv)
            elif f:
                c = 2 * i
                stack.append((lv - 1, c + 1, self._child_free(lv - 1, c + 1)))
                stack.append((lv - 1, c, self._child_free(lv - 1, c)))

    # ---------------------------------------------------------------- picking
    def pick_address(
        self,
        policy: Policy = "lowest",
        rng: random.Random | None = None,
        *,
        unit: int = 0,
        within: Block | None = None,
    ) -> int | None:
        """Choose a free address (without claiming it); None when there is none.

        - ``"random"``: uniform over the free addresses, O(bits);
        - ``"lowest"``: the first free address, O(bits) (a C-speed scan dense);
        - ``"best-fit"``: inside the fullest block of order ``unit`` that still has
          room, the smallest free hole; keeps whole ``unit`` blocks free.
          O(size / 2**unit) dense, O(partly used blocks) sparse.

        >>> import random
        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(0); sp.claim(17)
        >>> sp.pick_address("lowest"), sp.pick_address("best-fit", unit=4)
        (1, 1)
        >>> sp.pick_address("random", random.Random(1)) in range(256)
        True
        """
        if policy not in POLICIES:
            raise _policy_error(policy)
        wo, wk = self._within(within)
        wi = wo >> wk
        free = self._node_free(wk, wi)
        if free == 0:
            return None
        if policy == "random":
            return self._descend_address(_below(rng or random.Random(), free), wk, wi, free)
        if policy == "lowest":
            return self._lowest_address(wk, wi, free)
        # best-fit
        if not isinstance(unit, int):
            raise InvalidType(f"unit must be an int, not {short(unit)}")
        unit = min(max(unit, 0), wk)
        lo = wo >> unit
        idx = self._fullest_partial(unit, lo, lo + (1 << (wk - unit)))
        if idx is None:
            # No partly used unit block has room: every free address then lies in an
            # entirely free one, so a best-fit unit block exists.
            return self.pick_block(unit, "best-fit", within=(wo, wk))
        return self._best_fit_block(0, (idx << unit, unit))

    def _descend_address(self, r: int, level: int, index: int, free: int) -> int:
        while free != 1 << level:
            level -= 1
            index *= 2
            left = self._child_free(level, index)
            if r < left:
                free = left
            else:
                r -= left
                index += 1
                free = self._child_free(level, index)
        return (index << level) + r

    def _lowest_address(self, level: int, index: int, free: int) -> int:
        while free != 1 << level:
            level -= 1
            index *= 2
            free = self._child_free(level, index)
            if free == 0:
                index += 1
                free = self._child_free(level, index)
        return index << level

    def pick_block(
        self,
        order: int,
        policy: Policy = "lowest",
        rng: random.Random | None = None,
        *,
        within: Block | None = None,
    ) -> int | None:
        """Choose a fully free aligned block of ``order`` (without claiming it); None if none.

        - ``"random"``: uniform over such blocks, O(bits): rejection sampling while
          at least half the blocks are free, else a descent of the order's count
          tree (built on first use);
        - ``"lowest"``: the first one, O(bits) (a C-speed scan dense);
        - ``"best-fit"``: the lowest block of the smallest maximal free run that
          fits, so larger runs survive; O(B * bits) for B maximal free blocks.

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(100)
        >>> sp.pick_block(4, "lowest"), sp.pick_block(4, "best-fit")
        (0, 112)
        """
        if not isinstance(order, int) or not 0 <= order <= self._bits:
            raise self._order_error(order)
        if policy not in POLICIES:
            raise _policy_error(policy)
        wo, wk = self._within(within)
        if wk < order:
            return None
        if policy == "random":
            rng = rng or random.Random()
            if (wo, wk) == (0, self._bits) and 2 * self._cnt[order] >= 1 << (wk - order):
                # At least half the blocks are free: rejection sampling is uniform and
                # needs no per-order tree (at most 2 tries expected). The choice of
                # method depends only on the free space, so seeds stay reproducible.
                blocks = 1 << (wk - order)
                full = 1 << order
                while True:
                    index = _below(rng, blocks)
                    if self._node_free(order, index) == full:
                        return index << order
            if (wo, wk) == (0, self._bits):
                # The whole space: the count is the counter (a partly used root tracks the
                # order, as free_block_count would).
                if 0 < order < wk and 0 < self._cnt[0] < 1 << wk and order not in self._tracked:
                    self.track(order)
                total = self._cnt[order]
            else:
                total = self.free_block_count(order, (wo, wk))
            if total == 0:
                return None
            r = _below(rng, total)
            if order == 0:
                return self._descend_address(r, wk, wo >> wk, total)
            return self._descend_block(order, r, wk, wo >> wk)
        if policy == "lowest":
            return self._lowest_block(order, wo, wk)
        return self._best_fit_block(order, (wo, wk))

    def take_address(self, policy: Policy, rng: random.Random | None, unit: int = 0) -> int | None:
        """Pick a free address of the whole space as :meth:`pick_address` does, and claim it.

        Returns its offset, or None (nothing changed) when no address is free. The picks
        and the draws from ``rng`` are exactly those of :meth:`pick_address`.
        Unchecked: ``policy`` must be one of :data:`POLICIES` and ``unit`` an int, as a
        caller that has validated them knows. Cost: :meth:`pick_address`'s plus the claim
        (a random pick is one draw, then one descent-and-claim, in C with the compiled core).

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(0)
        >>> sp.take_address("lowest", None), sp.free_count
        (1, 254)
        """
        if policy == "random":
            free = self._cnt[0]
            if not free:
                return None
            return self._take_nth(0, _below(rng or random.Random(), free))
        offset = self.pick_address(policy, rng, unit=unit)
        if offset is not None:
            self._claim(offset, 0)
        return offset

    def take_block(self, order: int, policy: Policy, rng: random.Random | None) -> int | None:
        """Pick a free block of ``order`` in the whole space as :meth:`pick_block` does, and
        claim it.

        Returns its offset, or None (nothing changed) when no such block is free; same picks
        and same draws from ``rng`` as :meth:`pick_block`. Unchecked: ``order`` must be in
        0..bits and ``policy`` one of :data:`POLICIES`. Cost: :meth:`pick_block`'s plus the
        claim (a random pick: each draw tried, or one descent-and-claim, in C with the
        compiled core).

        >>> from ipfrag.core import BitmapSpace
        >>> sp = BitmapSpace(8); sp.claim(0)
        >>> sp.take_block(4, "lowest", None), sp.free_block_count(4)
        (16, 14)
        """
        if policy != "random":
            offset = self.pick_block(order, policy, rng)
            if offset is not None:
                self._claim(offset, order)
            return offset
        # pick_block's random branch on the whole space, each pick claimed as it is made.
        rng = rng or random.Random()
        bits = self._bits
        total = self._cnt[order]
        blocks = 1 << (bits - order)
        if 2 * total >= blocks:
            try_claim = self.try_claim
            while True:
                offset = _below(rng, blocks) << order
                if try_claim(offset, order):
                    return offset
        if 0 < order < bits and 0 < self._cnt[0] < 1 << bits and order not in self._tracked:
            self.track(order)
        if total == 0:
            return None
        return self._take_nth(order, _below(rng, total))

    def _take_nth(self, order: int, r: int) -> int:
        """Claim the r-th free block of ``order`` in the whole space (``r`` below the
        counter; the order tracked unless the space is entirely free); its offset."""
        if order == 0:
            offset = self._descend_address(r, self._bits, 0, self._cnt[0])
        else:
            offset = self._descend_block(order, r, self._bits, 0)
        self._claim(offset, order)
        return offset

    def _descend_block(self, order: int, r: int, level: int, index: int) -> int:
        """The r-th free order-``order`` block under a node (r < its count). O(bits)."""
        full = self._node_free(level, index) == 1 << level
        while not full:
            level -= 1
            index *= 2
            left = self._child_count(order, level, index)
            if r >= left:
                r -= left
                index += 1
            full = self._child_free(level, index) == 1 << level
        return (index << level) + (r << order)

    def _lowest_block(self, order: int, wo: int, wk: int) -> int | None:
        for offset in self._iter_free(order, wk, wo >> wk, self._node_free(wk, wo >> wk)):
            return offset
        return None

    def _best_fit_block(self, order: int, within: Block) -> int | None:
        if within == (0, self._bits):
            # The smallest order that has a maximal block, from the counters.
            floor = next((m for m, n in self.histogram().items() if m >= order and n > 0), None)
            return None if floor is None else self._lowest_maximal(floor)
        best: Block | None = None
        for o, k in self.iter_maximal_free(within):
            if k >= order and (best is None or k < best[1]):
                best = (o, k)
                if k == order:
                    break
        return None if best is None else best[0]

    def _lowest_maximal(self, order: int) -> int:
        """Offset of the lowest maximal free block of ``order`` (one must exist)."""
        for o, k in self.iter_maximal_free():
            if k == order:
                return o
        raise AssertionError("the histogram promised a maximal block")  # pragma: no cover

    # ------------------------------------------------------------------ check
    def _count_slow(self, order: int, level: int, index: int, free: int) -> int:
        """Free order-``order`` blocks under a node, recounted from the node tree."""
        if free == 1 << level:
            return 1 << (level - order)
        if free == 0 or level == order:
            return 0
        c = 2 * index
        return self._count_slow(order, level - 1, c, self._child_free(level - 1, c)) + (
            self._count_slow(order, level - 1, c + 1, self._child_free(level - 1, c + 1))
        )

    def _check_counters(self) -> None:
        """Shared invariants: the counters and tracked trees agree with the node tree."""
        bits = self._bits
        assert len(self._cnt) == bits + 1
        root = self._node_free(bits, 0)
        for k in range(bits + 1):
            assert self._cnt[k] == self._count_slow(k, bits, 0, root), k
        for k in self._tracked:
            assert 0 < k <= bits
            assert self._blocks_free(k, bits, 0) == self._cnt[k], k

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bits={self._bits}, free={self.free_count})"


def _below(rng: random.Random, n: int) -> int:
    """``rng.randrange(n)``: the same draw, made cheaper for a plain ``random.Random``
    (:func:`_randbelow` when :data:`_PLAIN_DRAWS`); any other generator, or ``n <= 0``,
    goes through its own ``randrange``. O(1) expected.
    """
    if type(rng) is random.Random and n > 0 and _PLAIN_DRAWS:
        return _randbelow(rng, n)
    return rng.randrange(n)


def _randbelow(rng: random.Random, n: int) -> int:
    """What ``randrange(n)`` does for ``n > 0`` (``Random._randbelow_with_getrandbits``):
    ``n.bit_length()`` bits from ``getrandbits`` until the number is below ``n``, without
    ``randrange``'s argument handling (a third of a random pick's cost)."""
    getrandbits = rng.getrandbits
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


def _draws_like_randrange(draw: Callable[[random.Random, int], int], below: int = 1 << 65) -> bool:
    """Whether ``draw(rng, n)`` draws what ``rng.randrange(n)`` draws on this Python (same
    numbers, same generator state after), for sizes ``n`` under ``below``; checked once at
    import, on seeded generators, by each shortcut that stands in for ``randrange``."""
    for n in (1, 2, 3, 5, 255, 256, 4097, 65_535, 1 << 24, (1 << 40) + 7, 1 << 64):
        if n >= below:
            continue
        a, b = random.Random(n), random.Random(n)
        if [a.randrange(n) for _ in range(20)] != [draw(b, n) for _ in range(20)] or (
            a.getstate() != b.getstate()
        ):
            return False  # pragma: no cover - a Python whose randrange draws differently
    return True


_PLAIN_DRAWS = _draws_like_randrange(_randbelow)
"""A plain ``random.Random``'s picks are drawn by :func:`_randbelow` (else ``randrange``)."""


def _policy_error(policy: object) -> IpfragError:
    if not isinstance(policy, str):
        return InvalidType(f"a policy must be a string, not {short(policy)}")
    return InvalidArgument(f"unknown policy {short(policy)}; expected one of {POLICIES}")
