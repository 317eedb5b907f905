"""``ipfrag analyze``: how fragmented are real subnets, where, and what to do about it.

Reads aws-cli JSON (``--subnets``, ``--network-interfaces``, ``--cidr-reservations``),
a snapshot file written by ``ipfrag snapshot`` (``--snapshot``), or a bundled example
(``--example eks-prefix``), runs :func:`ipfrag.analyze` on every subnet and prints the
report, score and severity first: free addresses against ``AvailableIpAddressCount``,
free and available aligned /28 (IPv6: /80) blocks, the largest free prefix, stranded
addresses, every block class, the Linux fragmentation indices, reservations, and who
holds the addresses by kind (with the fragmented blocks they spoil). Options add the
block map (``--map``, ``--svg FILE``, ``--png FILE``), the ENI inventory
(``--list-enis``), per-node drain figures (``--node-recs``), a drain plan
(``--plan K``) and the reservation advisor (``--reserve SIZE``, ``--instance-type``).
``--json`` prints the whole report (schema in ``docs/analysis.md``). This module only
formats: every figure comes from :mod:`ipfrag.analysis`.

Bad input (broken files, a prefix length the family cannot have or shorter than the
subnet, ``--plan 0``, an unknown example) is one line on stderr and exit status 2
(``--lenient`` turns broken items into warnings); warnings such as a count mismatch
go to stderr, the report to stdout.

>>> from ipfrag.cli import main
>>> main(["analyze", "--example", "eks-prefix", "--top", "2"])  # doctest: +ELLIPSIS
subnet-f6d1b05d97491bc66  10.20.32.0/19  vpc-0a1b2c3d4e5f60718  eu-west-1a  ...
  fragmentation score  93  HIGH  (340 of 366 candidate /28 blocks spoiled)
  free addresses      4787  (AvailableIpAddressCount 4787: matches)
  free /28 blocks       26  (can carve a /28: yes)
...
0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

from ipfrag.analysis import Drain, Report, advise_reservation, analyze, interfaces
from ipfrag.aws.examples import example_files, example_names
from ipfrag.aws.snapshot import Snapshot, load_snapshot, read_snapshot
from ipfrag.cli._args import positive_int
from ipfrag.cli._text import safe
from ipfrag.errors import InvalidArgument, IpfragError
from ipfrag.subnet import Subnet

__all__ = ["register", "run"]


def _pods_per_node(args: argparse.Namespace) -> int | None:
    """Pod addresses a node of ``--instance-type`` needs at max pods, in prefix mode."""
    if args.instance_type is None:
        return None
    from ipfrag.aws import max_pods

    # The 2 host-network pods (aws-node, kube-proxy) take no pod address.
    pods = max_pods(args.instance_type, prefix_delegation=True, vcpus=args.vcpus)
    return max(1, pods - 2)


def _document(subnet: Subnet, report: Report, args: argparse.Namespace) -> dict[str, Any]:
    """The JSON document of one subnet: the whole report, plus what the options asked for."""
    doc = report.to_dict()
    if args.list_enis:
        doc["interfaces"] = [i.to_dict() for i in interfaces(subnet)]
    if args.node_recs or args.plan is not None:
        drain = Drain(subnet, report.prefixlen)
        if args.node_recs:
            doc["nodes"] = [n.to_dict() for n in drain.nodes]
        if args.plan is not None:
            doc["drain_plan"] = drain.plan(args.plan).to_dict()
    if args.reserve is not None:
        advice = advise_reservation(
            subnet,
            args.reserve,
            pods_per_node=_pods_per_node(args),
            block_prefixlen=report.prefixlen,
            limit=args.top,
        )
        doc["reservation_advice"] = advice.to_dict()
        doc["reservation_advice"]["instance_type"] = args.instance_type
    return doc


def _first(items: list[str], n: int = 4) -> str:
    """The first ``n`` items, then how many more ("-" when there are none)."""
    more = f" +{len(items) - n}" if len(items) > n else ""
    return ", ".join(items[:n]) + more if items else "-"


def _more(lines: list[str], left: int, what: str) -> None:
    if left > 0:
        lines.append(f"    ... and {left} more {what} (--top)")


def _render(doc: dict[str, Any], top: int) -> list[str]:
    head = [doc["subnet_id"], doc["cidr"], doc["vpc_id"], doc["availability_zone"]]
    if doc["name"]:
        head.append(f"({doc['name']})")
    lines = ["  ".join(safe(h) for h in head if h)]
    length = doc["prefixlen"]
    blocks = doc["blocks"]
    if doc["fragmentation_score"] is None:
        lines.append(f"  fragmentation score  none  (no /{length} block can hold a prefix)")
    else:
        lines.append(
            f"  fragmentation score  {doc['fragmentation_score']}  {doc['severity']}  "
            f"({blocks['fragmented'] + blocks['full']} of "
            f"{blocks['free'] + blocks['fragmented'] + blocks['full']} candidate /{length} "
            "blocks spoiled)"
        )
    reported = doc["available_ip_address_count"]
    if reported is None:
        count = "AvailableIpAddressCount counts IPv4 only"
    elif doc["count_matches"]:
        count = f"AvailableIpAddressCount {reported}: matches"
    else:
        diff = doc["free_addresses"] - reported
        count = f"AvailableIpAddressCount {reported}: MISMATCH, {diff:+d}"
    free = doc["free_addresses"]
    stranded = doc["stranded_addresses"]
    share = f", {100 * stranded / free:.1f}% of the free ones" if free else ""
    largest = doc["largest_available_prefixlen"]
    anywhere = doc["largest_free_prefixlen"]
    available = doc["prefix_blocks_available"]
    w = max(6, len(str(free)))  # IPv6 counts run to 20 digits
    lines += [
        f"  free addresses    {free:>{w}}  ({count})",
        f"  free /{length} blocks   {available:>{w}}  "
        f"(can carve a /{length}: {'yes' if available else 'NO'})",
        f"  largest free      {'none' if largest is None else f'/{largest}':>{w}}  "
        f"(for automatic prefixes; anywhere: {'none' if anywhere is None else f'/{anywhere}'})",
        f"  stranded          {stranded:>{w}}  (free addresses no /{length} can use{share})",
        f"  /{length} blocks       {blocks['total']:>{w}}  "
        + ", ".join(
            f"{blocks[k]} {k}"
            for k in ("free", "fragmented", "full", "reserved", "prefix_allocated")
        )
        + f"; {blocks['in_prefix_reservation']} in prefix and "
        f"{blocks['in_explicit_reservation']} in explicit reservations",
        f"  linux indices     unusable {doc['unusable_index']:.3f}, "
        f"extfrag {doc['extfrag_index']:.3f}",
    ]
    for r in doc["reservations"]:
        about = f'  "{safe(r["description"])}"' if r["description"] else ""
        lines.append(f"  reservation       {r['cidr']} {r['kind']}{about}")
    holders = doc["holders"]
    if holders:
        spoiled = {s["kind"]: s["fragmented_blocks"] for s in doc["spoilers"]}
        a = max(9, *(len(str(h["addresses"])) for h in holders[:top])) + 2
        lines.append(
            f"  {'holders by kind':<22}{'ENIs':>6}{'single IPs':>12}{'prefixes':>10}"
            f"{'addresses':>{a}}  fragmented /{length}s"
        )
        for h in holders[:top]:
            lines.append(
                f"    {safe(h['kind']):<20}{h['interfaces']:>6}{h['single_addresses']:>12}"
                f"{h['prefixes']:>10}{h['addresses']:>{a}}  {spoiled.get(h['kind'], 0)}"
            )
        _more(lines, len(holders) - top, "kinds")
    if "interfaces" in doc:
        lines.append(f"  network interfaces ({len(doc['interfaces'])})")
        for i in doc["interfaces"]:
            shown, prefixes = _first(i["addresses"]), _first(i["prefixes"])
            lines.append(
                f"    {safe(i['owner']):<24} {safe(i['kind']):<20} "
                f"{safe(i['instance_id'] or '-'):<20} {safe(i['label'] or '-')}"
            )
            lines.append(
                f"      addresses {len(i['addresses'])}: {shown}; "
                f"prefixes {len(i['prefixes'])}: {prefixes}"
            )
    if "nodes" in doc:
        nodes = doc["nodes"]
        lines.append(
            f"  node drain: /{length} blocks freed if one node alone is drained "
            "(drainable owners only)"
        )
        if not nodes:
            lines.append("    no owner is marked drainable: nothing to recommend")
        else:
            lines.append(
                f"    {'instance':<22}{'ENIs':>6}{'single IPs':>12}{'prefixes':>10}"
                f"{f'/{length}s touched':>14}{f'/{length}s freed':>12}"
            )
            for n in nodes[:top]:
                lines.append(
                    f"    {safe(n['instance_id']):<22}{len(n['owners']):>6}{n['addresses']:>12}"
                    f"{n['prefixes']:>10}{n['blocks_touched']:>14}{n['blocks_freed']:>12}"
                )
            _more(lines, len(nodes) - top, "nodes")
    if "drain_plan" in doc:
        p = doc["drain_plan"]
        if p["nodes"] is None:
            lines.append(
                f"  drain plan for {p['k']} free /{length}s: not possible; draining every "
                f"drainable node frees {p['recoverable']}"
            )
        else:
            how = (
                "exact: minimal"
                if p["method"] == "exact"
                else f"greedy: at most {p['bound']:.2f}x the minimum of >= {p['lower_bound']} nodes"
            )
            lines.append(
                f"  drain plan for {p['k']} free /{length}s: drain {len(p['nodes'])} nodes "
                f"({how}), frees {p['blocks_freed']}"
            )
            lines.append("    " + ", ".join(safe(n) for n in p["nodes"]))
    if "reservation_advice" in doc:
        a = doc["reservation_advice"]
        size = a["prefixlen"]
        lines.append(f"  reservation advice for a /{size} prefix reservation")
        if a["free_places"]:
            listed = len(a["places"])
            lines.append(
                f"    {a['free_places']} places could be reserved now"
                + (f" (first {listed} listed)" if a["truncated"] else "")
            )
        elif a["places"]:
            lines.append(
                "    no free place; these displace the fewest addresses of drainable owners:"
            )
        else:
            lines.append("    no place: every one holds addresses that cannot be drained")
        for pl in a["places"]:
            gives = f"guarantees {pl['prefixes']} /{length} prefixes"
            if pl["nodes"] is not None:
                gives += f" = {pl['nodes']} {safe(a['instance_type'])} node(s) at max pods"
            lines.append(f"    {pl['cidr']:<22} {gives}")
            if pl["displaced"]:
                lines.append(
                    f"      first displace {pl['displaced']} addresses: drain "
                    f"{len(pl['drain'])} node(s): " + ", ".join(safe(n) for n in pl["drain"])
                )
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
        "--example", metavar="NAME", help=f"a bundled example ({', '.join(example_names())})"
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
        "--prefixlen",
        type=int,
        help="block size to analyze (default 28, IPv6 80; not shorter than the subnet's own)",
    )
    parser.add_argument(
        "--lenient", action="store_true", help="skip broken items with a warning instead of failing"
    )
    parser.add_argument(
        "--top",
        type=positive_int,
        default=8,
        help="rows per listing: owner kinds, nodes, places (default 8)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the whole report as JSON (schema: docs/analysis.md) instead of text",
    )
    parser.add_argument("--map", action="store_true", help="print the block map of each subnet")
    parser.add_argument("--svg", metavar="FILE", help="write the block map as SVG")
    parser.add_argument(
        "--png", metavar="FILE", help="write the block map as PNG (extra ipfrag[plot])"
    )
    parser.add_argument(
        "--list-enis",
        action="store_true",
        help="list every network interface: id, kind, holder, instance, addresses, prefixes",
    )
    parser.add_argument(
        "--node-recs",
        action="store_true",
        help="per EKS node: the blocks draining it alone would free",
    )
    parser.add_argument(
        "--plan",
        type=int,
        metavar="K",
        help="the fewest EKS nodes to drain to free K blocks (K >= 1)",
    )
    parser.add_argument(
        "--reserve",
        type=int,
        metavar="SIZE",
        help="where a prefix CIDR reservation of /SIZE could go (e.g. 24)",
    )
    parser.add_argument(
        "--instance-type",
        metavar="TYPE",
        help="with --reserve: count nodes of this type at max pods (prefix mode)",
    )
    parser.add_argument(
        "--vcpus",
        type=positive_int,
        help="vCPUs of --instance-type, for the EKS max-pods cap (110 up to 30 vCPUs, else 250)",
    )
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
        raise InvalidArgument("--subnets needs --network-interfaces")
    return load_snapshot(
        args.subnets,
        args.network_interfaces,
        args.cidr_reservations,
        family=family,
        lenient=args.lenient,
    )


def _map_file(path: str, subnet_id: str, several: bool) -> Path:
    """``--svg``/``--png`` FILE, with the subnet id before the suffix when there are several."""
    p = Path(path)
    return p.with_name(f"{p.stem}-{subnet_id}{p.suffix}") if several else p


def _write_maps(report: Report, subnet_id: str, args: argparse.Namespace, several: bool) -> None:
    if args.svg is not None:
        target = _map_file(args.svg, subnet_id, several)
        try:
            target.write_text(report.to_svg(), encoding="utf-8")
        except OSError as e:
            raise IpfragError(f"cannot write the SVG map {target}: {e.strerror or e}") from e
    if args.png is not None:
        report.to_png(_map_file(args.png, subnet_id, several))


def run(args: argparse.Namespace) -> int:
    """Run ``ipfrag analyze`` for parsed arguments; returns the exit status.

    Cost: loading the snapshot, O(n) in the addresses and prefixes listed, then
    :func:`ipfrag.analyze` per subnet (plus the drain model and the advisor when asked).

    >>> from ipfrag.cli import main
    >>> main(["analyze", "--example", "no-such-example"])  # doctest: +ELLIPSIS
    2
    """
    if args.reserve is None and (args.instance_type or args.vcpus):
        raise InvalidArgument("--instance-type and --vcpus go with --reserve SIZE")
    snap = _load(args)
    several = len(snap) > 1
    documents = []
    maps = []
    for subnet_id, subnet in snap.items():
        report = analyze(subnet, args.prefixlen)
        documents.append(_document(subnet, report, args))
        if args.map and not args.json:
            maps.append(report.map())
        _write_maps(report, subnet_id, args, several)
    if args.json:
        document = {
            "family": snap.family,
            "subnets": documents,
            "mismatches": [str(m) for m in snap.mismatches],
            "warnings": snap.warnings,
            "notes": snap.notes,
        }
        print(json.dumps(document, indent=2))
    else:
        blocks = []
        for i, doc in enumerate(documents):
            lines = _render(doc, args.top)
            if args.map:
                lines += ["", *maps[i].splitlines()]
            blocks.append("\n".join(lines))
        print("\n\n".join(blocks) if blocks else "no subnets")
    for note in snap.notes:
        print(f"note: {safe(note)}", file=sys.stderr)
    for warning in snap.warnings:
        print(f"warning: {safe(warning)}", file=sys.stderr)
    return 0
