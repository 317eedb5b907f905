"""The compiled sparse core against the pure one, its oracle: same answers, same random picks.

A hypothesis state machine runs the same random program (claims, releases, try_claim /
try_release, fills, bulk claims, tracking, take_*, copies; valid and invalid input) on a
``CSparseSpace`` and a ``PySparseSpace`` of 2**bits addresses (bits 0..12, where small
spaces find bugs, and 40 and 64, the IPv6 /64 case) and after every step compares every
query, the two tries node by node, and the picks of every policy drawn from identically
seeded generators (which must also leave the generators in the same state: same draws,
same order). Skipped when the extension was not built; CI fails earlier in that case.
"""

from __future__ import annotations

import copy
import os
import pickle
import random
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import ipfrag.core
from ipfrag.core import POLICIES, PySparseSpace, SparseSpace, make_space
from ipfrag.core.sparse import _Node
from ipfrag.errors import InvalidArgument, IpfragError

try:
    from ipfrag.core.csparse import CSparseSpace
except ImportError:  # pragma: no cover - no compiler where the tests run
    CSparseSpace = None  # type: ignore[assignment,misc]

pytestmark = pytest.mark.skipif(CSparseSpace is None, reason="the C extension is not built")


def outcome(fn: Any) -> Any:
    """A call's result, or the type and message of its error."""
    try:
        return ("ok", fn())
    except IpfragError as e:
        return ("error", type(e), str(e))


def exported(n: _Node | None) -> Any:
    """The pure trie in the C trie's export format ``(level, off, used, tu, lo, hi)``."""
    if n is None:
        return None
    return (n.level, n.off, n.used, n.tu, exported(n.lo), exported(n.hi))


class Twin(RuleBasedStateMachine):
    """One program, two sparse backends; every answer, pick and node must match."""

    def __init__(self) -> None:
        super().__init__()
        self.c: Any = None
        self.py = PySparseSpace(0)
        self.bits = 0
        self.step = 0
        self.hot: list[int] = [0]  # offsets claimed so far: new blocks land near them

    @initialize(bits=st.one_of(st.integers(0, 12), st.sampled_from([40, 64, 64])))
    def setup(self, bits: int) -> None:
        self.bits = bits
        assert CSparseSpace is not None
        self.c, self.py = CSparseSpace(bits), PySparseSpace(bits)

    def both(self, name: str, *args: Any, **kwargs: Any) -> Any:
        a = outcome(lambda: getattr(self.c, name)(*args, **kwargs))
        b = outcome(lambda: getattr(self.py, name)(*args, **kwargs))
        assert a == b, (name, args, a, b)
        return a

    def order(self, data: st.DataObject) -> int:
        b = self.bits
        if b <= 12:
            return data.draw(st.integers(0, b))
        return data.draw(
            st.one_of(st.integers(0, b), st.sampled_from([0, 0, 1, 2, b - 16, b - 17, b]))
        )

    def valid_block(self, data: st.DataObject) -> tuple[int, int]:
        """An aligned block of the space, often next to one claimed before."""
        k = self.order(data)
        if data.draw(st.booleans()):
            near = data.draw(st.sampled_from(self.hot))
            near ^= data.draw(st.integers(0, (1 << min(self.bits, 20)) - 1))
        else:
            near = data.draw(st.integers(0, (1 << self.bits) - 1))
        return (near >> k) << k, k

    def block(self, data: st.DataObject) -> tuple[Any, Any]:
        """A block, sometimes invalid (out of range, misaligned, of the wrong type)."""
        off, k = self.valid_block(data)
        choice = data.draw(st.integers(0, 30))
        if choice == 0:
            return data.draw(st.sampled_from([(1.5, 0), ("3", 0), (True, 0), (2**130, 0)]))
        if choice == 1:
            return data.draw(st.sampled_from([(-1, 0), (1 << self.bits, 0), (0, self.bits + 1)]))
        if choice == 2 and k > 0:
            return off + 1, k  # misaligned
        return off, k

    def remember(self, off: Any) -> None:
        if isinstance(off, int) and 0 <= off < 1 << self.bits:
            self.hot.append(off)

    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        off, k = self.block(data)
        self.both("claim", off, k)
        self.remember(off)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self.both("release", *self.block(data))

    @rule(data=st.data())
    def fill(self, data: st.DataObject) -> None:
        off, k = self.block(data)
        if isinstance(k, int) and 0 <= k <= self.bits and k > 20:
            k = 20  # filling a huge block with scattered claims yields ~64 blocks per claim
            off = off >> k << k if isinstance(off, int) else off
        self.both("fill", off, k)

    @rule(data=st.data())
    def release_inside_a_claimed_block(self, data: st.DataObject) -> None:
        """Claim a block, then release a smaller one inside it (the trie splits the leaf)."""
        off, k = self.valid_block(data)
        self.both("try_claim", off, k)
        j = data.draw(st.integers(0, k))
        inner = off + (data.draw(st.integers(0, (1 << (k - j)) - 1)) << j)
        self.both("release", inner, j)
        self.remember(inner)

    @rule(data=st.data(), claiming=st.booleans())
    def try_update(self, data: st.DataObject, claiming: bool) -> None:
        """The unchecked try_claim / try_release (the C trie's own methods) on valid blocks."""
        off, k = self.valid_block(data)
        name = "try_claim" if claiming else "try_release"
        args = (off,) if k == 0 and data.draw(st.booleans()) else (off, k)
        self.both(name, *args)
        assert self.c.block_count(k) == self.py.block_count(k)
        self.remember(off)

    @rule(data=st.data())
    def claim_many(self, data: st.DataObject) -> None:
        blocks = [self.valid_block(data) for _ in range(data.draw(st.integers(0, 5)))]
        if data.draw(st.booleans()):
            blocks = sorted(set(blocks))
        if data.draw(st.integers(0, 9)) == 0:
            blocks.append(self.block(data))  # maybe invalid
        self.both("claim_many", blocks)
        # Any iterable (a fresh one per backend): already claimed, or the same error.
        a = outcome(lambda: self.c.claim_many(iter(blocks)))
        b = outcome(lambda: self.py.claim_many(iter(blocks)))
        assert a == b, (blocks, a, b)

    @rule(data=st.data(), policy=st.sampled_from(POLICIES), seed=st.integers(0, 2**32))
    def take(self, data: st.DataObject, policy: Any, seed: int) -> None:
        """take_block / take_address (pick and claim in one call): same pick, same draws,
        same state afterwards (the invariant compares the states)."""
        rc, rp, rq = random.Random(seed), random.Random(seed), random.Random(seed)
        before = self.py.copy()
        if data.draw(st.booleans()):
            k = self.order(data)
            a = outcome(lambda: self.c.take_block(k, policy, rc))
            b = outcome(lambda: self.py.take_block(k, policy, rp))
            picked = before.pick_block(k, policy, rq)
        else:
            unit = self.order(data)
            a = outcome(lambda: self.c.take_address(policy, rc, unit))
            b = outcome(lambda: self.py.take_address(policy, rp, unit))
            picked = before.pick_address(policy, rq, unit=unit)
        assert a == b and rc.getstate() == rp.getstate(), (policy, a, b)
        # take_* is pick_* and a claim: the same pick, the same draws.
        assert b == ("ok", picked) and rq.getstate() == rp.getstate(), (policy, b, picked)
        self.remember(picked)

    @rule(data=st.data())
    def track(self, data: st.DataObject) -> None:
        k = data.draw(st.one_of(st.just(-1), st.just(self.bits + 1), st.just("4")))
        self.both("track", k if data.draw(st.integers(0, 5)) == 0 else self.order(data))

    @rule(data=st.data())
    def copy_and_diverge(self, data: st.DataObject) -> None:
        c, py = self.c.copy(), self.py.copy()
        self.both("claim", *self.valid_block(data))
        self.c, self.py = c, py  # the copies did not see the claim
        self.invariant_same()

    def withins(self) -> list[Any]:
        top = self.bits
        half = max(top - 1, 0)
        out = [None, (0, top), (0, half), ((1 << top) >> 1, half)]
        if top > 12:
            k = top - 16
            out.append((self.hot[-1] >> k << k, k))
        return out

    def orders(self) -> list[int]:
        b = self.bits
        return list(range(b + 1)) if b <= 12 else sorted({0, 1, 2, b - 17, b - 16, b - 1, b})

    @rule()
    def pickle_round_trip(self) -> None:
        """A pickled (or copied) space is rebuilt as the same trie."""
        for again in (pickle.loads(pickle.dumps(self.c)), copy.deepcopy(self.c)):
            assert type(again) is type(self.c) and again._t.export() == self.c._t.export()
            assert again._t.tracked() == self.c._t.tracked()
            assert again.tracked_orders == self.c.tracked_orders
        self.c = again

    @invariant()
    def invariant_same(self) -> None:
        self.step += 1
        c, py = self.c, self.py
        if self.bits <= 12 or self.step % 8 == 0:
            c._check()  # O(nodes * bits**2) in Python: every few steps on huge spaces
        assert c._t.export() == exported(py._root)  # the same trie, node by node
        assert [c._cnt[k] for k in range(self.bits + 1)] == list(py._counters)
        assert c._t.tracked() == py._tord
        for name in ("free_count", "used_count", "tracked_orders"):
            assert getattr(c, name) == getattr(py, name), name
        assert c.entry_count() == py.entry_count()
        assert c.histogram() == py.histogram()
        assert c.largest_free_order() == py.largest_free_order()
        assert list(c.iter_maximal_free()) == list(py.iter_maximal_free())
        for within in self.withins():
            self.both("is_free", *(within or (0, self.bits)))
            for k in self.orders():
                self.both("free_block_count", k, within)
                self.both("pick_block", k, "lowest", within=within)
                self.both("pick_block", k, "best-fit", within=within)
                for seed in (self.step, self.step + 7919):
                    rc, rp = random.Random(seed), random.Random(seed)
                    a = outcome(lambda: c.pick_block(k, "random", rc, within=within))  # noqa: B023
                    b = outcome(lambda: py.pick_block(k, "random", rp, within=within))  # noqa: B023
                    assert a == b and rc.getstate() == rp.getstate(), (k, within, a, b)
            for policy in POLICIES:
                for unit in {0, min(4, self.bits), self.bits // 2, self.bits}:
                    rc, rp = random.Random(self.step), random.Random(self.step)
                    a = outcome(lambda: c.pick_address(policy, rc, unit=unit, within=within))  # noqa: B023
                    b = outcome(lambda: py.pick_address(policy, rp, unit=unit, within=within))  # noqa: B023
                    assert a == b and rc.getstate() == rp.getstate(), (policy, unit, a, b)


TestTwin = Twin.TestCase
TestTwin.settings = settings(max_examples=max(1, settings().max_examples // 3))


def test_implementation_is_reported_and_selectable() -> None:
    """SPARSE_IMPLEMENTATION names the class SparseSpace builds up to 2**64; IPFRAG_PURE
    forces the pure one; bigger spaces are always pure."""
    expected = PySparseSpace if ipfrag.core.SPARSE_IMPLEMENTATION == "python" else CSparseSpace
    assert type(SparseSpace(64)) is expected and type(make_space(64, "sparse")) is expected
    assert type(SparseSpace(65)) is PySparseSpace and type(make_space(128)) is PySparseSpace
    pure = os.environ.get("IPFRAG_PURE", "") not in ("", "0")
    assert ("python" if pure else "c") == ipfrag.core.SPARSE_IMPLEMENTATION
    assert isinstance(SparseSpace(8), SparseSpace) and isinstance(PySparseSpace(8), SparseSpace)


def test_bad_sizes_are_refused_as_by_the_pure_space() -> None:
    assert CSparseSpace is not None
    for bits in (-1, True, 1.5, 129):
        a = outcome(lambda: SparseSpace(bits))  # noqa: B023
        b = outcome(lambda: PySparseSpace(bits))  # noqa: B023
        assert a == b and a[0] == "error", (bits, a, b)
    with pytest.raises(InvalidArgument):
        CSparseSpace(65)


def test_full_space_of_2_to_the_64_counts_exactly() -> None:
    """Counts of 2**64 and more need 128 bits in C."""
    assert CSparseSpace is not None
    c, py = CSparseSpace(64), PySparseSpace(64)
    for sp in (c, py):
        assert sp.free_count == 2**64 and sp.block_count(0) == 2**64
        sp.claim(0, 64)
        assert sp.free_count == 0 and sp.used_count == 2**64
        sp.release(2**64 - 1)
        sp.release(0, 63)
        sp._check()
    assert c.histogram() == py.histogram() and c._t.export() == exported(py._root)
    assert list(c.iter_maximal_free()) == list(py.iter_maximal_free())


def test_memory_per_single_ipv6_address() -> None:
    """Under 500 bytes per scattered single address of a /64 (issue 10), in the C trie."""
    assert CSparseSpace is not None
    sp = CSparseSpace(64)
    rng = random.Random(5)
    for _ in range(2000):
        sp.take_address("random", rng)
    assert sp.memory_bytes() / 2000 < 500
