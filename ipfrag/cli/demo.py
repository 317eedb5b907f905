"""``ipfrag demo``: the problem in one screen, on a simulated /20 subnet.

Single addresses (ENI primaries, Lambda, load balancers, pods in secondary-IP
mode) land scattered, as EC2 places them. Each one spoils the /28 it falls in.
Then nodes in prefix-delegation mode ask for /28s until EC2 answers
``InsufficientCidrBlocks``, while thousands of addresses are still free.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from ipfrag.cli._args import nonnegative_int, positive_int
from ipfrag.errors import InsufficientCapacity, InvalidArgument, InvalidCidr, InvalidType
from ipfrag.subnet import Subnet

__all__ = ["register", "run_demo", "run_story"]

_SHORTEST, _LONGEST = 16, 28  # AWS's IPv4 subnet sizes


def run_demo(
    cidr: str = "10.0.0.0/20",
    *,
    singles: int = 600,
    step: int = 100,
    seed: int = 7,
    out: TextIO | None = None,
) -> dict[str, Any]:
    """Scatter ``singles`` addresses, then take /28 prefixes until EC2 would refuse.

    Prints a table as it goes and returns the figures of the failure moment.
    ``cidr`` must be an IPv4 subnet of an AWS size (/16 to /28); ``singles`` at most
    its usable addresses; ``step`` >= 1. Else :class:`~ipfrag.errors.InvalidCidr`,
    :class:`~ipfrag.errors.InvalidArgument` or :class:`~ipfrag.errors.InvalidType`,
    before anything is printed. Cost: O((singles + prefixes) * bits).

    >>> import io
    >>> r = run_demo("10.0.0.0/22", singles=120, step=60, seed=1, out=io.StringIO())
    >>> r["error"], r["free_addresses"] > 500, r["free_28"]
    ('InsufficientCidrBlocks', True, 0)
    """
    out = out if out is not None else sys.stdout
    s = Subnet(cidr, policy="random", seed=seed)
    if s.version != 4 or not _SHORTEST <= s.cidr.prefixlen <= _LONGEST:
        raise InvalidCidr(
            f"the demo takes an IPv4 subnet of an AWS size, /{_SHORTEST} to /{_LONGEST}, "
            f"not {s.cidr}"
        )
    blocks = s.free_block_count(28)
    usable = s.free_addresses
    for what, value, least, most in (("singles", singles, 0, usable), ("step", step, 1, None)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidType(f"{what} must be an int, not {type(value).__name__}")
        if value < least or (most is not None and value > most):
            bound = f"{least} to {most}" if most is not None else f">= {least}"
            raise InvalidArgument(f"{what} must be {bound} for {s.cidr}, not {value}")
    print(f"Subnet {s.cidr}: {usable} usable addresses, {blocks} possible /28 prefixes", file=out)
    print("(the first and last /28 hold addresses AWS reserves)\n", file=out)
    header = f"{'singles':>8} {'used %':>7} {'free IPs':>9} {'free /28':>9} {'random model':>13}"
    print("Scattering single addresses (ENI primaries, Lambda, ELB, NAT ...):", file=out)
    print(header, file=out)

    def row(n: int) -> None:
        used = 1 - s.free_addresses / usable
        model = blocks * (1 - used) ** 16
        print(
            f"{n:>8} {100 * used:>6.1f}% {s.free_addresses:>9} {s.free_block_count(28):>9}"
            f" {model:>13.1f}",
            file=out,
        )

    row(0)
    for i in range(1, singles + 1):
        s.allocate_ip(owner=f"single-{i}")
        if i % step == 0 or i == singles:
            row(i)
    print("\nNodes in prefix-delegation mode now take /28 prefixes:", file=out)
    prefixes = 0
    try:
        while True:
            s.allocate_prefix(owner=f"node-{prefixes // 4}")
            prefixes += 1
    except InsufficientCapacity as e:
        name = type(e).__name__
        print(f"  prefix #{prefixes + 1}: {name}", file=out)
        print(f"  {e}", file=out)
    hist = s.histogram()
    print(
        f"\nAt that moment: {s.free_addresses} addresses free "
        f"({100 * s.free_addresses / usable:.0f}% of the subnet), {s.free_block_count(28)} "
        f"free /28, largest free block {_prefix(s.largest_free_prefixlen())}.",
        file=out,
    )
    print(
        "Free space by block size: "
        + ", ".join(f"/{p}: {n}" for p, n in sorted(hist.items()))
        + "\nEvery free address sits in a /28 that some single address already spoils.",
        file=out,
    )
    return {
        "singles": singles,
        "prefixes": prefixes,
        "error": name,
        "free_addresses": s.free_addresses,
        "free_28": s.free_block_count(28),
    }


def _prefix(length: int | None) -> str:
    return "none" if length is None else f"/{length}"


def run_story(*, runs: int = 12, seed: int = 0, out: TextIO | None = None) -> dict[str, Any]:
    """Part two: the article's figures and the remedies, from the simulator (``ipfrag.sim``).

    Prints what :func:`ipfrag.sim.builtin.article_figures` and
    :func:`ipfrag.sim.builtin.remedies` (``runs`` seeded runs per remedy) compute, and
    returns both. Cost: 5 x ``runs`` simulated runs.

    >>> import io
    >>> r = run_story(runs=2, out=io.StringIO())
    >>> r["figures"]["idle_default"], len(r["remedies"])
    (155, 5)
    """
    from ipfrag.sim.builtin import article_figures, remedies

    out = out if out is not None else sys.stdout
    f = article_figures()
    print("\nWhat-if simulation (ipfrag simulate; the VPC CNI's pool rules):", file=out)
    print(
        f"  m5.large pod addresses: {f['secondary_pod_ips']} in secondary-IP mode, "
        f"{f['prefix_pod_ips']} in prefix mode.",
        file=out,
    )
    print("  Five nodes with one pod each hold:", file=out)
    print(
        f"    prefix mode, WARM_PREFIX_TARGET=0: {f['prefixes_target0']:>3} /28s, "
        f"{f['idle_target0']:>3} addresses idle (the article's count)",
        file=out,
    )
    print(
        f"    prefix mode, WARM_PREFIX_TARGET=1: {f['prefixes_default']:>3} /28s, "
        f"{f['idle_default']:>3} addresses idle (the real default)",
        file=out,
    )
    print(
        f"    secondary mode, WARM_ENI_TARGET=1: {f['held_secondary']:>3} IPs,  "
        f"{f['idle_secondary']:>3} addresses idle",
        file=out,
    )
    rows = remedies(runs=runs, seed=seed, progress=False)
    print(
        f"\n  Two /21 subnets shared with Lambda and load balancers, nodes scaling out until the "
        f"first failure\n  ({runs} seeded runs each): pods running at the first failure",
        file=out,
    )
    print(f"    {'':<52} {'p5':>6} {'p50':>6} {'p95':>6}", file=out)
    for _, change, mc in rows:
        pods = mc.capacity.pods
        figures = (
            "no failure" if pods is None else f"{pods.p5:>6.0f} {pods.p50:>6.0f} {pods.p95:>6.0f}"
        )
        print(f"    {change:<52} {figures}", file=out)
    return {"figures": f, "remedies": [(name, mc.capacity) for name, _, mc in rows]}


def _run(args: argparse.Namespace) -> int:
    run_demo(args.cidr, singles=args.singles, step=args.step, seed=args.seed)
    run_story()
    return 0


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand to the top-level subparsers."""
    p = sub.add_parser(
        "demo",
        help="show the problem: thousands of free IPs, yet no free /28 prefix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--cidr", default="10.0.0.0/20", help="IPv4 subnet (default 10.0.0.0/20)")
    p.add_argument(
        "--singles",
        type=nonnegative_int,
        default=600,
        help="single addresses to scatter (at most the usable ones)",
    )
    p.add_argument(
        "--step", type=positive_int, default=100, help="print a row every STEP addresses"
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (EC2-like placement)")
    p.set_defaults(func=_run)
