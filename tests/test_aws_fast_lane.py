"""The loader's fast lane against its careful path: the same snapshot, or it steps aside.

``load_snapshot`` first tries a bulk lane for clean input and starts over on the careful,
item-by-item path at anything that path would report, note or place one by one. Here
hypothesis builds small snapshots that are mostly clean but carry the defects the careful
path knows (duplicate addresses and interfaces, unlisted primaries, other spellings,
malformed text, prefixes with host bits or of the wrong length, interfaces of subnets not
loaded, the other family's junk); for each, the result with the fast lane allowed must be
exactly the careful path's (subnets with owners and owner info, notes, warnings,
mismatches, or the same error), and clean input must really take the fast lane.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipfrag.aws.snapshot as loader
from ipfrag import IpfragError, Subnet
from ipfrag.aws import load_snapshot

SUBNETS = {
    "Subnets": [
        {
            "SubnetId": "subnet-a",
            "CidrBlock": "10.0.0.0/24",
            "VpcId": "vpc-1",
            "AvailableIpAddressCount": 240,
            "Ipv6CidrBlockAssociationSet": [
                {
                    "Ipv6CidrBlock": "2600:1f14::/64",
                    "Ipv6CidrBlockState": {"State": "associated"},
                }
            ],
        },
        {
            "SubnetId": "subnet-b",
            "CidrBlock": "10.0.1.0/24",
            "VpcId": "vpc-1",
            "AvailableIpAddressCount": 249,
        },
    ]
}

CIDRS = {"subnet-a": "10.0.0.0/24", "subnet-b": "10.0.1.0/24"}
BAD_V4 = ["10.0.0.1", "10.0.2.9", "010.0.0.10", "10.0.0.300", "", "2600:1f14::5", "10.0.1.20"]
BAD_V6 = ["2600:1F14::5", "2600:1f14:0::6", "2600:1f15::1", "not-an-address", "10.0.0.10"]
BAD_P4 = ["10.0.0.33/28", "10.0.0.0/27", "10.0.0.32", "10.0.0.32/028", "2600:1f14::/80"]
BAD_P6 = ["2600:1f14::/64", "2600:1f14::1/80"]


NODES = ["i-0123456789abcdef0", "i-0fedcba9876543210"]
TRUNKS = ["eni-trunk1", "eni-trunk2"]
DESCRIPTIONS = [
    "",
    None,
    "x",
    "aws-K8S-i-0123456789abcdef0",
    " aws-K8S-i-0123456789abcdef0 ",
    "aws-k8s-branch-eni",
    "aws-k8s-trunk-eni",
    "Amazon EKS prod",
    "ELB app/web/0123456789abcdef",
]
OPTIONAL: dict[str, list[Any]] = {
    "RequesterId": ["", "amazon-elb", "014851456324", None],
    "RequesterManaged": [True, False, None],
    "VpcId": ["vpc-1", "vpc-2"],
    "AvailabilityZone": ["eu-west-1a", None],
    "Operator": [{"Principal": "eks.amazonaws.com"}, {"Principal": "other"}, {}],
}
ATTACHMENT: dict[str, list[Any]] = {
    "InstanceId": [*NODES, "", None],
    "DeviceIndex": [0, 1, None],
    "NetworkCardIndex": [0, 1],
}
TAG_KEYS = [
    "vpcresources.k8s.aws/trunk-eni-id",  # values read by classification
    "node.k8s.amazonaws.com/instance_id",
    "cluster.k8s.amazonaws.com/name",
    "eks:cluster-name",
    "aws:elasticmapreduce:job-flow-id",
    "vpcresources.k8s.aws/vlan-id",  # keys read, values not
    "kubernetes.io/cluster/prod",
    "eks:eni:owner",
    "Name",
]
TAG_VALUES = [*TRUNKS, *NODES, "", "prod", "7", "8"]

DEFECTS = [
    "bad address",
    "address twice",
    "primary unlisted",
    "primary alone",
    "bad prefix",
    "bad IPv6 address",
    "IPv6 primary in another spelling",
    "bad IPv6 prefix",
    "subnet not loaded",
    "interface listed twice",
    "broken tags",
]


@st.composite
def interface(draw: st.DrawFn, defect: str | None = None) -> dict[str, Any]:
    """A describe-network-interfaces item with addresses of its own subnet (rarely colliding
    with another item's), or with one of :data:`DEFECTS`."""
    subnet = draw(st.sampled_from(["subnet-a", "subnet-b"]))
    third = 1 if subnet == "subnet-b" else 0
    v4 = st.integers(4, 254).map(lambda n: f"10.0.{third}.{n}")
    v6 = st.integers(4, 0xFFFF).map(lambda n: f"2600:1f14::{n:x}")
    p4 = st.integers(1, 15).map(lambda n: f"10.0.{third}.{16 * n}/28")
    p6 = st.integers(1, 0xFFFF).map(lambda n: f"2600:1f14:0:0:{n:x}::/80")
    eni: dict[str, Any] = {
        "NetworkInterfaceId": draw(
            st.sampled_from(TRUNKS) | st.integers(0, 10**9).map(lambda n: f"eni-{n}")
        ),
        "SubnetId": subnet,
        "InterfaceType": draw(st.sampled_from(["interface", "branch", "lambda", "trunk", "efa"])),
        "Description": draw(st.sampled_from(DESCRIPTIONS)),
        "Status": draw(st.sampled_from(["in-use", "available"])),
    }
    # What classification and owner info read, varied so that the fast lane's grouping of
    # interfaces it cannot tell apart is put to the test.
    for key, values in OPTIONAL.items():
        if draw(st.booleans()):
            eni[key] = draw(st.sampled_from(values))
    if draw(st.booleans()):
        eni["TagSet"] = [
            {"Key": k, "Value": v}
            for k, v in draw(
                st.lists(st.tuples(st.sampled_from(TAG_KEYS), st.sampled_from(TAG_VALUES)))
            )
        ]
    addresses = draw(st.lists(v4, max_size=3, unique=True))
    if addresses or draw(st.booleans()):
        eni["PrivateIpAddresses"] = [{"PrivateIpAddress": a} for a in addresses]
    if addresses and draw(st.booleans()):
        eni["PrivateIpAddress"] = draw(st.sampled_from(addresses))
    if draw(st.booleans()):
        eni["Ipv4Prefixes"] = [{"Ipv4Prefix": p} for p in draw(st.lists(p4, max_size=2))]
    six = draw(st.lists(v6, max_size=2, unique=True))
    if six or draw(st.booleans()):
        eni["Ipv6Addresses"] = [{"Ipv6Address": a} for a in six]
        if six and draw(st.booleans()):
            eni["Ipv6Address"] = draw(st.sampled_from(six))
    if draw(st.booleans()):
        eni["Ipv6Prefixes"] = [{"Ipv6Prefix": p} for p in draw(st.lists(p6, max_size=1))]
    if draw(st.booleans()):
        eni["Attachment"] = {
            k: draw(st.sampled_from(v)) for k, v in ATTACHMENT.items() if draw(st.booleans())
        }
    if defect is not None:
        bad = draw(st.sampled_from(BAD_V4 + BAD_V6 + BAD_P4 + BAD_P6))
        if defect == "bad address":
            eni["PrivateIpAddresses"] = [{"PrivateIpAddress": bad}]
        elif defect == "address twice":
            eni["PrivateIpAddresses"] = [{"PrivateIpAddress": f"10.0.{third}.9"}] * 2
        elif defect == "primary unlisted":
            eni["PrivateIpAddress"] = f"10.0.{third}.8"
        elif defect == "primary alone":
            eni.pop("PrivateIpAddresses", None)
            eni["PrivateIpAddress"] = f"10.0.{third}.7"
        elif defect == "bad prefix":
            eni["Ipv4Prefixes"] = [{"Ipv4Prefix": bad}]
        elif defect == "bad IPv6 address":
            eni["Ipv6Addresses"] = [{"Ipv6Address": bad}]
        elif defect == "IPv6 primary in another spelling":
            eni["Ipv6Addresses"] = [{"Ipv6Address": "2600:1f14::abc"}]
            eni["Ipv6Address"] = "2600:1F14::ABC"
        elif defect == "bad IPv6 prefix":
            eni["Ipv6Prefixes"] = [{"Ipv6Prefix": bad}]
        elif defect == "subnet not loaded":
            eni["SubnetId"] = "subnet-zzz"
        elif defect == "broken tags":
            eni["TagSet"] = "broken"  # a shape error: the careful path reports the field
    return eni


def outcome(enis: list[dict[str, Any]], family: int, lenient: bool) -> Any:
    try:
        snap = load_snapshot(
            copy.deepcopy(SUBNETS),
            {"NetworkInterfaces": copy.deepcopy(enis)},
            family=family,  # type: ignore[arg-type]
            lenient=lenient,
            seed=1,
        )
    except IpfragError as e:
        return ("error", type(e), str(e))
    subnets = {}
    for sid, subnet in snap.items():
        state = subnet.to_dict()  # allocations with owners, owner info, reservations, info
        del state["rng_state"]  # equal (seed=1); long to print
        subnets[sid] = state
    return subnets, snap.notes, snap.warnings, snap.mismatches


def clean(enis: list[dict[str, Any]], family: int) -> bool:
    """Whether the careful path would load these items without a word (a plain set model):
    interface ids unique, primaries listed, and per subnet loaded the family's addresses
    and prefixes inside it, disjoint, clear of the addresses AWS reserves."""
    ids = [e["NetworkInterfaceId"] for e in enis]
    if len(set(ids)) != len(ids):
        return False
    used: dict[str, set[int]] = {"subnet-a": set(), "subnet-b": set()}
    for e in enis:
        for key, list_key in (
            ("PrivateIpAddress", "PrivateIpAddresses"),
            ("Ipv6Address", "Ipv6Addresses"),
        ):
            if key in e and e[key] not in [a[key] for a in e.get(list_key, [])]:
                return False
        if family == 4:
            items = [a["PrivateIpAddress"] for a in e.get("PrivateIpAddresses", [])]
            items += [p["Ipv4Prefix"] for p in e.get("Ipv4Prefixes", [])]
            cidr = CIDRS[e["SubnetId"]]
        else:
            items = [a["Ipv6Address"] for a in e.get("Ipv6Addresses", [])]
            items += [p["Ipv6Prefix"] for p in e.get("Ipv6Prefixes", [])]
            cidr = "2600:1f14::/64" if e["SubnetId"] == "subnet-a" else ""
        if not cidr:
            continue  # not loaded: checked, never placed
        net = ipaddress.ip_network(cidr)
        reserved = {int(a) for a in Subnet(cidr).reserved_addresses}
        for text in items:
            block = ipaddress.ip_network(text)
            if not block.subnet_of(net):  # type: ignore[arg-type]
                return False
            first = int(block.network_address)
            taken = set(range(first, first + min(block.num_addresses, 1 << 20)))
            if block.num_addresses > 1 << 20:  # an IPv6 /80: compare by range
                taken = {first, first + block.num_addresses - 1}
                if any(first <= u < first + block.num_addresses for u in used[e["SubnetId"]]):
                    return False
            if taken & (used[e["SubnetId"]] | reserved):
                return False
            used[e["SubnetId"]] |= taken
    return True


def careful(*args: Any, **kwargs: Any) -> Any:
    raise loader._Bail


@pytest.mark.parametrize("defect", DEFECTS)
@settings(max_examples=max(10, settings().max_examples // 4))
@given(
    data=st.data(),
    enis=st.lists(interface(), max_size=3),
    family=st.sampled_from([4, 6]),
    lenient=st.booleans(),
)
def test_fast_lane_gives_the_careful_result_or_steps_aside(
    defect: str, data: st.DataObject, enis: list[dict[str, Any]], family: int, lenient: bool
) -> None:
    twin = data.draw(st.sampled_from(enis)) if enis and defect == "interface listed twice" else None
    bad = data.draw(interface(defect))
    if twin is not None:
        bad["NetworkInterfaceId"] = twin["NetworkInterfaceId"]
        if data.draw(st.booleans()):
            bad = copy.deepcopy(twin)  # an identical repeat: noted, not an error
    enis.insert(data.draw(st.integers(0, len(enis))), bad)
    with mock.patch.object(loader, "_place_fast", careful):
        expected = outcome(enis, family, lenient)
    assert outcome(enis, family, lenient) == expected


@given(enis=st.lists(interface(), max_size=6), family=st.sampled_from([4, 6]))
def test_clean_input_takes_the_fast_lane(enis: list[dict[str, Any]], family: int) -> None:
    with mock.patch.object(loader, "_place_carefully", wraps=loader._place_carefully) as spy:
        result = outcome(enis, family, lenient=False)
    if clean(enis, family):
        assert spy.call_count == 0, result
    with mock.patch.object(loader, "_place_fast", careful):
        assert outcome(enis, family, lenient=False) == result


def _other(draw: st.DrawFn, values: list[Any], current: Any) -> Any:
    return draw(st.sampled_from([v for v in values if v != current]))


def _change(draw: st.DrawFn, eni: dict[str, Any], what: str) -> None:
    """Change one thing classification or owner info reads to another value."""
    if what in OPTIONAL:
        eni[what] = _other(draw, OPTIONAL[what], eni.get(what, "absent"))
    elif what in TOP:
        eni[what] = _other(draw, TOP[what], eni.get(what))
    elif what in ATTACHMENT:
        attachment = eni.setdefault("Attachment", {})
        attachment[what] = _other(draw, ATTACHMENT[what], attachment.get(what, "absent"))
    else:  # a tag's value
        tags = eni.setdefault("TagSet", [])
        tag = draw(st.sampled_from(tags))
        tag["Value"] = _other(draw, TAG_VALUES, tag["Value"])


TOP: dict[str, list[Any]] = {
    "InterfaceType": ["interface", "branch", "lambda", "trunk", "efa"],
    "Description": DESCRIPTIONS,
    "Status": ["in-use", "available"],
}
VARIED = [*TOP, *OPTIONAL, *ATTACHMENT, "tag value"]


@pytest.mark.parametrize("what", VARIED)
@settings(max_examples=max(10, settings().max_examples // 4))
@given(data=st.data(), base=interface(), count=st.integers(2, 6))
def test_interfaces_alike_but_for_one_field_keep_their_own_owner_info(
    what: str, data: st.DataObject, base: dict[str, Any], count: int
) -> None:
    """Near-twins (one interface, copied, some copies changed in one field that
    classification or owner info reads) through the fast lane, which classifies one
    interface per group of those it cannot tell apart: the careful path's result."""
    for key in ("PrivateIpAddress", "Ipv6Address", "Ipv4Prefixes", "Ipv6Prefixes"):
        base.pop(key, None)
    base["Ipv6Addresses"] = []
    base["SubnetId"] = "subnet-a"
    if what == "tag value":
        key = data.draw(st.sampled_from(TAG_KEYS))
        base.setdefault("TagSet", []).append({"Key": key, "Value": TAG_VALUES[0]})
    enis = []
    for i in range(count):
        eni = copy.deepcopy(base)
        eni["NetworkInterfaceId"] = TRUNKS[i] if i < len(TRUNKS) else f"eni-twin{i}"
        eni["PrivateIpAddresses"] = [{"PrivateIpAddress": f"10.0.0.{10 + i}"}]
        if i and data.draw(st.booleans()):
            _change(data.draw, eni, what)
        enis.append(eni)
    with mock.patch.object(loader, "_place_carefully", wraps=loader._place_carefully) as spy:
        result = outcome(enis, 4, lenient=False)
    assert spy.call_count == 0, result  # clean: the fast lane took it
    with mock.patch.object(loader, "_place_fast", careful):
        assert outcome(enis, 4, lenient=False) == result


def test_pod_enis_alike_but_for_their_trunk_get_their_own_node() -> None:
    """Branch ENIs that differ only in the trunk tag's value, their trunks attached to two
    nodes: one node each (the trunks' nodes are learned from every interface)."""

    def item(eni_id: str, address: str, **extra: Any) -> dict[str, Any]:
        return {
            "NetworkInterfaceId": eni_id,
            "SubnetId": "subnet-a",
            "Status": "in-use",
            "PrivateIpAddresses": [{"PrivateIpAddress": address}],
            **extra,
        }

    trunk = {"InterfaceType": "trunk", "Description": "aws-k8s-trunk-eni"}
    enis = [
        item("eni-trunk1", "10.0.0.10", **trunk, Attachment={"InstanceId": NODES[0]}),
        item("eni-trunk2", "10.0.0.11", **trunk, Attachment={"InstanceId": NODES[1]}),
    ]
    for i, trunk_id in enumerate(TRUNKS * 2):
        tag = {"Key": "vpcresources.k8s.aws/trunk-eni-id", "Value": trunk_id}
        enis.append(item(f"eni-pod{i}", f"10.0.0.{20 + i}", InterfaceType="branch", TagSet=[tag]))
    snap = load_snapshot(SUBNETS, {"NetworkInterfaces": enis})
    nodes = snap["subnet-a"].owner_info_values("instance_id")
    assert [nodes[f"eni-pod{i}"] for i in range(4)] == [NODES[0], NODES[1], NODES[0], NODES[1]]
    with mock.patch.object(loader, "_place_fast", careful):
        assert load_snapshot(SUBNETS, {"NetworkInterfaces": enis}) == snap


def test_node_enis_alike_but_for_their_network_card_keep_their_own_kind() -> None:
    """Only the primary ENI of network card 0 is the EKS node's primary ENI."""
    enis = [
        {
            "NetworkInterfaceId": f"eni-card{card}",
            "SubnetId": "subnet-a",
            "Status": "in-use",
            "InterfaceType": "interface",
            "PrivateIpAddresses": [{"PrivateIpAddress": f"10.0.0.{10 + card}"}],
            "Attachment": {"InstanceId": NODES[0], "DeviceIndex": 0, "NetworkCardIndex": card},
            "TagSet": [{"Key": "eks:cluster-name", "Value": "prod"}],
        }
        for card in (0, 1)
    ]
    snap = load_snapshot(SUBNETS, {"NetworkInterfaces": enis})
    kinds = snap["subnet-a"].owner_info_values("kind")
    assert kinds == {"eni-card0": "eks_node_primary", "eni-card1": "ec2_instance"}
    with mock.patch.object(loader, "_place_fast", careful):
        assert load_snapshot(SUBNETS, {"NetworkInterfaces": enis}) == snap
