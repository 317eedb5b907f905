"""Simulator benchmark: a /16 filled with m5.large prefix-mode nodes until the first failure.

The built-in scenario ``article-fill-16`` (about 520 nodes, 56,000 pods, 3,700 /28 prefixes
before EC2 answers ``InsufficientCidrBlocks``) is timed three ways:

- one run, best of several (wall and CPU time);
- the same allocations made directly on an ``ipfrag.Subnet`` (one primary IP and the node's
  prefixes per node, no simulator): the floor the simulator's own work sits on, measured in the
  same process so the ratio means something on a shared machine;
- ``--runs`` seeded runs through :func:`ipfrag.sim.montecarlo.run_many` on ``--workers``
  processes (the issue's target: 1,000 runs in under a minute on two cores).

``python -m benchmarks.sim`` (full: 1,000 runs on 2 workers) or ``--quick`` (20 runs), and
``--out FILE`` to keep the report (``benchmarks/results/sim.txt``). Figures are printed, never
asserted.

>>> report = main(["--runs", "2", "--workers", "1", "--repeat", "1"], quiet=True)
>>> report["runs"], report["pods_at_failure"] > 50_000
(2, True)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any

import ipfrag
from ipfrag.sim.montecarlo import run_many
from ipfrag.sim.scenario import run

SCENARIO = "article-fill-16"


def subnet_floor(seed: int, nodes: int, prefixes: int) -> float:
    """Seconds for the bare Subnet calls of one run: a primary IP per node, then its prefixes."""
    t = time.perf_counter()
    s = ipfrag.Subnet("10.0.0.0/16", policy="random", seed=seed)
    for i in range(nodes):
        s.allocate_ip(owner=f"eni-{i}")
        # the same total number of prefixes, spread evenly over the nodes
        for _ in range(prefixes * (i + 1) // nodes - prefixes * i // nodes):
            s.allocate_prefix(owner=f"eni-{i}")
    return time.perf_counter() - t


def main(argv: Sequence[str] | None = None, *, quiet: bool = False) -> dict[str, Any]:
    """Run the benchmark; print (unless ``quiet``) and return the figures."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sim", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="20 runs instead of 1,000")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5, help="single-run repeats (best is kept)")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args(argv)
    runs = args.runs or (20 if args.quick else 1000)

    walls, cpus = [], []
    result = None
    for _ in range(args.repeat):
        w, c = time.perf_counter(), time.process_time()
        result = run(SCENARIO, seed=1)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    assert result is not None
    s = result.summary
    prefixes = result.timeline[-1].addresses_held // 16
    floor = min(subnet_floor(1, s.nodes_at_failure or 1, prefixes) for _ in range(args.repeat))
    load = os.getloadavg()[0]
    before = os.times()
    t = time.perf_counter()
    mc = run_many(SCENARIO, runs, seed=0, workers=args.workers, progress=False)
    many = time.perf_counter() - t
    after = os.times()
    # CPU of this process and of the pool's workers (reaped when the pool shuts down): what
    # the runs cost whatever else the machine is doing.
    cpu = sum(after[i] - before[i] for i in range(4))
    assert mc.capacity.pods is not None
    report = {
        "scenario": SCENARIO,
        "nodes_at_failure": s.nodes_at_failure,
        "pods_at_failure": s.pods_at_failure,
        "prefixes": prefixes,
        "steps": s.steps,
        "single_run_wall_s": min(walls),
        "single_run_cpu_s": min(cpus),
        "subnet_floor_s": floor,
        "runs": runs,
        "workers": args.workers,
        "many_wall_s": many,
        "many_cpu_s": cpu,
        "load_average": load,
        "pods_p5_p50_p95": (mc.capacity.pods.p5, mc.capacity.pods.p50, mc.capacity.pods.p95),
    }
    lines = [
        f"ipfrag simulator benchmark ({SCENARIO}); Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs",
        f"one run: {s.steps} steps, first failure with {s.pods_at_failure} pods on "
        f"{s.nodes_at_failure} nodes, {prefixes} /28 prefixes held",
        f"  best of {args.repeat}: {1000 * min(walls):.0f} ms wall, {1000 * min(cpus):.0f} ms CPU",
        f"  the same Subnet calls alone: {1000 * floor:.0f} ms "
        f"(simulator total / Subnet floor = {min(walls) / floor:.2f}x)",
        f"{runs} runs on {args.workers} worker(s): {many:.1f} s wall "
        f"({1000 * many / runs:.0f} ms per run); pods at first failure "
        f"p5/p50/p95 = {mc.capacity.pods.p5:.0f}/{mc.capacity.pods.p50:.0f}/"
        f"{mc.capacity.pods.p95:.0f}",
        f"  CPU time of all runs: {cpu:.1f} s ({1000 * cpu / runs:.0f} ms per run), i.e. "
        f"{cpu / max(args.workers, 1):.1f} s on {args.workers} idle cores; load average "
        f"before: {load:.2f}",
    ]
    text = "\n".join(lines)
    if not quiet:
        print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return report


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
