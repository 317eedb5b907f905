"""Stateful property tests of the address-space core against plain oracles.

A hypothesis ``RuleBasedStateMachine`` runs random programs of claims, releases,
fills and tracking (valid and invalid) on :class:`BitmapSpace` and
:class:`SparseSpace`, and after every step compares every query with an oracle:

- small spaces (``bits`` 0..9): a Python ``set`` of used integers;
- ``SparseSpace`` with ``bits`` 64 (and 128): the used space as sorted disjoint
  intervals, since enumerating 2**64 addresses is out of the question.

Block queries are also held to netaddr's ``IPSet(free).iter_cidrs()``. Every call
that raises must leave the observable state exactly as it was.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import netaddr
import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ipfrag.core import POLICIES, AddressSpace, BitmapSpace, SparseSpace, make_space
from ipfrag.errors import (
    AddressInUse,
    InvalidArgument,
    IpfragError,
    Misaligned,
    NotAllocated,
    OutsideSubnet,
)

Gaps = list[tuple[int, int]]

# ----------------------------------------------------------------- oracles


class SetOracle:
    """The used addresses as a plain set of integers (small spaces only)."""

    def __init__(self, bits: int) -> None:
        self.size = 1 << bits
        self.used: set[int] = set()

    def free_within(self, offset: int, order: int) -> int:
        return sum(1 for x in range(offset, offset + (1 << order)) if x not in self.used)

    def add(self, offset: int, order: int) -> None:
        self.used.update(range(offset, offset + (1 << order)))

    def remove(self, offset: int, order: int) -> None:
        self.used.difference_update(range(offset, offset + (1 << order)))

    def gaps(self) -> Gaps:
        """Maximal runs of free addresses as half-open intervals, ascending."""
        out: Gaps = []
        start = None
        for x in range(self.size):
            if x in self.used:
                if start is not None:
                    out.append((start, x))
                    start = None
            elif start is None:
                start = x
        if start is not None:
            out.append((start, self.size))
        return out


class IntervalOracle:
    """The used addresses as sorted, disjoint, non-adjacent intervals ``[a, b)``."""

    def __init__(self, bits: int) -> None:
        self.size = 1 << bits
        self.iv: list[tuple[int, int]] = []

    def used_in(self, a: int, b: int) -> int:
        return sum(max(0, min(b, e) - max(a, s)) for s, e in self.iv)

    def free_within(self, offset: int, order: int) -> int:
        return (1 << order) - self.used_in(offset, offset + (1 << order))

    def add(self, offset: int, order: int) -> None:
        a, b = offset, offset + (1 << order)
        keep = []
        for s, e in self.iv:
            if e < a or s > b:
                keep.append((s, e))
            else:
                a, b = min(a, s), max(b, e)
        keep.append((a, b))
        self.iv = sorted(keep)

    def remove(self, offset: int, order: int) -> None:
        a, b = offset, offset + (1 << order)
        out = []
        for s, e in self.iv:
            if s < a:
                out.append((s, min(e, a)))
            if e > b:
                out.append((max(s, b), e))
        self.iv = sorted(iv for iv in out if iv[0] < iv[1])

    def gaps(self) -> Gaps:
        out: Gaps = []
        pos = 0
        for s, e in self.iv:
            if s > pos:
                out.append((pos, s))
            pos = e
        if pos < self.size:
            out.append((pos, self.size))
        return out


# ---------------------------------------------- queries derived from the gaps


def clip(gaps: Gaps, offset: int, order: int) -> Gaps:
    lo, hi = offset, offset + (1 << order)
    return [(max(a, lo), min(b, hi)) for a, b in gaps if a < hi and b > lo]


def count_blocks(gaps: Gaps, order: int) -> int:
    step = 1 << order
    return sum(max(0, (b >> order) - ((a + step - 1) >> order)) for a, b in gaps)


def aligned_blocks(gaps: Gaps, order: int) -> Iterator[int]:
    step = 1 << order
    for a, b in gaps:
        s = -(-a // step) * step
        while s + step <= b:
            yield s
            s += step


def maximal_blocks(gaps: Gaps, top: int) -> list[tuple[int, int]]:
    """Greedy CIDR decomposition of every gap: the maximal aligned free blocks."""
    out = []
    for a, b in gaps:
        while a < b:
            k = (a & -a).bit_length() - 1 if a else top
            while a + (1 << k) > b:
                k -= 1
            out.append((a, k))
            a += 1 << k
    return out


def netaddr_maximal(gaps: Gaps, bits: int) -> list[tuple[int, int]]:
    """The same decomposition by netaddr: ``IPSet(free).iter_cidrs()`` as offsets."""
    if bits <= 12:
        items: list[Any] = [netaddr.IPAddress(x, 4) for a, b in gaps for x in range(a, b)]
    else:
        items = [
            c
            for a, b in gaps
            for c in netaddr.iprange_to_cidrs(netaddr.IPAddress(a, 6), netaddr.IPAddress(b - 1, 6))
        ]
    free = netaddr.IPSet(items)
    return [(int(c.first), c.size.bit_length() - 1) for c in free.iter_cidrs()]


# ------------------------------------------------------------------ machine

N_LIST = 64  # how many results of a (possibly huge) iteration are compared


class CoreMachine(RuleBasedStateMachine):
    """Random programs on one core backend, each query checked against an oracle."""

    BACKEND: type[AddressSpace] = BitmapSpace
    BITS: st.SearchStrategy[int] = st.one_of(st.integers(5, 9), st.integers(0, 4))

    def __init__(self) -> None:
        super().__init__()
        self.space: AddressSpace = self.BACKEND(0)
        self.bits = 0
        self.size = 1
        self.oracle: SetOracle | IntervalOracle = SetOracle(0)
        self.shadow: IntervalOracle | None = None
        self.history: list[tuple[int, int]] = []
        self.steps = 0

    @initialize(data=st.data())
    def setup(self, data: st.DataObject) -> None:
        bits = data.draw(self.BITS, label="bits")
        self.bits, self.size = bits, 1 << bits
        self.space = self.BACKEND(bits)
        small = bits <= 12
        self.oracle = SetOracle(bits) if small else IntervalOracle(bits)
        # The interval oracle also runs on small spaces, checked against the set:
        # the large runs trust it.
        self.shadow = IntervalOracle(bits) if small else None
        self.history = [(0, 0), (self.size - 1, 0), (self.size >> 1, 0)]

    # ----------------------------------------------------------- drawing
    def order_strategy(self) -> st.SearchStrategy[int]:
        return st.integers(0, self.bits)

    def draw_block(
        self, data: st.DataObject, purpose: str = "claim", invalid: bool = True
    ) -> tuple[int, int]:
        """A block near earlier activity, in free space, or anywhere; sometimes invalid.

        For ``purpose="release"`` most blocks lie inside earlier claims, so that
        releases (of whole claims, of parts, and of unions) mostly succeed.
        """
        if purpose == "release":
            kinds = ["inside"] * 6 + ["near"] * 2 + ["any"]
        else:
            kinds = ["free"] * 4 + ["near"] * 2 + ["any"]
        if invalid:
            kinds += ["misaligned", "bad_order", "bad_offset"]
        kind = data.draw(st.sampled_from(kinds), label="kind")
        held = [b for b in self.history[-40:] if self.oracle.free_within(*b) == 0]
        if kind == "inside" and not held:
            kind = "near"
        if kind == "inside":
            o, k0 = data.draw(st.sampled_from(held), label="claimed")
            k = data.draw(st.integers(0, k0), label="order")
            anchor = o + data.draw(st.integers(0, (1 << k0) - 1), label="within")
            return anchor >> k << k, k
        k = data.draw(self.order_strategy(), label="order")
        if purpose == "fill" and kind != "any":
            k = k // 2  # smaller fills, so the space does not fill up at once
        if kind == "bad_order":
            bad = data.draw(st.sampled_from([-1, self.bits + 1, self.bits + 7]), label="bad order")
            return data.draw(st.integers(0, self.size - 1), label="offset"), bad
        if kind == "bad_offset":
            off = data.draw(
                st.sampled_from([-(1 << k), self.size, self.size + (1 << k), 2 * self.size]),
                label="bad offset",
            )
            return off, k
        gaps = self.gaps()
        if kind == "free" and gaps:
            a, b = data.draw(st.sampled_from(gaps), label="gap")
            anchor = a + data.draw(st.integers(0, b - a - 1), label="in gap")
            # Most of the time, no larger than the largest aligned block there that fits the run.
            fit = k
            while fit and not a <= anchor >> fit << fit <= b - (1 << fit):
                fit -= 1
            if data.draw(st.integers(0, 7), label="oversize") != 7:
                k = fit
        elif kind == "near":
            o, k0 = data.draw(st.sampled_from(self.history[-40:]), label="near")
            anchor = o + data.draw(st.integers(0, (1 << k0) - 1), label="within")
        else:
            anchor = data.draw(st.integers(0, self.size - 1), label="anchor")
        off = anchor >> k << k
        if kind == "misaligned":
            if k == 0:
                k = 1
                off = anchor >> 1 << 1
            off += data.draw(st.integers(1, (1 << k) - 1), label="misalign")
        return off, k

    def validation_error(self, offset: int, order: int) -> type[Exception] | None:
        if not 0 <= order <= self.bits or not 0 <= offset < self.size:
            return OutsideSubnet
        if offset % (1 << order):
            return Misaligned
        return None

    # -------------------------------------------------------- helpers
    def snapshot(self) -> tuple[Any, ...]:
        sp = self.space
        return (
            sp.free_count,
            tuple(sp.iter_maximal_free()),
            tuple(sorted(sp.histogram().items())),
            tuple(sp.free_block_count(k) for k in range(self.bits + 1)),
            sp.tracked_orders,
        )

    def call(self, fn: Callable[[], Any], error: type[Exception] | None) -> Any:
        """Run ``fn``; when ``error`` is given it must raise exactly that, changing nothing."""
        if error is None:
            return fn()
        before = self.snapshot()
        with pytest.raises(error) as info:
            fn()
        assert type(info.value) is error, info.value
        assert isinstance(info.value, IpfragError | ValueError)
        assert self.snapshot() == before
        return None

    def gaps(self, within: tuple[int, int] | None = None) -> Gaps:
        g = self.oracle.gaps()
        return g if within is None else clip(g, *within)

    def remember(self, offset: int, order: int) -> None:
        self.history.append((offset, order))

    def apply(self, op: str, offset: int, order: int) -> None:
        for o in (self.oracle, self.shadow):
            if o is not None:
                getattr(o, op)(offset, order)

    # ---------------------------------------------------------- updates
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        off, k = self.draw_block(data)
        error = self.validation_error(off, k)
        if error is None and self.oracle.free_within(off, k) != 1 << k:
            error = AddressInUse
        event(f"claim: {error.__name__ if error else 'ok'}")
        note(f"claim({off}, {k}) -> {error}")
        self.call(lambda: self.space.claim(off, k), error)
        if error is None:
            self.apply("add", off, k)
            self.remember(off, k)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        off, k = self.draw_block(data, "release")
        error = self.validation_error(off, k)
        if error is None and self.oracle.free_within(off, k) != 0:
            error = NotAllocated
        event(f"release: {error.__name__ if error else 'ok'}")
        note(f"release({off}, {k}) -> {error}")
        self.call(lambda: self.space.release(off, k), error)
        if error is None:
            self.apply("remove", off, k)

    @rule(data=st.data())
    def fill(self, data: st.DataObject) -> None:
        off, k = self.draw_block(data, "fill")
        error = self.validation_error(off, k)
        expected = None if error else self.oracle.free_within(off, k)
        event(f"fill: {error.__name__ if error else 'ok'}")
        note(f"fill({off}, {k}) -> {error or expected}")
        got = self.call(lambda: self.space.fill(off, k), error)
        if error is None:
            assert got == expected
            self.apply("add", off, k)
            self.remember(off, k)

    @rule(data=st.data())
    def track(self, data: st.DataObject) -> None:
        k = data.draw(st.one_of(self.order_strategy(), st.sampled_from([-1, self.bits + 1])))
        error = None if 0 <= k <= self.bits else OutsideSubnet
        before = set(self.space.tracked_orders)
        self.call(lambda: self.space.track(k), error)
        if error is None:
            assert set(self.space.tracked_orders) == before | ({k} if k else set())

    # ---------------------------------------------------------- queries
    @rule(data=st.data())
    def query_within(self, data: st.DataObject) -> None:
        """Every block query inside a random block (or a bad one: error, no change)."""
        wo, wk = self.draw_block(data)
        error = self.validation_error(wo, wk)
        if error is not None:
            sp = self.space
            self.call(lambda: sp.free_block_count(0, within=(wo, wk)), error)
            self.call(lambda: list(sp.iter_free_blocks(0, within=(wo, wk))), error)
            self.call(lambda: list(sp.iter_maximal_free(within=(wo, wk))), error)
            self.call(lambda: sp.pick_address("lowest", within=(wo, wk)), error)
            self.call(lambda: sp.pick_block(0, "random", within=(wo, wk)), error)
            self.call(lambda: sp.is_free(wo, wk), error)
            self.call(lambda: sp.free_within(wo, wk), error)
            return
        orders = (
            range(wk + 2) if self.bits <= 12 else sorted({0, wk, data.draw(st.integers(0, wk))})
        )
        self.check_queries((wo, wk), [k for k in orders if k <= self.bits])

    @rule(policy=st.text(max_size=8).filter(lambda p: p not in POLICIES))
    def bad_policy(self, policy: str) -> None:
        self.call(lambda: self.space.pick_address(policy), InvalidArgument)  # type: ignore[arg-type]
        self.call(lambda: self.space.pick_block(0, policy), InvalidArgument)  # type: ignore[arg-type]

    @rule(k=st.sampled_from([-1, 200]))
    def bad_order_queries(self, k: int) -> None:
        for fn in (
            lambda: self.space.free_block_count(k),
            lambda: list(self.space.iter_free_blocks(k)),
            lambda: self.space.pick_block(k),
        ):
            self.call(fn, OutsideSubnet)

    # -------------------------------------------------------- invariant
    @invariant()
    def agrees_with_oracle(self) -> None:
        self.steps += 1
        sp = self.space
        sp._check()
        gaps = self.gaps()
        if self.shadow is not None:
            assert self.shadow.gaps() == gaps
        free = sum(b - a for a, b in gaps)
        assert sp.free_count == free
        assert sp.used_count == self.size - free
        maximal = maximal_blocks(gaps, self.bits)
        assert list(sp.iter_maximal_free()) == maximal
        assert maximal == netaddr_maximal(gaps, self.bits)
        assert sp.histogram() == dict(sorted(Counter(k for _, k in maximal).items()))
        assert sp.largest_free_order() == max((k for _, k in maximal), default=None)
        for k in range(self.bits + 1):
            n = count_blocks(gaps, k)
            assert sp.free_block_count(k) == n, k
            assert sp.has_free_block(k) == (n > 0)
        orders = range(self.bits + 1) if self.bits <= 12 else self.sample_orders()
        self.check_queries(None, list(orders))

    def sample_orders(self) -> list[int]:
        rnd = random.Random(self.steps)
        return sorted({0, 1, self.bits, *(rnd.randrange(self.bits + 1) for _ in range(6))})

    def check_queries(self, within: tuple[int, int] | None, orders: list[int]) -> None:
        """Counts, iteration and picks inside ``within`` (None: everywhere) vs the oracle."""
        sp = self.space
        wo, wk = within if within is not None else (0, self.bits)
        gaps = self.gaps((wo, wk))
        free = sum(b - a for a, b in gaps)
        assert sp.free_within(wo, wk) == free
        assert sp.is_free(wo, wk) == (free == 1 << wk)
        maximal = maximal_blocks(gaps, wk)
        assert list(sp.iter_maximal_free(within)) == maximal
        rng_seed = self.steps * 1000 + wo % 997 + wk
        for k in orders:
            fits = [b for b in maximal if b[1] >= k]
            if within is not None:
                assert sp.free_block_count(k, within=within) == count_blocks(gaps, k), k
            expected = list(itertools.islice(aligned_blocks(gaps, k), N_LIST))
            assert list(itertools.islice(sp.iter_free_blocks(k, within), N_LIST)) == expected, k
            # pick_block: lowest exact; random a free block; best-fit in a smallest fitting run.
            assert sp.pick_block(k, "lowest", within=within) == (expected[0] if expected else None)
            r = sp.pick_block(k, "random", random.Random(rng_seed), within=within)
            assert r == sp.pick_block(k, "random", random.Random(rng_seed), within=within)
            if not expected:
                assert r is None
                assert sp.pick_block(k, "best-fit", within=within) is None
                continue
            assert r is not None and r % (1 << k) == 0 and wo <= r < wo + (1 << wk)
            assert self.oracle.free_within(r, k) == 1 << k
            b = sp.pick_block(k, "best-fit", within=within)
            smallest = min(o for _, o in fits)
            assert b is not None and b % (1 << k) == 0
            assert any(o <= b < o + (1 << m) for o, m in fits if m == smallest), (b, fits)
        # pick_address: lowest exact; random free; best-fit per its documented rule.
        lowest = gaps[0][0] if gaps else None
        assert sp.pick_address("lowest", within=within) == lowest
        a = sp.pick_address("random", random.Random(rng_seed), within=within)
        assert a == sp.pick_address("random", random.Random(rng_seed), within=within)
        if lowest is None:
            assert a is None
            assert sp.pick_address("best-fit", unit=min(4, wk), within=within) is None
            return
        assert a is not None and wo <= a < wo + (1 << wk) and self.oracle.free_within(a, 0) == 1
        units = sorted({0, min(4, wk), wk, orders[len(orders) // 2]})
        for unit in units:
            got = sp.pick_address("best-fit", unit=unit, within=within)
            assert got is not None
            self.check_best_fit_address(got, unit, wo, wk, gaps)

    def check_best_fit_address(self, addr: int, unit: int, wo: int, wk: int, gaps: Gaps) -> None:
        """Inside the fullest partly used ``unit`` block, at a smallest hole; else a whole block."""
        assert wo <= addr < wo + (1 << wk) and self.oracle.free_within(addr, 0) == 1
        unit = min(unit, wk)
        # Only unit blocks holding a gap's end can be partly used.
        touched = {x >> unit for a, b in gaps for x in (a, b - 1)}
        partial = {}
        for u in touched:
            f = self.oracle.free_within(u << unit, unit)
            if 0 < f < 1 << unit:
                partial[u] = f
        if partial:
            fewest = min(partial.values())
            u = addr >> unit
            assert partial.get(u) == fewest, (addr, unit, partial)
            holes = maximal_blocks(clip(gaps, u << unit, unit), unit)
            smallest = min(k for _, k in holes)
            assert (addr, smallest) in holes, (addr, holes)
        else:
            fits = [b for b in maximal_blocks(gaps, wk) if b[1] >= unit]
            smallest = min(k for _, k in fits)
            assert addr % (1 << unit) == 0
            assert any(o <= addr < o + (1 << k) for o, k in fits if k == smallest)


class SparseMachine(CoreMachine):
    BACKEND = SparseSpace


class HugeSparseMachine(CoreMachine):
    """SparseSpace over 2**64 (an IPv6 /64) and 2**128, with the interval oracle."""

    BACKEND = SparseSpace
    BITS = st.sampled_from([64, 64, 64, 128])

    def order_strategy(self) -> st.SearchStrategy[int]:
        # Favour the orders an IPv6 /64 sees: single addresses and /80 prefixes.
        b = self.bits
        return st.one_of(st.integers(0, b), st.sampled_from([0, 1, 2, b - 16, b - 17, b - 1, b]))


_share = settings().max_examples
TestBitmapStateful = CoreMachine.TestCase
TestBitmapStateful.settings = settings(max_examples=_share)
TestSparseStateful = SparseMachine.TestCase
TestSparseStateful.settings = settings(max_examples=_share)
TestHugeSparseStateful = HugeSparseMachine.TestCase
TestHugeSparseStateful.settings = settings(max_examples=max(1, _share // 4))


# ---------------------------------------------------------- random policy


@pytest.mark.parametrize("backend", ["bitmap", "sparse"])
def test_random_picks_cover_every_candidate_and_are_reproducible(backend: str) -> None:
    """Seeded draws reach every free address / block, roughly evenly; same seed, same picks."""
    sp = make_space(6, backend)  # type: ignore[arg-type]
    for off, k in [(0, 0), (5, 0), (8, 3), (33, 0), (48, 2), (62, 1)]:
        sp.claim(off, k)
    used = {0, 5, *range(8, 16), 33, *range(48, 52), 62, 63}
    free_addresses = [x for x in range(64) if x not in used]
    cases: list[tuple[int, list[int]]] = [(0, free_addresses)]
    for k in (1, 2, 3):
        blocks = [o for o in range(0, 64, 1 << k) if not used & set(range(o, o + (1 << k)))]
        cases.append((k, blocks))
    for k, candidates in cases:
        draws = 200 * len(candidates)
        rng = random.Random(12345 + k)
        if k == 0:
            picks = [sp.pick_address("random", rng) for _ in range(draws)]
        else:
            picks = [sp.pick_block(k, "random", rng) for _ in range(draws)]
        counts = Counter(picks)
        assert set(counts) == set(candidates), k
        assert min(counts.values()) > 100 and max(counts.values()) < 300, (k, counts)
        again = random.Random(12345 + k)
        if k == 0:
            replay = [sp.pick_address("random", again) for _ in range(draws)]
        else:
            replay = [sp.pick_block(k, "random", again) for _ in range(draws)]
        assert replay == picks
    # Inside a block too, and a pick never changes the space.
    before = list(sp.iter_maximal_free())
    rng = random.Random(7)
    inner = Counter(sp.pick_address("random", rng, within=(32, 4)) for _ in range(1500))
    assert set(inner) == {x for x in range(32, 48) if x != 33}
    assert list(sp.iter_maximal_free()) == before


def test_random_picks_on_huge_sparse_space_are_reproducible() -> None:
    """A /64-sized space: seeded /80-sized picks repeat, land on free aligned blocks, spread."""
    sp = SparseSpace(64)
    sp.claim(0)
    sp.claim((2**16 - 1) << 48, 48)
    picks = [sp.pick_block(48, "random", random.Random(s)) for s in range(200)]
    assert picks == [sp.pick_block(48, "random", random.Random(s)) for s in range(200)]
    assert all(p is not None and p % 2**48 == 0 and sp.is_free(p, 48) for p in picks)
    assert len(set(picks)) > 190  # 65,534 candidates: collisions are rare


@pytest.mark.parametrize("backend", ["bitmap", "sparse"])
def test_unknown_policy_rejected_on_a_full_space(backend: str) -> None:
    sp = make_space(2, backend)  # type: ignore[arg-type]
    sp.claim(0, 2)
    with pytest.raises(InvalidArgument):
        sp.pick_address("worst")  # type: ignore[arg-type]


@given(st.integers(1, 2**70), st.integers(0, 2**32))
def test_random_picks_draw_what_randrange_draws(n: int, seed: int) -> None:
    """The core's shortcut for a plain Random draws randrange's numbers, leaving the
    generator in the same state; other generators and n <= 0 go through randrange."""
    from ipfrag.core import base

    assert base._PLAIN_DRAWS
    a, b = random.Random(seed), random.Random(seed)
    assert [a.randrange(n) for _ in range(5)] == [base._below(b, n) for _ in range(5)]
    assert a.getstate() == b.getstate()

    class Counting(random.Random):
        calls = 0

        def randrange(self, *args: Any, **kwargs: Any) -> int:
            Counting.calls += 1
            return super().randrange(*args, **kwargs)

    assert base._below(Counting(seed), n) == random.Random(seed).randrange(n)
    assert Counting.calls == 1
    with pytest.raises(ValueError):
        base._below(random.Random(seed), 0)
