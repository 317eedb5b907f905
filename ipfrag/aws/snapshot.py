"""Subnet state rebuilt from the JSON the AWS API returns.

:func:`load_snapshot` reads what ``aws ec2 describe-subnets``, ``aws ec2
describe-network-interfaces`` and ``aws ec2 get-subnet-cidr-reservations`` print (or
the same responses from boto3, with ``ResponseMetadata`` and ``NextToken``) and
returns one :class:`~ipfrag.Subnet` per subnet, keyed by subnet id, with every
address and prefix allocated to its network interface (the owner is the ENI id),
the interface's metadata kept as owner info, and the CIDR reservations in place.

Each argument may be a parsed response, a file path, a bare list of items (the output
of ``--query Subnets``), or a list mixing any of these (several pages, several
files). A saved ipfrag snapshot file (:func:`save_snapshot`) is accepted too.

**Address families.** A VPC subnet has an IPv4 CIDR, an IPv6 CIDR (usually a /64),
or both. One :class:`~ipfrag.Subnet` models one address space, so ``family=4`` (the
default) builds the IPv4 side of every subnet that has one, and ``family=6`` the
IPv6 side of every subnet with an associated IPv6 CIDR. IPv6-only subnets therefore
appear only with ``family=6``; subnets without the requested family are skipped with
a note. ``AvailableIpAddressCount`` counts IPv4 addresses, so the cross-check below
runs for ``family=4`` only.

**Cross-check.** For IPv4 the rebuilt :attr:`~ipfrag.Subnet.free_addresses` is
compared with ``AvailableIpAddressCount``. A difference is reported in
:attr:`Snapshot.mismatches` and :attr:`Snapshot.warnings`, never hidden: it means the
three responses were not read at the same moment, or some interfaces are missing
(a filter, a missing page, managed interfaces hidden without
``--include-managed-resources``), or lenient mode skipped something.

**Broken input.** An address outside its subnet, an address held twice, a malformed
address or prefix, a missing field or a wrong type raises :class:`SnapshotFieldError`
(a :class:`~ipfrag.errors.SnapshotError`, hence a ``ValueError``) naming the item (the
interface id and where it sits in the input) and the field. With ``lenient=True`` the
problem becomes a warning and only the broken item (one address, one prefix, one
interface without id ...) is skipped. Files that cannot be read or are not one of the
three responses always raise.

>>> snap = load_snapshot(
...     subnets={"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1",
...         "CidrBlock": "10.0.0.0/24", "AvailableIpAddressCount": 234,
...         "AvailabilityZone": "eu-west-1a"}]},
...     network_interfaces={"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1",
...         "SubnetId": "subnet-1", "InterfaceType": "interface",
...         "PrivateIpAddress": "10.0.0.10",
...         "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.10", "Primary": True}],
...         "Ipv4Prefixes": [{"Ipv4Prefix": "10.0.0.48/28"}]}]})
>>> s = snap["subnet-1"]
>>> s.free_addresses, snap.mismatches
(234, [])
>>> s.owner_of("10.0.0.50"), s.info["vpc_id"]
('eni-1', 'vpc-1')
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypeVar

from ipfrag.aws.classify import Classification, classify_interfaces
from ipfrag.core import POLICIES, Policy
from ipfrag.errors import (
    AddressInUse,
    InvalidArgument,
    IpfragError,
    OutsideSubnet,
    ReservationConflict,
    ReservedAddress,
    SnapshotError,
)
from ipfrag.subnet import Subnet

__all__ = [
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_VERSION",
    "Mismatch",
    "RawSnapshot",
    "Snapshot",
    "SnapshotFieldError",
    "Source",
    "collect_snapshot",
    "load_snapshot",
    "read_snapshot",
    "save_snapshot",
]

#: The ``format`` value of a snapshot file written by :func:`save_snapshot`.
SNAPSHOT_FORMAT = "ipfrag-aws-snapshot"
#: The version of that file format this module writes and reads.
SNAPSHOT_VERSION = 1

#: What the loaders accept: a parsed response (mapping), a file path, or a list of these.
Source: TypeAlias = str | os.PathLike[str] | Mapping[str, Any] | Sequence[Any]

_Net: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
_Addr: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
_T = TypeVar("_T")

# EC2 only ever delegates prefixes of these lengths (EC2 user guide, "Assign prefixes").
_PREFIX_LEN = {4: 28, 6: 80}
_RESERVATION_TYPES = ("prefix", "explicit")


class SnapshotFieldError(SnapshotError):
    """One item of the AWS JSON has a missing field, a wrong type or an impossible value.

    ``item`` names the item (``"network interface eni-0abc (enis.json: NetworkInterfaces[3])"``),
    ``field`` the field inside it (``"PrivateIpAddresses[1].PrivateIpAddress"``) and
    ``problem`` what is wrong with it.

    >>> e = SnapshotFieldError("subnet subnet-1", "CidrBlock", "missing")
    >>> str(e), isinstance(e, ValueError)
    ('subnet subnet-1: CidrBlock: missing', True)
    """

    def __init__(self, item: str, field: str, problem: str) -> None:
        self.item = item
        self.field = field
        self.problem = problem
        super().__init__(f"{item}: {field}: {problem}")


# --------------------------------------------------------------------------- collecting items


@dataclass(frozen=True)
class _Kind:
    noun: str  # the aws-cli command, for messages
    keys: tuple[str, ...]  # the response keys holding the item lists
    section: str  # the key of this response in an ipfrag snapshot file
    marker: str  # a field every bare item has


_SUBNETS = _Kind("describe-subnets", ("Subnets",), "describe_subnets", "SubnetId")
_INTERFACES = _Kind(
    "describe-network-interfaces",
    ("NetworkInterfaces",),
    "describe_network_interfaces",
    "NetworkInterfaceId",
)
_RESERVATIONS = _Kind(
    "get-subnet-cidr-reservations",
    ("SubnetIpv4CidrReservations", "SubnetIpv6CidrReservations"),
    "get_subnet_cidr_reservations",
    "Cidr",
)


@dataclass(frozen=True)
class _Item:
    data: object
    where: str
    key: str | None = None  # the response key it was listed under; None for a bare item


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _collect(source: object, kind: _Kind, label: str) -> list[_Item]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise SnapshotError(f"cannot read {kind.noun} file {path}: {e.strerror or e}") from e
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SnapshotError(
                f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
            ) from e
        return _collect(data, kind, str(path))
    if isinstance(source, Mapping):
        if source.get("format") == SNAPSHOT_FORMAT:
            version = source.get("version")
            if version != SNAPSHOT_VERSION:
                raise SnapshotError(
                    f"{label}: ipfrag snapshot version {version!r}, this ipfrag reads "
                    f"version {SNAPSHOT_VERSION}"
                )
            if kind.section not in source:
                raise SnapshotError(f"{label}: ipfrag snapshot has no {kind.section!r} section")
            return _collect(source[kind.section], kind, f"{label}: {kind.section}")
        present = [k for k in kind.keys if k in source]
        if present:
            items: list[_Item] = []
            for key in present:
                value = source[key]
                if not isinstance(value, list):
                    raise SnapshotFieldError(
                        label, key, f"expected a list, got {_type_name(value)}"
                    )
                items.extend(_Item(x, f"{label}: {key}[{i}]", key) for i, x in enumerate(value))
            return items
        if kind.marker in source:
            return [_Item(source, label)]
        found = ", ".join(sorted(map(str, source))[:6]) or "nothing"
        raise SnapshotError(
            f"{label}: not a {kind.noun} response: expected {' or '.join(kind.keys)}, found {found}"
        )
    if isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        collected: list[_Item] = []
        for i, part in enumerate(source):
            collected.extend(_collect(part, kind, f"{label}[{i}]"))
        return collected
    raise SnapshotError(
        f"{label}: expected a {kind.noun} response, a file path or a list of them, "
        f"got {_type_name(source)}"
    )


# --------------------------------------------------------------------------- raw snapshots


def _json_default(value: object) -> object:
    # boto3 returns timestamps (AttachTime, ...) as datetime objects.
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class RawSnapshot:
    """The three AWS responses, merged across pages and files, as they were read.

    ``subnets`` are ``describe-subnets`` items, ``network_interfaces`` are
    ``describe-network-interfaces`` items, ``ipv4_cidr_reservations`` and
    ``ipv6_cidr_reservations`` are ``get-subnet-cidr-reservations`` items; ``metadata``
    says where and when they were read (region, cluster, time ...). This is what
    :func:`save_snapshot` writes, so analysis can be repeated offline.

    >>> raw = collect_snapshot({"Subnets": []}, [{"NetworkInterfaces": []}])
    >>> raw.subnets, raw.to_dict()["format"]
    ((), 'ipfrag-aws-snapshot')
    """

    subnets: tuple[Any, ...] = ()
    network_interfaces: tuple[Any, ...] = ()
    ipv4_cidr_reservations: tuple[Any, ...] = ()
    ipv6_cidr_reservations: tuple[Any, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The snapshot file content: the three responses in aws-cli shape, plus metadata.

        Cost: O(n) in the number of items (the items are shared, not copied).

        >>> sorted(RawSnapshot().to_dict())  # doctest: +NORMALIZE_WHITESPACE
        ['describe_network_interfaces', 'describe_subnets', 'format',
         'get_subnet_cidr_reservations', 'metadata', 'version']
        """
        return {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "metadata": dict(self.metadata),
            "describe_subnets": {"Subnets": list(self.subnets)},
            "describe_network_interfaces": {"NetworkInterfaces": list(self.network_interfaces)},
            "get_subnet_cidr_reservations": {
                "SubnetIpv4CidrReservations": list(self.ipv4_cidr_reservations),
                "SubnetIpv6CidrReservations": list(self.ipv6_cidr_reservations),
            },
        }

    def load(self, *, family: Literal[4, 6] = 4, lenient: bool = False) -> Snapshot:
        """Build the subnets of this raw snapshot; see :func:`load_snapshot`.

        Cost: O(n) allocations on the subnets, n = addresses and prefixes listed.

        >>> RawSnapshot().load()
        {}
        """
        data = self.to_dict()
        return _build(
            _collect(data, _SUBNETS, "snapshot"),
            _collect(data, _INTERFACES, "snapshot"),
            _collect(data, _RESERVATIONS, "snapshot"),
            family=family,
            lenient=lenient,
            metadata=self.metadata,
        )


def _split_reservations(items: Sequence[_Item]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    v4: list[Any] = []
    v6: list[Any] = []
    for item in items:
        if item.key is None:  # a bare item: its CIDR tells the family
            cidr = item.data.get("Cidr") if isinstance(item.data, Mapping) else None
            is_v6 = isinstance(cidr, str) and ":" in cidr
        else:
            is_v6 = item.key == "SubnetIpv6CidrReservations"
        (v6 if is_v6 else v4).append(item.data)
    return tuple(v4), tuple(v6)


def _raw_from_items(
    subnets: Sequence[_Item],
    interfaces: Sequence[_Item],
    reservations: Sequence[_Item],
    metadata: Mapping[str, Any],
) -> RawSnapshot:
    v4, v6 = _split_reservations(reservations)
    return RawSnapshot(
        subnets=tuple(i.data for i in subnets),
        network_interfaces=tuple(i.data for i in interfaces),
        ipv4_cidr_reservations=v4,
        ipv6_cidr_reservations=v6,
        metadata=dict(metadata),
    )


def _metadata_of(source: object) -> dict[str, Any]:
    if isinstance(source, (str, os.PathLike)):
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return _metadata_of(data)
    if isinstance(source, Mapping) and source.get("format") == SNAPSHOT_FORMAT:
        meta = source.get("metadata")
        return dict(meta) if isinstance(meta, Mapping) else {}
    return {}


def collect_snapshot(
    subnets: Source,
    network_interfaces: Source,
    cidr_reservations: Source | None = None,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> RawSnapshot:
    """Merge responses, pages and files into one :class:`RawSnapshot`, without building subnets.

    Accepts the same inputs as :func:`load_snapshot`. Raises :class:`~ipfrag.errors.SnapshotError`
    for a file that cannot be read or is not the expected response.
    Cost: O(n) in the number of items.

    >>> raw = collect_snapshot([{"Subnets": [{"SubnetId": "a"}]}, {"Subnets": [{"SubnetId": "b"}]}],
    ...                        {"NetworkInterfaces": []})
    >>> [s["SubnetId"] for s in raw.subnets]
    ['a', 'b']
    """
    s_items = _collect(subnets, _SUBNETS, "subnets")
    i_items = _collect(network_interfaces, _INTERFACES, "network_interfaces")
    r_items = (
        []
        if cidr_reservations is None
        else _collect(cidr_reservations, _RESERVATIONS, "cidr_reservations")
    )
    return _raw_from_items(s_items, i_items, r_items, metadata or _metadata_of(subnets))


def save_snapshot(
    path: str | os.PathLike[str],
    snapshot: RawSnapshot | Snapshot,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write the raw responses of ``snapshot`` to ``path`` as an ipfrag snapshot file.

    ``metadata`` is merged over the snapshot's own. The file holds the three responses in
    aws-cli shape (``jq .describe_subnets FILE`` gives back ``describe-subnets`` output),
    and :func:`read_snapshot` (or :func:`load_snapshot` given the file for each argument)
    rebuilds the same subnets. Returns the path written. Cost: O(n) in the number of items.

    >>> import tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> p = save_snapshot(pathlib.Path(d) / "snap.json", RawSnapshot(metadata={"region": "x"}))
    >>> read_snapshot(p).metadata["region"]
    'x'
    """
    raw = snapshot.raw if isinstance(snapshot, Snapshot) else snapshot
    if metadata:
        raw = RawSnapshot(
            raw.subnets,
            raw.network_interfaces,
            raw.ipv4_cidr_reservations,
            raw.ipv6_cidr_reservations,
            {**raw.metadata, **metadata},
        )
    out = Path(path)
    text = json.dumps(raw.to_dict(), indent=1, default=_json_default)
    out.write_text(text + "\n", encoding="utf-8")
    return out


def read_snapshot(
    path: str | os.PathLike[str], *, family: Literal[4, 6] = 4, lenient: bool = False
) -> Snapshot:
    """Load a snapshot file written by :func:`save_snapshot`; see :func:`load_snapshot`.

    Cost: O(n) allocations, n = addresses and prefixes listed in the file.

    >>> import tempfile, pathlib
    >>> p = save_snapshot(pathlib.Path(tempfile.mkdtemp()) / "s.json", RawSnapshot())
    >>> len(read_snapshot(p))
    0
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise SnapshotError(f"cannot read snapshot file {path}: {e.strerror or e}") from e
    except json.JSONDecodeError as e:
        raise SnapshotError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(data, Mapping) or data.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(
            f'{path}: not an ipfrag snapshot file (no "format": {SNAPSHOT_FORMAT!r}); '
            "load aws-cli output with load_snapshot(subnets=..., network_interfaces=...)"
        )
    label = str(path)
    return _build(
        _collect(data, _SUBNETS, label),
        _collect(data, _INTERFACES, label),
        _collect(data, _RESERVATIONS, label),
        family=family,
        lenient=lenient,
        metadata=_metadata_of(data),
    )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Mismatch:
    """A subnet whose rebuilt free address count differs from ``AvailableIpAddressCount``.

    >>> m = Mismatch("subnet-1", "10.0.0.0/24", reported=200, rebuilt=203)
    >>> m.difference
    3
    """

    subnet_id: str
    cidr: str
    reported: int  # AvailableIpAddressCount from describe-subnets
    rebuilt: int  # free_addresses of the rebuilt Subnet

    @property
    def difference(self) -> int:
        """``rebuilt - reported``: positive when ipfrag sees more free addresses than AWS."""
        return self.rebuilt - self.reported

    def __str__(self) -> str:
        more = "more" if self.difference > 0 else "fewer"
        return (
            f"subnet {self.subnet_id} ({self.cidr}): AWS reports {self.reported} available "
            f"addresses, the rebuilt state has {self.rebuilt} free ({abs(self.difference)} "
            f"{more}); the responses were read at different moments, or interfaces are "
            "missing or were skipped"
        )


class Snapshot(dict[str, Subnet]):
    """``{subnet_id: Subnet}`` rebuilt from AWS JSON, plus what was noticed on the way.

    ``family`` is 4 or 6 (which side of the subnets was built); ``notes`` lists harmless
    facts (interfaces of other subnets skipped, repeated identical items); ``warnings``
    lists problems (mismatches, items skipped in lenient mode); ``mismatches`` holds the
    :class:`Mismatch` records; ``raw`` the :class:`RawSnapshot` read (for
    :func:`save_snapshot`); ``metadata`` where it came from.

    >>> Snapshot().warnings
    []
    """

    def __init__(
        self,
        subnets: Mapping[str, Subnet] | None = None,
        *,
        family: Literal[4, 6] = 4,
        raw: RawSnapshot | None = None,
    ) -> None:
        super().__init__(subnets or {})
        self.family: Literal[4, 6] = family
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.mismatches: list[Mismatch] = []
        self.raw: RawSnapshot = raw if raw is not None else RawSnapshot()

    @property
    def metadata(self) -> Mapping[str, Any]:
        """Where the responses came from (region, cluster, time ...), from the raw snapshot."""
        return self.raw.metadata


# --------------------------------------------------------------------------- field access


class _Problems:
    """Raises in strict mode; in lenient mode turns each problem into a warning."""

    def __init__(self, lenient: bool) -> None:
        self.lenient = lenient
        self.warnings: list[str] = []

    def report(self, error: SnapshotError) -> None:
        if not self.lenient:
            raise error
        self.warnings.append(f"skipped: {error}")


_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    list: "a list",
    Mapping: "an object",
}


def _get(
    data: Mapping[str, Any],
    key: str,
    types: type[_T] | tuple[type[_T], ...],
    item: str,
    *,
    prefix: str = "",
    required: bool = False,
) -> _T | None:
    value = data.get(key)
    if value is None:
        if required:
            raise SnapshotFieldError(item, prefix + key, "missing")
        return None
    expected = types if isinstance(types, tuple) else (types,)
    # bool is an int to Python, never to the AWS API.
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        names = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in expected)
        raise SnapshotFieldError(
            item, prefix + key, f"expected {names}, got {_type_name(value)} {value!r:.40}"
        )
    return value


def _req(
    data: Mapping[str, Any],
    key: str,
    types: type[_T] | tuple[type[_T], ...],
    item: str,
    *,
    prefix: str = "",
) -> _T:
    value = _get(data, key, types, item, prefix=prefix, required=True)
    assert value is not None
    return value


def _entries(
    data: Mapping[str, Any], key: str, item: str, problems: _Problems
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The objects of the list ``data[key]`` with their field paths; bad entries reported."""
    try:
        values = _get(data, key, list, item)
    except SnapshotFieldError as e:
        problems.report(e)
        return
    for i, entry in enumerate(values or ()):
        path = f"{key}[{i}]"
        if isinstance(entry, Mapping):
            yield path, entry
        else:
            problems.report(
                SnapshotFieldError(item, path, f"expected an object, got {_type_name(entry)}")
            )


def _parse_address(text: str, version: int, item: str, path: str) -> _Addr:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise SnapshotFieldError(item, path, f"malformed IP address {text!r}") from None
    if addr.version != version:
        raise SnapshotFieldError(item, path, f"{text!r} is not an IPv{version} address")
    return addr


def _parse_network(text: str, version: int, item: str, path: str, what: str) -> _Net:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        problem = "has host bits set" if "host bits" in str(e) else "is malformed"
        raise SnapshotFieldError(item, path, f"{what} {text!r} {problem}") from None
    if net.version != version:
        raise SnapshotFieldError(item, path, f"{what} {text!r} is not IPv{version}")
    return net


# --------------------------------------------------------------------------- parsed records


@dataclass
class _SubnetRecord:
    subnet_id: str
    where: str
    data: Mapping[str, Any]
    cidr4: ipaddress.IPv4Network | None
    cidr6: ipaddress.IPv6Network | None
    available: int | None


@dataclass
class _Interface:
    eni_id: str
    subnet_id: str
    item: str
    data: Mapping[str, Any]
    # (field path, value) so an allocation failure can name the field
    ipv4: list[tuple[str, _Addr]] = field(default_factory=list)
    ipv4_prefixes: list[tuple[str, _Net]] = field(default_factory=list)
    ipv6: list[tuple[str, _Addr]] = field(default_factory=list)
    ipv6_prefixes: list[tuple[str, _Net]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _ReservationRecord:
    subnet_id: str
    item: str
    cidr: _Net
    kind: Literal["prefix", "explicit"]
    reservation_id: str | None
    description: str | None


def _describe(noun: str, ident: object, where: str) -> str:
    return f"{noun} {ident} ({where})" if isinstance(ident, str) else f"{noun} at {where}"


def _not_object(item: _Item, noun: str) -> SnapshotFieldError:
    return SnapshotFieldError(
        f"{noun} at {item.where}", "(item)", f"expected an object, got {_type_name(item.data)}"
    )


def _parse_subnet(item: _Item, problems: _Problems) -> _SubnetRecord | None:
    data = item.data
    if not isinstance(data, Mapping):
        problems.report(_not_object(item, "subnet"))
        return None
    name = _describe("subnet", data.get("SubnetId"), item.where)
    try:
        subnet_id = _req(data, "SubnetId", str, name)
        ipv6_native = _get(data, "Ipv6Native", bool, name) is True
        cidr_text = _get(data, "CidrBlock", str, name, required=not ipv6_native)
        cidr4 = None
        available = None
        if cidr_text is not None:
            net = _parse_network(cidr_text, 4, name, "CidrBlock", "CIDR")
            assert isinstance(net, ipaddress.IPv4Network)
            cidr4 = net
            available = _req(data, "AvailableIpAddressCount", int, name)
        for key in ("VpcId", "AvailabilityZone", "AvailabilityZoneId", "State"):
            _get(data, key, str, name)
        cidr6 = None
        for path, assoc in _entries(data, "Ipv6CidrBlockAssociationSet", name, problems):
            state = _get(assoc, "Ipv6CidrBlockState", Mapping, name, prefix=path + ".")
            status = None if state is None else _get(state, "State", str, name, prefix=path + ".")
            if status not in (None, "associated"):
                continue  # associating / disassociated ...: not usable address space
            text = _req(assoc, "Ipv6CidrBlock", str, name, prefix=path + ".")
            net6 = _parse_network(text, 6, name, path + ".Ipv6CidrBlock", "CIDR")
            if cidr6 is not None:
                raise SnapshotFieldError(
                    name, path, f"a second associated IPv6 CIDR {text} (already {cidr6})"
                )
            assert isinstance(net6, ipaddress.IPv6Network)
            cidr6 = net6
    except SnapshotFieldError as e:
        problems.report(e)
        return None
    return _SubnetRecord(subnet_id, item.where, data, cidr4, cidr6, available)


_INFO_FIELDS = (
    ("InterfaceType", "interface_type"),
    ("Description", "description"),
    ("Status", "status"),
    ("RequesterId", "requester_id"),
    ("VpcId", "vpc_id"),
    ("AvailabilityZone", "availability_zone"),
)


def _parse_interface(item: _Item, problems: _Problems) -> _Interface | None:
    data = item.data
    if not isinstance(data, Mapping):
        problems.report(_not_object(item, "network interface"))
        return None
    name = _describe("network interface", data.get("NetworkInterfaceId"), item.where)
    try:
        eni_id = _req(data, "NetworkInterfaceId", str, name)
        subnet_id = _req(data, "SubnetId", str, name)
        info: dict[str, Any] = {}
        for key, info_key in _INFO_FIELDS:
            value = _get(data, key, str, name)
            if value is not None:
                info[info_key] = value
        managed = _get(data, "RequesterManaged", bool, name)
        if managed is not None:
            info["requester_managed"] = managed
        attachment = _get(data, "Attachment", Mapping, name)
        if attachment is not None:
            instance = _get(attachment, "InstanceId", str, name, prefix="Attachment.")
            device = _get(attachment, "DeviceIndex", int, name, prefix="Attachment.")
            _get(attachment, "InstanceOwnerId", str, name, prefix="Attachment.")
            if instance is not None:
                info["instance_id"] = instance
            if device is not None:
                info["device_index"] = device
        primary4 = _get(data, "PrivateIpAddress", str, name)
        primary6 = _get(data, "Ipv6Address", str, name)
        for path, tag in _entries(data, "TagSet", name, problems):
            _req(tag, "Key", str, name, prefix=path + ".")
    except SnapshotFieldError as e:
        problems.report(e)
        return None

    eni = _Interface(eni_id, subnet_id, name, data, info=info)
    _parse_prefixes(data, "Ipv4Prefixes", "Ipv4Prefix", 4, eni, eni.ipv4_prefixes, problems)
    _parse_prefixes(data, "Ipv6Prefixes", "Ipv6Prefix", 6, eni, eni.ipv6_prefixes, problems)
    # The top-level primary address is repeated in the list; alone it stands for the list.
    for key, list_key, version, into, primary in (
        ("PrivateIpAddress", "PrivateIpAddresses", 4, eni.ipv4, primary4),
        ("Ipv6Address", "Ipv6Addresses", 6, eni.ipv6, primary6),
    ):
        before = len(problems.warnings)
        _parse_entries(data, list_key, key, version, eni, into, problems)
        if primary is None or len(problems.warnings) > before:
            continue  # a broken list was reported already; no guessing around it
        if any(str(a) == primary for _, a in into):
            continue  # the usual case: the primary address repeated in the list
        try:
            addr = _parse_address(primary, version, name, key)
            if data.get(list_key) is None:
                into.append((key, addr))
            elif all(addr != a for _, a in into):
                raise SnapshotFieldError(name, key, f"{addr} is not among {list_key}")
        except SnapshotFieldError as e:
            problems.report(e)
    return eni


def _parse_entries(
    data: Mapping[str, Any],
    key: str,
    sub_key: str,
    version: int,
    eni: _Interface,
    into: list[tuple[str, _Addr]],
    problems: _Problems,
) -> None:
    seen: dict[_Addr, str] = {}
    for path, entry in _entries(data, key, eni.item, problems):
        try:
            text = _req(entry, sub_key, str, eni.item, prefix=path + ".")
            addr = _parse_address(text, version, eni.item, f"{path}.{sub_key}")
            if addr in seen:
                raise SnapshotFieldError(
                    eni.item, f"{path}.{sub_key}", f"duplicate address {addr} (also {seen[addr]})"
                )
            if version == 4:
                _get(entry, "Primary", bool, eni.item, prefix=path + ".")
        except SnapshotFieldError as e:
            problems.report(e)
            continue
        seen[addr] = path
        into.append((f"{path}.{sub_key}", addr))


def _parse_prefixes(
    data: Mapping[str, Any],
    key: str,
    sub_key: str,
    version: int,
    eni: _Interface,
    into: list[tuple[str, _Net]],
    problems: _Problems,
) -> None:
    for path, entry in _entries(data, key, eni.item, problems):
        fpath = f"{path}.{sub_key}"
        try:
            text = _req(entry, sub_key, str, eni.item, prefix=path + ".")
            net = _parse_network(text, version, eni.item, fpath, "prefix")
            if net.prefixlen != _PREFIX_LEN[version]:
                raise SnapshotFieldError(
                    eni.item,
                    fpath,
                    f"prefix {text!r} is a /{net.prefixlen}; EC2 delegates "
                    f"/{_PREFIX_LEN[version]} prefixes only",
                )
        except SnapshotFieldError as e:
            problems.report(e)
            continue
        into.append((fpath, net))


def _parse_reservation(item: _Item, problems: _Problems) -> _ReservationRecord | None:
    data = item.data
    if not isinstance(data, Mapping):
        problems.report(_not_object(item, "CIDR reservation"))
        return None
    name = _describe("CIDR reservation", data.get("SubnetCidrReservationId"), item.where)
    try:
        subnet_id = _req(data, "SubnetId", str, name)
        text = _req(data, "Cidr", str, name)
        version = 6 if ":" in text else 4
        listed = {"SubnetIpv4CidrReservations": 4, "SubnetIpv6CidrReservations": 6}.get(
            item.key or "", version
        )
        if listed != version:
            raise SnapshotFieldError(
                name, "Cidr", f"{text!r} is listed under {item.key}, it is not IPv{listed}"
            )
        cidr = _parse_network(text, version, name, "Cidr", "CIDR")
        kind = _req(data, "ReservationType", str, name)
        if kind not in _RESERVATION_TYPES:
            raise SnapshotFieldError(
                name, "ReservationType", f"{kind!r} is neither 'prefix' nor 'explicit'"
            )
        reservation_id = _get(data, "SubnetCidrReservationId", str, name)
        description = _get(data, "Description", str, name)
    except SnapshotFieldError as e:
        problems.report(e)
        return None
    return _ReservationRecord(
        subnet_id,
        name,
        cidr,
        "prefix" if kind == "prefix" else "explicit",
        reservation_id,
        description,
    )


# --------------------------------------------------------------------------- building


def _dedupe(
    records: Sequence[_T],
    key: Callable[[_T], str],
    data: Callable[[_T], object],
    noun: str,
    problems: _Problems,
    notes: list[str],
) -> dict[str, _T]:
    """First record per id; identical repeats are noted, conflicting ones are errors."""
    out: dict[str, _T] = {}
    for record in records:
        ident = key(record)
        if ident not in out:
            out[ident] = record
        elif data(out[ident]) == data(record):
            notes.append(f"{noun} {ident} is listed more than once (identical copies ignored)")
        else:
            problems.report(
                SnapshotFieldError(
                    f"{noun} {ident}", "(item)", "listed twice with different content"
                )
            )
    return out


def _subnet_info(record: _SubnetRecord, family: int) -> dict[str, Any]:
    data = record.data
    info: dict[str, Any] = {"subnet_id": record.subnet_id}
    for key, info_key in (
        ("VpcId", "vpc_id"),
        ("AvailabilityZone", "availability_zone"),
        ("AvailabilityZoneId", "availability_zone_id"),
    ):
        if isinstance(data.get(key), str):
            info[info_key] = data[key]
    if family == 4:
        info["available_ip_address_count"] = record.available
    if record.cidr4 is not None:
        info["ipv4_cidr"] = str(record.cidr4)
    if record.cidr6 is not None:
        info["ipv6_cidr"] = str(record.cidr6)
    tags = data.get("Tags")
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, Mapping) and tag.get("Key") == "Name":
                info["name_tag"] = str(tag.get("Value", ""))
    return info


def _allocation_problem(
    error: IpfragError, subnet: Subnet, subnet_id: str, what: str, value: object
) -> str:
    if isinstance(error, OutsideSubnet):
        return f"{what} {value} is outside subnet {subnet_id} ({subnet.cidr})"
    if isinstance(error, AddressInUse):  # its message names the holder
        return f"duplicate {what}: {error}"
    if isinstance(error, ReservedAddress):
        return f"{what} {value} touches an address AWS reserves in subnet {subnet.cidr}"
    return f"{what} {value}: {error}"


def _owner_info(parsed: Mapping[str, Any], c: Classification) -> dict[str, Any]:
    info = dict(parsed)
    info["kind"] = c.kind.value
    info["label"] = c.label
    info["is_eks"] = c.is_eks
    if c.instance_id is not None:
        info["instance_id"] = c.instance_id
    return info


def _build(
    subnet_items: Sequence[_Item],
    interface_items: Sequence[_Item],
    reservation_items: Sequence[_Item],
    *,
    family: Literal[4, 6],
    lenient: bool,
    metadata: Mapping[str, Any],
    policy: Policy = "random",
    seed: int | None = None,
) -> Snapshot:
    if policy not in POLICIES:
        raise InvalidArgument(f"unknown policy {policy!r}; expected one of {POLICIES}")
    if family not in (4, 6):
        raise ValueError(f"family must be 4 or 6, not {family!r}")
    problems = _Problems(lenient)
    notes: list[str] = []
    raw = _raw_from_items(subnet_items, interface_items, reservation_items, metadata)
    snapshot = Snapshot(family=family, raw=raw)

    parsed_subnets = [r for r in (_parse_subnet(i, problems) for i in subnet_items) if r]
    records = _dedupe(
        parsed_subnets, lambda r: r.subnet_id, lambda r: r.data, "subnet", problems, notes
    )
    reservations = [r for r in (_parse_reservation(i, problems) for i in reservation_items) if r]
    reservation_ids: dict[str, dict[str, str]] = defaultdict(dict)
    for res in reservations:
        if res.reservation_id is not None and res.cidr.version == family:
            reservation_ids[res.subnet_id][str(res.cidr)] = res.reservation_id
    other_family: set[str] = set()
    for subnet_id, record in records.items():
        cidr = record.cidr4 if family == 4 else record.cidr6
        if cidr is None:
            other_family.add(subnet_id)
            notes.append(f"subnet {subnet_id} has no IPv{family} CIDR; not built (family={family})")
            continue
        try:
            info = _subnet_info(record, family)
            if reservation_ids.get(subnet_id):
                info["cidr_reservation_ids"] = reservation_ids[subnet_id]
            snapshot[subnet_id] = Subnet(
                str(cidr), name=subnet_id, info=info, policy=policy, seed=seed
            )
        except IpfragError as e:
            field_name = "CidrBlock" if family == 4 else "Ipv6CidrBlockAssociationSet"
            problems.report(
                SnapshotFieldError(f"subnet {subnet_id} ({record.where})", field_name, str(e))
            )

    for res in reservations:
        if res.cidr.version != family:
            continue
        subnet = snapshot.get(res.subnet_id)
        if subnet is None:
            if res.subnet_id not in other_family:
                notes.append(f"{res.item}: subnet {res.subnet_id} is not loaded; skipped")
            continue
        try:
            subnet.reserve(
                str(res.cidr), kind=res.kind, description=res.description or res.reservation_id
            )
        except (OutsideSubnet, ReservationConflict, ReservedAddress, IpfragError) as e:
            problems.report(SnapshotFieldError(res.item, "Cidr", f"{res.cidr}: {e}"))

    parsed = [e for e in (_parse_interface(i, problems) for i in interface_items) if e]
    by_id = _dedupe(
        parsed, lambda e: e.eni_id, lambda e: e.data, "network interface", problems, notes
    )
    # Classified all together: a node's VPC CNI ENIs tell that its primary ENI is an EKS node's.
    kinds = dict(zip(by_id, classify_interfaces(e.data for e in by_id.values()), strict=True))
    elsewhere: dict[str, int] = defaultdict(int)
    for eni in by_id.values():
        subnet = snapshot.get(eni.subnet_id)
        if subnet is None:
            elsewhere[eni.subnet_id] += 1
            continue
        addresses = eni.ipv4 if family == 4 else eni.ipv6
        prefixes = eni.ipv4_prefixes if family == 4 else eni.ipv6_prefixes
        placed = 0
        for path, addr in addresses:
            try:
                subnet.allocate_ip(addr, owner=eni.eni_id)
                placed += 1
            except IpfragError as e:
                problem = _allocation_problem(e, subnet, eni.subnet_id, "address", addr)
                problems.report(SnapshotFieldError(eni.item, path, problem))
        for path, net in prefixes:
            try:
                subnet.allocate_prefix(net, owner=eni.eni_id)
                placed += 1
            except IpfragError as e:
                problem = _allocation_problem(e, subnet, eni.subnet_id, "prefix", net)
                problems.report(SnapshotFieldError(eni.item, path, problem))
        if placed:
            subnet.set_owner_info(eni.eni_id, _owner_info(eni.info, kinds[eni.eni_id]))
    for subnet_id, count in sorted(elsewhere.items()):
        why = (
            f"has no IPv{family} CIDR"
            if subnet_id in other_family
            else "is not in the describe-subnets data"
        )
        notes.append(f"skipped {count} network interface(s) of subnet {subnet_id}, which {why}")

    if family == 4:
        for subnet_id, subnet in snapshot.items():
            reported = records[subnet_id].available
            if reported is not None and reported != subnet.free_addresses:
                mismatch = Mismatch(subnet_id, str(subnet.cidr), reported, subnet.free_addresses)
                snapshot.mismatches.append(mismatch)
                problems.warnings.append(str(mismatch))
    snapshot.notes = notes
    snapshot.warnings = problems.warnings
    return snapshot


def load_snapshot(
    subnets: Source,
    network_interfaces: Source,
    cidr_reservations: Source | None = None,
    *,
    family: Literal[4, 6] = 4,
    lenient: bool = False,
    policy: Policy = "random",
    seed: int | None = None,
) -> Snapshot:
    """Rebuild ``{subnet_id: Subnet}`` from ``describe-subnets``, ``describe-network-interfaces``
    and (optionally) ``get-subnet-cidr-reservations`` output.

    Each argument is a parsed response (aws-cli or boto3), a file path, a bare item list,
    or a list of any of these (pages, files). Every interface's IPv4 addresses and /28
    prefixes (``family=4``) or IPv6 addresses and /80 prefixes (``family=6``) are
    allocated to the ENI id, and its metadata (instance id, interface type, description,
    requester, status, the classification ``kind``/``label``/``is_eks``) kept through
    :meth:`~ipfrag.Subnet.set_owner_info`. Subnet info holds ``subnet_id``, ``vpc_id``,
    ``availability_zone`` and (IPv4) ``available_ip_address_count``.

    ``policy`` and ``seed`` are given to every built :class:`~ipfrag.Subnet`, so what-if
    allocations on a loaded snapshot are reproducible.

    Raises :class:`SnapshotFieldError` for broken items (or, with ``lenient=True``,
    records a warning and skips the item); see the module documentation.
    Cost: O(n) allocations on the subnets, n = addresses and prefixes listed.

    >>> snap = load_snapshot({"Subnets": [{"SubnetId": "subnet-1", "CidrBlock": "10.0.0.0/28",
    ...                                    "AvailableIpAddressCount": 11}]},
    ...                      {"NetworkInterfaces": []})
    >>> snap["subnet-1"].free_addresses, snap.mismatches
    (11, [])
    """
    s_items = _collect(subnets, _SUBNETS, "subnets")
    i_items = _collect(network_interfaces, _INTERFACES, "network_interfaces")
    r_items = (
        []
        if cidr_reservations is None
        else _collect(cidr_reservations, _RESERVATIONS, "cidr_reservations")
    )
    return _build(
        s_items,
        i_items,
        r_items,
        family=family,
        lenient=lenient,
        metadata=_metadata_of(subnets),
        policy=policy,
        seed=seed,
    )
