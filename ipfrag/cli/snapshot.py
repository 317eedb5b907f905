"""``ipfrag snapshot``: read subnets live from AWS and save them for ``ipfrag analyze``.

Needs the ``ipfrag[aws]`` extra (boto3) and read-only IAM permissions (see
:mod:`ipfrag.aws.live`). Reads by subnet ids, by EKS cluster name or ARN, or both, and
writes a snapshot file holding the raw responses; ``ipfrag analyze --snapshot FILE``
analyzes it offline, as often as needed. ``--dry-run`` lists the calls and IAM actions it
would make, without calling AWS. AWS errors (a missing permission on a data call, no
credentials, an unknown cluster) are reported on stderr with exit status 1; refused
discovery calls are warnings.

>>> from ipfrag.cli import main
>>> main(["snapshot", "-o", "x.json"])
2
>>> main(["snapshot", "--subnet-id", "subnet-1", "--dry-run"])  # doctest: +ELLIPSIS
would call (read-only):
  ec2:DescribeSubnets  ...
0
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ipfrag.aws.live import planned_calls, read_live
from ipfrag.aws.snapshot import save_snapshot
from ipfrag.cli._text import safe
from ipfrag.errors import InvalidArgument

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the ``snapshot`` subcommand to ``subparsers``; returns its parser. O(1)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "snapshot",
        help="read subnets live from AWS (boto3) into a snapshot file",
        description=(
            "Read describe-subnets, describe-network-interfaces and "
            "get-subnet-cidr-reservations for the given subnets and/or the subnets of an EKS "
            "cluster (its own, its node groups', and those tagged kubernetes.io/cluster/NAME, "
            "karpenter.sh/discovery=NAME or kubernetes.io/role/cni), and save them to a file "
            "for 'ipfrag analyze --snapshot FILE'. Needs pip install 'ipfrag[aws]'."
        ),
    )
    parser.add_argument(
        "--cluster",
        metavar="NAME_OR_ARN",
        help="an EKS cluster name or ARN (the ARN's region wins)",
    )
    parser.add_argument(
        "--subnet-id", nargs="+", default=[], metavar="ID", help="subnet ids to read"
    )
    parser.add_argument("--region", help="AWS region (default: the AWS config's)")
    parser.add_argument("--profile", help="AWS config profile")
    parser.add_argument("-o", "--output", metavar="FILE", help="file to write (required)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the AWS calls and IAM actions it would make, and stop (no AWS access)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``ipfrag snapshot`` for parsed arguments; returns the exit status.

    Cost: O(subnets) AWS API calls plus pages, then O(n) to write the file.
    """
    if not args.subnet_id and args.cluster is None:
        raise InvalidArgument("give --cluster NAME and/or --subnet-id ID")
    if args.dry_run:
        calls = planned_calls(args.subnet_id, cluster=args.cluster)
        width = max(len(c.action) for c in calls)
        print("would call (read-only):")
        for call in calls:
            note = "" if call.fatal else "  (if refused: a warning)"
            print(f"  {call.action:<{width}}  {call.purpose}{note}")
        print("IAM actions needed: " + ", ".join(dict.fromkeys(c.action for c in calls)))
        return 0
    if args.output is None:
        raise InvalidArgument("give -o FILE")
    # Failures reach ipfrag.cli.main: AWS read errors exit 1, bad arguments 2.
    raw = read_live(args.subnet_id, cluster=args.cluster, region=args.region, profile=args.profile)
    path = save_snapshot(args.output, raw)
    sources = raw.metadata.get("subnet_sources", {})
    print(
        f"read {len(raw.subnets)} subnets, {len(raw.network_interfaces)} network interfaces, "
        f"{len(raw.ipv4_cidr_reservations) + len(raw.ipv6_cidr_reservations)} CIDR "
        f"reservations in {safe(raw.metadata.get('region'))}"
    )
    if raw.metadata.get("auto_mode"):
        print(
            f"cluster {safe(raw.metadata.get('cluster'))} runs EKS Auto Mode: its nodes take /28 "
            "prefixes, so free aligned /28s are what new nodes and pods need"
        )
    for warning in raw.metadata.get("warnings", ()):
        print(f"warning: {safe(warning)}", file=sys.stderr)
    for subnet in raw.subnets:
        subnet_id = subnet.get("SubnetId", "?")
        why = ", ".join(sources.get(subnet_id, ()))
        print(f"  {safe(subnet_id)}  {safe(subnet.get('CidrBlock', '-'))}  {safe(why)}")
    print(f"wrote {path}; analyze it with: ipfrag analyze --snapshot {path}")
    return 0
