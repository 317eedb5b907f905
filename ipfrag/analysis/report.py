"""The fragmentation report: ``analyze(subnet, prefixlen)``.

Every aligned block of the size (a /28 by default, IPv6 /80) falls in exactly one
class, with the AWS support tool's precedence (awslabs/aws-support-tools,
``EKS/subnet-fragmentation``): ``prefix_allocated`` (an allocated prefix covers it),
then ``reserved`` (it holds an address AWS reserves), then by use: ``free``,
``full`` or ``fragmented``. Blocks overlapping a ``prefix`` or ``explicit`` CIDR
reservation are counted apart, whatever their class.

The score is the support tool's, ``ceil(100 * (fragmented + full) / (free +
fragmented + full))``, with one deliberate difference: rounding up reports 100 while
a free block remains once there are more than 100 candidate blocks, so ipfrag caps
the score at 99 while any candidate block is free. Severity bands: HEALTHY < 25 <=
LOW < 50 <= MEDIUM < 75 <= HIGH < 100 <= CRITICAL (some block fragmented) or
EXHAUSTED (every candidate block full).

Only blocks that hold used addresses are ever enumerated (they come from the
allocations); free blocks are counted from the buddy histogram, so an IPv6 /64 with
its 2**48 /80 blocks costs no more than its allocations.

>>> import ipfrag
>>> s = ipfrag.Subnet("10.0.0.0/24")
>>> _ = s.allocate_ip("10.0.0.17", owner="eni-1")
>>> r = ipfrag.analyze(s)
>>> r.blocks["free"], r.blocks["fragmented"], r.blocks["reserved"], r.score.value
(13, 1, 2, 8)
"""

from __future__ import annotations

import bisect
import copy
import enum
import heapq
import ipaddress
import itertools
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipfrag._gc import paused_gc
from ipfrag.errors import InvalidArgument, InvalidType, IpfragError
from ipfrag.subnet import Network, Subnet

if TYPE_CHECKING:
    import pandas

__all__ = [
    "BLOCK_CLASSES",
    "MAX_LISTED",
    "BlockInfo",
    "ExtraMissing",
    "Holders",
    "Interface",
    "Report",
    "Score",
    "Severity",
    "analyze",
    "block_prefixlen",
    "fragmentation_score",
    "holders_by_kind",
    "interfaces",
    "score",
    "severity",
]

#: The block classes, in the support tool's precedence order.
BLOCK_CLASSES = ("prefix_allocated", "reserved", "free", "full", "fragmented")
#: Listings (fragmented block details, per-block frames of huge spaces) stop here and say so.
MAX_LISTED = 4096


class ExtraMissing(IpfragError, ImportError):
    """An optional dependency (an ipfrag extra such as ``[plot]`` or ``[pandas]``) is missing.

    >>> issubclass(ExtraMissing, IpfragError) and issubclass(ExtraMissing, ImportError)
    True
    """


class Severity(str, enum.Enum):
    """The support tool's severity bands for the fragmentation score (stable JSON strings).

    >>> Severity("HIGH") is Severity.HIGH, Severity.EXHAUSTED.value
    (True, 'EXHAUSTED')
    """

    HEALTHY = "HEALTHY"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"
    EXHAUSTED = "EXHAUSTED"


@dataclass(frozen=True, slots=True)
class Score:
    """The fragmentation score of one block size, and the counts it comes from.

    ``value`` is None (and ``severity`` None) when there is no candidate block.

    >>> Score.of(free=1, fragmented=150, full=0)
    Score(value=99, severity=<Severity.HIGH: 'HIGH'>, free=1, fragmented=150, full=0)
    >>> Score.of(free=0, fragmented=0, full=3).severity.value
    'EXHAUSTED'
    """

    value: int | None
    severity: Severity | None
    free: int
    fragmented: int
    full: int

    @classmethod
    def of(cls, free: int, fragmented: int, full: int) -> Score:
        """Score and severity of candidate block counts (the one place the formula lives). O(1).

        >>> Score.of(3, 1, 0).value, Score.of(3, 1, 0).severity.value
        (25, 'LOW')
        """
        candidates = free + fragmented + full
        if candidates == 0:
            return cls(None, None, free, fragmented, full)
        spoiled = fragmented + full
        value = -(-100 * spoiled // candidates)  # ceil, in integers
        if free and value > 99:
            value = 99
        if value < 25:
            sev = Severity.HEALTHY
        elif value < 50:
            sev = Severity.LOW
        elif value < 75:
            sev = Severity.MEDIUM
        elif value < 100:
            sev = Severity.HIGH
        else:
            sev = Severity.CRITICAL if fragmented else Severity.EXHAUSTED
        return cls(value, sev, free, fragmented, full)


@dataclass(frozen=True, slots=True)
class Holders:
    """The addresses one kind of owner holds in a subnet (see :func:`holders_by_kind`).

    >>> Holders("lambda", interfaces=2, addresses=2, prefixes=0).total
    2
    """

    kind: str
    interfaces: int  # distinct owners of this kind
    addresses: int  # single addresses: these are what spoil /28s
    prefixes: int
    prefix_addresses: int = 0

    @property
    def total(self) -> int:
        """Addresses held in all: single ones plus those inside prefixes. O(1).

        >>> Holders("eks_node_primary", 1, addresses=2, prefixes=1, prefix_addresses=16).total
        18
        """
        return self.addresses + self.prefix_addresses


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """One aligned block of the report's size: its class, use and holders.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/26"); _ = s.allocate_ip("10.0.0.17", owner="eni-1")
    >>> b = ipfrag.analyze(s).block("10.0.0.16/28"); b.cls, b.used, b.holders
    ('fragmented', 1, ('eni-1',))
    """

    cidr: Network
    cls: str
    used: int  # allocated addresses (AWS-reserved ones not counted)
    free: int
    reservations: tuple[str, ...]  # kinds of the CIDR reservations it overlaps
    holders: tuple[str, ...]


# --------------------------------------------------------------------------- helpers


def block_prefixlen(subnet: Subnet, prefixlen: object = None) -> int:
    """A validated block prefix length for ``subnet`` (its default when None). O(1).

    Raises :class:`~ipfrag.InvalidType` for a non-integer and
    :class:`~ipfrag.InvalidArgument` for a length the family cannot have or one
    shorter than the subnet's own.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/24")
    >>> block_prefixlen(s), block_prefixlen(s, 26)
    (28, 26)
    >>> block_prefixlen(s, 33)
    Traceback (most recent call last):
    ...
    ipfrag.errors.InvalidArgument: prefix length /33 is not an IPv4 length (0..32)
    """
    if not isinstance(subnet, Subnet):
        raise InvalidType(f"expected an ipfrag.Subnet, not {type(subnet).__name__}")
    if prefixlen is None:
        return subnet.default_prefixlen
    if not isinstance(prefixlen, int) or isinstance(prefixlen, bool):
        raise InvalidType(f"prefix length must be an int, not {prefixlen!r}")
    top = subnet.cidr.max_prefixlen
    if not 0 <= prefixlen <= top:
        raise InvalidArgument(
            f"prefix length /{prefixlen} is not an IPv{subnet.version} length (0..{top})"
        )
    if prefixlen < subnet.cidr.prefixlen:
        raise InvalidArgument(
            f"prefix length /{prefixlen} is shorter than the subnet {subnet.cidr} itself"
        )
    return prefixlen


def _kinds(subnet: Subnet) -> dict[str | None, str]:
    """The owner info ``kind`` of every owner that has a string one (one bulk read)."""
    return {o: k for o, k in subnet.owner_info_values("kind").items() if isinstance(k, str)}


def holders_by_kind(subnet: Subnet) -> list[Holders]:
    """Who holds the subnet's addresses, grouped by the owner info ``kind``, most first.

    Owners without a ``kind`` in their info count as ``"unknown"``. Sorted by single
    addresses held (those are what break aligned prefixes), then by total.
    Cost: O(A) in the number of allocations.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/24")
    >>> _ = s.allocate_ip("10.0.0.9", owner="eni-1")
    >>> s.set_owner_info("eni-1", {"kind": "lambda"})
    >>> [(h.kind, h.addresses) for h in holders_by_kind(s)]
    [('lambda', 1)]
    """
    with paused_gc():
        return _holders(subnet.cidr.max_prefixlen, subnet.allocation_values(), _kinds(subnet))


def _holders(
    top: int, allocations: list[tuple[int, int, str | None, bool]], kinds: dict[str | None, str]
) -> list[Holders]:
    owners: dict[str, set[str]] = defaultdict(set)
    singles: dict[str, int] = defaultdict(int)
    prefixes: dict[str, int] = defaultdict(int)
    in_prefixes: dict[str, int] = defaultdict(int)
    for _, prefixlen, owner, is_prefix in allocations:
        kind = kinds.get(owner, "unknown")
        owners[kind].add(owner or "")
        if is_prefix:
            prefixes[kind] += 1
            in_prefixes[kind] += 1 << (top - prefixlen)
        else:
            singles[kind] += 1 << (top - prefixlen)
    result = [Holders(k, len(owners[k]), singles[k], prefixes[k], in_prefixes[k]) for k in owners]
    result.sort(key=lambda h: (-h.addresses, -h.total, h.kind))
    return result


@dataclass(frozen=True, slots=True)
class Interface:
    """One owner (a network interface) of a subnet: who it is and what it holds.

    ``kind``, ``label`` and ``instance_id`` come from the owner info the AWS layer
    writes (None when absent; ``kind`` is then ``"unknown"``).

    >>> Interface("eni-1", "lambda", None, None, ("10.0.0.9",), ()).addresses
    ('10.0.0.9',)
    """

    owner: str
    kind: str
    label: str | None
    instance_id: str | None
    addresses: tuple[str, ...]
    prefixes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (keys as the attributes). O(addresses).

        >>> Interface("eni-1", "lambda", None, None, ("10.0.0.9",), ()).to_dict()["kind"]
        'lambda'
        """
        return {
            "owner": self.owner,
            "kind": self.kind,
            "label": self.label,
            "instance_id": self.instance_id,
            "addresses": list(self.addresses),
            "prefixes": list(self.prefixes),
        }


def interfaces(subnet: Subnet) -> list[Interface]:
    """The ENI inventory: every owner with its kind, label, instance, addresses and prefixes.

    Sorted by kind, then owner; unowned allocations are listed under ``""``.
    Cost: O(A) for A allocations.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/24"); _ = s.allocate_ip("10.0.0.9", owner="eni-1")
    >>> s.set_owner_info("eni-1", {"kind": "lambda", "label": "fn"})
    >>> [(i.owner, i.kind, i.label, i.addresses) for i in interfaces(s)]
    [('eni-1', 'lambda', 'fn', ('10.0.0.9',))]
    """
    singles: dict[str, list[str]] = defaultdict(list)
    prefixes: dict[str, list[str]] = defaultdict(list)
    for a in subnet.allocations():
        owner = a.owner or ""
        if a.kind == "prefix":
            prefixes[owner].append(str(a.cidr))
            singles.setdefault(owner, [])
        else:
            singles[owner].append(str(a.cidr.network_address))
    out = []
    for owner in singles:
        info = subnet.owner_info(owner) if owner else {}
        kind, label, node = info.get("kind"), info.get("label"), info.get("instance_id")
        out.append(
            Interface(
                owner,
                kind if isinstance(kind, str) else "unknown",
                label if isinstance(label, str) else None,
                node if isinstance(node, str) else None,
                tuple(singles[owner]),
                tuple(prefixes[owner]),
            )
        )
    out.sort(key=lambda i: (i.kind, i.owner))
    return out


def _aws_reserved_blocks(subnet: Subnet, order: int) -> set[int]:
    """Indices of the order-``order`` blocks that hold an address AWS reserves. O(1).

    (At most five addresses, so at most five blocks; never a prefix candidate.)

    >>> import ipfrag
    >>> sorted(_aws_reserved_blocks(ipfrag.Subnet("10.0.0.0/24"), 4))
    [0, 15]
    """
    base = int(subnet.cidr.network_address)
    return {(int(a) - base) >> order for a in subnet.reserved_addresses}


def _free_blocks_total(histogram: Mapping[int, int], prefixlen: int) -> int:
    """Free aligned blocks of /prefixlen anywhere (reserved ranges included), from the histogram."""
    return sum(n << (prefixlen - plen) for plen, n in histogram.items() if plen <= prefixlen)


def score(subnet: Subnet, prefixlen: int | None = None) -> Score:
    """The fragmentation score and severity alone, equal to :func:`analyze`'s ``score``.

    For the value and band alone, :func:`fragmentation_score` and :func:`severity` cost
    O(bits); this also splits the spoiled blocks into fragmented and full. Cost: O(bits) for the
    free blocks (the buddy histogram, maintained counters), plus one pass over the
    allocations for the blocks prefixes cover and the used addresses per block: O(A)
    for A allocations (dense subnets: plus an O(size) scan in C), with no per-block
    detail kept.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/24"); _ = s.allocate_ip("10.0.0.17")
    >>> score(s)
    Score(value=8, severity=<Severity.HEALTHY: 'HEALTHY'>, free=13, fragmented=1, full=0)
    """
    length = block_prefixlen(subnet, prefixlen)
    j = subnet.cidr.max_prefixlen - length
    base = int(subnet.cidr.network_address)
    free = _free_blocks_total(subnet.histogram(), length)
    reserved = _aws_reserved_blocks(subnet, j)
    used: dict[int, int] = defaultdict(int)
    top = subnet.cidr.max_prefixlen
    for first, prefixlen, _, is_prefix in subnet.allocation_values():
        order = top - prefixlen
        if is_prefix and order >= j:
            continue  # covers whole blocks: prefix_allocated, never a candidate
        used[(first - base) >> j] += 1 << order
    full = fragmented = 0
    for block, n in used.items():
        if block not in reserved:
            if n == 1 << j:
                full += 1
            else:
                fragmented += 1
    return Score.of(free, fragmented, full)


def _free_and_spoiled(subnet: Subnet, prefixlen: int | None) -> tuple[int, int]:
    """Free and spoiled (fragmented + full) candidate blocks, from counters alone. O(bits).

    Candidates are the blocks neither covered by an allocated prefix (``prefix_counts``)
    nor holding an AWS-reserved address; every block that is not free is one of those,
    or spoiled.
    """
    length = block_prefixlen(subnet, prefixlen)
    j = subnet.cidr.max_prefixlen - length
    reserved = len(_aws_reserved_blocks(subnet, j))
    covered = sum(
        n << (length - plen) for plen, n in subnet.prefix_counts().items() if plen <= length
    )
    free = _free_blocks_total(subnet.histogram(), length)
    return free, (subnet.size >> j) - reserved - covered - free


def fragmentation_score(subnet: Subnet, prefixlen: int | None = None) -> int | None:
    """The support tool's fragmentation score (capped at 99 while a block is free), or None.

    Equal to ``analyze(subnet, prefixlen).score.value``, from maintained counters only
    (the buddy histogram and the allocated prefixes by length), so the simulator can
    score every step. Cost: O(bits).

    >>> import ipfrag
    >>> fragmentation_score(ipfrag.Subnet("10.0.0.0/24"))
    0
    """
    free, spoiled = _free_and_spoiled(subnet, prefixlen)
    return Score.of(free, spoiled, 0).value


def severity(subnet: Subnet, prefixlen: int | None = None) -> Severity | None:
    """The severity band of :func:`fragmentation_score`, or None.

    Cost: O(bits), but for a score of 100, where telling CRITICAL (some block is
    fragmented) from EXHAUSTED (all are full) takes :func:`score`'s pass.

    >>> import ipfrag
    >>> severity(ipfrag.Subnet("10.0.0.0/24")).value
    'HEALTHY'
    """
    free, spoiled = _free_and_spoiled(subnet, prefixlen)
    fast = Score.of(free, spoiled, 0)
    if fast.value == 100:
        return score(subnet, prefixlen).severity
    return fast.severity


# --------------------------------------------------------------------------- the report


@dataclass(slots=True)
class _Used:
    used: int = 0
    owners: dict[str | None, int] = field(default_factory=dict)


class Report:
    """What :func:`analyze` finds in one subnet for one block size (a value; see the module).

    Attributes are plain data; :meth:`to_dict` gives the JSON form ``ipfrag analyze
    --json`` prints. The report keeps no reference to the subnet: later changes to it
    do not show.

    >>> import ipfrag
    >>> r = ipfrag.analyze(ipfrag.Subnet("10.0.0.0/24"))
    >>> r
    <Report 10.0.0.0/24 /28: score 0 HEALTHY, 14 of 14 candidate blocks free, 14 available>
    """

    @paused_gc()  # a /16's report makes ~200,000 small objects and no cycles
    def __init__(self, subnet: Subnet, prefixlen: int | None = None) -> None:
        length = block_prefixlen(subnet, prefixlen)
        self.cidr: Network = subnet.cidr
        self.name = subnet.name
        self.info: dict[str, Any] = copy.deepcopy(subnet.info)
        self.prefixlen = length
        j = subnet.cidr.max_prefixlen - length
        self.block_size = 1 << j
        self.total_blocks = subnet.size >> j
        base = int(subnet.cidr.network_address)
        self._base = base
        self._j = j

        kinds = _kinds(subnet)
        self._kinds = kinds
        touched: dict[int, _Used] = {}
        covered: list[tuple[int, int, str | None]] = []  # first block, count, owner
        allocations = subnet.allocation_values()
        top = subnet.cidr.max_prefixlen
        single = in_prefixes = 0
        for first, prefixlen, owner, is_prefix in allocations:
            order = top - prefixlen
            if is_prefix:
                in_prefixes += 1 << order
                if order >= j:
                    covered.append(((first - base) >> j, 1 << (order - j), owner))
                    continue
            else:
                single += 1 << order
            # Smaller than a block (or a single address when blocks are single addresses).
            idx = (first - base) >> j
            u = touched.get(idx)
            if u is None:
                u = touched[idx] = _Used()
            u.used += 1 << order
            u.owners[owner] = u.owners.get(owner, 0) + (1 << order)
        self._aws_reserved: dict[int, int] = defaultdict(int)  # block -> AWS-reserved addresses
        for address in subnet.reserved_addresses:
            self._aws_reserved[(int(address) - base) >> j] += 1
        self._reserved_blocks = sorted(self._aws_reserved)
        self._covered = covered
        self._covered_starts = [c[0] for c in covered]
        self._touched = touched
        reserved_set = set(self._reserved_blocks)
        self._classes: dict[int, str] = {}
        fragmented = full = 0
        for idx, u in touched.items():
            if idx in reserved_set:
                continue
            if u.used == self.block_size:
                self._classes[idx] = "full"
                full += 1
            else:
                self._classes[idx] = "fragmented"
                fragmented += 1
        for idx in self._reserved_blocks:
            self._classes[idx] = "reserved"
        self._class_index = sorted(self._classes)
        n_covered = sum(c[1] for c in covered)

        self.histogram: dict[int, int] = subnet.histogram()
        free = _free_blocks_total(self.histogram, length)
        self.free_addresses = subnet.free_addresses
        self.used_addresses = subnet.used_addresses
        self.addresses = {
            "total": subnet.size,
            "aws_reserved": len(subnet.reserved_addresses),
            "used": subnet.used_addresses,
            "used_single": single,
            "used_in_prefixes": in_prefixes,
            "free": subnet.free_addresses,
        }

        # Reservations: ranges of blocks, by kind; a small reservation marks its one block.
        self.reservations = subnet.reservations
        self._res_ranges: list[tuple[int, int, str]] = []  # first block, last block, kind
        in_res = {"prefix": 0, "explicit": 0}
        small: dict[str, set[int]] = {"prefix": set(), "explicit": set()}
        for r in self.reservations:
            off = int(r.cidr.network_address) - base
            order = r.cidr.max_prefixlen - r.cidr.prefixlen
            first, count = off >> j, max(1, 1 << order >> j)
            self._res_ranges.append((first, first + count - 1, r.kind))
            if order >= j:
                in_res[r.kind] += count
            else:
                small[r.kind].add(first)
        for kind, blocks in small.items():
            in_res[kind] += len(blocks)
        self._res_starts = [r[0] for r in self._res_ranges]

        self.blocks: dict[str, int] = {
            "free": free,
            "fragmented": fragmented,
            "full": full,
            "reserved": len(self._reserved_blocks),
            "prefix_allocated": n_covered,
            "in_prefix_reservation": in_res["prefix"],
            "in_explicit_reservation": in_res["explicit"],
        }
        self.prefix_blocks_available = subnet.free_block_count(length)
        self.score = Score.of(free, fragmented, full)

        f = self.free_addresses
        self.stranded_addresses = f - free * self.block_size
        self.unusable_index = 1.0 if f == 0 else (f - free * self.block_size) / f
        n_free_blocks = sum(self.histogram.values())
        if free > 0:
            self.extfrag_index = -1.0
        elif n_free_blocks == 0:
            self.extfrag_index = 0.0  # nothing free at all: failure from lack of space (Linux)
        else:
            self.extfrag_index = 1 - (1 + f / self.block_size) / n_free_blocks
        self.largest_free_prefixlen: int | None = min(self.histogram, default=None)
        self.largest_available_prefixlen = subnet.largest_free_prefixlen()

        self.holders = _holders(top, allocations, kinds)
        spoil_owners: dict[str, set[str]] = defaultdict(set)
        spoil_blocks: dict[str, int] = defaultdict(int)
        spoil_addresses: dict[str, int] = defaultdict(int)
        for idx, u in touched.items():
            if self._classes.get(idx) != "fragmented":
                continue
            seen: set[str] = set()
            for owner, n in u.owners.items():
                kind = kinds.get(owner, "unknown")
                spoil_owners[kind].add(owner or "")
                spoil_addresses[kind] += n
                if kind not in seen:
                    spoil_blocks[kind] += 1
                    seen.add(kind)
        #: Per owner kind: ``(kind, fragmented blocks touched, addresses in them, owners)``.
        self.spoilers: list[tuple[str, int, int, int]] = sorted(
            ((k, spoil_blocks[k], spoil_addresses[k], len(spoil_owners[k])) for k in spoil_blocks),
            key=lambda t: (-t[1], -t[2], t[0]),
        )

    # ------------------------------------------------------------------ blocks
    def _network(self, index: int, order: int | None = None) -> Network:
        k = self._j if order is None else order
        shift = self._j if order is None else 0
        return ipaddress.ip_network((self._base + (index << shift), self.cidr.max_prefixlen - k))

    def _covering(self, index: int) -> tuple[int, int, str | None] | None:
        i = bisect.bisect_right(self._covered_starts, index) - 1
        if i >= 0:
            c = self._covered[i]
            if c[0] <= index < c[0] + c[1]:
                return c
        return None

    def _reservations_in(self, lo: int, hi: int) -> tuple[str, ...]:
        """Kinds of the reservations overlapping blocks ``lo .. hi - 1``, sorted. O(log R + r)."""
        starts, ranges = self._res_starts, self._res_ranges
        i = bisect.bisect_right(starts, lo) - 1
        kinds: set[str] = set()
        while i >= 0 and ranges[i][1] >= lo:  # ranges starting at or before lo
            kinds.add(ranges[i][2])
            i -= 1
        i = bisect.bisect_right(starts, lo)
        while i < len(ranges) and ranges[i][0] < hi:
            kinds.add(ranges[i][2])
            i += 1
        return tuple(sorted(kinds))

    def _info(self, index: int) -> BlockInfo:
        c = self._covering(index)
        if c is not None:
            return BlockInfo(
                self._network(index),
                "prefix_allocated",
                self.block_size,
                0,
                self._reservations_in(index, index + 1),
                (c[2] or "",),
            )
        u = self._touched.get(index)
        cls = self._classes.get(index, "free")
        holders = tuple(sorted(o or "" for o in u.owners)) if u else ()
        used = u.used if u else 0
        free = self.block_size - used - self._aws_reserved.get(index, 0)
        return BlockInfo(
            self._network(index), cls, used, free, self._reservations_in(index, index + 1), holders
        )

    def block(self, cidr: str | Network) -> BlockInfo:
        """The block of the report's size holding ``cidr`` (an address or a CIDR). O(log A).

        >>> import ipfrag
        >>> ipfrag.analyze(ipfrag.Subnet("10.0.0.0/24")).block("10.0.0.0").cls
        'reserved'
        """
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except (TypeError, ValueError) as e:
            raise InvalidArgument(f"{cidr!r} is not an address or CIDR") from e
        if net.version != self.cidr.version or not net.subnet_of(self.cidr):  # type: ignore[arg-type]
            raise InvalidArgument(f"{cidr} is not inside {self.cidr}")
        return self._info((int(net.network_address) - self._base) >> self._j)

    def iter_blocks(self, limit: int | None = MAX_LISTED) -> Iterator[BlockInfo]:
        """Every block in address order when there are at most ``limit`` (None: no bound);
        otherwise the first ``limit`` blocks that are not free.

        :meth:`complete` tells which. Cost: O(N log A) for N blocks listed.

        >>> import ipfrag
        >>> [b.cls for b in ipfrag.analyze(ipfrag.Subnet("10.0.0.0/26")).iter_blocks()]
        ['reserved', 'free', 'free', 'reserved']
        """
        if limit is None or self.total_blocks <= limit:
            for idx in range(self.total_blocks):
                yield self._info(idx)
            return
        covered = itertools.chain.from_iterable(
            range(first, first + count) for first, count, _ in self._covered
        )
        used = heapq.merge(self._class_index, covered)  # disjoint, both ascending
        for idx in itertools.islice(used, limit):
            yield self._info(idx)

    def complete(self, limit: int | None = MAX_LISTED) -> bool:
        """Whether :meth:`iter_blocks` with this ``limit`` lists free blocks too. O(1).

        >>> import ipfrag
        >>> ipfrag.analyze(ipfrag.Subnet("2600:1f14::/64")).complete()
        False
        """
        return limit is None or self.total_blocks <= limit

    def fragmented_blocks(self, limit: int = MAX_LISTED) -> list[BlockInfo]:
        """The fragmented blocks (the support tool's "fragmented block details"), at most ``limit``.

        Cost: O(F log F) for F fragmented blocks.

        >>> import ipfrag
        >>> s = ipfrag.Subnet("10.0.0.0/24"); _ = s.allocate_ip("10.0.0.20", owner="eni-1")
        >>> [(str(b.cidr), b.holders) for b in ipfrag.analyze(s).fragmented_blocks()]
        [('10.0.0.16/28', ('eni-1',))]
        """
        out = []
        for idx in self._class_index:
            if self._classes[idx] == "fragmented":
                out.append(self._info(idx))
                if len(out) >= limit:
                    break
        return out

    def kind_of(self, owner: str | None) -> str:
        """The owner info ``kind`` of an owner seen in the report (``"unknown"`` otherwise). O(1).

        >>> import ipfrag
        >>> ipfrag.analyze(ipfrag.Subnet("10.0.0.0/24")).kind_of("eni-9")
        'unknown'
        """
        return self._kinds.get(owner, "unknown")

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-safe, stable data (schema in ``docs/analysis.md``).

        Cost: O(K + F) for K owner kinds and F fragmented blocks listed (at most
        :data:`MAX_LISTED`).

        >>> import ipfrag, json
        >>> d = ipfrag.analyze(ipfrag.Subnet("10.0.0.0/24")).to_dict()
        >>> d["fragmentation_score"], d["severity"], d["blocks"]["free"]
        (0, 'HEALTHY', 14)
        >>> json.loads(json.dumps(d)) == d
        True
        """
        reported = self.info.get("available_ip_address_count")
        frag = self.fragmented_blocks()
        return {
            "subnet_id": self.info.get("subnet_id", self.name),
            "cidr": str(self.cidr),
            "vpc_id": self.info.get("vpc_id"),
            "availability_zone": self.info.get("availability_zone"),
            "name": self.info.get("name_tag"),
            "prefixlen": self.prefixlen,
            "block_size": self.block_size,
            "fragmentation_score": self.score.value,
            "severity": None if self.score.severity is None else self.score.severity.value,
            "free_addresses": self.free_addresses,
            "available_ip_address_count": reported,
            "count_matches": None if reported is None else reported == self.free_addresses,
            "addresses": dict(self.addresses),
            "blocks": {**self.blocks, "total": self.total_blocks},
            "prefix_blocks_available": self.prefix_blocks_available,
            "can_carve": self.prefix_blocks_available > 0,
            "stranded_addresses": self.stranded_addresses,
            "unusable_index": self.unusable_index,
            "extfrag_index": self.extfrag_index,
            "largest_free_prefixlen": self.largest_free_prefixlen,
            "largest_available_prefixlen": self.largest_available_prefixlen,
            "histogram": {str(k): v for k, v in sorted(self.histogram.items())},
            "reservations": [
                {"cidr": str(r.cidr), "kind": r.kind, "description": r.description}
                for r in self.reservations
            ],
            "holders": [
                {
                    "kind": h.kind,
                    "interfaces": h.interfaces,
                    "single_addresses": h.addresses,
                    "prefixes": h.prefixes,
                    "addresses": h.total,
                }
                for h in self.holders
            ],
            "spoilers": [
                {"kind": k, "fragmented_blocks": b, "addresses": a, "interfaces": n}
                for k, b, a, n in self.spoilers
            ],
            "fragmented_blocks": {
                "count": self.blocks["fragmented"],
                "listed": [
                    {
                        "cidr": str(b.cidr),
                        "used": b.used,
                        "free": b.free,
                        "reservations": list(b.reservations),
                        "holders": list(b.holders),
                    }
                    for b in frag
                ],
                "truncated": len(frag) < self.blocks["fragmented"],
            },
        }

    def to_pandas(self, limit: int | None = MAX_LISTED) -> pandas.DataFrame:
        """One row per block (columns ``cidr, class, used, free, reservations, holders``).

        Needs pandas (extra ``ipfrag[pandas]``; :class:`ExtraMissing` otherwise). Spaces
        of more than ``limit`` blocks list only their first ``limit`` blocks that are not
        free (see :meth:`iter_blocks`); ``frame.attrs["complete"]`` says which.
        Cost: O(N log A) for N rows.

        >>> import ipfrag
        >>> df = ipfrag.analyze(ipfrag.Subnet("10.0.0.0/26")).to_pandas()
        >>> list(df["class"]), df.attrs["complete"]
        (['reserved', 'free', 'free', 'reserved'], True)
        """
        try:
            import pandas as pd
        except ImportError as e:
            raise ExtraMissing("Report.to_pandas needs pandas: pip install 'ipfrag[pandas]'") from e
        rows = [
            (
                str(b.cidr),
                b.cls,
                b.used,
                b.free,
                ",".join(b.reservations),
                ",".join(b.holders),
            )
            for b in self.iter_blocks(limit)
        ]
        frame = pd.DataFrame(
            rows, columns=["cidr", "class", "used", "free", "reservations", "holders"]
        )
        frame.attrs["complete"] = self.complete(limit)
        return frame  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        s = self.score
        head = "no candidate blocks" if s.value is None else f"score {s.value} {s.severity.value}"  # type: ignore[union-attr]
        candidates = s.free + s.fragmented + s.full
        return (
            f"<Report {self.cidr} /{self.prefixlen}: {head}, {s.free} of {candidates} "
            f"candidate blocks free, {self.prefix_blocks_available} available>"
        )

    def map(self, *, color: bool | None = None, width: int = 64, max_cells: int = 4096) -> str:
        """The terminal block map (see :func:`~ipfrag.analysis.text_map`). O(C log A) for C cells.

        >>> import ipfrag
        >>> print(ipfrag.analyze(ipfrag.Subnet("10.0.0.0/26")).map(color=False).splitlines()[1])
        10.0.0.0   r..r
        """
        from ipfrag.analysis.maps import text_map

        return text_map(self, color=color, width=width, max_cells=max_cells)

    def to_svg(self, *, width: int = 64, max_cells: int = 4096) -> str:
        """The block map as SVG (see :func:`~ipfrag.analysis.to_svg`). O(C log A) for C cells.

        >>> import ipfrag
        >>> ipfrag.analyze(ipfrag.Subnet("10.0.0.0/26")).to_svg().startswith("<svg")
        True
        """
        from ipfrag.analysis.maps import to_svg

        return to_svg(self, width=width, max_cells=max_cells)

    def to_png(self, path: str | os.PathLike[str], *, max_cells: int = 4096) -> Path:
        """Write the block map as PNG (extra ``[plot]``; see :func:`~ipfrag.analysis.to_png`).

        Cost: O(C log A) for C cells plus matplotlib's rendering.

        >>> import ipfrag, tempfile, os
        >>> p = ipfrag.analyze(ipfrag.Subnet("10.0.0.0/26")).to_png(
        ...     os.path.join(tempfile.mkdtemp(), "m.png"))
        >>> p.suffix
        '.png'
        """
        from ipfrag.analysis.maps import to_png

        return to_png(self, path, max_cells=max_cells)

    def _repr_html_(self) -> str:
        from ipfrag.analysis.maps import report_html

        return report_html(self)


def analyze(subnet: Subnet, prefixlen: int | None = None) -> Report:
    """The fragmentation report of ``subnet`` for blocks of ``/prefixlen`` (default: the
    subnet's, 28 IPv4 and 80 IPv6).

    Cost: O(A + bits) for A allocations (dense subnets: plus an O(size) scan in C),
    never the number of blocks: an IPv6 /64 costs what it holds.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/24", policy="lowest")
    >>> _ = s.allocate_prefix(owner="eni-1"); _ = s.allocate_ip("10.0.0.200", owner="eni-2")
    >>> r = analyze(s)
    >>> r.blocks["prefix_allocated"], r.blocks["fragmented"], r.prefix_blocks_available
    (1, 1, 12)
    >>> r.score.value, r.score.severity.value, r.stranded_addresses
    (8, 'HEALTHY', 42)
    """
    return Report(subnet, prefixlen)
