"""Drain plans and the reservation advisor against brute force over plain sets of ints."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipfrag
from ipfrag.analysis import Drain, advise_reservation


@dataclass
class World:
    """Who holds which offset, and which owners are drainable nodes' ENIs."""

    bits: int
    used: dict[int, str] = field(default_factory=dict)  # offset -> owner
    node_of: dict[str, str] = field(default_factory=dict)  # drainable owner -> instance id
    reservations: list[tuple[int, int]] = field(default_factory=list)

    @property
    def aws(self) -> set[int]:
        return {0, 1, 2, 3, (1 << self.bits) - 1}

    def freed(self, nodes: set[str], j: int) -> int:
        n = 0
        for off in range(0, 1 << self.bits, 1 << j):
            block = range(off, off + (1 << j))
            owners = {self.used[a] for a in block if a in self.used}
            if not owners or any(a in self.aws for a in block):
                continue
            if all(self.node_of.get(o) in nodes for o in owners):
                n += 1
        return n


@st.composite
def worlds(draw: st.DrawFn) -> tuple[ipfrag.Subnet, World, int]:
    bits = draw(st.integers(5, 7))
    s = ipfrag.Subnet(f"10.0.0.0/{32 - bits}")
    w = World(bits)
    nodes = [f"i-{n}" for n in range(draw(st.integers(1, 6)))]
    owners = [f"eni-{i}" for i in range(draw(st.integers(1, 9)))]
    for o in owners:
        node = draw(st.sampled_from([*nodes, None]))
        if node is not None:
            s.set_owner_info(o, {"instance_id": node, "drainable": True, "kind": "eks_pod_eni"})
            w.node_of[o] = node
        else:
            s.set_owner_info(o, {"kind": "lambda", "drainable": False, "instance_id": "i-0"})
    j = draw(st.integers(2, 4))
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.integers(2, j))
        off = draw(st.integers(0, ((1 << bits) >> k) - 1)) << k
        o = draw(st.sampled_from(owners))
        try:
            s.allocate_prefix(f"10.0.0.{off}/{32 - k}", owner=o)
        except (ipfrag.AddressInUse, ipfrag.ReservedAddress):
            continue
        w.used.update(dict.fromkeys(range(off, off + (1 << k)), o))
    for a in draw(st.lists(st.integers(4, (1 << bits) - 2), max_size=24)):
        if a not in w.used:
            o = draw(st.sampled_from(owners))
            s.allocate_ip(f"10.0.0.{a}", owner=o)
            w.used[a] = o
    return s, w, j


@settings(max_examples=settings().max_examples)
@given(worlds(), st.integers(1, 6))
def test_drain_plans_match_brute_force(state: tuple[ipfrag.Subnet, World, int], k: int) -> None:
    s, w, j = state
    d = Drain(s, 32 - j)
    nodes = sorted(set(w.node_of.values()))
    for n in d.nodes:
        assert n.blocks_freed == w.freed({n.instance_id}, j)
    assert {n.instance_id for n in d.nodes} <= set(nodes)
    assert d.recoverable == w.freed(set(nodes), j)
    best = next(
        (
            size
            for size in range(len(nodes) + 1)
            for combo in itertools.combinations(nodes, size)
            if w.freed(set(combo), j) >= k
        ),
        None,
    )
    for budget in (200_000, 0):
        plan = d.plan(k, exact_budget=budget)
        if best is None:
            assert plan.nodes is None and plan.recoverable < k
            continue
        assert plan.nodes is not None
        assert plan.blocks_freed == w.freed(set(plan.nodes), j) >= k
        assert plan.lower_bound <= best <= len(plan.nodes)
        if plan.method == "exact":
            assert len(plan.nodes) == best
        else:
            assert budget == 0 and plan.bound is not None and plan.bound >= len(plan.nodes) / best


def test_plan_rejects_bad_k() -> None:
    d = Drain(ipfrag.Subnet("10.0.0.0/24"))
    with pytest.raises(ipfrag.InvalidArgument):
        d.plan(0)
    with pytest.raises(ipfrag.InvalidType):
        d.plan("2")  # type: ignore[arg-type]


def test_node_prefixes_and_branch_enis_count() -> None:
    s = ipfrag.Subnet("10.0.0.0/24")
    s.allocate_ip("10.0.0.20", owner="eni-primary")
    s.allocate_prefix("10.0.0.32/28", owner="eni-primary")
    s.allocate_ip("10.0.0.21", owner="eni-branch")  # a pod's branch ENI, not attached
    for eni in ("eni-primary", "eni-branch"):
        s.set_owner_info(eni, {"instance_id": "i-1", "drainable": True})
    s.allocate_ip("10.0.0.50", owner="eni-lambda")
    s.set_owner_info("eni-lambda", {"kind": "lambda"})
    (node,) = Drain(s).nodes
    assert (node.owners, node.addresses, node.prefixes) == (("eni-branch", "eni-primary"), 2, 1)
    assert (node.blocks_touched, node.blocks_freed) == (2, 2)


@st.composite
def advice_cases(draw: st.DrawFn) -> tuple[ipfrag.Subnet, World, int, int]:
    s, w, j = draw(worlds())
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.integers(0, w.bits - 1))
        off = draw(st.integers(0, ((1 << w.bits) >> k) - 1)) << k
        try:
            s.reserve(f"10.0.0.{off}/{32 - k}", draw(st.sampled_from(["prefix", "explicit"])))
        except ipfrag.ReservationConflict:
            continue
        w.reservations.append((off, k))
    order = draw(st.integers(j, w.bits))
    return s, w, j, order


@settings(max_examples=settings().max_examples)
@given(advice_cases())
def test_advisor_matches_brute_force(case: tuple[ipfrag.Subnet, World, int, int]) -> None:
    s, w, j, order = case
    a = advise_reservation(s, 32 - order, block_prefixlen=32 - j, pods_per_node=20, limit=4)
    places = []
    for off in range(0, 1 << w.bits, 1 << order):
        span = range(off, off + (1 << order))
        if any(off < r + (1 << k) and r < off + (1 << order) for r, k in w.reservations):
            continue
        if any(x in w.aws for x in span):
            continue
        owners = [w.used[x] for x in span if x in w.used]
        if all(o in w.node_of for o in owners):
            places.append((len(owners), len({w.node_of[o] for o in owners}), off))
    free = [off for n, _, off in places if n == 0]
    assert a.free_places == len(free)
    base = int(s.cidr.network_address)
    if free:
        assert [int(p.cidr.network_address) - base for p in a.places] == free[:4]
        assert all(p.displaced == 0 and p.drain == () for p in a.places)
    else:
        ranked = [(n, m, base + off) for n, m, off in sorted(places)][:4]
        assert [
            (p.displaced, len(p.drain), int(p.cidr.network_address)) for p in a.places
        ] == ranked
    blocks = 1 << (order - j)
    for p in a.places:
        assert p.prefixes == blocks  # places holding an AWS-reserved address are never offered
        assert p.nodes == blocks // -(-20 // (1 << j))
        # A place offered as free can be reserved right away.
        t = s.copy()
        if p.displaced == 0:
            t.reserve(p.cidr, "prefix")


def test_advisor_input_errors() -> None:
    s = ipfrag.Subnet("10.0.0.0/24")
    with pytest.raises(ipfrag.InvalidArgument):
        advise_reservation(s, 29)  # smaller than the /28 prefixes it should hold
    with pytest.raises(ipfrag.InvalidArgument):
        advise_reservation(s, 26, pods_per_node=0)
    with pytest.raises(ipfrag.InvalidArgument):
        advise_reservation(s, 8)
