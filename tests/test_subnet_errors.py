"""Bad input, table-driven: the exact error, its base class, and no change of state.

Input errors subclass both ``ipfrag.IpfragError`` and ``ValueError``; capacity
errors (``InsufficientCidrBlocks``, ``InsufficientFreeAddresses``) subclass
``ipfrag.InsufficientCapacity`` and not ``ValueError``. Every failed call leaves
``to_dict()`` exactly as it was; ``from_dict`` on corrupted data raises
``SnapshotError`` and does not touch the data it was given.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from collections.abc import Callable
from typing import Any

import pytest

import ipfrag
from ipfrag import (
    AddressInUse,
    InsufficientCapacity,
    InsufficientCidrBlocks,
    InsufficientFreeAddresses,
    InvalidArgument,
    InvalidCidr,
    InvalidType,
    IpfragError,
    Misaligned,
    NotAllocated,
    OutsideSubnet,
    ReservationConflict,
    ReservedAddress,
    SnapshotError,
    Subnet,
)

Call = Callable[[Subnet], Any]


def v4() -> Subnet:
    """A /24 with a single IP, a /28 prefix and a prefix reservation."""
    s = Subnet("10.0.0.0/24", policy="lowest", seed=3, info={"subnet_id": "subnet-1"})
    s.allocate_ip("10.0.0.17", owner="eni-1")
    s.allocate_prefix("10.0.0.32/28", owner="eni-2")
    s.reserve("10.0.0.128/26", kind="prefix", description="pods")
    s.set_owner_info("eni-1", {"instance_id": "i-1"})
    return s


def v6() -> Subnet:
    """An IPv6 /64 with one /80 prefix and one single address."""
    s = Subnet("2600:1f14:0:1::/64", policy="random", seed=5)
    s.allocate_prefix("2600:1f14:0:1:1::/80", owner="node-1")
    s.allocate_ip("2600:1f14:0:1:2::7", owner="node-2")
    return s


def assert_fails_cleanly(s: Subnet, call: Call, error: type[Exception]) -> None:
    before = s.to_dict()
    with pytest.raises(error) as info:
        call(s)
    assert type(info.value) is error, repr(info.value)
    if issubclass(error, IpfragError):
        if issubclass(error, InsufficientCapacity):
            assert not isinstance(info.value, (ValueError, TypeError))
        elif issubclass(error, InvalidType):
            assert isinstance(info.value, TypeError) and not isinstance(info.value, ValueError)
        else:
            assert isinstance(info.value, ValueError) and not isinstance(info.value, TypeError)
    assert str(info.value), "errors carry a message"
    assert s.to_dict() == before
    s._check()


# ------------------------------------------------------------- input errors

V4_CASES: list[tuple[str, Call, type[Exception]]] = [
    # malformed addresses and CIDRs
    ("ip: not an address", lambda s: s.allocate_ip("banana"), InvalidCidr),
    ("ip: empty", lambda s: s.allocate_ip(""), InvalidCidr),
    ("ip: octet 256", lambda s: s.allocate_ip("10.0.0.256"), InvalidCidr),
    ("ip: a CIDR", lambda s: s.allocate_ip("10.0.0.5/32"), InvalidCidr),
    ("ip: float", lambda s: s.allocate_ip(3.5), InvalidType),  # type: ignore[arg-type]
    ("ip: bytes", lambda s: s.allocate_ip(b"\n\0\0\5"), InvalidType),  # type: ignore[arg-type]
    ("ip: negative int", lambda s: s.allocate_ip(-1), InvalidCidr),
    ("ip: int beyond IPv4", lambda s: s.allocate_ip(2**32), InvalidCidr),
    ("ip: bool", lambda s: s.allocate_ip(True), InvalidType),
    ("prefix: no length", lambda s: s.allocate_prefix("10.0.0.64"), InvalidCidr),
    ("prefix: length 33", lambda s: s.allocate_prefix("10.0.0.64/33"), InvalidCidr),
    ("prefix: garbage", lambda s: s.allocate_prefix("10.0.0.64/abc"), InvalidCidr),
    ("prefix: int", lambda s: s.allocate_prefix(167772224), InvalidType),  # type: ignore[arg-type]
    (
        "prefix: length mismatch",
        lambda s: s.allocate_prefix("10.0.0.64/28", prefixlen=27),
        InvalidCidr,
    ),
    ("auto prefix: /33", lambda s: s.allocate_prefix(prefixlen=33), InvalidCidr),
    ("auto prefix: wider than subnet", lambda s: s.allocate_prefix(prefixlen=23), InvalidCidr),
    ("auto prefix: str length", lambda s: s.allocate_prefix(prefixlen="28"), InvalidType),  # type: ignore[arg-type]
    ("auto prefix: bool length", lambda s: s.allocate_prefix(prefixlen=True), InvalidType),
    ("can_carve: /33", lambda s: s.can_carve(33), InvalidCidr),
    ("can_carve: /16", lambda s: s.can_carve(16), InvalidCidr),
    ("free_block_count: str", lambda s: s.free_block_count("28"), InvalidType),  # type: ignore[arg-type]
    ("free_blocks: /40", lambda s: list(s.free_blocks(40)), InvalidCidr),
    ("owner_of: garbage", lambda s: s.owner_of("x"), InvalidCidr),
    ("is_free: garbage", lambda s: s.is_free("10.0.0.0/99"), InvalidCidr),
    # IPv4/IPv6 mix-ups
    ("ip: IPv6 text", lambda s: s.allocate_ip("2600::1"), InvalidCidr),
    ("ip: IPv6 object", lambda s: s.allocate_ip(ipaddress.IPv6Address("::a00:5")), InvalidCidr),
    ("ip: IPv4-mapped IPv6", lambda s: s.allocate_ip("::ffff:10.0.0.5"), InvalidCidr),
    ("prefix: IPv6 text", lambda s: s.allocate_prefix("2600::/124"), InvalidCidr),
    (
        "prefix: IPv6 object",
        lambda s: s.allocate_prefix(ipaddress.ip_network("::/124")),
        InvalidCidr,
    ),
    ("release: IPv6", lambda s: s.release("2600::1"), InvalidCidr),
    ("reserve: IPv6", lambda s: s.reserve("2600::/120"), InvalidCidr),
    # misaligned prefixes
    ("prefix: host bits", lambda s: s.allocate_prefix("10.0.0.65/28"), Misaligned),
    ("prefix: /26 on a /28 boundary", lambda s: s.allocate_prefix("10.0.0.80/26"), Misaligned),
    ("release: host bits", lambda s: s.release("10.0.0.33/28"), Misaligned),
    ("reserve: host bits", lambda s: s.reserve("10.0.0.8/28"), Misaligned),
    # outside the subnet
    ("ip: next subnet", lambda s: s.allocate_ip("10.0.1.0"), OutsideSubnet),
    ("ip: previous address", lambda s: s.allocate_ip("9.255.255.255"), OutsideSubnet),
    (
        "ip: int outside",
        lambda s: s.allocate_ip(int(ipaddress.ip_address("10.0.1.7"))),
        OutsideSubnet,
    ),
    ("prefix: outside", lambda s: s.allocate_prefix("10.0.1.0/28"), OutsideSubnet),
    ("prefix: supernet", lambda s: s.allocate_prefix("10.0.0.0/23"), OutsideSubnet),
    ("release: outside", lambda s: s.release("10.0.1.17"), OutsideSubnet),
    ("owner_of: outside", lambda s: s.owner_of("10.0.1.17"), OutsideSubnet),
    ("reserve: outside", lambda s: s.reserve("10.0.2.0/26"), OutsideSubnet),
    # AWS reserved addresses
    ("ip: network address", lambda s: s.allocate_ip("10.0.0.0"), ReservedAddress),
    ("ip: VPC router", lambda s: s.allocate_ip("10.0.0.1"), ReservedAddress),
    ("ip: DNS", lambda s: s.allocate_ip("10.0.0.2"), ReservedAddress),
    ("ip: future use", lambda s: s.allocate_ip("10.0.0.3"), ReservedAddress),
    ("ip: last address", lambda s: s.allocate_ip("10.0.0.255"), ReservedAddress),
    ("prefix: first /28", lambda s: s.allocate_prefix("10.0.0.0/28"), ReservedAddress),
    ("prefix: last /28", lambda s: s.allocate_prefix("10.0.0.240/28"), ReservedAddress),
    (
        "prefix: /30 of the reserved four",
        lambda s: s.allocate_prefix("10.0.0.0/30"),
        ReservedAddress,
    ),
    ("prefix: whole subnet", lambda s: s.allocate_prefix("10.0.0.0/24"), ReservedAddress),
    ("release: reserved address", lambda s: s.release("10.0.0.1"), ReservedAddress),
    ("release: reserved as /32", lambda s: s.release("10.0.0.255/32"), ReservedAddress),
    # double allocation
    ("ip: twice", lambda s: s.allocate_ip("10.0.0.17"), AddressInUse),
    ("ip: inside a prefix", lambda s: s.allocate_ip("10.0.0.40"), AddressInUse),
    ("prefix: twice", lambda s: s.allocate_prefix("10.0.0.32/28"), AddressInUse),
    ("prefix: over a single IP", lambda s: s.allocate_prefix("10.0.0.16/28"), AddressInUse),
    ("prefix: inside a prefix", lambda s: s.allocate_prefix("10.0.0.40/29"), AddressInUse),
    ("prefix: around a prefix", lambda s: s.allocate_prefix("10.0.0.32/27"), AddressInUse),
    # release of what is not allocated
    ("release: never allocated", lambda s: s.release("10.0.0.99"), NotAllocated),
    ("release: inner address of a prefix", lambda s: s.release("10.0.0.40"), NotAllocated),
    ("release: prefix start as an address", lambda s: s.release("10.0.0.32"), NotAllocated),
    ("release: half a prefix", lambda s: s.release("10.0.0.32/29"), NotAllocated),
    ("release: around a prefix", lambda s: s.release("10.0.0.32/27"), NotAllocated),
    ("release: single IP as a /31", lambda s: s.release("10.0.0.16/31"), NotAllocated),
    ("release: free prefix", lambda s: s.release("10.0.0.64/28"), NotAllocated),
    # reservations
    ("reserve: same again", lambda s: s.reserve("10.0.0.128/26"), ReservationConflict),
    ("reserve: inside", lambda s: s.reserve("10.0.0.160/28", kind="explicit"), ReservationConflict),
    ("reserve: around", lambda s: s.reserve("10.0.0.128/25"), ReservationConflict),
    ("reserve: whole subnet", lambda s: s.reserve("10.0.0.0/24"), ReservationConflict),
    ("unreserve: none there", lambda s: s.unreserve("10.0.0.64/26"), ReservationConflict),
    ("unreserve: part of one", lambda s: s.unreserve("10.0.0.128/27"), ReservationConflict),
    ("unreserve: around one", lambda s: s.unreserve("10.0.0.128/25"), ReservationConflict),
    ("reserve: bad kind", lambda s: s.reserve("10.0.0.64/26", kind="pods"), InvalidArgument),  # type: ignore[arg-type]
    (
        "reserve: bad description",
        lambda s: s.reserve("10.0.0.64/26", description=5),  # type: ignore[arg-type]
        InvalidType,
    ),
    # owners
    ("ip: owner not a string", lambda s: s.allocate_ip("10.0.0.9", owner=5), InvalidType),  # type: ignore[arg-type]
    ("prefix: owner not a string", lambda s: s.allocate_prefix(owner=["x"]), InvalidType),  # type: ignore[arg-type]
    (
        "owner info: not JSON-safe",
        lambda s: s.set_owner_info("eni-1", {"x": object()}),
        InvalidArgument,
    ),
    ("owner info: owner not a string", lambda s: s.set_owner_info(5, {}), InvalidType),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "error"), [c[1:] for c in V4_CASES], ids=[c[0] for c in V4_CASES])
@pytest.mark.parametrize("backend", ["bitmap", "sparse"])
def test_ipv4_bad_input(backend: str, call: Call, error: type[Exception]) -> None:
    s = Subnet.from_dict({**v4().to_dict(), "backend": backend})
    assert_fails_cleanly(s, call, error)


V6_CASES: list[tuple[str, Call, type[Exception]]] = [
    ("ip: IPv4", lambda s: s.allocate_ip("10.0.0.1"), InvalidCidr),
    ("ip: IPv4 object", lambda s: s.allocate_ip(ipaddress.IPv4Address("10.0.0.1")), InvalidCidr),
    ("ip: int beyond IPv6", lambda s: s.allocate_ip(2**128), InvalidCidr),
    ("ip: bad hextet", lambda s: s.allocate_ip("2600:1f14:0:1::g"), InvalidCidr),
    ("prefix: IPv4", lambda s: s.allocate_prefix("10.0.0.0/28"), InvalidCidr),
    ("prefix: /129", lambda s: s.allocate_prefix("2600:1f14:0:1::/129"), InvalidCidr),
    ("auto prefix: /63", lambda s: s.allocate_prefix(prefixlen=63), InvalidCidr),
    ("can_carve: /28", lambda s: s.can_carve(28), InvalidCidr),
    ("prefix: host bits", lambda s: s.allocate_prefix("2600:1f14:0:1:3::1/80"), Misaligned),
    ("ip: other /64", lambda s: s.allocate_ip("2600:1f14:0:2::5"), OutsideSubnet),
    ("prefix: other /64", lambda s: s.allocate_prefix("2600:1f14:0:2:1::/80"), OutsideSubnet),
    ("ip: base", lambda s: s.allocate_ip("2600:1f14:0:1::"), ReservedAddress),
    ("ip: base+3", lambda s: s.allocate_ip("2600:1f14:0:1::3"), ReservedAddress),
    ("ip: last", lambda s: s.allocate_ip("2600:1f14:0:1:ffff:ffff:ffff:ffff"), ReservedAddress),
    ("prefix: first /80", lambda s: s.allocate_prefix("2600:1f14:0:1::/80"), ReservedAddress),
    ("prefix: last /80", lambda s: s.allocate_prefix("2600:1f14:0:1:ffff::/80"), ReservedAddress),
    ("ip: inside a /80", lambda s: s.allocate_ip("2600:1f14:0:1:1::abcd"), AddressInUse),
    ("prefix: twice", lambda s: s.allocate_prefix("2600:1f14:0:1:1::/80"), AddressInUse),
    ("prefix: over a single IP", lambda s: s.allocate_prefix("2600:1f14:0:1:2::/80"), AddressInUse),
    (
        "prefix: /79 over the base",
        lambda s: s.allocate_prefix("2600:1f14:0:1::/79"),
        ReservedAddress,
    ),
    (
        "prefix: /79 over a single IP",
        lambda s: s.allocate_prefix("2600:1f14:0:1:2::/79"),
        AddressInUse,
    ),
    ("prefix: /96 inside a /80", lambda s: s.allocate_prefix("2600:1f14:0:1:1::/96"), AddressInUse),
    ("release: inner address", lambda s: s.release("2600:1f14:0:1:1::1"), NotAllocated),
    ("release: never allocated", lambda s: s.release("2600:1f14:0:1:7::/80"), NotAllocated),
    ("release: reserved", lambda s: s.release("2600:1f14:0:1::2"), ReservedAddress),
]


@pytest.mark.parametrize(("call", "error"), [c[1:] for c in V6_CASES], ids=[c[0] for c in V6_CASES])
def test_ipv6_bad_input(call: Call, error: type[Exception]) -> None:
    assert_fails_cleanly(v6(), call, error)


CONSTRUCTOR_CASES: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("not a CIDR", {"cidr": "banana"}, InvalidCidr),
    ("no length", {"cidr": "10.0.0.0"}, InvalidCidr),
    ("length 33", {"cidr": "10.0.0.0/33"}, InvalidCidr),
    ("host bits", {"cidr": "10.0.0.1/24"}, InvalidCidr),
    ("not a string", {"cidr": 167772160}, InvalidType),
    ("too small for AWS's five", {"cidr": "10.0.0.0/30"}, InvalidCidr),
    ("prefixlen shorter than the subnet", {"cidr": "10.0.0.0/24", "prefixlen": 20}, InvalidCidr),
    ("prefixlen 33", {"cidr": "10.0.0.0/24", "prefixlen": 33}, InvalidCidr),
    ("unknown policy", {"cidr": "10.0.0.0/24", "policy": "worst-fit"}, InvalidArgument),
    ("unknown reserved", {"cidr": "10.0.0.0/24", "reserved": "gcp"}, InvalidArgument),
    ("seed not an int", {"cidr": "10.0.0.0/24", "seed": "7"}, InvalidType),
    ("unknown backend", {"cidr": "10.0.0.0/24", "backend": "interval"}, InvalidArgument),
    ("bitmap for a /64", {"cidr": "2600:1f14::/64", "backend": "bitmap"}, InvalidArgument),
    ("name not a string", {"cidr": "10.0.0.0/24", "name": 5}, InvalidType),
    ("info not JSON-safe", {"cidr": "10.0.0.0/24", "info": {"x": object()}}, InvalidArgument),
]


@pytest.mark.parametrize(
    ("kwargs", "error"), [c[1:] for c in CONSTRUCTOR_CASES], ids=[c[0] for c in CONSTRUCTOR_CASES]
)
def test_constructor_bad_input(kwargs: dict[str, Any], error: type[Exception]) -> None:
    kw = dict(kwargs)
    cidr = kw.pop("cidr")
    with pytest.raises(error) as info:
        Subnet(cidr, **kw)
    assert type(info.value) is error, repr(info.value)
    assert isinstance(info.value, TypeError if error is InvalidType else ValueError)


# ---------------------------------------------------------- capacity errors


def test_no_free_aligned_block_is_insufficient_cidr_blocks() -> None:
    """Thousands of free addresses, yet no /28: EC2's InsufficientCidrBlocks."""
    s = Subnet("10.0.0.0/20", policy="lowest")
    for base in range(0, 4096, 16):
        s.allocate_ip(str(ipaddress.ip_address(int(s.cidr.network_address) + base + 7)))
    assert s.free_addresses > 3700 and not s.can_carve(28)
    assert_fails_cleanly(s, lambda t: t.allocate_prefix(), InsufficientCidrBlocks)
    assert isinstance(s.allocate_prefix(prefixlen=29), ipaddress.IPv4Network)


def test_too_few_addresses_is_insufficient_free_addresses() -> None:
    """A /28 subnet minus AWS's five has 11 addresses: a /28 prefix cannot fit at all."""
    s = Subnet("10.0.0.0/28")
    assert s.free_addresses == 11
    assert_fails_cleanly(s, lambda t: t.allocate_prefix(), InsufficientFreeAddresses)
    s2 = Subnet("10.0.0.0/26", policy="lowest")
    for a in ("10.0.0.20", "10.0.0.40"):
        s2.allocate_ip(a)
    assert_fails_cleanly(s2, lambda t: t.allocate_prefix(), InsufficientCidrBlocks)
    s2.allocate_prefix(prefixlen=29)
    s2.allocate_prefix(prefixlen=29)
    assert s2.free_addresses == 57 - 16
    assert_fails_cleanly(s2, lambda t: t.allocate_prefix(prefixlen=26), InsufficientFreeAddresses)


def test_full_subnet_is_insufficient_free_addresses() -> None:
    s = Subnet("10.0.0.0/29", reserved=None, policy="random", seed=1)
    for _ in range(8):
        s.allocate_ip()
    assert s.free_addresses == 0
    assert_fails_cleanly(s, lambda t: t.allocate_ip(), InsufficientFreeAddresses)
    assert_fails_cleanly(s, lambda t: t.allocate_prefix(prefixlen=32), InsufficientFreeAddresses)


def test_reserved_ranges_do_not_serve_automatic_single_ips() -> None:
    """Free addresses left only inside reservations: automatic IPs fail, explicit ones work."""
    s = Subnet("10.0.0.0/28", policy="lowest")
    s.reserve("10.0.0.8/29", kind="prefix")
    for a in ("10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"):
        s.allocate_ip(a)
    assert s.free_addresses == 7
    assert_fails_cleanly(s, lambda t: t.allocate_ip(), InsufficientFreeAddresses)
    assert s.allocate_ip("10.0.0.9") == ipaddress.IPv4Address("10.0.0.9")
    # The prefix reservation still serves automatic prefixes.
    assert s.allocate_prefix(prefixlen=31) == ipaddress.IPv4Network("10.0.0.10/31")


def test_explicit_reservation_serves_no_automatic_prefix() -> None:
    s = Subnet("10.0.0.0/24", policy="lowest")
    s.allocate_prefix("10.0.0.16/28")
    s.reserve("10.0.0.0/24", kind="explicit")
    assert s.free_addresses == 235 and s.free_block_count(28) == 0
    assert_fails_cleanly(s, lambda t: t.allocate_prefix(), InsufficientFreeAddresses)
    assert_fails_cleanly(s, lambda t: t.allocate_ip(), InsufficientFreeAddresses)
    assert s.allocate_prefix("10.0.0.64/28") == ipaddress.IPv4Network("10.0.0.64/28")


def test_ipv6_capacity() -> None:
    """An IPv6 /120 with /124 prefixes and one address used in each: both errors, chosen right."""
    s = Subnet("2600:1f14::/120", reserved=None, prefixlen=124, policy="lowest")
    for i in range(16):
        s.allocate_ip(f"2600:1f14::{i * 16 + 5:x}")
    assert s.free_addresses == 240
    assert_fails_cleanly(s, lambda t: t.allocate_prefix(), InsufficientCidrBlocks)
    assert_fails_cleanly(s, lambda t: t.allocate_prefix(prefixlen=120), InsufficientFreeAddresses)


def test_capacity_errors_are_not_value_errors() -> None:
    for capacity in (InsufficientCidrBlocks, InsufficientFreeAddresses):
        assert issubclass(capacity, InsufficientCapacity) and issubclass(capacity, IpfragError)
        assert not issubclass(capacity, ValueError)
    for cls in (
        InvalidCidr,
        OutsideSubnet,
        Misaligned,
        ReservedAddress,
        AddressInUse,
        NotAllocated,
        ReservationConflict,
        SnapshotError,
    ):
        assert issubclass(cls, IpfragError) and issubclass(cls, ValueError)
        assert getattr(ipfrag, cls.__name__) is cls


# --------------------------------------------------------- corrupted snapshots

FIELDS = [
    "cidr",
    "reserved",
    "policy",
    "seed",
    "prefixlen",
    "backend",
    "name",
    "info",
    "reservations",
    "allocations",
    "owner_info",
    "rng_state",
]


def snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(v4().to_dict()))
    return data


def assert_snapshot_error(data: Any) -> None:
    before = copy.deepcopy(data)
    with pytest.raises(SnapshotError) as info:
        Subnet.from_dict(data)
    assert type(info.value) is SnapshotError
    assert isinstance(info.value, ValueError) and isinstance(info.value, IpfragError)
    assert data == before, "from_dict must not modify its input"


def test_snapshot_round_trips() -> None:
    d = snapshot()
    s = Subnet.from_dict(d)
    assert s.to_dict() == d and s == v4()


@pytest.mark.parametrize("field", FIELDS)
def test_snapshot_missing_field(field: str) -> None:
    d = snapshot()
    del d[field]
    assert_snapshot_error(d)


WRONG_TYPES: list[tuple[str, Any]] = [
    ("cidr", 167772160),
    ("cidr", None),
    ("reserved", 5),
    ("policy", None),
    ("seed", "3"),
    ("seed", True),
    ("seed", 3.0),
    ("prefixlen", "28"),
    ("prefixlen", True),
    ("prefixlen", None),
    ("backend", None),
    ("name", 5),
    ("info", []),
    ("info", "subnet-1"),
    ("reservations", {}),
    ("reservations", "10.0.0.128/26"),
    ("allocations", {}),
    ("allocations", None),
    ("owner_info", []),
    ("rng_state", {}),
    ("rng_state", None),
]


@pytest.mark.parametrize(
    ("field", "value"), WRONG_TYPES, ids=[f"{f}={v!r}" for f, v in WRONG_TYPES]
)
def test_snapshot_wrong_type(field: str, value: Any) -> None:
    assert_snapshot_error({**snapshot(), field: value})


BAD_VALUES: list[tuple[str, Any]] = [
    ("cidr", "banana"),
    ("cidr", "10.0.0.1/24"),
    ("cidr", "10.0.0.0/30"),
    ("reserved", "gcp"),
    ("policy", "worst-fit"),
    ("prefixlen", 33),
    ("prefixlen", 20),
    ("backend", "interval"),
    ("info", {"x": {1, 2}}),
    # reservations: not mappings, bad kind, overlapping, outside, misaligned
    ("reservations", ["10.0.0.128/26"]),
    ("reservations", [{"cidr": "10.0.0.128/26", "kind": "pods", "description": None}]),
    ("reservations", [{"cidr": "10.0.0.128/26", "kind": "prefix"}]),
    (
        "reservations",
        [
            {"cidr": "10.0.0.128/26", "kind": "prefix", "description": None},
            {"cidr": "10.0.0.160/27", "kind": "explicit", "description": None},
        ],
    ),
    ("reservations", [{"cidr": "10.0.1.0/26", "kind": "prefix", "description": None}]),
    ("reservations", [{"cidr": "10.0.0.129/26", "kind": "prefix", "description": None}]),
    # allocations: overlapping, reserved, outside, misaligned, malformed
    ("allocations", [["10.0.0.17/32", "a", "ip"], ["10.0.0.17/32", "b", "ip"]]),
    ("allocations", [["10.0.0.32/28", "a", "prefix"], ["10.0.0.40/32", "b", "ip"]]),
    ("allocations", [["10.0.0.32/28", "a", "prefix"], ["10.0.0.32/27", "b", "prefix"]]),
    ("allocations", [["10.0.0.0/28", "a", "prefix"]]),
    ("allocations", [["10.0.0.255/32", "a", "ip"]]),
    ("allocations", [["10.0.1.5/32", "a", "ip"]]),
    ("allocations", [["10.0.0.33/28", "a", "prefix"]]),
    ("allocations", [["10.0.0.32/28", "a", "ip"]]),
    ("allocations", [["10.0.0.32/28", "a", "block"]]),
    ("allocations", [["10.0.0.32/28", 5, "prefix"]]),
    ("allocations", [["10.0.0.32/28", "a"]]),
    ("allocations", [["10.0.0.32/28", "a", "prefix", "x"]]),
    ("allocations", [{"cidr": "10.0.0.32/28", "owner": "a", "kind": "prefix"}]),
    ("allocations", [["banana", "a", "ip"]]),
    ("allocations", [["2600::1/128", "a", "ip"]]),
    # owner info and the random state
    ("owner_info", {"eni-1": "i-1"}),
    ("owner_info", {"eni-1": {"x": {1, 2}}}),
    ("rng_state", [3, [1, 2, 3], None]),
    ("rng_state", [3, 5, None]),
    ("rng_state", [3, ["x"] * 625, None]),
    ("rng_state", [99, [0] * 625, None]),
    ("rng_state", [3, [0] * 625]),
    ("rng_state", []),
]


@pytest.mark.parametrize(
    ("field", "value"), BAD_VALUES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_VALUES)]
)
def test_snapshot_inconsistent(field: str, value: Any) -> None:
    assert_snapshot_error({**snapshot(), field: value})


@pytest.mark.parametrize("fmt", [None, "", "ipfrag.subnet/999", 1, "IPFRAG.SUBNET/1"])
def test_snapshot_unknown_format(fmt: Any) -> None:
    d = snapshot()
    if fmt is None:
        del d["format"]
    else:
        d["format"] = fmt
    assert_snapshot_error(d)


@pytest.mark.parametrize("data", [[], "subnet", None, 5, [("cidr", "10.0.0.0/24")]])
def test_snapshot_not_a_mapping(data: Any) -> None:
    assert_snapshot_error(data)


def test_snapshot_rng_state_out_of_range() -> None:
    d = snapshot()
    d["rng_state"] = [3, [-1] * 625, None]
    assert_snapshot_error(d)


def test_ipv6_64_capacity_with_nearly_all_addresses_free() -> None:
    """A /64 carved in /66s: one used address in each middle /66 spoils them all."""
    s = Subnet("2600:1f14:0:1::/64", prefixlen=66, policy="lowest")
    assert s.free_block_count() == 2  # the first and last /66 hold AWS-reserved addresses
    s.allocate_ip("2600:1f14:0:1:4000::9")
    s.allocate_ip("2600:1f14:0:1:8000::9")
    assert s.free_addresses == 2**64 - 7
    assert_fails_cleanly(s, lambda t: t.allocate_prefix(), InsufficientCidrBlocks)
    assert s.allocate_prefix(prefixlen=80) == ipaddress.IPv6Network("2600:1f14:0:1:1::/80")
