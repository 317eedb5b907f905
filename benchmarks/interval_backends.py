"""Why the sparse core is a dict count tree and not an interval tree.

``python -m benchmarks.interval_backends [--prefixes N] [--ops M]`` fills an IPv6 /64
with N scattered /80 prefixes, then times M rounds of "claim one /80, count the free
/80s, release it" with:

- ``SparseSpace`` (ipfrag's sparse core, compiled when built) and ``PySparseSpace`` (the
  pure-Python one): counters maintained by every update;
- ``intervaltree.IntervalTree`` of used ranges: the count walks every gap between used
  intervals (sorted), adding the aligned /80s that fit in each gap.

Both must give the same counts (checked); the ratio is printed. Timing is reported,
never asserted.
"""

from __future__ import annotations

import argparse
import random
import time

from intervaltree import IntervalTree

from ipfrag.core import PySparseSpace, SparseSpace
from ipfrag.core.sparse import SPARSE_IMPLEMENTATION

BITS = 64
ORDER = 48  # a /80 inside a /64: 2**48 addresses, 65,536 of them


def _free_blocks_intervaltree(tree: IntervalTree, bits: int, order: int) -> int:
    step = 1 << order
    count = 0
    pos = 0
    for iv in sorted(tree):
        gap_start = -(-pos // step) * step
        gap_end = (iv.begin // step) * step
        if gap_end > gap_start:
            count += (gap_end - gap_start) // step
        pos = max(pos, iv.end)
    gap_start = -(-pos // step) * step
    end = 1 << bits
    if end > gap_start:
        count += (end - gap_start) // step
    return count


def _time_space(sp: SparseSpace, held: list[int], extra: list[int]) -> tuple[float, int]:
    for b in held:
        sp.claim(b << ORDER, ORDER)
    n = -1
    t = time.perf_counter()
    for b in extra:
        sp.claim(b << ORDER, ORDER)
        n = sp.free_block_count(ORDER)
        sp.release(b << ORDER, ORDER)
    return (time.perf_counter() - t) / len(extra), n


def run(prefixes: int, ops: int, seed: int = 1) -> dict[str, float]:
    """Time the structures on the same workload; returns seconds per round."""
    rng = random.Random(seed)
    n_blocks = 1 << (BITS - ORDER)
    chosen = rng.sample(range(n_blocks), prefixes + ops)
    held, extra = chosen[:prefixes], chosen[prefixes:]
    sparse, n1 = _time_space(SparseSpace(BITS), held, extra)
    pure, n0 = _time_space(PySparseSpace(BITS), held, extra)
    tree = IntervalTree()
    for b in held:
        tree.addi(b << ORDER, (b + 1) << ORDER)

    t = time.perf_counter()
    for b in extra:
        tree.addi(b << ORDER, (b + 1) << ORDER)
        n2 = _free_blocks_intervaltree(tree, BITS, ORDER)
        tree.removei(b << ORDER, (b + 1) << ORDER)
    itree = (time.perf_counter() - t) / ops
    if not n0 == n1 == n2 == n_blocks - prefixes - 1:
        raise SystemExit(f"disagreement: sparse {n1}, pure sparse {n0}, intervaltree {n2}")
    return {"sparse": sparse, "pure": pure, "intervaltree": itree}


def main() -> None:
    """Print the comparison for a few fill levels."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--prefixes", type=int, nargs="*", default=[100, 1000, 10000])
    ap.add_argument("--ops", type=int, default=50)
    args = ap.parse_args()
    print(
        f"claim + count free /80s + release, one /80 in an IPv6 /64 (sparse core in use:"
        f" {SPARSE_IMPLEMENTATION}); ratio = intervaltree / sparse"
    )
    print(
        f"{'/80s held':>10} {'sparse us':>10} {'pure us':>9} {'intervaltree us':>16}"
        f" {'ratio':>8} {'ratio pure':>11}"
    )
    for n in args.prefixes:
        r = run(n, args.ops)
        print(
            f"{n:>10} {r['sparse'] * 1e6:>10.1f} {r['pure'] * 1e6:>9.1f}"
            f" {r['intervaltree'] * 1e6:>16.1f} {r['intervaltree'] / r['sparse']:>7.0f}x"
            f" {r['intervaltree'] / r['pure']:>10.0f}x"
        )


if __name__ == "__main__":
    main()
