"""``ipfrag max-pods``: the kubelet max pods the EKS node tooling computes for an instance type.

Prints one number on stdout, like ``max-pods-calculator.sh``. An unknown instance type, or a cap
that needs the vCPU count nobody gave, is reported on stderr with exit status 2.

>>> from ipfrag.cli import main
>>> main(["max-pods", "m5.large"])
29
0
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ipfrag.aws.limits import instance_limits, max_pods
from ipfrag.cli._args import positive_int

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the ``max-pods`` subcommand to ``subparsers``; returns its parser. O(1)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "max-pods",
        help="max pods per node for an EC2 instance type (EKS formula)",
        description=(
            "Print the kubelet max pods the EKS node tooling computes: ENIs x (IPs per ENI - 1) "
            "+ 2, or with prefix delegation ENIs x ((IPs per ENI - 1) x 16) + 2 on Nitro and "
            "bare-metal types; capped at 110 for at most 30 vCPUs and 250 above."
        ),
    )
    parser.add_argument("instance_type", metavar="INSTANCE_TYPE", help="e.g. m5.large")
    parser.add_argument(
        "--prefix-delegation",
        action="store_true",
        help="VPC CNI ENABLE_PREFIX_DELEGATION=true: /28 prefixes instead of single IPs",
    )
    parser.add_argument(
        "--custom-networking",
        action="store_true",
        help="VPC CNI custom networking: the primary ENI serves no pod",
    )
    parser.add_argument(
        "--max-enis",
        type=positive_int,
        metavar="N",
        help="use at most N ENIs for pods (the calculator's --cni-max-eni)",
    )
    parser.add_argument(
        "--vcpus",
        type=positive_int,
        metavar="N",
        help="vCPUs of the type; needed for the cap when the uncapped value exceeds 110",
    )
    parser.add_argument(
        "--no-cap",
        dest="cap",
        action="store_false",
        help="print the uncapped value (the calculator's --show-max-allowed)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Compute and print max pods for the parsed arguments; returns the exit status. O(1).

    An unknown type or a cap that needs ``--vcpus`` raises; :func:`ipfrag.cli.main`
    reports it on one line with exit status 2.
    """
    value = max_pods(
        args.instance_type,
        prefix_delegation=args.prefix_delegation,
        custom_networking=args.custom_networking,
        max_enis=args.max_enis,
        vcpus=args.vcpus,
        cap=args.cap,
    )
    limits = instance_limits(args.instance_type)
    if args.prefix_delegation and not limits.supports_prefix_delegation:
        print(
            f"ipfrag max-pods: note: {limits.instance_type} ({limits.hypervisor}) does not "
            "support prefix delegation; the secondary-IP formula applies",
            file=sys.stderr,
        )
    print(value)
    return 0
