"""The reservation advisor: where a ``prefix`` CIDR reservation of a given size fits.

A ``prefix`` subnet CIDR reservation makes EC2 take automatic prefixes from its range
first, and automatic single addresses never land there: a free reservation keeps
whole /28s (IPv6 /80s) for nodes in prefix mode. :func:`advise_reservation` lists the
aligned places of the requested size where one could be created now with nothing in
use inside (and no overlap with an existing reservation, which
:meth:`~ipfrag.Subnet.reserve` refuses); when there is none, the places whose
clearing displaces the fewest addresses of drainable owners (EKS nodes and their
pods; see :mod:`ipfrag.analysis.drain`), with the nodes to drain. Places holding an
address AWS reserves, or any address of an owner that cannot be drained, are never
offered.

What a place guarantees: the prefixes of the block size that fit in it, and, given
the pod addresses a node needs (``pods_per_node``: max pods minus the 2 host-network
pods), how many nodes at max pods those prefixes serve.

>>> import ipfrag
>>> s = ipfrag.Subnet("10.0.0.0/24"); _ = s.allocate_ip("10.0.0.9")
>>> a = advise_reservation(s, 26, pods_per_node=27)
>>> [str(p.cidr) for p in a.places], a.free_places, a.places[0].prefixes, a.places[0].nodes
(['10.0.0.64/26', '10.0.0.128/26'], 2, 4, 2)
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ipfrag.analysis.drain import drainable_nodes
from ipfrag.analysis.report import _aws_reserved_blocks
from ipfrag.analysis.report import block_prefixlen as _checked_prefixlen
from ipfrag.errors import InvalidArgument, InvalidType
from ipfrag.subnet import Network, Subnet

__all__ = ["Advice", "Place", "advise_reservation"]


@dataclass(frozen=True, slots=True)
class Place:
    """One aligned place for a reservation, and what creating it there takes and gives.

    >>> import ipaddress
    >>> Place(ipaddress.ip_network("10.0.1.0/24"), 0, (), (), prefixes=16, nodes=2).nodes
    2
    """

    cidr: Network
    displaced: int  # addresses of drainable owners inside (0: it can be reserved as is)
    drain: tuple[str, ...]  # the nodes (instance ids) to drain first
    holders: tuple[str, ...]  # the owners (ENIs) of the displaced addresses
    prefixes: int  # prefixes of the block size it guarantees
    nodes: int | None  # nodes at max pods those prefixes serve (None without pods_per_node)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (keys as the attributes, the CIDR as text). O(holders).

        >>> import ipaddress
        >>> Place(ipaddress.ip_network("10.0.0.0/24"), 0, (), (), 16, 2).to_dict()["cidr"]
        '10.0.0.0/24'
        """
        return {
            "cidr": str(self.cidr),
            "displaced": self.displaced,
            "drain": list(self.drain),
            "holders": list(self.holders),
            "prefixes": self.prefixes,
            "nodes": self.nodes,
        }


@dataclass(frozen=True, slots=True)
class Advice:
    """What :func:`advise_reservation` found.

    ``free_places`` counts every place usable now (only the first ``limit`` are
    listed in ``places``; ``truncated`` says so). When it is 0, ``places`` holds the
    places displacing the fewest drainable addresses, best first.

    >>> import ipfrag
    >>> a = advise_reservation(ipfrag.Subnet("10.0.0.0/24"), 26, pods_per_node=40)
    >>> a.free_places, a.prefixes_per_node, a.places[0].nodes
    (2, 3, 1)
    """

    prefixlen: int
    block_prefixlen: int
    pods_per_node: int | None
    prefixes_per_node: int | None
    free_places: int
    places: tuple[Place, ...]
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (keys as the attributes). O(places).

        >>> import ipfrag
        >>> advise_reservation(ipfrag.Subnet("10.0.0.0/24"), 25).to_dict()["free_places"]
        0
        """
        return {
            "prefixlen": self.prefixlen,
            "block_prefixlen": self.block_prefixlen,
            "pods_per_node": self.pods_per_node,
            "prefixes_per_node": self.prefixes_per_node,
            "free_places": self.free_places,
            "places": [p.to_dict() for p in self.places],
            "truncated": self.truncated,
        }


def _split_outside(
    off: int, order: int, reservations: list[tuple[int, int]], want: int
) -> Iterator[tuple[int, int]]:
    """The parts of free block (off, order) of order >= want that overlap no reservation."""
    if order < want:
        return
    end = off + (1 << order)
    overlapping = [(r, k) for r, k in reservations if off < r + (1 << k) and r < end]
    if not overlapping:
        yield off, order
        return
    if any(r <= off and end <= r + (1 << k) for r, k in overlapping):
        return
    half = order - 1
    yield from _split_outside(off, half, overlapping, want)
    yield from _split_outside(off + (1 << half), half, overlapping, want)


def advise_reservation(
    subnet: Subnet,
    prefixlen: int,
    *,
    pods_per_node: int | None = None,
    block_prefixlen: int | None = None,
    limit: int = 16,
) -> Advice:
    """Where a ``prefix`` reservation of ``/prefixlen`` could go, best first.

    ``block_prefixlen`` is the prefix size nodes take (the subnet's default, /28 or
    /80); ``pods_per_node`` the pod addresses one node needs at max pods. Cost:
    O(B * R * bits) for B maximal free blocks and R reservations, plus O(A) over the
    allocations when no place is free.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/26")
    >>> for i, ip in enumerate(["10.0.0.20", "10.0.0.40"]):
    ...     _ = s.allocate_ip(ip, owner=f"eni-{i}")
    ...     s.set_owner_info(f"eni-{i}", {"instance_id": f"i-{i}", "drainable": True})
    >>> a = advise_reservation(s, 28)
    >>> a.free_places, [(str(p.cidr), p.displaced, p.drain) for p in a.places]
    (0, [('10.0.0.16/28', 1, ('i-0',)), ('10.0.0.32/28', 1, ('i-1',))])
    """
    size = _checked_prefixlen(subnet, prefixlen)
    block = _checked_prefixlen(subnet, block_prefixlen)
    if block < size:
        raise InvalidArgument(
            f"a /{size} reservation cannot hold /{block} prefixes (the block is larger)"
        )
    if pods_per_node is not None and (
        not isinstance(pods_per_node, int) or isinstance(pods_per_node, bool)
    ):
        raise InvalidType(f"pods_per_node must be an int, not {pods_per_node!r}")
    if pods_per_node is not None and pods_per_node < 1:
        raise InvalidArgument(f"pods_per_node must be at least 1, not {pods_per_node}")
    if not isinstance(limit, int) or limit < 1:
        raise InvalidArgument(f"limit must be a positive int, not {limit!r}")
    maxbits = subnet.cidr.max_prefixlen
    order, j = maxbits - size, maxbits - block
    base = int(subnet.cidr.network_address)
    per_node = None if pods_per_node is None else -(-pods_per_node // (1 << j))
    reserved_blocks = _aws_reserved_blocks(subnet, j)

    def place(off: int, displaced: int, drain: set[str], holders: set[str]) -> Place:
        first, count = off >> j, 1 << (order - j)
        prefixes = count - sum(1 for b in reserved_blocks if first <= b < first + count)
        return Place(
            _network(base + off, size),
            displaced,
            tuple(sorted(drain)),
            tuple(sorted(holders)),
            prefixes,
            None if per_node is None else prefixes // per_node,
        )

    reservations = [
        (int(r.cidr.network_address) - base, maxbits - r.cidr.prefixlen)
        for r in subnet.reservations
    ]
    free_places = 0
    listed: list[Place] = []
    for net in subnet.free_ranges():
        off = int(net.network_address) - base
        for o, k in _split_outside(off, maxbits - net.prefixlen, reservations, order):
            free_places += 1 << (k - order)
            start = o
            while len(listed) < limit and start < o + (1 << k):
                listed.append(place(start, 0, set(), set()))
                start += 1 << order
    if free_places:
        return Advice(
            size, block, pods_per_node, per_node, free_places, tuple(listed), free_places > limit
        )

    # Nothing free: rank the places by the drainable addresses they hold.
    displaced: dict[int, int] = defaultdict(int)
    drain: dict[int, set[str]] = defaultdict(set)
    holders: dict[int, set[str]] = defaultdict(set)
    blocked = _aws_reserved_blocks(subnet, order)
    node_of = drainable_nodes(subnet)
    for first, prefixlen, owner, _ in subnet.allocation_values():
        node = node_of.get(owner)
        off = first - base
        k = maxbits - prefixlen
        if k > order:
            # One allocation fills these places whole: no other holder to block them, and
            # they all displace the same; a few of them are enough to rank.
            if node is None:
                continue
            places: range | list[int] = range(
                off >> order, (off >> order) + min(1 << (k - order), limit)
            )
        else:
            places = [off >> order]
        for p in places:
            if node is None:
                blocked.add(p)
                continue
            displaced[p] += 1 << min(k, order)
            drain[p].add(node)
            holders[p].add(owner or "")

    def overlaps_reservation(p: int) -> bool:
        lo, hi = p << order, (p + 1) << order
        return any(lo < r + (1 << k) and r < hi for r, k in reservations)

    ranked = sorted(
        (p for p in displaced if p not in blocked and not overlaps_reservation(p)),
        key=lambda p: (displaced[p], len(drain[p]), p),
    )
    out = tuple(place(p << order, displaced[p], drain[p], holders[p]) for p in ranked[:limit])
    return Advice(size, block, pods_per_node, per_node, 0, out, len(ranked) > limit)


def _network(value: int, prefixlen: int) -> Network:
    return ipaddress.ip_network((value, prefixlen))
