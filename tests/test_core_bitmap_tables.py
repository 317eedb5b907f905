"""The pure dense core's lookup tables, against brute force over every byte."""

from __future__ import annotations

from ipfrag.core.bitmap import _BYTE_TOP, _NTH, _POPCOUNT


def test_byte_top_is_the_largest_entirely_set_aligned_block_around_a_set_bit() -> None:
    for b in range(256):
        for q in range(8):
            if not b >> q & 1:
                continue
            orders = [
                k
                for k in range(4)
                if all(b >> i & 1 for i in range(q >> k << k, (q >> k << k) + (1 << k)))
            ]
            assert _BYTE_TOP[b << 3 | q] == max(orders), (b, q)


def test_nth_is_the_position_of_the_rth_set_bit() -> None:
    for b in range(256):
        ones = [p for p in range(8) if b >> p & 1]
        assert _POPCOUNT[b] == len(ones)
        for r, p in enumerate(ones):
            assert _NTH[b << 3 | r] == p, (b, r)
