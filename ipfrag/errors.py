"""The exceptions ipfrag raises.

Every exception derives from :class:`IpfragError`. Errors about bad input values
(a malformed CIDR, an address outside the subnet, a misaligned prefix, an address
already in use ...) also derive from :class:`ValueError`, so a caller can catch
``ValueError`` without importing ipfrag. Capacity errors carry EC2's own names
(``InsufficientCidrBlocks``, ``InsufficientFreeAddresses``): the subnet is fine,
it just cannot serve the request.

Arguments of the wrong type raise :class:`InvalidType`, which also derives from
:class:`TypeError`.

Every operation that raises leaves the object it was called on exactly as it was.

>>> import ipfrag
>>> s = ipfrag.Subnet("10.0.0.0/26")
>>> _ = s.allocate_ip("10.0.0.20"); _ = s.allocate_ip("10.0.0.40")
>>> try:
...     s.allocate_prefix()
... except ipfrag.InsufficientCidrBlocks as e:
...     print(type(e).__name__)
InsufficientCidrBlocks
"""

from __future__ import annotations

__all__ = [
    "AddressInUse",
    "InsufficientCapacity",
    "InsufficientCidrBlocks",
    "InsufficientFreeAddresses",
    "InvalidArgument",
    "InvalidCidr",
    "InvalidType",
    "IpfragError",
    "Misaligned",
    "NotAllocated",
    "OutsideSubnet",
    "ReservationConflict",
    "ReservedAddress",
    "SnapshotError",
]


class IpfragError(Exception):
    """Base class of every error ipfrag raises."""


class InvalidArgument(IpfragError, ValueError):
    """A bad option value: an unknown policy, backend or reservation kind, a non-JSON info ..."""


class InvalidType(IpfragError, TypeError):
    """An argument of the wrong type: a non-string owner, an ``info`` that is not a mapping ..."""


class InvalidCidr(IpfragError, ValueError):
    """A malformed address, CIDR or prefix length, or an IPv4/IPv6 mix-up."""


class OutsideSubnet(IpfragError, ValueError):
    """The address or prefix does not lie (entirely) inside the subnet."""


class Misaligned(IpfragError, ValueError):
    """A prefix whose network address is not aligned on its own size (host bits set)."""


class ReservedAddress(IpfragError, ValueError):
    """The request touches one of the addresses AWS reserves in every subnet."""


class AddressInUse(IpfragError, ValueError):
    """The address, or some address of the prefix, is already allocated."""


class NotAllocated(IpfragError, ValueError):
    """``release`` was given something that is not exactly an allocation.

    Releasing one address that lies inside an allocated prefix is also this error:
    a prefix is released whole.
    """


class ReservationConflict(IpfragError, ValueError):
    """A subnet CIDR reservation overlaps another one, or does not exist."""


class SnapshotError(IpfragError, ValueError):
    """Data that claims to describe subnet state (``to_dict`` output, AWS JSON) is inconsistent."""


class InsufficientCapacity(IpfragError):
    """The subnet cannot serve an automatic allocation (base of the two EC2 capacity errors)."""


class InsufficientCidrBlocks(InsufficientCapacity):
    """No free aligned block of the requested size is left, though addresses may be.

    EC2's message: "The specified subnet does not have enough free cidr blocks to
    satisfy the request."
    """


class InsufficientFreeAddresses(InsufficientCapacity):
    """Not enough free addresses at all (EC2: ``InsufficientFreeAddressesInSubnet``)."""
