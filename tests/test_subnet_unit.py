"""Concrete behaviours of ``ipfrag.Subnet``: reserved addresses, defaults, policies,
reservations, seeds, copies, owners, snapshots and repr."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

import ipfrag
from ipfrag import Allocation, Reservation, Subnet

A4 = ipaddress.IPv4Address
N4 = ipaddress.IPv4Network
A6 = ipaddress.IPv6Address
N6 = ipaddress.IPv6Network


# ------------------------------------------------------ AWS reserved addresses


@pytest.mark.parametrize("backend", ["bitmap", "sparse"])
def test_aws_reserves_five_addresses_of_a_24(backend: str) -> None:
    s = Subnet("10.1.2.0/24", backend=backend)  # type: ignore[arg-type]
    assert s.free_addresses == 251 and s.used_addresses == 0 and s.size == 256
    assert s.reserved_addresses == (
        A4("10.1.2.0"),
        A4("10.1.2.1"),
        A4("10.1.2.2"),
        A4("10.1.2.3"),
        A4("10.1.2.255"),
    )
    for a in s.reserved_addresses:
        assert not s.is_free(a) and s.owner_of(a) is None
    assert s.is_free("10.1.2.4") and s.is_free("10.1.2.254")
    # The first and last /28 hold reserved addresses: 14 of 16 /28s are free.
    assert s.free_block_count(28) == 14
    assert [str(n) for n in s.free_blocks(28)][:2] == ["10.1.2.16/28", "10.1.2.32/28"]
    assert s.histogram() == {26: 2, 27: 2, 28: 2, 29: 2, 30: 2, 31: 1, 32: 1}
    assert s.largest_free_prefixlen() == 26
    assert [str(n) for n in s.free_ranges()][:3] == ["10.1.2.4/30", "10.1.2.8/29", "10.1.2.16/28"]


def test_reserved_none_is_a_plain_range() -> None:
    s = Subnet("10.1.2.0/24", reserved=None)
    assert s.free_addresses == 256 and s.reserved_addresses == ()
    assert s.free_block_count(28) == 16 and s.largest_free_prefixlen() == 24
    assert s.allocate_ip("10.1.2.0") == A4("10.1.2.0")
    assert s.allocate_prefix("10.1.2.240/28") == N4("10.1.2.240/28")


def test_smallest_subnets() -> None:
    s = Subnet("10.0.0.16/28")
    assert s.free_addresses == 11
    assert s.histogram() == {30: 2, 31: 1, 32: 1}
    assert s.default_prefixlen == 28 and not s.can_carve()
    assert Subnet("10.0.0.0/29").free_addresses == 3
    assert Subnet("10.0.0.0/32", reserved=None).free_addresses == 1


def test_ipv6_64_defaults_to_80_prefixes() -> None:
    s = Subnet("2600:1f14:aa:bb::/64", policy="lowest")
    assert s.version == 6 and s.size == 2**64
    assert s.default_prefixlen == 80
    assert s.free_addresses == 2**64 - 5
    assert s.reserved_addresses[-1] == A6("2600:1f14:aa:bb:ffff:ffff:ffff:ffff")
    assert s.free_block_count() == s.free_block_count(80) == 2**16 - 2
    assert s.allocate_prefix() == N6("2600:1f14:aa:bb:1::/80")
    assert s.allocate_ip() == A6("2600:1f14:aa:bb::4")
    assert s.free_block_count() == 2**16 - 3
    assert s.free_addresses == 2**64 - 5 - 2**48 - 1


def test_default_prefix_lengths() -> None:
    assert Subnet("10.0.0.0/16").default_prefixlen == 28
    assert Subnet("10.0.0.0/28").default_prefixlen == 28
    assert Subnet("10.0.0.0/29").default_prefixlen == 29
    assert Subnet("2600:1f14::/56").default_prefixlen == 80
    assert Subnet("2600:1f14::/120").default_prefixlen == 120
    s = Subnet("10.0.0.0/24", prefixlen=26, policy="lowest")
    assert s.allocate_prefix() == N4("10.0.0.64/26")
    assert s.free_block_count() == s.free_block_count(26) == 1


def test_backend_auto_and_forced_agree() -> None:
    results = []
    for backend in ("auto", "bitmap", "sparse"):
        s = Subnet("10.0.0.0/22", policy="random", seed=11, backend=backend)
        picks = [str(s.allocate_ip(owner="n")) for _ in range(40)]
        picks += [str(s.allocate_prefix(owner="p")) for _ in range(5)]
        results.append((picks, s.histogram(), s.to_dict()["allocations"]))
    assert results[0] == results[1] == results[2]


# ------------------------------------------------------------------ policies


def test_lowest_policy_is_first_fit() -> None:
    s = Subnet("10.0.0.0/24", policy="lowest")
    assert [s.allocate_ip() for _ in range(3)] == [A4("10.0.0.4"), A4("10.0.0.5"), A4("10.0.0.6")]
    assert s.allocate_prefix() == N4("10.0.0.16/28")
    assert s.allocate_prefix(prefixlen=30) == N4("10.0.0.8/30")
    s.release("10.0.0.5")
    assert s.allocate_ip() == A4("10.0.0.5")
    assert s.allocate_prefix(prefixlen=26) == N4("10.0.0.64/26")


def count_free_28s_after_singles(policy: str, cidr: str, n: int, seed: int = 0) -> int:
    s = Subnet(cidr, policy=policy, seed=seed)  # type: ignore[arg-type]
    for _ in range(n):
        s.allocate_ip()
    return s.free_block_count(28)


@pytest.mark.parametrize(("cidr", "n", "best"), [("10.0.0.0/24", 20, 14), ("10.0.0.0/22", 100, 57)])
def test_best_fit_singles_keep_whole_28s(cidr: str, n: int, best: int) -> None:
    """Best fit packs singles into partly used /28s first: the most /28s stay free.

    /22: 64 /28s, of which the first (12 free) and last (15 free) hold reserved
    addresses; 100 singles fill those 27 holes, then 73 more spoil ceil(73/16) = 5:
    57 free /28s is the maximum any placement can keep.
    """
    assert count_free_28s_after_singles("best-fit", cidr, n) == best
    assert count_free_28s_after_singles("lowest", cidr, n) < best
    for seed in range(5):
        assert count_free_28s_after_singles("random", cidr, n, seed) < best


def test_best_fit_single_goes_to_the_fullest_28() -> None:
    s = Subnet("10.0.0.0/24", policy="best-fit", reserved=None)
    s.allocate_ip("10.0.0.70")  # /28 at .64 has 15 free
    for a in range(96, 96 + 10):  # /28 at .96 has 6 free
        s.allocate_ip(f"10.0.0.{a}")
    s.allocate_ip("10.0.0.107")  # now 5 free: .106, .108/30 (.108-.111)
    assert s.allocate_ip() == A4("10.0.0.106")  # the smallest hole of the fullest /28
    assert s.allocate_ip() in {A4(f"10.0.0.{x}") for x in range(108, 112)}


def test_best_fit_prefix_takes_the_smallest_run_that_fits() -> None:
    s = Subnet("10.0.0.0/24", policy="best-fit", reserved=None)
    s.allocate_prefix("10.0.0.64/27")
    s.allocate_prefix("10.0.0.112/28")
    # Free runs: .0/26, .96/28 (a lone /28), .128/25. Best fit takes the lone /28.
    assert s.allocate_prefix() == N4("10.0.0.96/28")
    assert s.largest_free_prefixlen() == 25
    lowest = Subnet.from_dict({**s.to_dict(), "policy": "lowest"})
    assert lowest.allocate_prefix() == N4("10.0.0.0/28")


def test_random_policy_reaches_every_free_block_and_address() -> None:
    free_28s = {str(n) for n in Subnet("10.0.0.0/24").free_blocks(28)}
    picks = {str(Subnet("10.0.0.0/24", seed=i).allocate_prefix()) for i in range(400)}
    assert picks == free_28s
    ips = {Subnet("10.0.0.0/28", seed=i).allocate_ip() for i in range(400)}
    assert ips == {A4(f"10.0.0.{x}") for x in range(4, 15)}


def test_seed_reproducibility() -> None:
    def run(seed: int | None) -> list[str]:
        s = Subnet("10.0.0.0/20", policy="random", seed=seed)
        out = [str(s.allocate_ip()) for _ in range(30)]
        out += [str(s.allocate_prefix()) for _ in range(10)]
        return out

    assert run(42) == run(42)
    assert run(42) != run(43)
    # The random state survives to_dict/from_dict: both continue identically.
    s = Subnet("10.0.0.0/20", seed=9)
    s.allocate_ip()
    t = Subnet.from_dict(json.loads(json.dumps(s.to_dict())))
    assert [s.allocate_ip() for _ in range(10)] == [t.allocate_ip() for _ in range(10)]


# -------------------------------------------------------------- reservations


def test_prefix_reservation_serves_automatic_prefixes_first() -> None:
    s = Subnet("10.0.0.0/24", policy="random", seed=4)
    s.reserve("10.0.0.192/27", kind="prefix", description="pods")
    assert s.reservations == (Reservation(N4("10.0.0.192/27"), "prefix", "pods"),)
    got = {s.allocate_prefix(), s.allocate_prefix()}
    assert got == {N4("10.0.0.192/28"), N4("10.0.0.208/28")}
    # The reservation is full: automatic prefixes come from the unreserved rest.
    third = s.allocate_prefix()
    assert not third.overlaps(N4("10.0.0.192/27"))
    for _ in range(40):
        assert s.allocate_ip() not in N4("10.0.0.192/27")


def test_explicit_reservation_takes_only_explicit_allocations() -> None:
    s = Subnet("10.0.0.0/24", policy="lowest")
    s.reserve("10.0.0.0/25", kind="explicit")
    assert s.free_block_count(28) == 7  # .128/25 minus the last /28
    assert s.allocate_ip() == A4("10.0.0.128")
    assert s.allocate_prefix() == N4("10.0.0.144/28")
    assert s.allocate_ip("10.0.0.9") == A4("10.0.0.9")
    assert s.allocate_prefix("10.0.0.16/28") == N4("10.0.0.16/28")


def test_reservation_over_used_addresses_frees_nothing() -> None:
    s = Subnet("10.0.0.0/24", policy="lowest")
    s.allocate_prefix("10.0.0.64/28", owner="n")
    s.reserve("10.0.0.64/26", kind="prefix")
    assert s.free_addresses == 251 - 16 and s.owner_of("10.0.0.70") == "n"
    assert s.allocate_prefix() == N4("10.0.0.80/28")
    s.release("10.0.0.64/28")
    assert s.allocate_prefix() == N4("10.0.0.64/28")
    assert s.unreserve("10.0.0.64/26").kind == "prefix" and s.reservations == ()


# ---------------------------------------------------------- owners and copies


def test_owner_queries() -> None:
    s = Subnet("10.0.0.0/24", policy="lowest")
    assert s.allocate_ip("10.0.0.17", owner="eni-1") == A4("10.0.0.17")
    s.allocate_prefix("10.0.0.32/28", owner="eni-2")
    s.allocate_ip(owner="eni-2")
    s.allocate_ip()  # unowned
    assert s.owner_of("10.0.0.17") == "eni-1"
    assert s.owner_of("10.0.0.47") == "eni-2"
    assert s.owner_of("10.0.0.48") is None and s.owner_of("10.0.0.5") is None
    assert s.allocation_of("10.0.0.40") == Allocation(N4("10.0.0.32/28"), "eni-2", "prefix")
    assert s.owners() == {"eni-1": 1, "eni-2": 17, None: 1}
    assert [a.cidr for a in s.allocations_of("eni-2")] == [N4("10.0.0.4/32"), N4("10.0.0.32/28")]
    assert s.allocations_of("eni-9") == []
    s.set_owner_info("eni-2", {"instance_id": "i-2", "interface_type": "interface"})
    info = s.owner_info("eni-2")
    info["instance_id"] = "changed"
    assert s.owner_info("eni-2")["instance_id"] == "i-2", "owner_info returns a copy"
    assert s.owner_info("eni-9") == {}
    s.set_owner_info("eni-1", {"tags": ["a"], "kind": None})
    s.set_owner_info("eni-3", {"kind": "lambda"})
    assert s.owner_info_values("instance_id") == {"eni-2": "i-2"}
    assert s.owner_info_values("kind") == {"eni-1": None, "eni-3": "lambda"}
    assert s.owner_info_values("nothing") == {}
    tags = s.owner_info_values("tags")
    tags["eni-1"].append("b")
    assert s.owner_info("eni-1")["tags"] == ["a"], "owner_info_values copies containers"
    with pytest.raises(ipfrag.InvalidType, match="owner info key"):
        s.owner_info_values(4)  # type: ignore[arg-type]
    assert s.release_owner("eni-2") == 2
    assert s.release_owner("eni-2") == 0 and s.release_owner("eni-9") == 0
    assert s.free_addresses == 251 - 2
    assert [a.owner for a in s.allocations()] == [None, "eni-1"]


def test_copy_is_independent() -> None:
    s = Subnet("10.0.0.0/24", seed=5, name="subnet-1", info={"vpc_id": "vpc-1", "tags": ["a"]})
    s.allocate_ip("10.0.0.9", owner="a")
    s.set_owner_info("a", {"instance_id": "i-1"})
    s.reserve("10.0.0.128/26")
    before = s.to_dict()
    t = s.copy()
    assert t == s and t.to_dict() == before and t.name == "subnet-1"
    # The fork continues the same random sequence.
    assert t.copy().allocate_ip() == s.copy().allocate_ip()
    t.allocate_prefix(owner="b")
    t.release("10.0.0.9")
    t.unreserve("10.0.0.128/26")
    t.set_owner_info("a", {"instance_id": "i-9"})
    t.info["tags"].append("b")
    assert s.to_dict() == before
    assert s.owner_info("a") == {"instance_id": "i-1"} and s.info["tags"] == ["a"]
    assert t != s
    s._check()
    t._check()


def test_to_dict_round_trip_is_json_safe_and_exact() -> None:
    s = Subnet("2600:1f14::/64", seed=3, name="v6", info={"availability_zone": "us-east-1a"})
    s.allocate_prefix(owner="node")
    s.allocate_ip("2600:1f14::1:2:3:4", owner="pod")
    s.reserve("2600:1f14:0:0:8000::/65", kind="explicit")
    s.set_owner_info("node", {"instance_id": "i-1"})
    d = s.to_dict()
    text = json.dumps(d)
    t = Subnet.from_dict(json.loads(text))
    assert t == s and t.to_dict() == d
    assert t.name == "v6" and t.info == {"availability_zone": "us-east-1a"}
    assert t.owner_info("node") == {"instance_id": "i-1"}
    assert t.reservations == s.reservations and t.policy == s.policy


def test_equality_ignores_policy_and_seed() -> None:
    a = Subnet("10.0.0.0/24", policy="lowest", seed=1)
    b = Subnet("10.0.0.0/24", policy="random", seed=2)
    assert a == b
    a.allocate_ip("10.0.0.9")
    assert a != b
    b.allocate_ip("10.0.0.9", owner="x")
    assert a != b, "owners are part of the state"
    assert a != Subnet("10.0.0.0/24", reserved=None)
    assert (a == "10.0.0.0/24") is False


def test_repr() -> None:
    s = Subnet("10.0.0.0/24", policy="lowest")
    s.allocate_ip("10.0.0.20")
    r = repr(s)
    assert r.startswith("Subnet('10.0.0.0/24'")
    assert "free_addresses=250" in r and "policy='lowest'" in r and "13" in r
    assert "2600:1f14::/64" in repr(Subnet("2600:1f14::/64"))


def test_public_surface() -> None:
    for name in ("Subnet", "Allocation", "Reservation", "IpfragError", "InsufficientCidrBlocks"):
        assert name in ipfrag.__all__ and hasattr(ipfrag, name)


def test_best_fit_prefix_across_prefix_reservations() -> None:
    s = Subnet("10.0.0.0/24", policy="best-fit", reserved=None)
    s.reserve("10.0.0.0/26", kind="prefix")  # one free /26 run
    s.reserve("10.0.0.64/26", kind="prefix")
    s.allocate_prefix("10.0.0.64/27")
    s.allocate_prefix("10.0.0.112/28")  # leaves a lone /28 run at .96
    assert s.allocate_prefix() == N4("10.0.0.96/28")


def test_per_call_policy_overrides_for_that_call_only() -> None:
    s = Subnet("10.0.0.0/24", policy="random", seed=4)
    s.allocate_ip("10.0.0.40")
    # best-fit: into the fullest /28 with room, which is the first (AWS's 4 reserved)
    a = s.allocate_ip(policy="best-fit")
    assert int(a) & 0xF0 == 0 and s.policy == "random"
    assert s.allocate_prefix(policy="lowest") == ipaddress.ip_network("10.0.0.16/28")
    t = Subnet("10.0.0.0/24", policy="lowest")
    assert t.allocate_ip(policy="lowest") == ipaddress.ip_address("10.0.0.4")


@pytest.mark.parametrize(
    ("policy", "error"), [("fastest", ipfrag.InvalidArgument), (3, ipfrag.InvalidType)]
)
def test_bad_per_call_policy_changes_nothing(policy: Any, error: type[Exception]) -> None:
    s = Subnet("10.0.0.0/24", seed=1)
    before = s.to_dict()
    with pytest.raises(error):
        s.allocate_ip(owner="new", policy=policy)
    with pytest.raises(error):
        s.allocate_prefix(owner="new", policy=policy)
    assert s.to_dict() == before and "new" not in s.owners()


def test_prefix_counts_follow_allocations_releases_and_copies() -> None:
    s = Subnet("10.0.0.0/24", policy="lowest")
    assert s.prefix_counts() == {}
    p = s.allocate_prefix()
    s.allocate_prefix(prefixlen=26)
    s.allocate_ip()
    t = s.copy()
    assert s.prefix_counts() == {26: 1, 28: 1} == t.prefix_counts()
    s.release(p)
    assert s.prefix_counts() == {26: 1} and t.prefix_counts() == {26: 1, 28: 1}
    assert Subnet.from_dict(t.to_dict()).prefix_counts() == {26: 1, 28: 1}
    s._check()
    t._check()


@pytest.mark.parametrize("cidr", ["10.0.0.0/22", "2001:db8::/64"])
def test_pickle_and_deepcopy_round_trip_on_every_core(cidr: str) -> None:
    import copy
    import pickle

    s = Subnet(cidr, seed=9, info={"name": "x"})
    s.reserve(next(s.cidr.subnets(new_prefix=s.cidr.prefixlen + 2)), kind="explicit")
    s.allocate_prefix(owner="eni-1")
    s.allocate_ip(owner="eni-2")
    s.set_owner_info("eni-1", {"kind": "eks_node_primary"})
    for t in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert t == s and t.to_dict() == s.to_dict()
        assert t.allocate_ip() == s.copy().allocate_ip()  # the same random sequence
        t._check()
