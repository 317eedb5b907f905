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
interface without id, one entry of a list, a list that is not a list ...) is skipped.
Files that cannot be read, are not text (UTF-8, or UTF-16/32 with a byte order mark), are
not JSON or are not one of the three responses always raise, as do arguments of the wrong
type or value (``family``, ``policy``, ``seed``). A subnet CIDR no VPC subnet can have
(:data:`AWS_SUBNET_PREFIXLEN`) is refused before any address space is built.

**How it is fast.** The fields ipfrag reads are validated by msgspec structs (C speed;
the error names the field path), addresses are read with ``inet_pton``, each interface's
owner info is built once, and the garbage collector is paused while the snapshot is built
(see :mod:`ipfrag.aws._decode`).

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
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, compress
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeAlias, TypeVar

import msgspec

from ipfrag._gc import paused_gc
from ipfrag.aws import _decode
from ipfrag.aws._decode import (
    CidrReservation,
    Interface,
    SubnetShape,
    read_json,
    shape_problem,
)
from ipfrag.aws.classify import (
    _VALUE_TAGS,
    Classification,
    InterfaceFacts,
    _classify_all,
    _trunk_nodes,
    classify_interfaces,
)
from ipfrag.errors import (
    AddressInUse,
    InvalidArgument,
    InvalidType,
    IpfragError,
    OutsideSubnet,
    ReservedAddress,
    SnapshotError,
)
from ipfrag.subnet import AllocationEntry, Policy, Subnet

__all__ = [
    "AWS_SUBNET_PREFIXLEN",
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
#: The prefix lengths a VPC subnet CIDR can have, per IP version (VPC user guide, "Subnet
#: sizing"): IPv4 /16 to /28, IPv6 /44 to /64. Anything else in AWS input is refused before
#: any address space is built.
AWS_SUBNET_PREFIXLEN: Mapping[int, range] = {4: range(16, 29), 6: range(44, 65)}

#: What the loaders accept: a parsed response (mapping), a file path, or a list of these.
Source: TypeAlias = str | os.PathLike[str] | Mapping[str, Any] | Sequence[Any]

_Net: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
_T = TypeVar("_T")

# EC2 only ever delegates prefixes of these lengths (EC2 user guide, "Assign prefixes").
_PREFIX_LEN = {4: 28, 6: 80}
_RESERVATION_TYPES = ("prefix", "explicit")
_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
_FIELDS = {
    4: ("PrivateIpAddress", "PrivateIpAddresses", "Ipv4Prefixes", "Ipv4Prefix"),
    6: ("Ipv6Address", "Ipv6Addresses", "Ipv6Prefixes", "Ipv6Prefix"),
}
"""Per family, an interface's fields: the primary address, the address list (whose entries
carry the address under the primary's name), the prefix list and its entries' field."""
# Lists of sources (pages of files of pages ...) deeper than this are not what a caller means.
_MAX_NESTING = 8


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


class _Item(NamedTuple):
    data: object
    label: str  # the file or argument it came from
    key: str | None = None  # the response key it was listed under; None for a bare item
    place: int = -1  # its index in that list

    @property
    def where(self) -> str:
        return self.label if self.key is None else f"{self.label}: {self.key}[{self.place}]"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


class _Reader:
    """Reads each file once per call, and keeps the metadata of the first ipfrag snapshot seen."""

    def __init__(self) -> None:
        self.files: dict[Path, Any] = {}
        self.metadata: dict[str, Any] | None = None

    def read(self, path: Path, noun: str) -> Any:
        if path not in self.files:
            self.files[path] = read_json(path, noun)
        return self.files[path]

    def collect(self, source: object, kind: _Kind, label: str, depth: int = 0) -> list[_Item]:
        if depth > _MAX_NESTING:
            raise SnapshotError(f"{label}: lists nested more than {_MAX_NESTING} deep")
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            return self.collect(self.read(path, kind.noun), kind, str(path), depth + 1)
        if isinstance(source, Mapping):
            return self._response(source, kind, label, depth)
        if isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
            collected: list[_Item] = []
            for i, part in enumerate(source):
                collected.extend(self.collect(part, kind, f"{label}[{i}]", depth + 1))
            return collected
        raise SnapshotError(
            f"{label}: expected a {kind.noun} response, a file path or a list of them, "
            f"got {_type_name(source)}"
        )

    def _response(
        self, source: Mapping[Any, Any], kind: _Kind, label: str, depth: int
    ) -> list[_Item]:
        if source.get("format") == SNAPSHOT_FORMAT:
            version = source.get("version")
            if version != SNAPSHOT_VERSION:
                raise SnapshotError(
                    f"{label}: ipfrag snapshot version {version!r:.40}, this ipfrag reads "
                    f"version {SNAPSHOT_VERSION}"
                )
            if kind.section not in source:
                raise SnapshotError(f"{label}: ipfrag snapshot has no {kind.section!r} section")
            if self.metadata is None:
                meta = source.get("metadata")
                self.metadata = dict(meta) if isinstance(meta, Mapping) else {}
            return self.collect(source[kind.section], kind, f"{label}: {kind.section}", depth + 1)
        present = [k for k in kind.keys if k in source]
        if present:
            items: list[_Item] = []
            for key in present:
                value = source[key]
                if not isinstance(value, list):
                    raise SnapshotFieldError(
                        label, key, f"expected a list, got {_type_name(value)}"
                    )
                items.extend(_Item(x, label, key, i) for i, x in enumerate(value))
            return items
        if kind.marker in source:
            return [_Item(source, label)]
        found = ", ".join(sorted(map(str, source))[:6]) or "nothing"
        raise SnapshotError(
            f"{label}: not a {kind.noun} response: expected {' or '.join(kind.keys)}, "
            f"found {found:.200}"
        )


def _collect_all(
    subnets: object, network_interfaces: object, cidr_reservations: object
) -> tuple[list[_Item], list[_Item], list[_Item], dict[str, Any]]:
    reader = _Reader()
    s_items = reader.collect(subnets, _SUBNETS, "subnets")
    # Only the subnets argument's metadata counts (it names the snapshot the subnets came from).
    metadata = reader.metadata or {}
    i_items = reader.collect(network_interfaces, _INTERFACES, "network_interfaces")
    r_items = (
        []
        if cidr_reservations is None
        else reader.collect(cidr_reservations, _RESERVATIONS, "cidr_reservations")
    )
    return s_items, i_items, r_items, metadata


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

    def load(
        self,
        *,
        family: Literal[4, 6] = 4,
        lenient: bool = False,
        policy: Policy = "random",
        seed: int | None = None,
    ) -> Snapshot:
        """Build the subnets of this raw snapshot; see :func:`load_snapshot`.

        Cost: O(n) allocations on the subnets, n = addresses and prefixes listed.

        >>> RawSnapshot().load()
        {}
        """
        _check_options(family, lenient, policy, seed)
        data = self.to_dict()
        reader = _Reader()
        return _build(
            reader.collect(data, _SUBNETS, "snapshot"),
            reader.collect(data, _INTERFACES, "snapshot"),
            reader.collect(data, _RESERVATIONS, "snapshot"),
            family=family,
            lenient=lenient,
            metadata=self.metadata,
            policy=policy,
            seed=seed,
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
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidType(f"metadata must be a mapping, not {type(metadata).__name__}")
    with paused_gc():
        s_items, i_items, r_items, found = _collect_all(
            subnets, network_interfaces, cidr_reservations
        )
    return _raw_from_items(s_items, i_items, r_items, metadata or found)


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
    rebuilds the same subnets. Returns the path written. A folder that does not exist, or
    data that is not JSON (or nested absurdly deep), raises an :class:`~ipfrag.IpfragError`
    naming the path; nothing is written then. Cost: O(n) in the number of items.

    >>> import tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> p = save_snapshot(pathlib.Path(d) / "snap.json", RawSnapshot(metadata={"region": "x"}))
    >>> read_snapshot(p).metadata["region"]
    'x'
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidType(f"path must be a file path, not {type(path).__name__}")
    if not isinstance(snapshot, (RawSnapshot, Snapshot)):
        raise InvalidType(
            f"snapshot must be a RawSnapshot or a Snapshot, not {type(snapshot).__name__}"
        )
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidType(f"metadata must be a mapping, not {type(metadata).__name__}")
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
    if not out.parent.is_dir():
        raise InvalidArgument(
            f"cannot write snapshot file {out}: folder {out.parent} does not exist"
        )
    try:
        text = json.dumps(raw.to_dict(), indent=1, default=_json_default, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:
        raise InvalidArgument(f"cannot write snapshot file {out}: data is not JSON: {e}") from e
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as e:
        raise InvalidArgument(f"cannot write snapshot file {out}: {e.strerror or e}") from e
    return out


def read_snapshot(
    path: str | os.PathLike[str],
    *,
    family: Literal[4, 6] = 4,
    lenient: bool = False,
    policy: Policy = "random",
    seed: int | None = None,
) -> Snapshot:
    """Load a snapshot file written by :func:`save_snapshot`; see :func:`load_snapshot`.

    Cost: O(n) allocations, n = addresses and prefixes listed in the file.

    >>> import tempfile, pathlib
    >>> p = save_snapshot(pathlib.Path(tempfile.mkdtemp()) / "s.json", RawSnapshot())
    >>> len(read_snapshot(p))
    0
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidType(f"path must be a file path, not {type(path).__name__}")
    _check_options(family, lenient, policy, seed)
    with paused_gc():
        data = read_json(path, "snapshot")
    if not isinstance(data, Mapping) or data.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(
            f'{path}: not an ipfrag snapshot file (no "format": {SNAPSHOT_FORMAT!r}); '
            "load aws-cli output with load_snapshot(subnets=..., network_interfaces=...)"
        )
    reader = _Reader()
    label = str(path)
    subnets = reader.collect(data, _SUBNETS, label)
    return _build(
        subnets,
        reader.collect(data, _INTERFACES, label),
        reader.collect(data, _RESERVATIONS, label),
        family=family,
        lenient=lenient,
        metadata=reader.metadata or {},
        policy=policy,
        seed=seed,
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


# --------------------------------------------------------------------------- problems


class _Problems:
    """Raises in strict mode; in lenient mode turns each problem into a warning."""

    def __init__(self, lenient: bool) -> None:
        self.lenient = lenient
        self.warnings: list[str] = []

    def report(self, error: SnapshotError) -> None:
        if not self.lenient:
            raise error
        self.warnings.append(f"skipped: {error}")


def _check_options(family: object, lenient: object, policy: object, seed: object) -> None:
    """Argument errors fail the whole call, before any item is read or blamed."""
    if not isinstance(family, int) or isinstance(family, bool):
        raise InvalidType(f"family must be 4 or 6, not {type(family).__name__} {family!r:.40}")
    if family not in (4, 6):
        raise InvalidArgument(f"family must be 4 or 6, not {family!r}")
    if not isinstance(lenient, bool):
        raise InvalidType(f"lenient must be True or False, not {type(lenient).__name__}")
    # The subnets' own checks of policy and seed, once, on a probe: one idea, one place.
    Subnet("10.0.0.0/28", policy=policy, seed=seed)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parsed records


@dataclass
class _SubnetRecord:
    subnet_id: str
    where: str
    data: object
    shape: SubnetShape
    cidr4: ipaddress.IPv4Network | None
    cidr6: ipaddress.IPv6Network | None


# An address or prefix as listed: (index in its list or -1 for the top-level field, value, text).
_Listed: TypeAlias = tuple[int, int, str]


@dataclass(slots=True)
class _Interface:
    eni_id: str
    subnet_id: str
    source: _Item
    shape: Interface
    ipv4: list[_Listed]
    ipv4_prefixes: list[_Listed]
    ipv6: list[_Listed]
    ipv6_prefixes: list[_Listed]

    @property
    def item(self) -> str:
        """The interface named for messages (built only when one is needed)."""
        return _name(self.source, "network interface", "NetworkInterfaceId")

    @property
    def data(self) -> object:
        return self.source.data


@dataclass
class _ReservationRecord:
    subnet_id: str
    item: str
    data: object
    cidr: _Net
    kind: Literal["prefix", "explicit"]
    reservation_id: str | None
    description: str | None


def _describe(noun: str, ident: object, where: str) -> str:
    return f"{noun} {ident} ({where})" if isinstance(ident, str) else f"{noun} at {where}"


def _name(item: _Item, noun: str, marker: str) -> str:
    ident = item.data.get(marker) if isinstance(item.data, Mapping) else None
    return _describe(noun, ident, item.where)


def _shape_of(
    item: _Item, shape: type[_T], name: str, problems: _Problems
) -> tuple[_T, frozenset[str]] | None:
    """``item`` as ``shape``, or None (reported). Broken list entries are dropped one by one
    (reported); the names of the lists that had a problem come back with the result."""
    try:
        return msgspec.convert(item.data, shape), frozenset()
    except msgspec.ValidationError:
        pass
    try:
        loose = msgspec.convert(item.data, _decode.loose(shape))  # type: ignore[arg-type]
    except msgspec.ValidationError as e:
        problems.report(SnapshotFieldError(name, *shape_problem(e)))
        return None
    values: dict[str, Any] = {f: getattr(loose, f) for f in loose.__struct_fields__}
    broken: set[str] = set()
    for key, entry_type in _decode.list_fields(shape).items():  # type: ignore[arg-type]
        listed = values[key]
        if listed is None:
            continue
        if not isinstance(listed, list):
            broken.add(key)
            values[key] = None
            problems.report(
                SnapshotFieldError(name, key, f"expected a list, got {_type_name(listed)}")
            )
            continue
        kept = []
        for i, entry in enumerate(listed):
            try:
                kept.append(msgspec.convert(entry, entry_type))
            except msgspec.ValidationError as e:
                broken.add(key)
                problems.report(SnapshotFieldError(name, *shape_problem(e, f"{key}[{i}]")))
        values[key] = kept
    return shape(**values), frozenset(broken)


def _address(text: str, version: int, source: _Item, path: Callable[[], str]) -> int:
    item = _name(source, "network interface", "NetworkInterfaceId")
    try:
        return int.from_bytes(socket.inet_pton(_FAMILY[version], text), "big")
    except (OSError, ValueError):
        pass
    try:
        socket.inet_pton(_FAMILY[10 - version], text)
    except (OSError, ValueError):
        raise SnapshotFieldError(item, path(), f"malformed IP address {text!r:.60}") from None
    raise SnapshotFieldError(item, path(), f"{text!r} is not an IPv{version} address")


def _prefix(text: str, version: int, source: _Item, path: Callable[[], str]) -> int:
    """The network address of a delegated prefix given as text (checked: family, host bits,
    the one length EC2 delegates)."""

    def fail(problem: str) -> SnapshotFieldError:
        return SnapshotFieldError(
            _name(source, "network interface", "NetworkInterfaceId"), path(), problem
        )

    addr, slash, length = text.partition("/")
    bits = 32 if version == 4 else 128
    try:
        value: int | None = int.from_bytes(socket.inet_pton(_FAMILY[version], addr), "big")
    except (OSError, ValueError):
        value = None
    if value is None or not slash or not (length.isascii() and length.isdigit()):
        try:
            socket.inet_pton(_FAMILY[10 - version], addr)
            wrong_family = bool(slash)
        except (OSError, ValueError):
            wrong_family = False
        problem = f"is not IPv{version}" if wrong_family else "is malformed"
        raise fail(f"prefix {text!r:.60} {problem}")
    plen = int(length[:4])
    if plen > bits or len(length) > 3:
        raise fail(f"prefix {text!r:.60} is malformed")
    if value & ((1 << (bits - plen)) - 1):
        raise fail(f"prefix {text!r} has host bits set")
    if plen != _PREFIX_LEN[version]:
        raise fail(
            f"prefix {text!r} is a /{plen}; EC2 delegates /{_PREFIX_LEN[version]} prefixes only",
        )
    return value


def _network(text: str, version: int, item: str, path: str, what: str) -> _Net:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        problem = "has host bits set" if "host bits" in str(e) else "is malformed"
        raise SnapshotFieldError(item, path, f"{what} {text!r:.60} {problem}") from None
    if net.version != version:
        raise SnapshotFieldError(item, path, f"{what} {text!r} is not IPv{version}")
    return net


def _subnet_cidr(text: str, version: int, item: str, path: str) -> _Net:
    """A subnet CIDR, refused unless a VPC subnet can have that size (before any allocation)."""
    net = _network(text, version, item, path, "CIDR")
    sizes = AWS_SUBNET_PREFIXLEN[version]
    if net.prefixlen not in sizes:
        raise SnapshotFieldError(
            item,
            path,
            f"CIDR {text} is a /{net.prefixlen}; AWS IPv{version} subnets are "
            f"/{sizes[0]} to /{sizes[-1]}",
        )
    return net


def _parse_subnet(item: _Item, problems: _Problems) -> _SubnetRecord | None:
    name = _name(item, "subnet", "SubnetId")
    found = _shape_of(item, SubnetShape, name, problems)
    if found is None:
        return None
    shape, broken = found
    try:
        cidr4 = None
        if shape.CidrBlock is not None:
            net = _subnet_cidr(shape.CidrBlock, 4, name, "CidrBlock")
            assert isinstance(net, ipaddress.IPv4Network)
            cidr4 = net
            if shape.AvailableIpAddressCount is None:
                raise SnapshotFieldError(name, "AvailableIpAddressCount", "missing")
        elif shape.Ipv6Native is not True:
            raise SnapshotFieldError(name, "CidrBlock", "missing")
        cidr6 = None
        if "Ipv6CidrBlockAssociationSet" not in broken:
            for i, assoc in enumerate(shape.Ipv6CidrBlockAssociationSet or ()):
                path = f"Ipv6CidrBlockAssociationSet[{i}]"
                state = assoc.Ipv6CidrBlockState
                if state is not None and state.State not in (None, "associated"):
                    continue  # associating / disassociated ...: not usable address space
                if assoc.Ipv6CidrBlock is None:
                    raise SnapshotFieldError(name, f"{path}.Ipv6CidrBlock", "missing")
                net6 = _subnet_cidr(assoc.Ipv6CidrBlock, 6, name, f"{path}.Ipv6CidrBlock")
                if cidr6 is not None:
                    raise SnapshotFieldError(
                        name, path, f"a second associated IPv6 CIDR {net6} (already {cidr6})"
                    )
                assert isinstance(net6, ipaddress.IPv6Network)
                cidr6 = net6
    except SnapshotFieldError as e:
        problems.report(e)
        return None
    return _SubnetRecord(shape.SubnetId, item.where, item.data, shape, cidr4, cidr6)


def _parse_interface(item: _Item, problems: _Problems) -> _Interface | None:
    name = _name(item, "network interface", "NetworkInterfaceId")
    found = _shape_of(item, Interface, name, problems)
    if found is None:
        return None
    shape, broken = found
    return _interface(item, shape, broken, problems)


def _prefixes(
    entries: Sequence[Any], key: str, version: int, item: _Item, problems: _Problems
) -> list[_Listed]:
    sub_key = key[:-2]  # Ipv4Prefixes -> Ipv4Prefix
    out: list[_Listed] = []
    for i, entry in enumerate(entries):
        text = getattr(entry, sub_key)
        try:
            value = _prefix(text, version, item, lambda: f"{key}[{i}].{sub_key}")  # noqa: B023
        except SnapshotFieldError as e:
            problems.report(e)
            continue
        out.append((i, value, text))
    return out


def _addresses(
    shape: Interface, version: int, item: _Item, broken: frozenset[str], problems: _Problems
) -> list[_Listed]:
    """The addresses of one family: the list, or the top-level primary address alone."""
    key, list_key, _, _ = _FIELDS[version]
    primary: str | None = getattr(shape, key)
    entries: Sequence[Any] | None = getattr(shape, list_key)
    texts = [getattr(e, key) for e in entries] if entries else []
    out: list[_Listed] = []
    seen: dict[int, int] = {}
    family, pton, from_bytes = _FAMILY[version], socket.inet_pton, int.from_bytes
    reported = False
    for i, text in enumerate(texts):
        try:
            value = from_bytes(pton(family, text), "big")
        except (OSError, ValueError):
            path = f"{list_key}[{i}].{key}"
            try:
                value = _address(text, version, item, lambda: path)  # noqa: B023
            except SnapshotFieldError as e:
                problems.report(e)
                reported = True
                continue
        if value in seen:
            problems.report(
                SnapshotFieldError(
                    _name(item, "network interface", "NetworkInterfaceId"),
                    f"{list_key}[{i}].{key}",
                    f"duplicate address {text} (also {list_key}[{seen[value]}])",
                )
            )
            reported = True
            continue
        seen[value] = i
        out.append((i, value, text))
    if primary is None or reported or list_key in broken:
        return out  # a broken list was reported already; no guessing around it
    try:
        try:
            value = from_bytes(pton(family, primary), "big")
        except (OSError, ValueError):
            value = _address(primary, version, item, lambda: key)
        if value in seen:
            return out  # the usual case: the primary address repeated in the list
        if entries is None:
            out.append((-1, value, primary))
        else:
            raise SnapshotFieldError(
                _name(item, "network interface", "NetworkInterfaceId"),
                key,
                f"{primary} is not among {list_key}",
            )
    except SnapshotFieldError as e:
        problems.report(e)
    return out


def _interface(
    item: _Item, shape: Interface, broken: frozenset[str], problems: _Problems
) -> _Interface:
    return _Interface(
        shape.NetworkInterfaceId,
        shape.SubnetId,
        item,
        shape,
        _addresses(shape, 4, item, broken, problems),
        _prefixes(shape.Ipv4Prefixes, "Ipv4Prefixes", 4, item, problems)
        if shape.Ipv4Prefixes
        else [],
        _addresses(shape, 6, item, broken, problems)
        if shape.Ipv6Addresses or shape.Ipv6Address
        else [],
        _prefixes(shape.Ipv6Prefixes, "Ipv6Prefixes", 6, item, problems)
        if shape.Ipv6Prefixes
        else [],
    )


def _parse_reservation(item: _Item, problems: _Problems) -> _ReservationRecord | None:
    name = _name(item, "CIDR reservation", "SubnetCidrReservationId")
    found = _shape_of(item, CidrReservation, name, problems)
    if found is None:
        return None
    shape = found[0]
    try:
        text = shape.Cidr
        version = 6 if ":" in text else 4
        listed = {"SubnetIpv4CidrReservations": 4, "SubnetIpv6CidrReservations": 6}.get(
            item.key or "", version
        )
        if listed != version:
            raise SnapshotFieldError(
                name, "Cidr", f"{text!r} is listed under {item.key}, it is not IPv{listed}"
            )
        cidr = _network(text, version, name, "Cidr", "CIDR")
        if shape.ReservationType not in _RESERVATION_TYPES:
            raise SnapshotFieldError(
                name,
                "ReservationType",
                f"{shape.ReservationType!r:.40} is neither 'prefix' nor 'explicit'",
            )
    except SnapshotFieldError as e:
        problems.report(e)
        return None
    return _ReservationRecord(
        shape.SubnetId,
        name,
        item.data,
        cidr,
        "prefix" if shape.ReservationType == "prefix" else "explicit",
        shape.SubnetCidrReservationId,
        shape.Description,
    )


# --------------------------------------------------------------------------- building


def _same(a: object, b: object) -> bool:
    try:
        return a == b
    except RecursionError:  # absurdly nested copies: not worth telling apart
        return False


def _dedupe(
    records: Sequence[_T],
    key: Callable[[_T], object],
    data: Callable[[_T], object],
    noun: Callable[[_T], str],
    problems: _Problems,
    notes: list[str],
) -> dict[object, _T]:
    """First record per id; identical repeats are noted, conflicting ones are errors."""
    out: dict[object, _T] = {}
    for record in records:
        ident = key(record)
        if ident not in out:
            out[ident] = record
        elif _same(data(out[ident]), data(record)):
            notes.append(f"{noun(record)} is listed more than once (identical copies ignored)")
        else:
            problems.report(
                SnapshotFieldError(noun(record), "(item)", "listed twice with different content")
            )
    return out


def _subnet_info(record: _SubnetRecord, family: int) -> dict[str, Any]:
    shape = record.shape
    info: dict[str, Any] = {"subnet_id": record.subnet_id}
    for value, info_key in (
        (shape.VpcId, "vpc_id"),
        (shape.AvailabilityZone, "availability_zone"),
        (shape.AvailabilityZoneId, "availability_zone_id"),
    ):
        if value is not None:
            info[info_key] = value
    if family == 4:
        info["available_ip_address_count"] = shape.AvailableIpAddressCount
    if record.cidr4 is not None:
        info["ipv4_cidr"] = str(record.cidr4)
    if record.cidr6 is not None:
        info["ipv6_cidr"] = str(record.cidr6)
    for tag in shape.Tags or ():
        if tag.Key == "Name":
            info["name_tag"] = tag.Value or ""
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


def _facts(shape: Interface) -> InterfaceFacts:
    attachment = shape.Attachment
    return InterfaceFacts(
        shape.InterfaceType or "",
        (shape.Description or "").strip(),
        shape.RequesterId or "",
        shape.Status or "",
        {t.Key: t.Value or "" for t in shape.TagSet} if shape.TagSet else {},
        (attachment.InstanceId or None) if attachment else None,
        attachment.DeviceIndex if attachment else None,
        attachment.NetworkCardIndex if attachment else None,
        (shape.Operator.Principal or "") if shape.Operator else "",
        shape.NetworkInterfaceId,
    )


@lru_cache(maxsize=4096)
def _verdict_info(c: Classification) -> dict[str, Any]:
    """The owner info keys of a verdict (verdicts repeat: built once each; never changed)."""
    return {
        "kind": c.kind.value,
        "label": c.label,
        "is_eks": c.is_eks,
        "drainable": c.kind.drainable,
    }


def _owner_info(
    shape: Interface, c: Classification, instances: Mapping[str, Any]
) -> dict[str, Any]:
    """The owner info of an interface: built here once; the subnet keeps its own copy.

    ``instances`` holds the names and states :func:`~ipfrag.aws.live.read_live` read
    (snapshot metadata ``instances``); the interface's instance gets them.
    """
    attachment = shape.Attachment
    info: dict[str, Any] = {
        "interface_type": shape.InterfaceType,
        "description": shape.Description,
        "status": shape.Status,
        "requester_id": shape.RequesterId,
        "vpc_id": shape.VpcId,
        "availability_zone": shape.AvailabilityZone,
        "requester_managed": shape.RequesterManaged,
    }
    if attachment is not None:
        info["instance_id"] = attachment.InstanceId
        info["device_index"] = attachment.DeviceIndex
    if None in info.values():  # absent in AWS: absent here
        info = {k: v for k, v in info.items() if v is not None}
    info.update(_verdict_info(c))
    if c.instance_id is not None:
        info["instance_id"] = c.instance_id
    if instances:
        known = instances.get(info.get("instance_id", ""))
        if isinstance(known, Mapping):
            for key in ("name", "state"):
                if isinstance(known.get(key), str):
                    info[f"instance_{key}"] = known[key]
    return info


def _interfaces(items: Sequence[_Item], problems: _Problems) -> list[_Interface]:
    try:  # the usual case, at C speed: every item well-formed
        shapes = msgspec.convert([i.data for i in items], list[Interface])
    except msgspec.ValidationError:
        return [e for e in (_parse_interface(i, problems) for i in items) if e]
    none: frozenset[str] = frozenset()
    return [_interface(i, shape, none, problems) for i, shape in zip(items, shapes, strict=True)]


def _listed(eni: _Interface, family: int) -> bool:
    """Whether the interface lists addresses or prefixes of the family."""
    return (
        bool(eni.ipv4 or eni.ipv4_prefixes) if family == 4 else bool(eni.ipv6 or eni.ipv6_prefixes)
    )


def _allocate_in_bulk(snapshot: Snapshot, enis: Iterable[_Interface], family: int) -> set[str]:
    """Allocate every subnet's addresses and prefixes in one atomic bulk call per subnet.

    Returns the subnets whose data the bulk call refused (a duplicate address, one outside
    the subnet ...): left unchanged, for the item-by-item path to report precisely.
    """
    groups: dict[str, list[_Interface]] = defaultdict(list)
    for eni in enis:
        if eni.subnet_id in snapshot:
            groups[eni.subnet_id].append(eni)
    failed: set[str] = set()
    for subnet_id, group in groups.items():
        # Addresses, then prefixes; the order of a batch changes nothing but its error.
        entries: list[AllocationEntry]
        if family == 4:
            entries = [(value, eni.eni_id, "ip") for eni in group for _, value, _ in eni.ipv4]
            entries += [(t, eni.eni_id, "prefix") for eni in group for _, _, t in eni.ipv4_prefixes]
        else:
            entries = [(value, eni.eni_id, "ip") for eni in group for _, value, _ in eni.ipv6]
            entries += [(t, eni.eni_id, "prefix") for eni in group for _, _, t in eni.ipv6_prefixes]
        try:
            snapshot[subnet_id].allocate_many(entries)
        except IpfragError:
            failed.add(subnet_id)
    return failed


class _Bail(Exception):
    """Raised by the fast lane at input it does not take exactly as the careful path would
    (anything the careful path reports, notes or places item by item): start over carefully."""


_ID = attrgetter("NetworkInterfaceId")
_SUBNET_ID = attrgetter("SubnetId")


def _compiled_scan() -> Any:
    """``ipfrag.aws._cscan`` when it was built and ``IPFRAG_PURE`` is not set, else None."""
    if os.environ.get("IPFRAG_PURE", "").strip() not in ("", "0"):
        return None
    try:
        from ipfrag.aws import _cscan
    except ImportError:  # pragma: no cover - built without a C compiler
        return None
    return _cscan


_CSCAN = _compiled_scan()


class _Scan(NamedTuple):
    """What the fast lane needs of the interfaces: per interface its id, subnet id, group key
    (:func:`_group_key`) and how many addresses and prefixes of the loaded family it lists;
    those as bulk entries, in order; the other family's prefix texts (still to check)."""

    ids: list[str]
    subnet_ids: list[str]
    keys: list[tuple[Any, ...]]
    singles: list[tuple[int, str, Literal["ip"]]]
    single_counts: list[int]
    prefixes: list[tuple[str, str, Literal["prefix"]]]
    prefix_counts: list[int]
    other_prefixes: list[str]


def _group_key(shape: Interface) -> tuple[Any, ...]:
    """Every field of an interface that classification or owner info read, but the values
    of the tags classification does not read (:data:`~ipfrag.aws.classify._VALUE_TAGS`):
    interfaces with one key get one verdict and one owner info."""
    a, op, tags, read = shape.Attachment, shape.Operator, shape.TagSet, _VALUE_TAGS
    return (
        (
            shape.InterfaceType,
            shape.Description,
            shape.Status,
            shape.RequesterId,
            shape.VpcId,
            shape.AvailabilityZone,
            shape.RequesterManaged,
            None if a is None else (a.InstanceId, a.DeviceIndex, a.NetworkCardIndex),
            None if op is None else op.Principal,
        ),
        tuple([x for t in tags for x in (t.Key, t.Value if t.Key in read else None)])
        if tags
        else None,
    )


def _listed_addresses(shapes: Sequence[Interface], version: int) -> list[list[int]]:
    """Each interface's addresses of the family, as ints; :class:`_Bail` if one does not
    parse, the top-level primary address is not listed (or is in another spelling), or an
    address is listed twice on one interface: what the careful path reports."""
    key, list_key = _FIELDS[version][:2]
    family, pton, from_bytes = _FAMILY[version], socket.inet_pton, int.from_bytes
    text_of, lists = attrgetter(key), list(map(attrgetter(list_key), shapes))
    try:
        values = [
            [from_bytes(pton(family, text_of(e)), "big") for e in listed] if listed else []
            for listed in lists
        ]
    except (OSError, ValueError, TypeError):
        raise _Bail from None
    # The primary address must be listed (AWS lists it first).
    primaries = list(map(text_of, shapes))
    if primaries != [text_of(listed[0]) if listed else None for listed in lists]:
        for primary, listed in zip(primaries, lists, strict=True):
            if primary is not None and not (listed and any(text_of(e) == primary for e in listed)):
                raise _Bail
    if any(len(set(v)) != len(v) for v in values if len(v) > 1):
        raise _Bail
    return values


def _scan_py(datas: list[object], version: int) -> _Scan:
    """The fast lane's scan of the interface items (msgspec validates them), or
    :class:`_Bail`; the compiled ``ipfrag.aws._cscan.scan`` is its twin (the same result, or
    None to leave the decision here). O(interfaces + addresses + tags)."""
    try:
        shapes = msgspec.convert(datas, list[Interface])
    except msgspec.ValidationError:
        raise _Bail from None
    ids = list(map(_ID, shapes))
    values = _listed_addresses(shapes, version)
    _listed_addresses(shapes, 10 - version)  # checked, never allocated
    prefix_key, prefix_sub = _FIELDS[version][2:]
    prefix_lists = [getattr(s, prefix_key) or [] for s in shapes]
    other_key, other_sub = _FIELDS[10 - version][2:]
    return _Scan(
        ids,
        list(map(_SUBNET_ID, shapes)),
        list(map(_group_key, shapes)),
        [(v, eni, "ip") for eni, vs in zip(ids, values, strict=True) for v in vs],
        list(map(len, values)),
        [
            (getattr(e, prefix_sub), eni, "prefix")
            for eni, listed in zip(ids, prefix_lists, strict=True)
            for e in listed
        ],
        list(map(len, prefix_lists)),
        [getattr(e, other_sub) for s in shapes for e in getattr(s, other_key) or ()],
    )


_NO_ITEM = _Item(None, "")


def _check_prefix(text: str, version: int) -> None:
    """:func:`_prefix`'s checks, :class:`_Bail` instead of its error."""
    try:
        _prefix(text, version, _NO_ITEM, str)
    except SnapshotFieldError:
        raise _Bail from None


def _place_fast(
    snapshot: Snapshot,
    interface_items: Sequence[_Item],
    family: int,
    instances: Mapping[str, Any],
    problems: _Problems,
    notes: list[str],
) -> dict[str, int]:
    """:func:`_place_carefully`'s result for clean input, in bulk: no per-interface records,
    one bulk allocation per subnet; :class:`_Bail` at the first thing the careful path
    would report or note (then nothing of this attempt is kept)."""
    datas = [i.data for i in interface_items]
    scanned = None if _CSCAN is None else _CSCAN.scan(datas, family, _VALUE_TAGS)
    scan = _scan_py(datas, family) if scanned is None else _Scan(*scanned)
    ids = scan.ids
    if len(set(ids)) != len(ids):
        raise _Bail  # listed twice: noted or reported by the careful path
    for text in scan.other_prefixes:  # checked, never allocated
        _check_prefix(text, 10 - family)
    for text, _, _ in scan.prefixes:
        _check_prefix(text, family)
    subnet_ids = scan.subnet_ids
    groups: dict[str, Sequence[int]]
    if len(set(subnet_ids)) == 1:  # the usual case: one subnet's interfaces
        groups = {subnet_ids[0]: range(len(ids))}
    else:
        groups = defaultdict(list)
        for i, subnet_id in enumerate(subnet_ids):
            groups[subnet_id].append(i)  # type: ignore[attr-defined]

    def part(values: Sequence[_T], indices: Sequence[int]) -> Sequence[_T]:
        return values if len(indices) == len(values) else [values[i] for i in indices]

    def entries(found: list[_T], counts: list[int], indices: Sequence[int]) -> list[_T]:
        if len(indices) == len(counts):
            return found
        starts = [0, *accumulate(counts)]
        return [e for i in indices for e in found[starts[i] : starts[i + 1]]]

    elsewhere: dict[str, int] = {}
    for subnet_id, indices in groups.items():
        subnet = snapshot.get(subnet_id)
        if subnet is None:
            elsewhere[subnet_id] = len(indices)  # checked by the scan, never allocated
            continue
        try:
            # Addresses (ints: allocate_many's quickest path), then prefixes, as the careful
            # path orders them; a refusal of either discards this whole attempt.
            singles = entries(scan.singles, scan.single_counts, indices)
            subnet.allocate_many(singles)
            prefixes = entries(scan.prefixes, scan.prefix_counts, indices)
            subnet.allocate_many(prefixes)
        except IpfragError:
            raise _Bail from None  # the careful path names the item and the field
    infos = _shared_owner_infos(datas, ids, scan.keys, instances)
    held = [bool(a or p) for a, p in zip(scan.single_counts, scan.prefix_counts, strict=True)]
    for subnet_id, indices in groups.items():
        if subnet_id in snapshot:  # info for the interfaces holding addresses of the family
            owners = zip(part(ids, indices), part(infos, indices), strict=True)
            snapshot[subnet_id].set_owner_infos(dict(compress(owners, part(held, indices))))
    return elsewhere


def _shared_owner_infos(
    datas: Sequence[object],
    ids: Sequence[str],
    keys: Sequence[tuple[Any, ...]],
    instances: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Every interface's :func:`_owner_info`, built once per group of interfaces with one
    :func:`_group_key` (one dict object per group): all the pod ENIs on one trunk, say.

    The trunk ENIs' nodes are learned from all interfaces; one interface of each group is
    decoded again and classified. O(interfaces), and O(groups) classifications.
    """
    index: dict[tuple[Any, ...], int] = {}
    which = [index.setdefault(key, len(index)) for key in keys]  # each interface's group
    firsts: list[int] = []  # the first interface of each group (groups are numbered in order)
    for i, n in enumerate(which):
        if n == len(firsts):
            firsts.append(i)
    flat = [key[0] for key in keys]  # InterfaceType first, the attachment 8th (_group_key)
    trunk_nodes = _trunk_nodes(
        (eni, f[0], None if f[7] is None else f[7][0]) for eni, f in zip(ids, flat, strict=True)
    )
    try:
        shapes = msgspec.convert([datas[i] for i in firsts], list[Interface])
    except msgspec.ValidationError:  # pragma: no cover - scanned: they are well-formed
        raise _Bail from None
    verdicts = _classify_all([_facts(s) for s in shapes], trunk_nodes)
    built = [_owner_info(s, v, instances) for s, v in zip(shapes, verdicts, strict=True)]
    return [built[n] for n in which]


def _place_carefully(
    snapshot: Snapshot,
    interface_items: Sequence[_Item],
    family: int,
    instances: Mapping[str, Any],
    problems: _Problems,
    notes: list[str],
) -> dict[str, int]:
    """Allocate the interfaces' addresses and prefixes and attach their owner info, each
    problem named by interface and field; returns the interfaces per subnet not loaded."""
    by_id = _dedupe(
        _interfaces(interface_items, problems),
        lambda e: e.eni_id,
        lambda e: e.data,
        lambda e: f"network interface {e.eni_id}",
        problems,
        notes,
    )
    # Classified all together: a node's VPC CNI ENIs tell that its primary ENI is an EKS node's.
    kinds = classify_interfaces(_facts(e.shape) for e in by_id.values())
    elsewhere: dict[str, int] = defaultdict(int)
    top_key, list_key, prefix_key, prefix_sub = _FIELDS[family]
    bulk_failed = _allocate_in_bulk(snapshot, by_id.values(), family)
    for eni, kind in zip(by_id.values(), kinds, strict=True):
        subnet = snapshot.get(eni.subnet_id)
        if subnet is None:
            elsewhere[eni.subnet_id] += 1
            continue
        owner = eni.eni_id
        if eni.subnet_id not in bulk_failed:
            if _listed(eni, family):
                subnet.set_owner_info(owner, _owner_info(eni.shape, kind, instances))
            continue
        # The bulk allocation refused this subnet's data: one item at a time, so that
        # each problem names its interface and field (and lenient mode skips just it).
        placed = 0
        for i, value, text in eni.ipv4 if family == 4 else eni.ipv6:
            try:
                subnet.allocate_ip(value, owner=owner)
                placed += 1
            except IpfragError as e:
                path = top_key if i < 0 else f"{list_key}[{i}].{top_key}"
                problem = _allocation_problem(e, subnet, eni.subnet_id, "address", text)
                problems.report(SnapshotFieldError(eni.item, path, problem))
        for i, _, text in eni.ipv4_prefixes if family == 4 else eni.ipv6_prefixes:
            try:
                subnet.allocate_prefix(text, owner=owner)
                placed += 1
            except IpfragError as e:
                problem = _allocation_problem(e, subnet, eni.subnet_id, "prefix", text)
                problems.report(
                    SnapshotFieldError(eni.item, f"{prefix_key}[{i}].{prefix_sub}", problem)
                )
        if placed:
            subnet.set_owner_info(owner, _owner_info(eni.shape, kind, instances))
    return elsewhere


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
    with paused_gc():
        for fast in (True, False):
            try:
                return _build_subnets(
                    subnet_items,
                    interface_items,
                    reservation_items,
                    family=family,
                    lenient=lenient,
                    metadata=metadata,
                    policy=policy,
                    seed=seed,
                    fast=fast,
                )
            except _Bail:
                continue  # input the fast lane does not take: start over on the careful path
    raise AssertionError("the careful path never bails")  # pragma: no cover


def _build_subnets(
    subnet_items: Sequence[_Item],
    interface_items: Sequence[_Item],
    reservation_items: Sequence[_Item],
    *,
    family: Literal[4, 6],
    lenient: bool,
    metadata: Mapping[str, Any],
    policy: Policy,
    seed: int | None,
    fast: bool,
) -> Snapshot:
    problems = _Problems(lenient)
    notes: list[str] = []
    raw = _raw_from_items(subnet_items, interface_items, reservation_items, metadata)
    snapshot = Snapshot(family=family, raw=raw)

    parsed_subnets = [r for r in (_parse_subnet(i, problems) for i in subnet_items) if r]
    records: dict[Any, _SubnetRecord] = _dedupe(
        parsed_subnets,
        lambda r: r.subnet_id,
        lambda r: r.data,
        lambda r: f"subnet {r.subnet_id}",
        problems,
        notes,
    )
    parsed_reservations = [
        r for r in (_parse_reservation(i, problems) for i in reservation_items) if r
    ]
    reservations = _dedupe(
        parsed_reservations,
        lambda r: (r.subnet_id, r.reservation_id or str(r.cidr)),
        lambda r: r.data,
        lambda r: r.item,
        problems,
        notes,
    ).values()
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
        info = _subnet_info(record, family)
        if reservation_ids.get(subnet_id):
            info["cidr_reservation_ids"] = reservation_ids[subnet_id]
        snapshot[subnet_id] = Subnet(str(cidr), name=subnet_id, info=info, policy=policy, seed=seed)

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
        except IpfragError as e:
            problems.report(SnapshotFieldError(res.item, "Cidr", f"{res.cidr}: {e}"))

    listed = metadata.get("instances")
    instances: Mapping[str, Any] = listed if isinstance(listed, Mapping) else {}
    place = _place_fast if fast else _place_carefully
    elsewhere = place(snapshot, interface_items, family, instances, problems, notes)
    for subnet_id, count in sorted(elsewhere.items()):
        why = (
            f"has no IPv{family} CIDR"
            if subnet_id in other_family
            else "is not in the describe-subnets data"
        )
        notes.append(f"skipped {count} network interface(s) of subnet {subnet_id}, which {why}")

    if family == 4:
        for subnet_id, subnet in snapshot.items():
            reported = records[subnet_id].shape.AvailableIpAddressCount
            if reported is not None and reported != subnet.free_addresses:
                mismatch = Mismatch(subnet_id, str(subnet.cidr), reported, subnet.free_addresses)
                snapshot.mismatches.append(mismatch)
                problems.warnings.append(str(mismatch))
    if metadata.get("auto_mode") is True:
        notes.append(
            f"cluster {metadata.get('cluster')} runs EKS Auto Mode: its nodes take /28 "
            "prefixes, so free aligned /28s are what new nodes and pods need"
        )
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
    allocated to the ENI id, and its metadata kept through
    :meth:`~ipfrag.Subnet.set_owner_info`: ``instance_id``, ``device_index``,
    ``interface_type``, ``description``, ``requester_id``, ``requester_managed``,
    ``status``, ``vpc_id``, ``availability_zone`` as AWS gives them, and the classification
    (:mod:`ipfrag.aws.classify`): ``kind``, ``label``, ``is_eks`` and ``drainable``
    (whether draining an EKS node frees the addresses; a pod branch ENI's ``instance_id`` is
    its node's), plus ``instance_name``/``instance_state`` when the snapshot was read live
    (:func:`~ipfrag.aws.live.read_live` records them). Subnet info holds ``subnet_id``,
    ``vpc_id``, ``availability_zone`` and (IPv4) ``available_ip_address_count``.

    ``policy`` and ``seed`` are given to every built :class:`~ipfrag.Subnet`, so what-if
    allocations on a loaded snapshot are reproducible. Bad arguments (``family=5``, an
    unknown policy, a seed that is not an integer) raise :class:`~ipfrag.InvalidArgument` or
    :class:`~ipfrag.InvalidType` for the whole call, whatever ``lenient`` says.

    Raises :class:`SnapshotFieldError` for broken items (or, with ``lenient=True``,
    records a warning and skips the item); see the module documentation.
    Cost: O(n) allocations on the subnets, n = addresses and prefixes listed.

    >>> snap = load_snapshot({"Subnets": [{"SubnetId": "subnet-1", "CidrBlock": "10.0.0.0/28",
    ...                                    "AvailableIpAddressCount": 11}]},
    ...                      {"NetworkInterfaces": []})
    >>> snap["subnet-1"].free_addresses, snap.mismatches
    (11, [])
    """
    _check_options(family, lenient, policy, seed)
    with paused_gc():  # one pause for the whole load (the collector then runs once)
        s_items, i_items, r_items, metadata = _collect_all(
            subnets, network_interfaces, cidr_reservations
        )
        return _build(
            s_items,
            i_items,
            r_items,
            family=family,
            lenient=lenient,
            metadata=metadata,
            policy=policy,
            seed=seed,
        )
