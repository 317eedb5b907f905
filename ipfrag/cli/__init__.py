"""The ``ipfrag`` command line.

Each subcommand lives in a module of this package with a ``register(subparsers)``
function that adds its parser and sets ``func`` (a callable taking the parsed
namespace and returning the exit status).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ipfrag.cli import analyze, demo, max_pods, simulate

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="ipfrag",
        description="Can your AWS subnets still give out aligned prefixes? Why not?",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    # One line per subcommand module; keep them sorted.
    analyze.register(sub)
    demo.register(sub)
    max_pods.register(sub)
    simulate.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
