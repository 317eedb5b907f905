"""``ipfrag analyze``: how fragmented are real subnets, and who holds the addresses?

Reads aws-cli JSON (``--subnets``, ``--network-interfaces``, ``--cidr-reservations``),
a snapshot file written by ``ipfrag snapshot`` (``--snapshot``), or a bundled example
(``--example eks-prefix``), and prints per subnet: the CIDR, free addresses against
``AvailableIpAddressCount``, the free aligned /28 (IPv6: /80) blocks, whether one can
still be carved, the largest free prefix, the stranded addresses (free addresses no
prefix can use: free - 16 x free /28s), and the owners holding addresses, by kind.

Broken input is reported on stderr with exit status 2 (``--lenient`` turns it into
warnings); warnings such as a count mismatch go to stderr, the report to stdout.

>>> from ipfrag.cli import main
>>> main(["analyze", "--example", "eks-prefix", "--top", "2"])  # doctest: +ELLIPSIS
subnet-f6d1b05d97491bc66  10.20.32.0/19  vpc-0a1b2c3d4e5f60718  eu-west-1a  ...
  free addresses      4787  (AvailableIpAddressCount 4787: matches)
  free /28 blocks       26  (can carve a /28: yes)
...
0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import ipfrag
from ipfrag.aws.examples import example_files as _example_files
from ipfrag.aws.examples import example_names
from ipfrag.aws.snapshot import Snapshot, holders_by_kind, load_snapshot, read_snapshot
from ipfrag.cli._args import positive_int
from ipfrag.errors import SnapshotError
from ipfrag.subnet import Subnet

__all__ = ["EXAMPLES_DIR", "analyze_subnet", "example_files", "examples", "register", "run"]

#: Where the bundled example snapshots live (package data: see :mod:`ipfrag.aws.examples`).
EXAMPLES_DIR = Path(ipfrag.__file__).resolve().parent / "data" / "examples"
_INPUT_ERROR = 2


def examples() -> list[str]:
    """The names of the bundled example snapshots (:func:`ipfrag.aws.examples.example_names`).

    >>> "eks-prefix" in examples()
    True
    """
    return example_names()


def example_files(name: str) -> tuple[Path, Path, Path]:
    """The three aws-cli JSON files of example ``name`` (names only; see
    :func:`ipfrag.aws.examples.example_files`).

    >>> example_files("eks-ipv6")[0].name
    'describe-subnets.json'
    """
    return _example_files(name)


def analyze_subnet(subnet: Subnet, prefixlen: int | None = None, top: int = 8) -> dict[str, Any]:
    """The figures ``ipfrag analyze`` prints for one subnet, as a JSON-safe dict.

    ``prefixlen`` defaults to the subnet's prefix length (28 IPv4, 80 IPv6).
    Cost: O(allocations) for the holders, O(1) to O(bits) for the rest.

    >>> s = Subnet("10.0.0.0/24", info={"available_ip_address_count": 250})
    >>> _ = s.allocate_ip("10.0.0.17", owner="eni-1")
    >>> r = analyze_subnet(s)
    >>> r["free_addresses"], r["free_blocks"], r["stranded_addresses"], r["count_matches"]
    (250, 13, 42, True)
    """
    length = subnet.default_prefixlen if prefixlen is None else prefixlen
    blocks = subnet.free_block_count(length)
    block_size = 1 << (subnet.cidr.max_prefixlen - length)
    reported = subnet.info.get("available_ip_address_count")
    largest = subnet.largest_free_prefixlen()
    holders = holders_by_kind(subnet)
    return {
        "subnet_id": subnet.info.get("subnet_id", subnet.name),
        "cidr": str(subnet.cidr),
        "vpc_id": subnet.info.get("vpc_id"),
        "availability_zone": subnet.info.get("availability_zone"),
        "name": subnet.info.get("name_tag"),
        "free_addresses": subnet.free_addresses,
        "available_ip_address_count": reported,
        "count_matches": None if reported is None else reported == subnet.free_addresses,
        "prefixlen": length,
        "free_blocks": blocks,
        "can_carve": blocks > 0,
        "largest_free_prefixlen": largest,
        "stranded_addresses": subnet.free_addresses - block_size * blocks,
        "reservations": [
            {"cidr": str(r.cidr), "kind": r.kind, "description": r.description}
            for r in subnet.reservations
        ],
        "holders": [
            {
                "kind": h.kind,
                "interfaces": h.interfaces,
                "single_addresses": h.addresses,
                "prefixes": h.prefixes,
                "addresses": h.total,
            }
            for h in holders[:top]
        ],
        "other_holders": len(holders[top:]),
    }


def _render(report: dict[str, Any]) -> list[str]:
    head = [report["subnet_id"], report["cidr"], report["vpc_id"], report["availability_zone"]]
    if report["name"]:
        head.append(f"({report['name']})")
    lines = ["  ".join(str(h) for h in head if h)]
    reported = report["available_ip_address_count"]
    if reported is None:
        count = "AvailableIpAddressCount counts IPv4 only"
    elif report["count_matches"]:
        count = f"AvailableIpAddressCount {reported}: matches"
    else:
        diff = report["free_addresses"] - reported
        count = f"AvailableIpAddressCount {reported}: MISMATCH, {diff:+d}"
    length = report["prefixlen"]
    free = report["free_addresses"]
    stranded = report["stranded_addresses"]
    share = f", {100 * stranded / free:.1f}% of the free ones" if free else ""
    largest = report["largest_free_prefixlen"]
    w = max(6, len(str(free)))  # IPv6 counts run to 20 digits
    lines += [
        f"  free addresses    {free:>{w}}  ({count})",
        f"  free /{length} blocks   {report['free_blocks']:>{w}}  "
        f"(can carve a /{length}: {'yes' if report['can_carve'] else 'NO'})",
        f"  largest free      {'none' if largest is None else f'/{largest}':>{w}}",
        f"  stranded          {stranded:>{w}}  (free addresses no /{length} can use{share})",
    ]
    for r in report["reservations"]:
        about = f'  "{r["description"]}"' if r["description"] else ""
        lines.append(f"  reservation       {r['cidr']} {r['kind']}{about}")
    if report["holders"]:
        a = max(9, *(len(str(h["addresses"])) for h in report["holders"])) + 2
        lines.append(
            f"  {'holders by kind':<22}{'ENIs':>6}{'single IPs':>12}{'prefixes':>10}"
            f"{'addresses':>{a}}"
        )
        for h in report["holders"]:
            lines.append(
                f"    {h['kind']:<20}{h['interfaces']:>6}{h['single_addresses']:>12}"
                f"{h['prefixes']:>10}{h['addresses']:>{a}}"
            )
        if report["other_holders"]:
            lines.append(f"    ... and {report['other_holders']} more kinds (--top)")
    return lines


def register(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add ``analyze``, and its live-reading companion ``snapshot``, to ``subparsers``. O(1).

    Returns the ``analyze`` parser.
    """
    from ipfrag.cli import snapshot

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="fragmentation of real subnets from aws-cli JSON or a snapshot file",
        description=(
            "Rebuild subnets from describe-subnets, describe-network-interfaces and "
            "get-subnet-cidr-reservations JSON and report, per subnet, free addresses, free "
            "aligned /28 (IPv6: /80) blocks, stranded addresses and who holds the addresses."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--subnets", nargs="+", metavar="FILE", help="aws ec2 describe-subnets output"
    )
    source.add_argument(
        "--snapshot", metavar="FILE", help="a snapshot file written by 'ipfrag snapshot'"
    )
    source.add_argument(
        "--example", metavar="NAME", help=f"a bundled example ({', '.join(examples())})"
    )
    parser.add_argument(
        "--network-interfaces",
        nargs="+",
        metavar="FILE",
        help="aws ec2 describe-network-interfaces output (with --subnets)",
    )
    parser.add_argument(
        "--cidr-reservations",
        nargs="+",
        metavar="FILE",
        help="aws ec2 get-subnet-cidr-reservations output, one file per subnet",
    )
    parser.add_argument(
        "--family",
        type=int,
        choices=(4, 6),
        default=4,
        help="address family to analyze (6: the subnets' IPv6 CIDRs and /80 prefixes)",
    )
    parser.add_argument(
        "--prefixlen", type=positive_int, help="block size to count (default 28, IPv6 80)"
    )
    parser.add_argument(
        "--lenient", action="store_true", help="skip broken items with a warning instead of failing"
    )
    parser.add_argument(
        "--top", type=positive_int, default=8, help="owner kinds to list (default 8)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)
    snapshot.register(subparsers)
    return parser


def _load(args: argparse.Namespace) -> Snapshot:
    family: Literal[4, 6] = 6 if args.family == 6 else 4
    if args.snapshot is not None:
        return read_snapshot(args.snapshot, family=family, lenient=args.lenient)
    if args.example is not None:
        subnets, enis, reservations = example_files(args.example)
        return load_snapshot(subnets, enis, reservations, family=family, lenient=args.lenient)
    if not args.network_interfaces:
        raise ValueError("--subnets needs --network-interfaces")
    return load_snapshot(
        args.subnets,
        args.network_interfaces,
        args.cidr_reservations,
        family=family,
        lenient=args.lenient,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``ipfrag analyze`` for parsed arguments; returns the exit status.

    Cost: that of loading the snapshot, O(n) in the addresses and prefixes listed.

    >>> from ipfrag.cli import main
    >>> main(["analyze", "--example", "no-such-example"])  # doctest: +ELLIPSIS
    2
    """
    try:
        snap = _load(args)
        reports = [analyze_subnet(s, args.prefixlen, args.top) for s in snap.values()]
    except (SnapshotError, ValueError) as e:
        print(f"ipfrag analyze: error: {e}", file=sys.stderr)
        return _INPUT_ERROR
    if args.json:
        document = {
            "family": snap.family,
            "subnets": reports,
            "mismatches": [str(m) for m in snap.mismatches],
            "warnings": snap.warnings,
            "notes": snap.notes,
        }
        print(json.dumps(document, indent=2))
    else:
        blocks: Sequence[list[str]] = [_render(r) for r in reports]
        print("\n\n".join("\n".join(b) for b in blocks) if blocks else "no subnets")
    for note in snap.notes:
        print(f"note: {note}", file=sys.stderr)
    for warning in snap.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
