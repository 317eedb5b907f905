"""ipfrag: can your AWS subnet still give out aligned prefixes, and why not?

EKS nodes using the Amazon VPC CNI with prefix delegation need *fully free,
aligned* /28 prefixes; scattered single addresses spoil them. ipfrag models a
subnet's free space exactly and answers, in O(1), whether a /28 (or any prefix)
can still be carved out.

>>> import ipfrag
>>> s = ipfrag.Subnet("10.0.0.0/24", policy="lowest")
>>> s.allocate_prefix(owner="eni-1")
IPv4Network('10.0.0.16/28')
>>> s.can_carve(28), s.free_block_count(28)
(True, 13)
"""

from __future__ import annotations

from ipfrag.analysis import Report, analyze
from ipfrag.errors import (
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
)
from ipfrag.subnet import Allocation, Reservation, Subnet

__all__ = [
    "AddressInUse",
    "Allocation",
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
    "Report",
    "Reservation",
    "ReservationConflict",
    "ReservedAddress",
    "SnapshotError",
    "Subnet",
    "analyze",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``ipfrag.sim`` is imported on first use, so ``import ipfrag`` stays light. O(1).

    >>> import ipfrag
    >>> ipfrag.sim.Cluster.__name__
    'Cluster'
    """
    if name == "sim":
        import importlib

        return importlib.import_module("ipfrag.sim")
    raise AttributeError(f"module 'ipfrag' has no attribute {name!r}")
