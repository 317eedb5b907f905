"""``AddressSpace.claim_many`` (the bulk build) against the incremental path, on every backend.

For random spaces, random earlier claims and random batches (valid or not), the batch
must either raise the documented error for its first bad block and change nothing, or
leave the space exactly as claiming the blocks one by one does: same free space, same
counters, same tracked trees (``_check``), same seeded random picks.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfrag.core import AddressSpace, PyBitmapSpace, SparseSpace
from ipfrag.errors import AddressInUse, InvalidArgument, Misaligned, OutsideSubnet

Factory = Callable[[int], AddressSpace]
FACTORIES: list[tuple[str, Factory, int]] = [
    ("python-bitmap", PyBitmapSpace, 9),
    ("sparse", SparseSpace, 9),
    ("sparse-64", SparseSpace, 64),
]
try:
    from ipfrag.core.cbitmap import CBitmapSpace

    FACTORIES.append(("c-bitmap", CBitmapSpace, 9))
except ImportError:  # pragma: no cover - the extension is not built here
    pass


def state(sp: AddressSpace) -> tuple[object, ...]:
    picks = []
    for k in (0, 1, sp.bits // 2, sp.bits):
        rng = random.Random(k)
        picks.append(tuple(sp.pick_block(k, "random", rng) for _ in range(3)))
    return (
        sp.free_count,
        tuple(sp.iter_maximal_free()),
        tuple(sp.free_block_count(k) for k in range(sp.bits + 1)),
        sp.tracked_orders,
        tuple(picks),
    )


def expected_error(sp: AddressSpace, blocks: list[tuple[int, int]]) -> type[Exception] | None:
    end = 0
    for o, k in blocks:
        if not 0 <= k <= sp.bits or not 0 <= o < sp.size:
            return OutsideSubnet
        if o % (1 << k):
            return Misaligned
        if o < end:
            return InvalidArgument
        if not sp.is_free(o, k):
            return AddressInUse
        end = o + (1 << k)
    return None


@st.composite
def scenario(draw: st.DrawFn, bits: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    def block() -> tuple[int, int]:
        k = draw(st.one_of(st.integers(0, min(bits, 4)), st.integers(0, bits)))
        o = draw(st.integers(0, (1 << (bits - k)) - 1)) << k
        return o, k

    earlier = [block() for _ in range(draw(st.integers(0, 6)))]
    batch = [block() for _ in range(draw(st.integers(0, 12)))]
    # Mostly a valid batch: sorted, overlaps dropped; sometimes left as drawn.
    if draw(st.integers(0, 3)):
        batch.sort()
        kept: list[tuple[int, int]] = []
        for o, k in batch:
            if not kept or o >= kept[-1][0] + (1 << kept[-1][1]):
                kept.append((o, k))
        batch = kept
    if draw(st.integers(0, 9)) == 0:
        batch.append(draw(st.sampled_from([(1, 1), (-1, 0), (0, bits + 1), (1 << bits, 0)])))
    return earlier, batch


@pytest.mark.parametrize(("name", "factory", "bits"), FACTORIES, ids=[f[0] for f in FACTORIES])
@settings(max_examples=max(10, settings().max_examples // 2))
@given(data=st.data())
def test_claim_many_matches_claiming_one_by_one(
    name: str, factory: Factory, bits: int, data: st.DataObject
) -> None:
    earlier, batch = data.draw(scenario(bits))
    tracked = data.draw(st.sets(st.integers(1, bits), max_size=2))
    sp = factory(bits)
    for k in tracked:
        sp.track(k)
    for o, k in earlier:
        if sp.is_free(o, k):
            sp.claim(o, k)
    error = expected_error(sp, batch)
    bulk = sp.copy()
    before = state(bulk)
    if error is not None:
        with pytest.raises(error) as info:
            bulk.claim_many(batch)
        assert type(info.value) is error
        assert state(bulk) == before
        bulk._check()
        return
    bulk.claim_many(iter(batch))
    for o, k in batch:
        sp.claim(o, k)
    bulk._check()
    assert state(bulk) == state(sp)


@pytest.mark.parametrize(("name", "factory", "bits"), FACTORIES, ids=[f[0] for f in FACTORIES])
def test_claim_many_of_a_large_batch(name: str, factory: Factory, bits: int) -> None:
    """A batch big enough for the dense rebuild: same state as one by one; bad input typed."""
    sp = factory(bits)
    sp.track(min(4, bits))
    blocks = sorted({(o, 0) for o in random.Random(3).sample(range(1 << 9), 300)})
    one = sp.copy()
    for o, k in blocks:
        one.claim(o, k)
    sp.claim_many([*blocks[:-1], [blocks[-1][0], 0]])  # type: ignore[list-item]
    sp._check()
    assert state(sp) == state(one)
    with pytest.raises(InvalidArgument):
        sp.claim_many([(0, 0, 0)])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument):
        sp.claim_many(5)  # type: ignore[arg-type]
