"""The compiled dense core against the pure one, its oracle: same answers, same random picks.

A hypothesis state machine runs the same random program (claims, releases, fills, tracking,
valid and invalid) on a ``CBitmapSpace`` and a ``PyBitmapSpace`` and after every step
compares every query, and the picks of every policy drawn from identically seeded
generators (which must also leave the generators in the same state: same draws, same
order). Skipped when the extension was not built; CI fails earlier in that case.
"""

from __future__ import annotations

import os
import pickle
import random
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import ipfrag.core
from ipfrag.core import POLICIES, AddressSpace, BitmapSpace, PyBitmapSpace
from ipfrag.errors import IpfragError

try:
    from ipfrag.core.cbitmap import CBitmapSpace
except ImportError:  # pragma: no cover - no compiler where the tests run
    CBitmapSpace = None  # type: ignore[assignment,misc]

pytestmark = pytest.mark.skipif(CBitmapSpace is None, reason="the C extension is not built")


def outcome(fn: Any) -> Any:
    """A call's result, or the type and message of its error."""
    try:
        return ("ok", fn())
    except IpfragError as e:
        return ("error", type(e), str(e))


class Twin(RuleBasedStateMachine):
    """One program, two dense backends; every answer and pick must match."""

    def __init__(self) -> None:
        super().__init__()
        self.c: AddressSpace = PyBitmapSpace(0)
        self.py: AddressSpace = PyBitmapSpace(0)
        self.bits = 0
        self.step = 0

    @initialize(bits=st.integers(0, 10))
    def setup(self, bits: int) -> None:
        self.bits = bits
        assert CBitmapSpace is not None
        self.c, self.py = CBitmapSpace(bits), PyBitmapSpace(bits)

    def both(self, name: str, *args: Any, **kwargs: Any) -> Any:
        a = outcome(lambda: getattr(self.c, name)(*args, **kwargs))
        b = outcome(lambda: getattr(self.py, name)(*args, **kwargs))
        assert a == b, (name, args, a, b)
        return a

    def block(self, data: st.DataObject) -> tuple[Any, Any]:
        k = data.draw(st.one_of(st.integers(0, self.bits), st.sampled_from([-1, self.bits + 1])))
        span = max(self.bits - max(k, 0), 0)
        i = data.draw(st.integers(-1, (1 << span) + 1))
        off = i << max(k, 0)
        if data.draw(st.integers(0, 9)) == 0:
            off += 1  # sometimes misaligned
        if data.draw(st.integers(0, 30)) == 0:
            return data.draw(st.sampled_from([(1.5, 0), ("3", 0), (True, 0), (2**80, 0)]))
        return off, k

    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        self.both("claim", *self.block(data))

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self.both("release", *self.block(data))

    @rule(data=st.data())
    def fill(self, data: st.DataObject) -> None:
        self.both("fill", *self.block(data))

    @rule(data=st.data(), claiming=st.booleans())
    def try_update(self, data: st.DataObject, claiming: bool) -> None:
        """The unchecked try_claim / try_release (the C tree's own methods) on valid blocks."""
        k = data.draw(st.integers(0, self.bits))
        off = data.draw(st.integers(0, (1 << (self.bits - k)) - 1)) << k
        name = "try_claim" if claiming else "try_release"
        args = (off,) if k == 0 and data.draw(st.booleans()) else (off, k)
        self.both(name, *args)
        assert self.c.block_count(k) == self.py.block_count(k)

    @rule(data=st.data(), policy=st.sampled_from(POLICIES), seed=st.integers(0, 2**32))
    def take(self, data: st.DataObject, policy: Any, seed: int) -> None:
        """take_block / take_address (pick and claim in one call): same pick, same draws,
        same state afterwards (the invariant compares the states)."""
        rc, rp, rq = random.Random(seed), random.Random(seed), random.Random(seed)
        before = self.py.copy()
        if data.draw(st.booleans()):
            k = data.draw(st.integers(0, self.bits))
            a = outcome(lambda: self.c.take_block(k, policy, rc))
            b = outcome(lambda: self.py.take_block(k, policy, rp))
            picked = before.pick_block(k, policy, rq)
        else:
            unit = data.draw(st.integers(0, self.bits))
            a = outcome(lambda: self.c.take_address(policy, rc, unit))
            b = outcome(lambda: self.py.take_address(policy, rp, unit))
            picked = before.pick_address(policy, rq, unit=unit)
        assert a == b and rc.getstate() == rp.getstate(), (policy, a, b)
        # take_* is pick_* and a claim: the same pick, the same draws.
        assert b == ("ok", picked) and rq.getstate() == rp.getstate(), (policy, b, picked)

    @rule(k=st.integers(-1, 11))
    def track(self, k: int) -> None:
        self.both("track", k)

    @rule(data=st.data())
    def copy_and_diverge(self, data: st.DataObject) -> None:
        c, py = self.c.copy(), self.py.copy()
        off, k = self.block(data)
        self.both("claim", off, k)
        self.c, self.py = c, py  # the copies did not see the claim
        self.invariant_same()

    @rule()
    def pickled(self) -> None:
        """A pickled and unpickled compiled space goes on as the original (the pure one's twin)."""
        self.c = pickle.loads(pickle.dumps(self.c))
        self.invariant_same()

    @invariant()
    def invariant_same(self) -> None:
        self.step += 1
        c, py = self.c, self.py
        c._check()
        py._check()
        for name in ("free_count", "used_count", "tracked_orders"):
            assert getattr(c, name) == getattr(py, name), name
        assert c.histogram() == py.histogram()
        assert c.largest_free_order() == py.largest_free_order()
        assert list(c.iter_maximal_free()) == list(py.iter_maximal_free())
        top = self.bits
        withins = [None, (0, top), (0, max(top - 1, 0)), ((1 << top) >> 1, max(top - 1, 0))]
        for within in withins:
            for k in range(top + 1):
                self.both("free_block_count", k, within)
                self.both("pick_block", k, "lowest", within=within)
                self.both("pick_block", k, "best-fit", within=within)
                self.both("is_free", *(within or (0, top)))
                for seed in (self.step, self.step + 7919):
                    rc, rp = random.Random(seed), random.Random(seed)
                    a = outcome(lambda: c.pick_block(k, "random", rc, within=within))  # noqa: B023
                    b = outcome(lambda: py.pick_block(k, "random", rp, within=within))  # noqa: B023
                    assert a == b and rc.getstate() == rp.getstate(), (k, within, a, b)
            for policy in POLICIES:
                for unit in {0, min(4, top), top}:
                    rc, rp = random.Random(self.step), random.Random(self.step)
                    a = outcome(lambda: c.pick_address(policy, rc, unit=unit, within=within))  # noqa: B023
                    b = outcome(lambda: py.pick_address(policy, rp, unit=unit, within=within))  # noqa: B023
                    assert a == b and rc.getstate() == rp.getstate(), (policy, unit, a, b)
        assert list(c.tracked_orders) == [j for j in py.tracked_orders]


TestTwin = Twin.TestCase
TestTwin.settings = settings(max_examples=max(1, settings().max_examples // 2))


def test_implementation_is_reported_and_selectable() -> None:
    """IMPLEMENTATION names the class BitmapSpace builds; IPFRAG_PURE forces the pure one."""
    expected = PyBitmapSpace if ipfrag.core.IMPLEMENTATION == "python" else CBitmapSpace
    assert type(BitmapSpace(4)) is expected
    pure = os.environ.get("IPFRAG_PURE", "") not in ("", "0")
    assert ("python" if pure else "c") == ipfrag.core.IMPLEMENTATION


def test_memory_of_a_16_stays_small_on_both_cores() -> None:
    """The two layouts differ (the pure one keeps bit words and every fourth level), but
    each holds a /16 at 70% use in well under the 0.5 MB a Subnet may take."""
    assert CBitmapSpace is not None
    used = random.Random(16).sample(range(1 << 16), 45875)
    for space in (CBitmapSpace(16), PyBitmapSpace(16)):
        for off in used:
            space.claim(off)
        assert space.free_count == (1 << 16) - 45875
        assert space.memory_bytes() < 300_000, type(space).__name__


@pytest.mark.parametrize("bits", [12, 13, 16])
def test_both_cores_agree_where_the_pure_core_stores_several_levels(bits: int) -> None:
    """The state machine above stays below 2**11 addresses, where the pure core stores at
    most levels 4 and 8; a seeded program on larger spaces reaches its levels 12 (and the
    root above a partial level) with every operation kind, and both cores must agree on
    every result, every pick and the whole state afterwards."""
    assert CBitmapSpace is not None
    rng = random.Random(bits)
    c, py = CBitmapSpace(bits), PyBitmapSpace(bits)
    orders = [0, 0, 0, 1, 3, 4, 4, 4, 5, 8, 9, 12, bits]
    for _ in range(600):
        k = min(rng.choice(orders), bits)
        off = rng.randrange(1 << (bits - k)) << k
        seed = rng.randrange(2**32)
        policy = rng.choice(POLICIES)
        step = rng.randrange(7)
        if step == 0:
            assert c.try_claim(off, k) == py.try_claim(off, k)
        elif step == 1:
            assert c.try_release(off, k) == py.try_release(off, k)
        elif step == 2:
            rc, rp = random.Random(seed), random.Random(seed)
            assert c.take_block(k, policy, rc) == py.take_block(k, policy, rp)
            assert rc.getstate() == rp.getstate()
        elif step == 3:
            rc, rp = random.Random(seed), random.Random(seed)
            assert c.take_address(policy, rc, 4) == py.take_address(policy, rp, 4)
            assert rc.getstate() == rp.getstate()
        elif step == 4:
            assert c.fill(off, k) == py.fill(off, k)
        elif step == 5:
            c.track(k)
            py.track(k)
        else:  # empty a /24-ish node /28 by /28, then address by address
            span = min(rng.choice([8, 9]), bits)
            base = rng.randrange(1 << (bits - span)) << span
            for o in range(base, base + (1 << span), 16):
                assert c.try_release(o, 4) == py.try_release(o, 4)
            for o in range(base, base + (1 << span)):
                assert c.try_release(o) == py.try_release(o)
        assert [c.block_count(j) for j in range(bits + 1)] == py._cnt
    assert list(c.iter_maximal_free()) == list(py.iter_maximal_free())
    assert c.tracked_orders == py.tracked_orders
    if bits < 16:  # the invariant checks are O(2**bits) Python steps
        c._check()
        py._check()


def test_random_picks_draw_in_c_what_randrange_draws() -> None:
    """The compiled core draws a plain Random's picks in C: the import-time check passed,
    and the draws equal randrange's, generator state included."""
    from ipfrag.core import _ctree, cbitmap

    assert cbitmap._C_DRAWS
    for n in (1, 7, 1000, 1 << 16, 3 << 20):
        a, b = random.Random(n), random.Random(n)
        assert [a.randrange(n) for _ in range(50)] == [
            _ctree.randbelow(b.getrandbits, n) for _ in range(50)
        ]
        assert a.getstate() == b.getstate()
    with pytest.raises(ValueError, match="0 < n"):
        _ctree.randbelow(random.Random(1).getrandbits, 0)
