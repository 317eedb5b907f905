"""The ``ipfrag`` command line.

Each subcommand lives in a module of this package with a ``register(subparsers)``
function that adds its parser and sets ``func`` (a callable taking the parsed
namespace and returning the exit status).

:func:`main` is the one place that turns failures into exit statuses, so no
subcommand can print a traceback for bad input: an :class:`~ipfrag.IpfragError`
(or an unreadable file) is one line ``ipfrag COMMAND: error: ...`` on stderr and
status 2; a failure to read AWS is status 1; a reader that closes the pipe early
(``ipfrag demo | head -1``) ends the command quietly with status 0; Ctrl-C is
status 130. Any other exception is a bug in ipfrag and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ipfrag.aws.live import AwsExtraMissing, AwsReadError
from ipfrag.cli import analyze, demo, max_pods, simulate
from ipfrag.cli._text import safe
from ipfrag.errors import IpfragError

__all__ = ["EXIT_AWS_ERROR", "EXIT_INTERRUPTED", "EXIT_USAGE_ERROR", "build_parser", "main"]

EXIT_USAGE_ERROR = 2
"""Bad input: arguments, files, data (as ``argparse`` uses for usage errors)."""
EXIT_AWS_ERROR = 1
"""AWS could not be read: credentials, permissions, region, network, boto3 missing."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""


class _Parser(argparse.ArgumentParser):
    """``argparse``'s parser, with a usage error as one line (the rest of the CLI's rule):
    ``PROG: error: MESSAGE (see 'PROG --help')`` on stderr, then ``SystemExit(2)``.
    Subcommand parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        _error(self.prog, f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_USAGE_ERROR)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered. O(1)."""
    parser = _Parser(
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
    """Run the command line; returns the exit status.

    Usage errors (unknown options, bad option values) are one line on stderr, then
    ``SystemExit(2)`` (``--help``: ``SystemExit(0)``).

    Cost: that of the subcommand.

    >>> main(["max-pods", "no.such-type"])
    2
    >>> main(["demo", "--cidr", "10.0.0.0/29"])
    2
    """
    parser = build_parser()
    command = "ipfrag"
    try:
        args = parser.parse_args(argv)
        command = f"ipfrag {args.command}"
        status: int = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (AwsReadError, AwsExtraMissing) as e:
        _error(command, str(e))
        return EXIT_AWS_ERROR
    except IpfragError as e:
        _error(command, str(e))
        return EXIT_USAGE_ERROR
    except OSError as e:  # a file that cannot be read or written: name it
        where = f"{e.filename}: " if e.filename is not None else ""
        _error(command, f"{where}{e.strerror or e}")
        return EXIT_USAGE_ERROR


def _error(command: str, message: str) -> None:
    """One line on stderr, whatever the message quotes (newlines and escapes are shown)."""
    print(f"{command}: error: {safe(message)}", file=sys.stderr)


def _silence_stdout() -> None:
    """After EPIPE, point stdout at devnull so the interpreter's final flush stays quiet.

    The recipe of the Python docs ("Note on SIGPIPE"); a stdout without a file
    descriptor (captured by a test) needs nothing.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
