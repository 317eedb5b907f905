"""The cluster model against DOMAIN.md's VPC CNI rules and the issue's fixed step API."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ipfrag
import ipfrag.aws
from ipfrag.sim import Cluster, Tenant


def state(c: Cluster) -> Any:
    return (
        [c.node_usage(n) for n in c.nodes],
        [s.to_dict() for s in c.subnets],
        c.pending_pods,
        len(c.events),
    )


def scatter_no_28(cidr: str = "10.0.0.0/24") -> ipfrag.Subnet:
    """A subnet where every /28 holds one used address: no prefix can be carved."""
    s = ipfrag.Subnet(cidr, policy="random", seed=1)
    net = ipaddress.ip_network(cidr)
    for block in net.subnets(new_prefix=28):
        addr = block.network_address + 7
        s.allocate_ip(addr, owner="lambda")
    assert not s.can_carve(28)
    return s


# --- the fixed example -------------------------------------------------------------
def test_fixed_step_api_example() -> None:
    c = ipfrag.sim.Cluster(
        "10.0.0.0/20", prefix_delegation=True, warm_prefix_target=1, policy="random", seed=1
    )
    n = c.add_node("m5.large")
    c.add_pods(1, node=n)
    c.settle()
    assert c.node_usage(n) == {"enis": 1, "prefixes": 2, "addresses": 32, "in_use": 1, "idle": 31}
    assert isinstance(c.subnet, ipfrag.Subnet)
    # primary IP + two /28s
    assert c.subnet.free_addresses == 4091 - 1 - 32
    assert [e.kind for e in c.events] == ["node-added"]
    c._check()


# --- secondary mode ----------------------------------------------------------------------
def test_secondary_m5_large_holds_9_then_18_never_more_than_27() -> None:
    c = Cluster("10.0.0.0/22", seed=2)
    n = c.add_node("m5.large")
    assert c.node_usage(n)["addresses"] == 9
    c.add_pods(1, node=n)
    c.settle()
    assert c.node_usage(n) == {"enis": 2, "prefixes": 0, "addresses": 18, "in_use": 1, "idle": 17}
    c.add_pods(26, node=n)
    c.settle()
    assert c.node_usage(n) == {"enis": 3, "prefixes": 0, "addresses": 27, "in_use": 27, "idle": 0}
    with pytest.raises(ipfrag.InvalidArgument):
        c.add_pods(1, node=n)  # max pods 29 = 27 pod IPs + 2 host-network pods
    c.add_pods(5)  # unscheduled: no node has room
    c.settle()
    assert c.node_usage(n)["addresses"] == 27 and c.pending_pods == 5
    c._check()


def test_secondary_mode_keeps_single_ips_frees_whole_enis() -> None:
    c = Cluster("10.0.0.0/22", seed=2)
    n = c.add_node("m5.large")
    c.add_pods(10, node=n)
    c.settle()
    assert c.node_usage(n)["addresses"] == 27
    c.remove_pods(10, node=n)
    c.settle()
    # WARM_ENI_TARGET=1: one whole spare ENI (9 IPs) stays beyond... the empty ENIs go one
    # by one while the pool stays at least 9 free; the primary ENI's IPs are never given back
    assert c.node_usage(n) == {"enis": 1, "prefixes": 0, "addresses": 9, "in_use": 0, "idle": 9}
    c._check()


def test_warm_ip_target_releases_single_ips_in_secondary_mode() -> None:
    c = Cluster("10.0.0.0/22", seed=2, warm_ip_target=3)
    n = c.add_node("m5.large")
    assert c.node_usage(n)["addresses"] == 3
    c.add_pods(8, node=n)
    c.settle()
    assert c.node_usage(n)["addresses"] == 11
    c.remove_pods(8, node=n)
    c.settle()
    assert c.node_usage(n)["addresses"] == 3


# --- prefix mode: the article's figures -------------------------------------------------------
@pytest.mark.parametrize(("target", "prefixes", "idle"), [(0, 5, 75), (1, 10, 155)])
def test_five_nodes_one_pod_each(target: int, prefixes: int, idle: int) -> None:
    c = Cluster("10.0.0.0/20", prefix_delegation=True, warm_prefix_target=target, seed=4)
    for _ in range(5):
        c.add_pods(1, node=c.add_node("m5.large"))
    c.settle()
    usage = [c.node_usage(n) for n in c.nodes]
    assert sum(u["prefixes"] for u in usage) == prefixes
    assert sum(u["idle"] for u in usage) == idle
    rec = c.record()
    assert (rec.addresses_held, rec.addresses_idle, rec.pods_running) == (16 * prefixes, idle, 5)


def test_warm_prefix_target_zero_takes_next_prefix_only_when_full() -> None:
    c = Cluster("10.0.0.0/22", prefix_delegation=True, warm_prefix_target=0, seed=1)
    n = c.add_node("m5.large")
    assert c.node_usage(n)["prefixes"] == 1
    c.add_pods(15, node=n)
    c.settle()
    assert c.node_usage(n)["prefixes"] == 1
    c.add_pods(1, node=n)
    c.settle()
    assert c.node_usage(n) == {"enis": 1, "prefixes": 2, "addresses": 32, "in_use": 16, "idle": 16}


def test_m5_large_prefix_mode_432_addresses_and_slots_minus_one_per_eni() -> None:
    c = Cluster("10.0.0.0/20", prefix_delegation=True, seed=1)
    n = c.add_node("m5.large")
    c.add_pods(400, node=n)
    c.settle()
    u = c.node_usage(n)
    assert (u["enis"], u["prefixes"], u["addresses"]) == (3, 26, 416)  # 25 full + 1 warm
    c.add_pods(32, node=n)
    c.settle()
    u = c.node_usage(n)
    assert (u["enis"], u["prefixes"], u["in_use"]) == (3, 27, 432)  # 3 ENIs x (10 - 1) /28s
    assert ipfrag.aws.max_pods("m5.large", prefix_delegation=True, cap=False) == 434


def test_never_beyond_max_pods() -> None:
    c = Cluster("10.0.0.0/20", prefix_delegation=True, seed=1, node_max_pods=110)
    n = c.add_node("m5.large")
    c.add_pods(108, node=n)
    c.settle()
    assert c.node_usage(n)["prefixes"] == 7  # 112 >= 110: no warm prefix beyond max pods
    c2 = Cluster("10.0.0.0/20", prefix_delegation=True, seed=1, minimum_ip_target=1000)
    assert c2.node_usage(c2.add_node("m5.large", max_pods=40))["addresses"] == 48


def test_release_only_whole_empty_prefixes() -> None:
    c = Cluster("10.0.0.0/20", prefix_delegation=True, seed=3)
    n = c.add_node("m5.large")
    c.add_pods(48, node=n)
    c.settle()
    assert c.node_usage(n)["prefixes"] == 4
    # Pods leave at random: prefixes with any pod left stay, idle addresses or not.
    c.remove_pods(40, node=n)
    c.settle()
    u = c.node_usage(n)
    c._check()
    assert u["in_use"] == 8 and u["prefixes"] >= 2
    c.remove_pods(8, node=n)
    c.settle()
    assert c.node_usage(n)["prefixes"] == 1
    assert c.subnet.free_addresses == 4091 - 1 - 16


def test_lowest_free_address_inside_a_prefix() -> None:
    c = Cluster("10.0.0.0/24", prefix_delegation=True, seed=3, warm_prefix_target=0)
    n = c.add_node("m5.large")
    c.add_pods(5, node=n)
    c.remove_pods(3, node=n)
    c.add_pods(1, node=n)
    (unit,) = c._nodes[n].units
    # 3 pods stay; the new one took the lowest hole
    low = [i for i in range(16) if not unit.mask >> i & 1]
    assert unit.used == 3 and low[0] >= 1 and low == sorted(low)
    c._check()


# --- failures: events, back-off --------------------------------------------------------------
def test_insufficient_cidr_blocks_is_an_event_and_backs_off_120s() -> None:
    s = scatter_no_28()
    c = Cluster(s, prefix_delegation=True, seed=1)
    n = c.add_node("m5.large")  # no exception
    (fail,) = c.failures
    assert (fail.kind, fail.node, fail.time, fail.subnet) == (
        "InsufficientCidrBlocks",
        n,
        0.0,
        "10.0.0.0/24",
    )
    c.add_pods(3, node=n)
    c.settle()
    assert c.pending_pods == 3 and len(c.failures) == 1  # backing off: no retry
    c.step(60)
    assert len(c.failures) == 1
    c.step(60)  # 120 s later ipamd tries again
    assert len(c.failures) == 2 and c.failures[1].time == 120.0
    for k in range(1, 15):  # a /28 becomes free (one the node's primary IP is not in)
        block = ipaddress.ip_network(f"10.0.0.{16 * k}/28")
        if all(a.cidr.network_address not in block or a.owner == "lambda" for a in s.allocations()):
            s.release(block.network_address + 7)
            break
    c.step(120)
    assert c.node_usage(n)["prefixes"] == 1 and c.pending_pods == 0


def test_node_launch_failure_is_an_event() -> None:
    c = Cluster("10.0.0.0/28", seed=1)
    c.take_tenant_ips(11)
    n = c.add_node("m5.large")
    assert c.node_info(n)["state"] == "failed"
    assert c.failures[-1].kind == "InsufficientFreeAddresses"
    assert c.add_pods(3) == 0 and c.pending_pods == 3


# --- bad arguments: typed, atomic ----------------------------------------------------------
def test_bad_arguments_raise_typed_errors_and_change_nothing() -> None:
    c = Cluster("10.0.0.0/22", prefix_delegation=True, seed=1)
    n = c.add_node("m5.large")
    before = state(c)
    with pytest.raises(ipfrag.aws.UnknownInstanceType):
        c.add_node("m5.huge")
    with pytest.raises(ipfrag.InvalidType):
        c.add_node(5)  # type: ignore[arg-type]
    with pytest.raises(ipfrag.InvalidArgument):
        c.add_pods(10_000, node=n)
    with pytest.raises(ipfrag.InvalidArgument):
        c.add_pods(-1)
    with pytest.raises(ipfrag.InvalidType):
        c.add_pods(1.5)  # type: ignore[arg-type]
    with pytest.raises(ipfrag.InvalidArgument):
        c.node_usage("node-99")
    with pytest.raises(ipfrag.InvalidArgument):
        c.add_node("t2.micro")  # no prefix delegation on Xen
    with pytest.raises(ipfrag.InvalidArgument):
        c.step(-1)
    assert state(c) == before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"warm_prefix_target": -1},
        {"minimum_ip_target": -3},
        {"subnet_selection": "biggest"},
        {"scheduling": "random"},
        {"custom_networking": True},
        {"pod_subnets": "10.1.0.0/24"},
        {"flavour": "calico"},
        {"autoscale": "m5.huge"},
    ],
)
def test_bad_cluster_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises((ipfrag.InvalidArgument, ipfrag.aws.UnknownInstanceType)):
        Cluster("10.0.0.0/24", **kwargs)


def test_ipv6_needs_prefix_mode_and_mixed_families_are_refused() -> None:
    with pytest.raises(ipfrag.InvalidArgument):
        Cluster("2600:1f14::/64")
    with pytest.raises(ipfrag.InvalidArgument):
        Cluster(["10.0.0.0/24", "2600:1f14::/64"], prefix_delegation=True)


# --- custom networking, IPv6 -------------------------------------------------------------------
def test_custom_networking_takes_pod_addresses_from_the_pod_subnet() -> None:
    c = Cluster("10.0.0.0/24", custom_networking=True, pod_subnets="100.64.0.0/20", seed=1)
    n = c.add_node("m5.large")
    node_subnet, pod_subnet = c.subnets
    assert node_subnet.free_addresses == 251 - 1  # the node's primary IP only
    # the pod ENI: its primary IP and 9 secondary IPs in the pod subnet
    assert pod_subnet.free_addresses == 4091 - 1 - 9
    c.add_pods(18, node=n)  # one ENI fewer: 2 x 9 pod IPs
    c.settle()
    assert c.node_usage(n) == {"enis": 3, "prefixes": 0, "addresses": 18, "in_use": 18, "idle": 0}
    with pytest.raises(ipfrag.InvalidArgument):
        c.add_pods(1, node=n)


def test_ipv6_one_80_per_node_no_warm_pool() -> None:
    c = Cluster("2600:1f14::/64", prefix_delegation=True, seed=1)
    n = c.add_node("m5.large")
    u = c.node_usage(n)
    assert (u["enis"], u["prefixes"], u["addresses"]) == (1, 1, 1 << 48)
    c.add_pods(100, node=n)
    c.settle()
    assert c.node_usage(n)["prefixes"] == 1 and c.running_pods == 100
    assert c.record().free_blocks == c.subnet.free_block_count(80)


# --- flavours ------------------------------------------------------------------------------
def test_cilium_falls_back_to_single_ips_and_stays_there() -> None:
    s = scatter_no_28()
    c = Cluster(s, prefix_delegation=True, flavour="cilium", seed=1)
    n = c.add_node("m5.large")
    kinds = [e.kind for e in c.events]
    assert kinds == ["node-added", "InsufficientCidrBlocks", "fallback-to-/32"]
    assert c.node_info(n)["mode"] == "/32-fallback"
    u = c.node_usage(n)
    assert (u["prefixes"], u["addresses"]) == (0, 8)  # Cilium's pre-allocate, single IPs
    c.add_pods(10, node=n)
    c.settle()
    assert c.running_pods == 10 and c.pending_pods == 0
    # /28s free up again, yet the node stays in /32 mode
    for k in range(16):
        s.release(f"10.0.0.{16 * k + 7}")
    c.add_pods(20, node=n)
    c.settle()
    assert c.node_usage(n)["prefixes"] == 0 and c.node_info(n)["mode"] == "/32-fallback"
    c._check()


def test_vpc_cni_does_not_fall_back() -> None:
    c = Cluster(scatter_no_28(), prefix_delegation=True, seed=1)
    n = c.add_node("m5.large")
    assert c.node_info(n)["mode"] == "prefix" and c.node_usage(n)["addresses"] == 0


def test_dense_places_single_ips_into_spoiled_28s() -> None:
    def run(flavour: str) -> int:
        c = Cluster(
            "10.0.0.0/20",
            flavour=flavour,  # type: ignore[arg-type]
            seed=5,
            tenants=[Tenant(initial=150)],
        )
        before = c.subnet.free_block_count(28)
        for _ in range(5):
            c.add_pods(20, node=c.add_node("m5.large"))
        c.settle()
        c._check()
        return before - c.subnet.free_block_count(28)

    assert run("dense") == 0  # every node address went into an already spoiled /28
    assert run("vpc-cni") > 50


# --- scheduling, subnet selection, autoscaler, tenants -----------------------------------------
def test_spread_and_bin_pack() -> None:
    for policy, expect in (("spread", [10, 10, 10]), ("bin-pack", [27, 3, 0])):
        c = Cluster("10.0.0.0/22", scheduling=policy, seed=1)  # type: ignore[arg-type]
        nodes = [c.add_node("m5.large") for _ in range(3)]
        c.add_pods(30)
        assert [c.node_info(n)["pods"] for n in nodes] == expect


def test_subnet_selection_most_free_vs_most_free_28() -> None:
    spoiled = scatter_no_28("10.0.0.0/24")  # 235 free addresses, no /28
    clean = ipfrag.Subnet("10.0.1.0/25", seed=1)  # 123 free, 6 /28s
    c = Cluster([spoiled, clean], prefix_delegation=True, seed=1)
    n = c.add_node("m5.large")
    assert c.node_info(n)["subnet"] == "10.0.0.0/24" and c.failures  # Karpenter's pick fails
    spoiled2, clean2 = scatter_no_28("10.0.0.0/24"), ipfrag.Subnet("10.0.1.0/25", seed=1)
    c2 = Cluster(
        [spoiled2, clean2], prefix_delegation=True, seed=1, subnet_selection="most-free-28"
    )
    n2 = c2.add_node("m5.large")
    assert c2.node_info(n2)["subnet"] == "10.0.1.0/25" and not c2.failures
    c3 = Cluster(["10.0.0.0/24", "10.0.1.0/24"], seed=1, subnet_selection="round-robin")
    picks = [c3.node_info(c3.add_node("m5.large"))["subnet"] for _ in range(3)]
    assert picks == ["10.0.0.0/24", "10.0.1.0/24", "10.0.0.0/24"]


def test_autoscaler_adds_nodes_for_pending_pods_and_removes_empty_ones() -> None:
    c = Cluster("10.0.0.0/20", seed=1, autoscale="m5.large", scale_down_delay=300)
    c.add_pods(60)
    r = c.step(60)
    assert r.nodes == 3 and r.pods_running == 60 and r.pods_pending == 0
    c.remove_pods(60)
    c.step(60)
    assert len(c.nodes) == 3
    c.step(300)
    assert len(c.nodes) == 1  # the autoscaler keeps one node
    c._check()


def test_node_churn_returns_addresses() -> None:
    c = Cluster("10.0.0.0/22", prefix_delegation=True, seed=1)
    n = c.add_node("m5.large")
    c.add_pods(20, node=n)
    c.settle()
    assert c.remove_node(n) == 20
    assert c.subnet.free_addresses == 1019 and c.pending_pods == 20


def test_tenants_take_and_free_at_rates() -> None:
    t = Tenant("lambda", initial=10, take_per_hour=120, free_per_hour=60)
    c = Cluster("10.0.0.0/22", seed=1, tenants=[t])
    assert c.subnet.free_addresses == 1019 - 10
    for _ in range(60):
        c.step(60)  # one hour: +120 -60
    assert c.record().tenant_addresses == 70
    assert c.subnet.free_addresses == 1019 - 70


def test_a_run_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> Any:
        c = Cluster(
            "10.0.0.0/21",
            prefix_delegation=True,
            seed=seed,
            autoscale="m5.large",
            tenants=[Tenant(initial=200, take_per_hour=600)],
        )
        for _ in range(30):
            c.add_pods(40)
            c.step(60)
        return c.timeline, c.events, c.subnet.to_dict()

    assert run(7) == run(7)
    assert run(7) != run(8)


# --- property test: random operation sequences keep every invariant ----------------------------
ops = st.lists(
    st.one_of(
        st.tuples(st.just("node"), st.sampled_from(["m5.large", "t3.medium", "c5.xlarge"])),
        st.tuples(st.just("pods"), st.integers(0, 80)),
        st.tuples(st.just("unpods"), st.integers(0, 80)),
        st.tuples(st.just("drop"), st.integers(0, 10)),
        st.tuples(st.just("step"), st.sampled_from([0, 30, 60, 120])),
        st.tuples(st.just("tenant"), st.integers(-20, 40)),
    ),
    max_size=25,
)


@given(
    ops,
    st.sampled_from(["vpc-cni", "cilium", "dense"]),
    st.booleans(),
    st.sampled_from([(None, None), (5, None), (None, 30), (0, 0)]),
    st.integers(0, 2),
)
def test_invariants_hold_under_random_operations(
    program: list[tuple[str, Any]],
    flavour: str,
    prefix: bool,
    targets: tuple[int | None, int | None],
    warm_prefix: int,
) -> None:
    c = Cluster(
        "10.0.0.0/23",
        prefix_delegation=prefix,
        flavour=flavour,  # type: ignore[arg-type]
        warm_ip_target=targets[0],
        minimum_ip_target=targets[1],
        warm_prefix_target=warm_prefix,
        seed=3,
    )
    usable = c.subnet.free_addresses
    for op, arg in program:
        if op == "node":
            c.add_node(arg)
        elif op == "pods":
            c.add_pods(arg)
        elif op == "unpods":
            c.remove_pods(arg)
        elif op == "drop" and c.nodes:
            c.remove_node(c.nodes[arg % len(c.nodes)])
        elif op == "step":
            c.step(arg)
        elif op == "tenant":
            if arg >= 0:
                c.take_tenant_ips(arg)
            else:
                c.free_tenant_ips(-arg)
        c._check()
        rec = c.record()
        enis = sum(c.node_usage(n)["enis"] for n in c.nodes)
        # every used address is a node's (primaries + pool) or a tenant's
        assert usable - rec.free_addresses == rec.addresses_held + enis + rec.tenant_addresses
        assert rec.pods_running <= rec.addresses_held


def test_timeline_score_is_the_worst_subnets_analysis_score() -> None:
    c = Cluster(["10.0.0.0/22", "10.0.4.0/22"], prefix_delegation=True, seed=3)
    c.take_tenant_ips(120, owner="lambda")
    for _ in range(6):
        c.add_node("m5.large")
    c.settle()
    rec = c.record()
    expected = max(ipfrag.analyze(s).score.value or 0 for s in c.subnets)
    assert rec.fragmentation_score == expected > 0
