"""How long ``ipfrag.analyze`` takes on a busy /16, against the time to build the subnet.

The subnet: a /16 with 40,000 network interfaces (EKS-like: every one has a primary
address and owner info with kind, instance id and ``drainable``), about 44,500 single
addresses in all and 1,000 /28 prefixes, built seeded through :class:`ipfrag.Subnet`
directly (prefixes first, where EC2 would still find free /28s, then scattered single
addresses). The target: ``analyze()`` within 2x of the build ("load") time.

Run ``python -m benchmarks.analysis`` (``--quick`` for one repeat); the asv suite
``Analysis`` below times the same calls (``asv run --quick --python=same``).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import ipfrag
from ipfrag.analysis import Drain, score

CIDR = "10.0.0.0/16"
INTERFACES = 40_000
SINGLES = 44_500
PREFIXES = 1_000
NODES = 1_000  # instances; ENIs of the first NODES * 5 interfaces belong to them
SEED = 2024


def build(seed: int = SEED) -> ipfrag.Subnet:
    """The benchmark subnet (O(allocations)); the "load" the analysis is measured against."""
    rng = random.Random(seed)
    s = ipfrag.Subnet(CIDR, policy="random", seed=seed)
    enis = [f"eni-{i:05d}" for i in range(INTERFACES)]
    node_enis = NODES * 5
    for _ in range(PREFIXES):
        s.allocate_prefix(owner=enis[rng.randrange(node_enis)])
    for eni in enis:  # every interface's primary address
        s.allocate_ip(owner=eni)
    for _ in range(SINGLES - INTERFACES):  # secondary addresses of node ENIs
        s.allocate_ip(owner=enis[rng.randrange(node_enis)])
    for i, eni in enumerate(enis):
        if i < node_enis:
            info = {"kind": "eks_node_secondary", "instance_id": f"i-{i // 5:05d}"}
            s.set_owner_info(eni, {**info, "drainable": True, "is_eks": True})
        else:
            s.set_owner_info(eni, {"kind": "lambda", "is_eks": False})
    return s


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    """Print build time, analysis time and their ratio (plus the cheap score and drain model)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat instead of three")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3
    load = _best(build, repeat)
    s = build()
    r = ipfrag.analyze(s)
    allocations = sum(1 for _ in s.allocations())
    print(
        f"{CIDR}: {allocations} allocations ({r.addresses['used_single']} single addresses, "
        f"{r.holders[0].prefixes + sum(h.prefixes for h in r.holders[1:])} prefixes), "
        f"{INTERFACES} interfaces; score {r.score.value} "
        f"{r.score.severity.value if r.score.severity else None}"
    )
    figures = {
        "build (load)": load,
        "analyze()": _best(lambda: ipfrag.analyze(s), repeat),
        "score()": _best(lambda: score(s), repeat),
        "to_dict()": _best(r.to_dict, repeat),
        "map()": _best(lambda: r.map(color=False), repeat),
        "Drain()": _best(lambda: Drain(s), repeat),
    }
    for name, t in figures.items():
        print(f"  {name:<14}{t * 1000:9.1f} ms  {t / load:5.2f}x load")
    ratio = figures["analyze()"] / load
    print(f"analyze() / load = {ratio:.2f} (target <= 2)")


class Analysis:
    """asv: the analysis of the busy /16 (built once per suite)."""

    timeout = 300

    def setup_cache(self) -> ipfrag.Subnet:
        return build()

    def time_build(self, _: ipfrag.Subnet) -> None:
        """The load the analysis is compared with."""
        build()

    def time_analyze(self, s: ipfrag.Subnet) -> None:
        """``ipfrag.analyze`` of /28 blocks."""
        ipfrag.analyze(s)

    def time_score(self, s: ipfrag.Subnet) -> None:
        """The simulator's per-step score."""
        score(s)

    def time_drain_model(self, s: ipfrag.Subnet) -> None:
        """``Drain`` (per-node figures)."""
        Drain(s)


if __name__ == "__main__":
    main()
