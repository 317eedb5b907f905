"""The address-space core: offsets and aligned blocks, no IP semantics.

Two backends answer the same interface (:class:`AddressSpace`):

- :class:`BitmapSpace`, dense, for spaces of up to 2**24 addresses (every IPv4 subnet),
  compiled (``CBitmapSpace``) when the C extension was built, else pure Python
  (:class:`PyBitmapSpace`); :data:`IMPLEMENTATION` says which (``"c"`` or ``"python"``),
  and ``IPFRAG_PURE=1`` in the environment forces the pure one;
- :class:`SparseSpace`, sparse, for any size up to 2**128 (IPv6 /64 subnets with /80 prefixes),
  compiled (``CSparseSpace``) for spaces of up to 2**64 addresses when its C extension was
  built, else pure Python (:class:`PySparseSpace`, also every space above 2**64);
  :data:`SPARSE_IMPLEMENTATION` says which (``"c"`` or ``"python"``), and ``IPFRAG_PURE=1``
  forces the pure one here too.

:func:`make_space` picks one.

>>> sp = make_space(8)
>>> sp.claim(17); sp.free_block_count(4)
15
"""

from __future__ import annotations

from typing import Literal

from ipfrag._repr import short
from ipfrag.core.base import POLICIES, AddressSpace, Block, Policy
from ipfrag.core.bitmap import IMPLEMENTATION, MAX_BITMAP_BITS, BitmapSpace, PyBitmapSpace
from ipfrag.core.sparse import SPARSE_IMPLEMENTATION, PySparseSpace, SparseSpace
from ipfrag.errors import InvalidArgument, InvalidType

__all__ = [
    "IMPLEMENTATION",
    "MAX_BITMAP_BITS",
    "POLICIES",
    "SPARSE_IMPLEMENTATION",
    "AddressSpace",
    "BitmapSpace",
    "Block",
    "Policy",
    "PyBitmapSpace",
    "PySparseSpace",
    "SparseSpace",
    "make_space",
]

Backend = Literal["auto", "bitmap", "sparse"]


def make_space(bits: int, backend: Backend = "auto") -> AddressSpace:
    """A new, entirely free space of ``2**bits`` addresses.

    ``"auto"`` takes the bitmap up to :data:`MAX_BITMAP_BITS` bits, the sparse
    backend above. Each builds the implementation in use (:data:`IMPLEMENTATION`,
    :data:`SPARSE_IMPLEMENTATION`). Cost: O(2**bits) for the bitmap, O(bits) for the
    sparse one.

    >>> isinstance(make_space(16), BitmapSpace), isinstance(make_space(64), SparseSpace)
    (True, True)
    """
    if not isinstance(bits, int) or isinstance(bits, bool):
        raise InvalidType(f"bits must be an int, not {short(bits)}")
    if not isinstance(backend, str):
        raise InvalidType(f"backend must be a string, not {short(backend)}")
    if backend == "auto":
        backend = "bitmap" if bits <= MAX_BITMAP_BITS else "sparse"
    if backend == "bitmap":
        # BitmapSpace(bits) builds the implementation in use (see bitmap.py), never itself.
        return BitmapSpace(bits)  # type: ignore[abstract]
    if backend == "sparse":
        return SparseSpace(bits)
    raise InvalidArgument(
        f"unknown backend {short(backend)}; expected 'auto', 'bitmap' or 'sparse'"
    )
