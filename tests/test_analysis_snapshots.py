"""The analysis on the shipped snapshots; drain figures and advice checked by what-if copies."""

from __future__ import annotations

import pytest

import ipfrag
import ipfrag.aws
from ipfrag.analysis import Drain, advise_reservation, analyze, holders_by_kind, score


def example(name: str, family: int = 4) -> ipfrag.Subnet:
    (s,) = ipfrag.aws.load_example(name, family=family).values()
    return s


def test_holders_by_kind_on_the_examples() -> None:
    s = example("eks-prefix")
    kinds = {h.kind: h for h in holders_by_kind(s)}
    for kind in (
        "eks_node_primary",
        "eks_node_secondary",
        "eks_pod_eni",
        "lambda",
        "alb",
        "nlb",
        "nat_gateway",
        "vpc_endpoint",
        "orphaned",
        "eks_control_plane",
    ):
        assert kind in kinds, kind
    assert kinds["eks_node_primary"].prefixes > 0
    assert sum(h.total for h in kinds.values()) == s.used_addresses
    nodes = [h for h in holders_by_kind(example("eks-ipv6", 6)) if h.kind == "eks_node_primary"]
    assert nodes and nodes[0].prefixes == 30


def test_holders_by_kind_counts_every_allocation() -> None:
    snap = ipfrag.aws.load_snapshot(
        {
            "Subnets": [
                {"SubnetId": "subnet-1", "CidrBlock": "10.0.0.0/24", "AvailableIpAddressCount": 232}
            ]
        },
        {
            "NetworkInterfaces": [
                {
                    "NetworkInterfaceId": "eni-l",
                    "SubnetId": "subnet-1",
                    "InterfaceType": "lambda",
                    "PrivateIpAddress": "10.0.0.9",
                },
                {
                    "NetworkInterfaceId": "eni-n",
                    "SubnetId": "subnet-1",
                    "PrivateIpAddresses": [
                        {"PrivateIpAddress": "10.0.0.10", "Primary": True},
                        {"PrivateIpAddress": "10.0.0.11", "Primary": False},
                    ],
                    "Ipv4Prefixes": [{"Ipv4Prefix": "10.0.0.48/28"}],
                },
            ]
        },
    )
    holders = {h.kind: h for h in holders_by_kind(snap["subnet-1"])}
    assert holders["lambda"].addresses == 1 and holders["lambda"].interfaces == 1
    node = next(h for k, h in holders.items() if k != "lambda")
    assert (node.addresses, node.prefixes, node.prefix_addresses, node.total) == (2, 1, 16, 18)


@pytest.mark.parametrize(("name", "family"), [("eks-prefix", 4), ("eks-ipv6", 6)])
def test_report_on_the_examples_is_consistent(name: str, family: int) -> None:
    s = example(name, family)
    r = analyze(s)
    classes = ("free", "fragmented", "full", "reserved", "prefix_allocated")
    assert sum(r.blocks[k] for k in classes) == r.total_blocks
    assert r.prefix_blocks_available == s.free_block_count()
    assert score(s) == r.score
    assert r.addresses["used_single"] + r.addresses["used_in_prefixes"] == s.used_addresses


def drained(s: ipfrag.Subnet, nodes: tuple[str, ...] | list[str]) -> ipfrag.Subnet:
    t = s.copy()
    for owner in {a.owner for a in s.allocations() if a.owner}:
        if s.owner_info(owner).get("instance_id") in nodes and s.owner_info(owner).get("drainable"):
            t.release_owner(owner)
    return t


def test_drain_figures_match_what_if_copies() -> None:
    s = example("eks-prefix")
    before = analyze(s).blocks["free"]
    d = Drain(s)
    assert d.nodes and d.nodes[0].blocks_freed > 0
    for n in d.nodes[:4]:
        assert analyze(drained(s, [n.instance_id])).blocks["free"] - before == n.blocks_freed
    plan = d.plan(6)
    assert plan.nodes is not None and plan.lower_bound <= len(plan.nodes)
    after = analyze(drained(s, plan.nodes))
    assert after.blocks["free"] - before == plan.blocks_freed >= 6
    assert after.score.value is not None and after.score.value < analyze(s).score.value  # type: ignore[operator]


def test_advice_places_can_be_reserved_after_draining() -> None:
    s = example("eks-prefix")
    a = advise_reservation(s, 26, pods_per_node=108, limit=3)
    assert a.places and a.prefixes_per_node == 7
    for p in a.places:
        t = drained(s, p.drain)
        assert t.is_free(p.cidr)
        t.reserve(p.cidr, "prefix")
        assert p.prefixes == 4 and p.nodes == 0
