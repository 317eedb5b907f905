"""``ipfrag simulate``: play a scenario, many times, or over a parameter sweep.

SCENARIO is a built-in name (``ipfrag simulate --list``) or a TOML/JSON file. One run prints
the first failure (when, which node, why), peak pods, idle addresses, pods that never started
and a timeline; ``--runs N`` prints percentiles of the capacity at the first failure over N
seeded runs; ``--sweep PARAM=V1,V2`` does that for each value. ``--json`` prints the same as
JSON, ``--plot FILE`` draws it (matplotlib, extra ``ipfrag[plot]``). Bad input: one line on
stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any, TextIO

from ipfrag.cli._args import positive_int
from ipfrag.errors import InvalidArgument

__all__ = ["format_monte_carlo", "format_run", "format_sweep", "parse_sweep", "register"]


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``PARAM=V1,V2,...`` -> (param, values); numbers and true/false are parsed. O(len).

    >>> parse_sweep("warm_prefix_target=0,1,2")
    ('warm_prefix_target', [0, 1, 2])
    >>> parse_sweep("subnets.0.cidr=10.0.0.0/20,10.0.0.0/19")[1]
    ['10.0.0.0/20', '10.0.0.0/19']
    """
    param, sep, rest = text.partition("=")
    values = [v.strip() for v in rest.split(",") if v.strip()]
    if not sep or not param.strip() or not values:
        raise argparse.ArgumentTypeError(f"expected PARAM=V1,V2,..., got {text!r}")

    def value(v: str) -> Any:
        try:
            parsed = json.loads(v)
        except ValueError:
            return v
        return parsed if isinstance(parsed, (int, float, bool)) else v

    return param.strip(), [value(v) for v in values]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def format_run(result: Any, out: TextIO, *, rows: int = 12) -> None:
    """Print one run: the summary, then about ``rows`` timeline rows. O(steps)."""
    s = result.summary
    sc = result.scenario
    print(f"Scenario {sc.name} (seed {result.seed})", file=out)
    if sc.description:
        print(f"  {sc.description}", file=out)
    f = s.first_failure
    if f is None:
        print(f"No failure in {s.time / 3600:.1f} h ({s.steps} steps).", file=out)
    else:
        print(
            f"First failure at {f.time / 3600:.2f} h (step {f.step}): {f.kind} on {f.node}",
            file=out,
        )
        print(f"  {f.message}", file=out)
        print(
            f"  then: {s.pods_at_failure} pods running on {s.nodes_at_failure} nodes, "
            f"{_pct(s.used_at_failure)} of the subnet addresses in use",
            file=out,
        )
    print(
        f"Peak pods {s.peak_pods}, peak nodes {s.peak_nodes}; idle addresses in warm pools "
        f"{s.idle_addresses} (peak {s.peak_idle_addresses}); pods never started "
        f"{s.pods_never_started}; failures {s.failures}.",
        file=out,
    )
    print(f"At the end: {s.free_addresses} free addresses, {s.free_blocks} free /28.\n", file=out)
    header = (
        f"{'hours':>6} {'nodes':>6} {'running':>8} {'pending':>8} {'held':>7} {'idle':>6}"
        f" {'free IPs':>9} {'free /28':>9} {'used':>6} {'score':>6}"
    )
    print(header, file=out)
    tl = result.timeline
    every = max(1, len(tl) // rows)
    shown = [r for i, r in enumerate(tl) if i % every == 0 or i == len(tl) - 1]
    for r in shown:
        print(
            f"{r.time / 3600:>6.2f} {r.nodes:>6} {r.pods_running:>8} {r.pods_pending:>8}"
            f" {r.addresses_held:>7} {r.addresses_idle:>6} {r.free_addresses:>9}"
            f" {r.free_blocks:>9} {_pct(r.used_fraction):>6}"
            f" {'-' if r.fragmentation_score is None else r.fragmentation_score:>6}",
            file=out,
        )


def _cap_row(label: str, mc: Any) -> str:
    c = mc.capacity
    if c.pods is None:
        return f"{label:<30} {mc.failed_runs:>3}/{mc.runs:<4} {'no failure':>28}"
    return (
        f"{label:<30} {mc.failed_runs:>3}/{mc.runs:<4}"
        f" {c.pods.p5:>7.0f} {c.pods.p50:>7.0f} {c.pods.p95:>7.0f}"
        f" {c.nodes.p50:>6.0f} {_pct(c.used.p50):>7}"
    )


_CAP_HEADER = (
    f"{'':<30} {'failed':>8} {'pods p5':>7} {'p50':>7} {'p95':>7} {'nodes':>6} {'used':>7}"
)


def format_monte_carlo(mc: Any, out: TextIO) -> None:
    """Print a Monte Carlo result: capacity percentiles at the first failure. O(1)."""
    print(f"Scenario {mc.scenario.name}: {mc.runs} runs from seed {mc.seed}", file=out)
    print("Capacity at the first failure (pods running, nodes p50, subnet used p50):", file=out)
    print(_CAP_HEADER, file=out)
    print(_cap_row(mc.scenario.name, mc), file=out)


def format_sweep(sw: Any, out: TextIO) -> None:
    """Print a sweep: one capacity row per value. O(values)."""
    base = sw.results[0]
    print(
        f"Scenario {base.scenario.name}: sweep of {sw.param}, {base.runs} runs per value "
        f"from seed {base.seed} (the same seeds for every value)",
        file=out,
    )
    print("Capacity at the first failure (pods running, nodes p50, subnet used p50):", file=out)
    print(_CAP_HEADER, file=out)
    for v, mc in zip(sw.values, sw.results, strict=True):
        print(_cap_row(f"{sw.param}={v}", mc), file=out)


def _run(args: argparse.Namespace) -> int:
    from ipfrag.sim import builtin
    from ipfrag.sim.montecarlo import run_many, sweep
    from ipfrag.sim.scenario import load_scenario, run

    out = sys.stdout
    if args.list:
        for name, data in builtin.BUILTIN.items():
            print(f"{name}\n    {data.get('description', '')}", file=out)
        return 0
    if args.scenario is None:
        raise InvalidArgument("give a SCENARIO (or --list)")
    sc = load_scenario(args.scenario)
    if args.sweep is not None:
        param, values = args.sweep
        result: Any = sweep(
            sc,
            param,
            values,
            args.runs,
            sc.seed if args.seed is None else args.seed,
            workers=args.workers,
            progress=None,
        )
    elif args.runs > 1:
        result = run_many(
            sc,
            args.runs,
            sc.seed if args.seed is None else args.seed,
            workers=args.workers,
            progress=None,
        )
    else:
        result = run(sc, seed=args.seed)
    if args.json:
        if hasattr(result, "to_dict"):
            data = result.to_dict()
        else:
            data = {
                "scenario": sc.name,
                "seed": result.seed,
                "summary": result.summary.to_dict(),
                "timeline": [asdict(r) for r in result.timeline],
            }
        json.dump(data, out, indent=2)
        print(file=out)
    elif args.sweep is not None:
        format_sweep(result, out)
    elif args.runs > 1:
        format_monte_carlo(result, out)
    else:
        format_run(result, out)
    if args.plot:
        _plot(result, args.plot)
    return 0


def _plot(result: Any, path: str) -> None:
    import os

    if os.environ.get("MPLBACKEND") is None:
        try:
            import matplotlib

            matplotlib.use("Agg")  # a file, no display
        except ImportError:
            pass  # plot_* raises the ipfrag error naming the extra
    from ipfrag.sim import plot
    from ipfrag.sim.scenario import RunResult

    fig = (
        plot.plot_timeline(result) if isinstance(result, RunResult) else plot.plot_capacity(result)
    )
    plot.save(fig, path)


def register(sub: Any) -> None:
    """Add the ``simulate`` subcommand to the top-level subparsers. O(1)."""
    p = sub.add_parser(
        "simulate",
        help="what-if: an EKS cluster growing on a subnet until prefix allocation fails",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "scenario", nargs="?", metavar="SCENARIO", help="built-in name or TOML/JSON file"
    )
    p.add_argument("--list", action="store_true", help="list the built-in scenarios")
    p.add_argument("--runs", type=positive_int, default=1, help="seeded runs (default 1)")
    p.add_argument("--seed", type=int, default=None, help="base seed (default: the scenario's)")
    p.add_argument(
        "--sweep", type=parse_sweep, metavar="PARAM=V1,V2", help="run every value of a parameter"
    )
    p.add_argument("--workers", type=positive_int, default=None, help="process pool size")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--plot", metavar="FILE", help="draw the timeline or capacity distribution")
    p.set_defaults(func=_run)
