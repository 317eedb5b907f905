"""``Subnet.allocate_many`` (the bulk build) against the one-by-one calls it stands for.

For random subnets (IPv4 and IPv6, dense, pure-Python dense and sparse cores, with and
without AWS's reserved addresses, earlier allocations and reservations) and random
batches (valid, conflicting, malformed), the batch must either raise exactly the error
the first offending entry raises when the entries go through ``allocate_ip`` /
``allocate_prefix`` one by one (prefixed ``entries[i]:``) and change nothing, or leave
the subnet exactly as the one-by-one calls do: same ``to_dict()`` (allocations, owners,
owner info, random state), same owner ids, same free space and counters, same next
automatic placements, and ``_check()`` holds.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipfrag
from ipfrag import (
    AddressInUse,
    InvalidArgument,
    InvalidCidr,
    InvalidType,
    IpfragError,
    Misaligned,
    OutsideSubnet,
    ReservedAddress,
    Subnet,
)
from ipfrag.core import PyBitmapSpace

CIDRS = ["10.0.0.0/26", "10.0.0.0/28", "2600:1f14::/122"]
BACKENDS = ["bitmap", "python-bitmap", "sparse"]
OWNERS = ["eni-a", "eni-b", None, "eni-new-1", "eni-new-2"]


def fresh(cidr: str, backend: str, reserved: bool) -> Subnet:
    """A seeded subnet on the named core (the pure dense core even when C is built)."""
    kind = "bitmap" if backend == "python-bitmap" else backend
    s = Subnet(cidr, backend=kind, reserved="aws" if reserved else None, seed=7)
    if backend == "python-bitmap":
        space = PyBitmapSpace(s._bits)
        for off in s._reserved_offsets:
            space.claim(off)
        s._space = space
    return s


class Refused(Exception):
    """The oracle's own verdict on an entry that is not a call: the expected error class."""

    def __init__(self, error: type[IpfragError]) -> None:
        self.error = error


def one_by_one(s: Subnet, entries: list[Any]) -> tuple[int, IpfragError | Refused] | None:
    """The plain loop of calls ``allocate_many`` stands for; the first error, if any.

    Before the calls, each entry must be a triple of a known kind with an explicit target.
    """
    for x, entry in enumerate(entries):
        try:
            if not isinstance(entry, (tuple, list)) or len(entry) != 3:
                raise Refused(InvalidType)
            target, owner, kind = entry
            if kind not in ("ip", "prefix"):
                raise Refused(InvalidArgument)
            if target is None:
                raise Refused(InvalidType)
            if kind == "prefix":
                s.allocate_prefix(target, owner=owner)
            elif isinstance(target, str) and "/" in target:  # a one-address CIDR, or not
                if owner is not None and not isinstance(owner, str):
                    raise Refused(InvalidType)
                address, _, length = target.partition("/")
                if int(length) != s.cidr.max_prefixlen:
                    raise Refused(InvalidCidr)
                s.allocate_ip(address, owner=owner)
            else:
                s.allocate_ip(target, owner=owner)
        except (IpfragError, Refused) as e:
            return x, e
    return None


def same_error(bulk: IpfragError, x: int, one: IpfragError | Refused) -> bool:
    """The same class, and for the calls' errors the same message, prefixed ``entries[x]:``."""
    if isinstance(one, Refused):
        return type(bulk) is one.error and str(bulk).startswith(f"entries[{x}]: ")
    return type(bulk) is type(one) and str(bulk) == f"entries[{x}]: {one}"


def observed(s: Subnet) -> tuple[Any, ...]:
    """Everything a caller can see of the subnet, and what its next placements would be."""
    t = s.copy()
    bits = s.cidr.max_prefixlen - s.cidr.prefixlen
    nxt = []
    for prefixlen in (s.cidr.max_prefixlen, s.cidr.max_prefixlen - 2):
        try:
            nxt.append(str(t.allocate_prefix(prefixlen=prefixlen)))
        except IpfragError as e:
            nxt.append(type(e).__name__)
    return (
        s.to_dict(),
        list(s._owners),
        s.free_addresses,
        list(s.free_ranges()),
        [s.free_block_count(s.cidr.max_prefixlen - k) for k in range(bits + 1)],
        s.largest_free_prefixlen(),
        nxt,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Subnet, list[Any]]:
    cidr = draw(st.sampled_from(CIDRS))
    s = fresh(cidr, draw(st.sampled_from(BACKENDS)), draw(st.booleans()))
    net = s.cidr
    size, top = net.num_addresses, net.max_prefixlen
    bits = top - net.prefixlen
    base = int(net.network_address)
    for _ in range(draw(st.integers(0, 4))):  # earlier state
        try:
            if draw(st.booleans()):
                s.allocate_ip(owner=draw(st.sampled_from(OWNERS[:3])))
            else:
                s.allocate_prefix(owner="eni-a", prefixlen=top - draw(st.integers(1, 2)))
        except IpfragError:
            pass
    if draw(st.booleans()):
        k = draw(st.integers(1, bits - 1))
        block = draw(st.integers(0, (size >> k) - 1)) << k
        s.reserve(
            f"{net.network_address + block}/{top - k}",
            draw(st.sampled_from(["prefix", "explicit"])),
        )
    s.set_owner_info("eni-a", {"kind": "node", "n": 1})

    # A plain batch (int addresses, "ip" only: a snapshot's) takes allocate_many's quickest path.
    plain = draw(st.booleans())

    def address(off: int) -> Any:
        form = "int" if plain else draw(st.sampled_from(["str", "int", "object", "cidr"]))
        value = base + off
        if form == "int":
            return value
        if form == "object":
            return ipaddress.ip_address(value)
        text = str(ipaddress.ip_address(value))
        return f"{text}/{top}" if form == "cidr" else text

    # Mostly valid free targets (so that many batches succeed), plus every kind of trouble.
    free = [off for off in range(size) if s.is_free(str(ipaddress.ip_address(base + off)))]
    entries: list[Any] = []
    for _ in range(draw(st.integers(0, 12))):
        owner = draw(st.sampled_from(OWNERS))
        what = draw(
            st.sampled_from(
                ["free ip"] * 6 + ["any ip", "bad"]
                if plain
                else ["free ip"] * 6 + ["free prefix"] * 2 + ["any ip", "any prefix", "bad"]
            )
        )
        if plain and what == "bad":
            bad = [(base + size, owner, "ip"), (True, owner, "ip"), (base - 1, owner, "ip")]
            entries.append(
                draw(st.sampled_from([*bad, (base + 1, 5, "ip"), [base + 5, owner, "ip"]]))
            )
            continue
        if what == "free ip" and free:
            entries.append((address(draw(st.sampled_from(free))), owner, "ip"))
        elif what == "free prefix" or (what == "free ip" and not free):
            k = draw(st.integers(1, 2))
            off = draw(st.integers(0, (size >> k) - 1)) << k
            entries.append((f"{net.network_address + off}/{top - k}", owner, "prefix"))
        elif what == "any ip":
            entries.append((address(draw(st.integers(0, size - 1))), owner, "ip"))
        elif what == "any prefix":
            k = draw(st.integers(0, bits))
            off = draw(st.integers(0, size - 1))  # often misaligned
            entries.append((f"{net.network_address + off}/{top - k}", owner, "prefix"))
        else:
            entries.append(
                draw(
                    st.sampled_from(
                        [
                            (str(net.broadcast_address + 1), owner, "ip"),  # outside
                            (base + size, owner, "ip"),  # outside, as an int
                            ("10.0.0.300", owner, "ip"),
                            ("2600:1f14::5", owner, "ip")
                            if top == 32
                            else ("10.0.0.5", owner, "ip"),
                            (str(net.network_address + 1), 5, "ip"),  # an owner of the wrong type
                            (str(net.network_address + 4), owner, "address"),  # unknown kind
                            (None, owner, "ip"),  # automatic: refused
                            (str(net.network_address + 4), owner),  # not a triple
                            (f"{net.network_address}/{top - 2}", owner, "ip"),  # not one address
                            (True, owner, "ip"),
                        ]
                    )
                )
            )
    return s, entries


@settings(max_examples=max(60, 3 * settings().max_examples))
@given(scenarios())
def test_bulk_equals_one_by_one(scenario: tuple[Subnet, list[Any]]) -> None:
    s, entries = scenario
    bulk, ref = s.copy(), s.copy()
    before = observed(bulk)
    expected = one_by_one(ref, entries)
    try:
        n = bulk.allocate_many(entries)
    except IpfragError as e:
        assert expected is not None, f"bulk refused what one by one takes: {e}"
        x, error = expected
        assert same_error(e, x, error), (e, x, error)
        assert observed(bulk) == before, "a failed allocate_many changed the subnet"
    else:
        assert expected is None, f"bulk took what one by one refuses: {expected}"
        assert n == len(entries)
        assert observed(bulk) == observed(ref)
    bulk._check()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_large_batch_rebuilds_the_same_state(backend: str) -> None:
    """Thousands of entries (the dense cores' bulk passes), then one bad one at the end."""
    s, ref = fresh("10.0.0.0/20", backend, True), fresh("10.0.0.0/20", backend, True)
    for t in (s, ref):
        t.reserve("10.0.8.0/22", "prefix")
        t.allocate_prefix("10.0.0.16/28", owner="eni-0")
    offsets = [o for o in range(4, 4095, 3) if not 16 <= o < 32 and not 2048 <= o < 2080]
    entries: list[Any] = [(0x0A000000 + o, f"eni-{o % 97}", "ip") for o in offsets]
    entries += [(f"10.0.{b >> 4}.{(b & 15) << 4}/28", "node", "prefix") for b in (128, 129)]
    assert s.allocate_many(entries) == len(entries)
    assert one_by_one(ref, entries) is None
    assert observed(s) == observed(ref)
    s._check()
    before = observed(s)
    with pytest.raises(AddressInUse, match=r"^entries\[1\]: 10\.0\.0\.7 is already in use"):
        s.allocate_many([("10.0.0.5", "x", "ip"), ("10.0.0.7", "x", "ip")])
    assert observed(s) == before
    s._check()


@pytest.mark.parametrize(
    ("entries", "error", "words"),
    [
        ([("10.0.0.9", "a", "ip"), ("10.0.0.9", "b", "ip")], AddressInUse, r"\[1\].*held by a"),
        ([("10.0.0.16/28", "a", "prefix"), ("10.0.0.17", "b", "ip")], AddressInUse, r"\[1\]"),
        ([("10.0.0.17", "b", "ip"), ("10.0.0.16/28", "a", "prefix")], AddressInUse, r"\[1\]"),
        ([("10.0.0.255", "a", "ip")], ReservedAddress, r"\[0\].*AWS reserves"),
        ([("10.0.0.0/28", "a", "prefix")], ReservedAddress, r"\[0\]"),
        ([("10.0.1.1", "a", "ip")], OutsideSubnet, r"\[0\]"),
        ([("10.0.0.17/28", "a", "prefix")], Misaligned, r"\[0\]"),
        ([("10.0.0.16/28", "a", "ip")], InvalidCidr, r"not a single address"),
        ([("10.0.0.9", "a", "ip"), ("10.0.0.10", 7, "ip")], InvalidType, r"\[1\]: owner"),
        ([("10.0.0.9", "a", "IP")], InvalidArgument, r"unknown allocation kind"),
        ([(None, "a", "ip")], InvalidType, r"allocate_many is explicit"),
        ([["10.0.0.9", "a"]], InvalidType, r"\(target, owner, kind\) triple"),
        ([{"10.0.0.9": "a"}], InvalidType, r"triple"),
    ],
)
def test_errors_name_the_first_offending_entry(
    entries: list[Any], error: type[Exception], words: str
) -> None:
    s = Subnet("10.0.0.0/24", seed=1)
    before = s.to_dict()
    with pytest.raises(error, match=words):
        s.allocate_many(entries)
    assert s.to_dict() == before
    assert s._owners == [None]
    s._check()


def test_entries_in_many_forms() -> None:
    s = Subnet("10.0.0.0/24", seed=1)
    entries = [
        ("10.0.0.9", "a", "ip"),
        (0x0A00000A, "a", "ip"),
        (ipaddress.IPv4Address("10.0.0.11"), None, "ip"),
        ("10.0.0.12/32", "b", "ip"),
        (ipaddress.IPv4Network("10.0.0.13/32"), "b", "ip"),
        ["10.0.0.32/28", "c", "prefix"],  # the JSON form of to_dict()'s allocations
        (ipaddress.IPv4Network("10.0.0.64/27"), "c", "prefix"),
    ]
    assert s.allocate_many(iter(entries)) == 7
    assert [(str(a.cidr), a.owner, a.kind) for a in s.allocations()] == [
        ("10.0.0.9/32", "a", "ip"),
        ("10.0.0.10/32", "a", "ip"),
        ("10.0.0.11/32", None, "ip"),
        ("10.0.0.12/32", "b", "ip"),
        ("10.0.0.13/32", "b", "ip"),
        ("10.0.0.32/28", "c", "prefix"),
        ("10.0.0.64/27", "c", "prefix"),
    ]
    copy = Subnet("10.0.0.0/24", seed=1)
    assert copy.allocate_many(s.allocations()) == 7  # an allocation is an entry
    assert copy == s
    assert s.allocate_many([]) == 0
    with pytest.raises(InvalidType, match="entries must be an iterable"):
        s.allocate_many(5)  # type: ignore[arg-type]
    s._check()


def test_a_batch_on_a_changed_iterator_still_raises() -> None:
    s = Subnet("10.0.0.0/24")
    s.allocate_ip("10.0.0.9")
    it = s.allocations()
    next(it)
    s.allocate_many([("10.0.0.10", None, "ip")])
    with pytest.raises(RuntimeError):
        next(it)


def test_exported() -> None:
    assert "AllocationEntry" in ipfrag.subnet.__all__


# ------------------------------------------------------------------ set_owner_infos

_INFO_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.sampled_from([float("nan"), float("inf")])  # refused
    | st.text(max_size=3)
    | st.lists(st.integers(0, 3), max_size=2)
)
_INFOS = st.dictionaries(
    st.sampled_from(["a", "b", "1", "null", 1, None]),  # 1/"1", None/"null" collide: refused
    _INFO_VALUES,
    max_size=3,
)


@given(
    pool=st.lists(_INFOS, min_size=1, max_size=4),
    picks=st.lists(
        st.tuples(st.sampled_from(["eni-a", "eni-b", "eni-c", "eni-d", 7]), st.integers(0, 3)),
        max_size=6,
    ),
    earlier=st.booleans(),
)
def test_set_owner_infos_is_set_owner_info_for_each_or_nothing(
    pool: list[dict[Any, Any]], picks: list[tuple[Any, int]], earlier: bool
) -> None:
    """The bulk call (owners often sharing one info object) against one call per owner: the
    same owner info, or the first bad info's error class and an unchanged subnet."""
    infos = {owner: pool[i % len(pool)] for owner, i in picks}  # repeats share an object
    bulk, one_by_one = Subnet("10.0.0.0/24", seed=1), Subnet("10.0.0.0/24", seed=1)
    if earlier:
        for s in (bulk, one_by_one):
            s.set_owner_info("eni-a", {"kind": "before"})
    before = bulk.to_dict()
    expected: type[Exception] | None = None
    for owner, info in infos.items():
        try:
            one_by_one.set_owner_info(owner, info)
        except IpfragError as e:
            expected = type(e)
            break
    if expected is not None:
        with pytest.raises(expected):
            bulk.set_owner_infos(infos)
        assert bulk.to_dict() == before
        return
    bulk.set_owner_infos(infos)
    assert bulk.to_dict() == one_by_one.to_dict()
    for owner in infos:
        assert bulk.owner_info(owner) == one_by_one.owner_info(owner)
    bulk._check()


def test_set_owner_infos_keeps_its_own_copy_shared_by_owners_and_forks() -> None:
    s = Subnet("10.0.0.0/24")
    shared = {"kind": "eks_pod_eni", "tags": ["a"]}
    s.set_owner_infos({"eni-1": shared, "eni-2": shared})
    shared["kind"] = "changed"  # the caller's dict is not the subnet's
    shared["tags"].append("b")
    assert s.owner_info("eni-1") == s.owner_info("eni-2") == {"kind": "eks_pod_eni", "tags": ["a"]}
    got = s.owner_info("eni-1")
    got["tags"].append("c")  # nor is what owner_info returns
    assert s.owner_info("eni-2") == {"kind": "eks_pod_eni", "tags": ["a"]}
    fork = s.copy()
    fork.set_owner_info("eni-1", {"kind": "other"})
    s.set_owner_infos({"eni-2": {"kind": "third"}})
    assert (s.owner_info("eni-1"), s.owner_info("eni-2")) == (
        {"kind": "eks_pod_eni", "tags": ["a"]},
        {"kind": "third"},
    )
    assert (fork.owner_info("eni-1"), fork.owner_info("eni-2")) == (
        {"kind": "other"},
        {"kind": "eks_pod_eni", "tags": ["a"]},
    )


def test_set_owner_infos_refuses_bad_arguments_whole() -> None:
    s = Subnet("10.0.0.0/24")
    with pytest.raises(InvalidType, match="owner infos must be a mapping"):
        s.set_owner_infos([("eni-1", {})])  # type: ignore[arg-type]
    with pytest.raises(InvalidType, match="owner must be a string"):
        s.set_owner_infos({"eni-1": {"a": 1}, 7: {}})  # type: ignore[dict-item]
    with pytest.raises(InvalidType):
        s.set_owner_infos({"eni-1": {"a": 1}, "eni-2": 5})  # type: ignore[dict-item]
    with pytest.raises(InvalidArgument):
        s.set_owner_infos({"eni-1": {"a": 1}, "eni-2": {"a": float("nan")}})
    assert s.owner_info_values("a") == {}
    s.set_owner_infos({})
    assert s.to_dict()["owner_info"] == {}


@pytest.mark.parametrize(
    "entries",
    [
        ipaddress.ip_network("2600::/64"),  # 2**64 addresses: never read whole
        itertools.repeat("10.0.0.9"),  # endless
        itertools.chain(
            ((f"10.0.{i // 200}.{i % 200 + 10}", "a", "ip") for i in range(5000)),
            itertools.count(),  # past the first chunk read
        ),
        "10.0.0.9",
    ],
    ids=["ipv6-network", "endless", "entries-then-endless", "text"],
)
def test_a_batch_of_non_entries_fails_at_the_first_one(entries: Any) -> None:
    s = Subnet("10.0.0.0/16")
    with pytest.raises(InvalidType, match=r"entries\[(0|5000)\]: an allocation entry"):
        s.allocate_many(entries)
    assert s.used_addresses == 0
    s._check()
