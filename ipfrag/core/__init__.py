"""The address-space core: offsets and aligned blocks, no IP semantics.

Two backends answer the same interface (:class:`AddressSpace`):

- :class:`BitmapSpace`, dense, for spaces of up to 2**24 addresses (every IPv4 subnet);
- :class:`SparseSpace`, sparse, for any size up to 2**128 (IPv6 /64 subnets with /80 prefixes).

:func:`make_space` picks one.

>>> sp = make_space(8)
>>> sp.claim(17); sp.free_block_count(4)
15
"""

from __future__ import annotations

from typing import Literal

from ipfrag._repr import short
from ipfrag.core.base import POLICIES, AddressSpace, Block, Policy
from ipfrag.core.bitmap import MAX_BITMAP_BITS, BitmapSpace
from ipfrag.core.sparse import SparseSpace
from ipfrag.errors import InvalidArgument, InvalidType

__all__ = [
    "MAX_BITMAP_BITS",
    "POLICIES",
    "AddressSpace",
    "BitmapSpace",
    "Block",
    "Policy",
    "SparseSpace",
    "make_space",
]

Backend = Literal["auto", "bitmap", "sparse"]


def make_space(bits: int, backend: Backend = "auto") -> AddressSpace:
    """A new, entirely free space of ``2**bits`` addresses.

    ``"auto"`` takes the bitmap up to :data:`MAX_BITMAP_BITS` bits, the sparse
    backend above. Cost: O(2**bits) for the bitmap, O(bits) for the sparse one.

    >>> type(make_space(16)).__name__, type(make_space(64)).__name__
    ('BitmapSpace', 'SparseSpace')
    """
    if not isinstance(bits, int) or isinstance(bits, bool):
        raise InvalidType(f"bits must be an int, not {short(bits)}")
    if not isinstance(backend, str):
        raise InvalidType(f"backend must be a string, not {short(backend)}")
    if backend == "auto":
        backend = "bitmap" if bits <= MAX_BITMAP_BITS else "sparse"
    if backend == "bitmap":
        return BitmapSpace(bits)
    if backend == "sparse":
        return SparseSpace(bits)
    raise InvalidArgument(
        f"unknown backend {short(backend)}; expected 'auto', 'bitmap' or 'sparse'"
    )
