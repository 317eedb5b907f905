"""The ways a user answers "can an aligned /28 still be carved out?" today, behind one interface.

``benchmarks.compare`` replays one workload through ipfrag and through these peers and
checks that every answer agrees. Each peer is written the way a careful user would write
it with the tool at hand, not as a straw man:

* :class:`NetaddrPeer` keeps the used space as a ``netaddr.IPSet``; a query computes
  ``IPSet([subnet]) - used`` and counts the aligned blocks in its ``iter_cidrs()``
  (a CIDR of prefix length ``p <= L`` holds ``2**(L - p)`` aligned ``/L`` blocks).
* :class:`NetaddrFreePeer`, the strong way with netaddr: keep the *free* space as an
  ``IPSet`` (remove what is allocated, add back what is released), so a query is one
  pass over ``free.iter_cidrs()`` with no set difference.
* :class:`IpaddressPeer` keeps a sorted, canonical free list of ``ipaddress`` networks;
  an allocation splits the free network that holds it with ``address_exclude``, a
  release merges the freed block with its free buddies, and a query iterates the list.
* :class:`NaiveScanPeer` keeps a Python ``set`` of used integers; a query scans every
  aligned ``/L`` block of the subnet. It cannot model an IPv6 ``/64``.

Every model takes the subnet, the allocations already made, and whether AWS's five
reserved addresses (base .. base+3 and the last one) are in use. Inputs are converted to
each model's own types by :meth:`FreeSpaceModel.prepare`, outside any timing, so a run
measures the data structure and not the parsing. The models trust their input: the
workload generator only ever allocates free space and releases what it allocated.
"""

from __future__ import annotations

import bisect
import ipaddress
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

import netaddr

__all__ = [
    "PEERS",
    "FreeSpaceModel",
    "IpaddressPeer",
    "NaiveScanPeer",
    "NetaddrFreePeer",
    "NetaddrPeer",
    "Network",
    "UnsupportedSubnet",
    "aws_reserved",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")


class UnsupportedSubnet(ValueError):
    """The model cannot represent this subnet (the naive scan and an IPv6 /64)."""


def aws_reserved(cidr: Network) -> list[Network]:
    """The five addresses AWS reserves in ``cidr``, as single-address networks. O(1).

    >>> [str(n) for n in aws_reserved(ipaddress.ip_network("10.0.0.0/28"))]
    ['10.0.0.0/32', '10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32', '10.0.0.15/32']
    """
    base = int(cidr.network_address)
    offsets = (0, 1, 2, 3, cidr.num_addresses - 1)
    return [ipaddress.ip_network((base + o, cidr.max_prefixlen)) for o in offsets]


class FreeSpaceModel(ABC, Generic[T]):
    """The one interface every implementation in the comparison offers.

    ``allocate`` and ``release`` take what ``prepare`` returned for a network (a single
    address is a ``/32`` or ``/128`` network). ``can_carve(L)`` says whether a fully free
    aligned ``/L`` block exists; ``free_block_count(L)`` counts them.
    """

    name: ClassVar[str]

    @abstractmethod
    def __init__(self, cidr: Network, allocations: Iterable[Network], reserved_aws: bool) -> None:
        """Model ``cidr`` with ``allocations`` in use (and AWS's reserved addresses if asked)."""

    @classmethod
    def supports(cls, cidr: Network) -> bool:
        """Whether this model can represent ``cidr``. O(1).

        >>> NetaddrPeer.supports(ipaddress.ip_network("2001:db8::/64"))
        True
        """
        return True

    @abstractmethod
    def prepare(self, net: Network) -> T:
        """``net`` in this model's own type; called outside the timed region."""

    @abstractmethod
    def allocate(self, item: T) -> None:
        """Mark a free address or aligned block (from :meth:`prepare`) as used."""

    @abstractmethod
    def release(self, item: T) -> None:
        """Mark a used address or aligned block (from :meth:`prepare`) as free again."""

    @abstractmethod
    def can_carve(self, prefixlen: int) -> bool:
        """Whether a fully free aligned ``/prefixlen`` block exists."""

    @abstractmethod
    def free_block_count(self, prefixlen: int) -> int:
        """How many fully free aligned ``/prefixlen`` blocks exist."""


def _initial_used(
    cidr: Network, allocations: Iterable[Network], reserved_aws: bool
) -> list[Network]:
    used = list(allocations)
    if reserved_aws:
        used.extend(aws_reserved(cidr))
    return used


class NetaddrPeer(FreeSpaceModel[netaddr.IPNetwork]):
    """Used space as a ``netaddr.IPSet``; queries take the difference with the subnet.

    Updates are ``IPSet.add``/``IPSet.remove``; each query is O(n) in the number of
    CIDRs of the free set (plus the set difference).

    >>> net = ipaddress.ip_network
    >>> m = NetaddrPeer(net("10.0.0.0/24"), [net("10.0.0.40/32")], reserved_aws=True)
    >>> m.free_block_count(28)
    13
    >>> m.allocate(m.prepare(net("10.0.0.64/28"))); m.free_block_count(28)
    12
    """

    name = "netaddr"

    def __init__(self, cidr: Network, allocations: Iterable[Network], reserved_aws: bool) -> None:
        self._whole = netaddr.IPSet([netaddr.IPNetwork(str(cidr))])
        self._used = netaddr.IPSet(
            netaddr.IPNetwork(str(n)) for n in _initial_used(cidr, allocations, reserved_aws)
        )

    def prepare(self, net: Network) -> netaddr.IPNetwork:
        """A ``netaddr.IPNetwork``."""
        return netaddr.IPNetwork(str(net))

    def allocate(self, item: netaddr.IPNetwork) -> None:
        """``IPSet.add``."""
        self._used.add(item)

    def release(self, item: netaddr.IPNetwork) -> None:
        """``IPSet.remove``."""
        self._used.remove(item)

    def can_carve(self, prefixlen: int) -> bool:
        """Any CIDR of the free set at least as large as ``/prefixlen``."""
        free = self._whole - self._used
        return any(c.prefixlen <= prefixlen for c in free.iter_cidrs())

    def free_block_count(self, prefixlen: int) -> int:
        """Sum of ``2**(prefixlen - p)`` over the free CIDRs of prefix length ``p <= prefixlen``."""
        free = self._whole - self._used
        return sum(
            1 << (prefixlen - c.prefixlen) for c in free.iter_cidrs() if c.prefixlen <= prefixlen
        )


class NetaddrFreePeer(FreeSpaceModel[netaddr.IPNetwork]):
    """The free space itself as a ``netaddr.IPSet``: the strong netaddr peer.

    Updates are ``IPSet.remove``/``IPSet.add`` on the free set; a query walks its
    ``iter_cidrs()`` once (``any`` stops at the first large-enough CIDR).

    >>> net = ipaddress.ip_network
    >>> m = NetaddrFreePeer(net("10.0.0.0/24"), [net("10.0.0.40/32")], reserved_aws=True)
    >>> m.free_block_count(28), m.can_carve(24)
    (13, False)
    >>> m.allocate(m.prepare(net("10.0.0.64/28"))); m.free_block_count(28)
    12
    """

    name = "netaddr-free"

    def __init__(self, cidr: Network, allocations: Iterable[Network], reserved_aws: bool) -> None:
        used = netaddr.IPSet(
            netaddr.IPNetwork(str(n)) for n in _initial_used(cidr, allocations, reserved_aws)
        )
        self._free = netaddr.IPSet([netaddr.IPNetwork(str(cidr))]) - used

    def prepare(self, net: Network) -> netaddr.IPNetwork:
        """A ``netaddr.IPNetwork``."""
        return netaddr.IPNetwork(str(net))

    def allocate(self, item: netaddr.IPNetwork) -> None:
        """``IPSet.remove`` from the free set."""
        self._free.remove(item)

    def release(self, item: netaddr.IPNetwork) -> None:
        """``IPSet.add`` to the free set."""
        self._free.add(item)

    def can_carve(self, prefixlen: int) -> bool:
        """Any free CIDR at least as large as ``/prefixlen``."""
        return any(c.prefixlen <= prefixlen for c in self._free.iter_cidrs())

    def free_block_count(self, prefixlen: int) -> int:
        """Sum of ``2**(prefixlen - p)`` over the free CIDRs with ``p <= prefixlen``."""
        return sum(
            1 << (prefixlen - c.prefixlen)
            for c in self._free.iter_cidrs()
            if c.prefixlen <= prefixlen
        )


class IpaddressPeer(FreeSpaceModel[Network]):
    """A sorted canonical free list of stdlib networks, split with ``address_exclude``.

    The list always holds the maximal aligned free blocks (what
    ``ipaddress.collapse_addresses`` would give), sorted by address, so an allocation finds
    its free block by bisection and a release merges with free buddies. Each query walks
    the whole list: O(n) in the number of free blocks.

    >>> net = ipaddress.ip_network
    >>> m = IpaddressPeer(net("10.0.0.0/24"), [net("10.0.0.40/32")], reserved_aws=True)
    >>> m.free_block_count(28)
    13
    >>> m.release(m.prepare(net("10.0.0.40/32"))); m.free_block_count(28)
    14
    """

    name = "ipaddress"

    def __init__(self, cidr: Network, allocations: Iterable[Network], reserved_aws: bool) -> None:
        self._cidr = cidr
        used = sorted(
            (int(n.network_address), int(n.broadcast_address))
            for n in _initial_used(cidr, allocations, reserved_aws)
        )
        address = type(cidr.network_address)
        free: list[Network] = []
        gap_start = int(cidr.network_address)
        # Bulk set-up from the gaps between used ranges (not measured; only updates are).
        for first, last in used:
            if first > gap_start:
                free.extend(
                    ipaddress.summarize_address_range(address(gap_start), address(first - 1))
                )
            gap_start = max(gap_start, last + 1)
        end = int(cidr.broadcast_address)
        if gap_start <= end:
            free.extend(ipaddress.summarize_address_range(address(gap_start), address(end)))
        self._free = free
        self._starts = [int(n.network_address) for n in free]

    def prepare(self, net: Network) -> Network:
        """The network itself."""
        return net

    def allocate(self, item: Network) -> None:
        """Split the free network holding ``item`` with ``address_exclude``."""
        i = bisect.bisect_right(self._starts, int(item.network_address)) - 1
        holder = self._free[i]
        if holder == item:
            pieces: list[Network] = []
        else:
            pieces = sorted(holder.address_exclude(item))  # type: ignore[arg-type]
        self._free[i : i + 1] = pieces
        self._starts[i : i + 1] = [int(p.network_address) for p in pieces]

    def release(self, item: Network) -> None:
        """Insert ``item`` and merge it with its free buddies while they are free."""
        block = item
        i = bisect.bisect_left(self._starts, int(block.network_address))
        while block.prefixlen > self._cidr.prefixlen:
            parent = block.supernet()
            if parent.network_address == block.network_address:
                j = i  # the buddy is the upper half, right after the block's position
                buddy = ipaddress.ip_network(
                    (int(block.network_address) + block.num_addresses, block.prefixlen)
                )
            else:
                j = i - 1
                buddy = ipaddress.ip_network(
                    (int(block.network_address) - block.num_addresses, block.prefixlen)
                )
            if not (0 <= j < len(self._free) and self._free[j] == buddy):
                break
            del self._free[j]
            del self._starts[j]
            i = min(i, j)
            block = parent
        self._free.insert(i, block)
        self._starts.insert(i, int(block.network_address))

    def can_carve(self, prefixlen: int) -> bool:
        """Any free network at least as large as ``/prefixlen`` (walks the list)."""
        return any(n.prefixlen <= prefixlen for n in self._free)

    def free_block_count(self, prefixlen: int) -> int:
        """Sum of ``2**(prefixlen - p)`` over the free networks (walks the list)."""
        return sum(1 << (prefixlen - n.prefixlen) for n in self._free if n.prefixlen <= prefixlen)


class IpaddressPlainPeer(FreeSpaceModel[Network]):
    """The stdlib way most scripts take: a free list, ``address_exclude``, ``collapse_addresses``.

    An allocation scans the list for the free network holding the item and splits it
    with ``address_exclude``; a release appends the item and collapses the whole list;
    each query walks the list. No bisection, no buddy bookkeeping: what a user writes
    with the standard library documentation in hand.

    >>> net = ipaddress.ip_network
    >>> m = IpaddressPlainPeer(net("10.0.0.0/24"), [net("10.0.0.40/32")], reserved_aws=True)
    >>> m.free_block_count(28)
    13
    >>> m.release(m.prepare(net("10.0.0.40/32"))); m.free_block_count(28)
    14
    """

    name = "ipaddress-plain"

    def __init__(self, cidr: Network, allocations: Iterable[Network], reserved_aws: bool) -> None:
        # Bulk set-up reuses the tuned peer's gap walk (not measured; only updates are).
        self._free: list[Network] = list(IpaddressPeer(cidr, allocations, reserved_aws)._free)

    def prepare(self, net: Network) -> Network:
        """The network itself."""
        return net

    def allocate(self, item: Network) -> None:
        """Find the free network holding ``item`` (linear scan) and split it."""
        for i, holder in enumerate(self._free):
            if item.subnet_of(holder):  # type: ignore[arg-type]
                pieces = [] if holder == item else list(holder.address_exclude(item))  # type: ignore[arg-type]
                self._free[i : i + 1] = pieces
                return
        raise ValueError(f"{item} is not free")

    def release(self, item: Network) -> None:
        """Append ``item`` and collapse the whole free list."""
        self._free = list(ipaddress.collapse_addresses([*self._free, item]))  # type: ignore[misc]

    def can_carve(self, prefixlen: int) -> bool:
        """Any free network at least as large as ``/prefixlen`` (walks the list)."""
        return any(n.prefixlen <= prefixlen for n in self._free)

    def free_block_count(self, prefixlen: int) -> int:
        """Sum of ``2**(prefixlen - p)`` over the free networks (walks the list)."""
        return sum(1 << (prefixlen - n.prefixlen) for n in self._free if n.prefixlen <= prefixlen)


class NaiveScanPeer(FreeSpaceModel[range]):
    """A ``set`` of used integers; a query scans every aligned block of the subnet.

    Updates are O(block size); a query is O(subnet size) in the worst case. Only spaces
    of at most 2**24 addresses (every IPv4 subnet) are supported.

    >>> net = ipaddress.ip_network
    >>> m = NaiveScanPeer(net("10.0.0.0/24"), [net("10.0.0.40/32")], reserved_aws=True)
    >>> m.can_carve(28), m.free_block_count(28)
    (True, 13)
    """

    name = "naive-scan"
    MAX_ADDRESSES: ClassVar[int] = 1 << 24

    @classmethod
    def supports(cls, cidr: Network) -> bool:
        """Only spaces of at most 2**24 addresses.

        >>> NaiveScanPeer.supports(ipaddress.ip_network("2001:db8::/64"))
        False
        """
        return cidr.num_addresses <= cls.MAX_ADDRESSES

    def __init__(self, cidr: Network, allocations: Iterable[Network], reserved_aws: bool) -> None:
        if not self.supports(cidr):
            raise UnsupportedSubnet(
                f"{cidr}: a per-address set cannot scan {cidr.num_addresses} addresses"
            )
        self._cidr = cidr
        self._used: set[int] = set()
        for n in _initial_used(cidr, allocations, reserved_aws):
            self._used.update(self.prepare(n))

    def prepare(self, net: Network) -> range:
        """The range of integers the network covers."""
        first = int(net.network_address)
        return range(first, first + net.num_addresses)

    def allocate(self, item: range) -> None:
        """Add every address of the range."""
        self._used.update(item)

    def release(self, item: range) -> None:
        """Remove every address of the range."""
        self._used.difference_update(item)

    def _blocks(self, prefixlen: int) -> Iterable[range]:
        if prefixlen < self._cidr.prefixlen:
            return
        size = 1 << (self._cidr.max_prefixlen - prefixlen)
        first = int(self._cidr.network_address)
        for start in range(first, first + self._cidr.num_addresses, size):
            yield range(start, start + size)

    def can_carve(self, prefixlen: int) -> bool:
        """Scan blocks until a fully free one turns up."""
        used = self._used
        return any(used.isdisjoint(b) for b in self._blocks(prefixlen))

    def free_block_count(self, prefixlen: int) -> int:
        """Scan every block."""
        used = self._used
        return sum(1 for b in self._blocks(prefixlen) if used.isdisjoint(b))


PEERS: tuple[type[FreeSpaceModel[Any]], ...] = (
    NetaddrFreePeer,
    NetaddrPeer,
    IpaddressPlainPeer,
    IpaddressPeer,
    NaiveScanPeer,
)
"""The peers, in the order the report lists them."""
