"""The analysis step of the AWS support team's Subnet Fragmentation Analyzer, as a peer.

Source: awslabs/aws-support-tools, ``EKS/subnet-fragmentation/subnet_frag.py`` (functions
``classify_eni``, ``build_ip_map``, ``build_prefix_map``, ``analyze_subnet`` and the owner
table of ``print_analysis``). This is a
peer implementation of that algorithm with the same data structures, written for the
benchmark, so that ipfrag's load + analysis can be timed against it on the same parsed data:

* every interface is classified from ``InterfaceType`` (a table the tool builds on every
  call), then ``Description`` prefixes, then the attachment (first match wins);
* ``ip_map`` maps each private IP address (as text) to its owner record, ``prefix_map`` each
  ``Ipv4Prefixes`` CIDR (as text) to its owner record;
* the subnet is expanded to the set of all its addresses as text; used, reserved, prefix and
  free address sets are taken from it; then every aligned /28 of the subnet is expanded to
  its 16 addresses and classified ``prefix_allocated``, ``has_reserved``, ``free``, ``full``
  or ``fragmented`` (and flagged when it overlaps a CIDR reservation);
* the owner table counts interfaces and addresses per owner type.

Only the analysis is reproduced, not the tool's AWS calls or its printing.

>>> enis = [{"NetworkInterfaceId": "eni-1", "Status": "in-use",
...          "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.20", "Primary": True}]}]
>>> r = support_tool_analysis("10.0.0.0/24", enis)
>>> r["free"], r["free_blocks"], r["fragmented_blocks"]
(250, 13, 1)
"""

from __future__ import annotations

import ipaddress
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "build_ip_map",
    "build_prefix_map",
    "classify_eni",
    "fragmentation",
    "owner_summary",
    "support_tool_analysis",
]

PREFIX_SIZE = 28

# Description prefix -> (owner type, whether the owner id is the instance, detail), in order.
_DESCRIPTION_TABLE: tuple[tuple[tuple[str, ...], str, bool, str], ...] = (
    (("ELB ", "aws-elb"), "elb", False, "Elastic Load Balancer"),
    (("arn:aws:ecs:",), "ecs_task", False, "ECS Fargate task"),
    (("aws-K8S-",), "eks_pod", True, "EKS pod ENI"),
    (("Amazon EKS",), "eks_managed", False, "EKS control plane"),
    (("RDSNetworkInterface",), "rds", False, "RDS"),
    (("ElastiCache",), "elasticache", False, "ElastiCache"),
    (("RedshiftNetworkInterface",), "redshift", False, "Redshift"),
    (("AWS CodeBuild",), "codebuild", False, "CodeBuild"),
    (("DAX",), "dax", False, "DAX"),
)


def _type_table(desc: str, instance_id: str | None) -> dict[str, tuple[str, str, str]]:
    """InterfaceType -> (owner type, owner id, detail): the tool's table, which it builds
    afresh on every call of ``classify_eni`` (kept so here: the peer must cost what the tool
    costs)."""
    return {
        "lambda": ("lambda", desc, "VPC Lambda"),
        "nat_gateway": ("nat_gateway", desc, "NAT Gateway"),
        "gateway_load_balancer": ("gwlb", desc, "Gateway LB"),
        "gateway_load_balancer_endpoint": ("gwlb_endpoint", desc, "Gateway LB Endpoint"),
        "load_balancer": ("elb", desc, "Load Balancer"),
        "network_load_balancer": ("nlb", desc, "Network Load Balancer"),
        "transit_gateway": ("transit_gw", desc, "Transit Gateway"),
        "vpc_endpoint": ("vpc_endpoint", desc, "VPC Endpoint"),
        "api_gateway_managed": ("api_gw", desc, "API Gateway"),
        "efs": ("efs", desc, "EFS Mount Target"),
        "trunk": ("trunk", instance_id or desc, "Trunk ENI (SGP)"),
        "branch": ("branch", instance_id or desc, "Branch ENI (SGP)"),
        "efa": ("efa", instance_id or desc, "Elastic Fabric Adapter"),
        "efa-only": ("efa", instance_id or desc, "Elastic Fabric Adapter"),
        "evs": ("evs", desc, "Elastic VMware Service"),
        "global_accelerator_managed": ("global_accel", desc, "Global Accelerator"),
        "ec2_instance_connect_endpoint": ("eice", desc, "EC2 Instance Connect Endpoint"),
        "quicksight": ("quicksight", desc, "QuickSight"),
        "iot_rules_managed": ("iot", desc, "IoT Rules"),
        "aws_codestar_connections_managed": ("codestar", desc, "CodeStar Connections"),
    }


def classify_eni(eni: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(owner type, owner id, detail, requester) of one interface, as the tool decides it."""
    itype = eni.get("InterfaceType", "interface")
    desc = eni.get("Description", "")
    attachment = eni.get("Attachment", {})
    instance_id = attachment.get("InstanceId")
    requester = eni.get("RequesterId", "")
    if eni.get("Status", "") == "available":
        return "orphaned", eni["NetworkInterfaceId"], "detached/unused", requester
    table = _type_table(desc, instance_id)
    if itype in table:
        kind, owner, detail = table[itype]
        return kind, owner, detail, requester
    for prefixes, kind, by_instance, detail in _DESCRIPTION_TABLE:
        if desc.startswith(prefixes):
            return kind, (instance_id or desc) if by_instance else desc, detail, requester
    if instance_id:
        index = attachment.get("DeviceIndex", 0)
        kind = "ec2_primary" if index == 0 else "ec2_secondary"
        return kind, instance_id, f"device index {index}", requester
    return "other", desc or eni["NetworkInterfaceId"], itype, requester


def build_ip_map(enis: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{ip text: owner record}`` over every interface's ``PrivateIpAddresses``."""
    ip_map: dict[str, dict[str, Any]] = {}
    for eni in enis:
        kind, owner, detail, requester = classify_eni(eni)
        for entry in eni.get("PrivateIpAddresses", []):
            ip_map[entry["PrivateIpAddress"]] = {
                "eni_id": eni["NetworkInterfaceId"],
                "owner_type": kind,
                "owner_id": str(owner),
                "detail": detail,
                "requester": requester,
                "is_primary": entry.get("Primary", False),
            }
    return ip_map


def build_prefix_map(enis: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{prefix text: owner record}`` over every interface's ``Ipv4Prefixes``."""
    prefix_map: dict[str, dict[str, Any]] = {}
    for eni in enis:
        prefixes = eni.get("Ipv4Prefixes") or []
        if not prefixes:
            continue
        kind, owner, detail, requester = classify_eni(eni)
        for entry in prefixes:
            text = entry.get("Ipv4Prefix", "")
            try:
                ipaddress.ip_network(text, strict=False)
            except (ValueError, TypeError):
                continue
            prefix_map[text] = {
                "eni_id": eni["NetworkInterfaceId"],
                "owner_type": kind,
                "owner_id": str(owner),
                "detail": detail,
                "requester": requester,
            }
    return prefix_map


def fragmentation(
    cidr: str,
    ip_map: Mapping[str, Any],
    reservations: Sequence[str] = (),
    prefix_map: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The tool's per-/28 analysis of one subnet, over address sets of text."""
    network = ipaddress.ip_network(cidr, strict=False)
    all_ips = {str(ip) for ip in network}
    reserved = {str(network.network_address + i) for i in range(4)} | {
        str(network.broadcast_address)
    }
    used = set(ip_map)
    prefix_ips: set[str] = set()
    prefix_blocks: set[str] = set()
    for text in prefix_map or {}:
        net = ipaddress.ip_network(text, strict=False)
        prefix_blocks.add(str(net))
        prefix_ips.update(str(ip) for ip in net)
    effective_reserved = reserved - used - prefix_ips
    free = all_ips - used - reserved - prefix_ips
    reservation_nets = [ipaddress.ip_network(r, strict=False) for r in reservations]
    blocks = list(network.subnets(new_prefix=PREFIX_SIZE)) if network.prefixlen <= 28 else []
    reserved_all = {network.network_address, network.broadcast_address} | {
        network.network_address + i for i in range(1, 4)
    }
    analysis = []
    for block in blocks:
        ips = {str(ip) for ip in block}
        b_used = [ip for ip in ips if ip in used]
        b_res = [ip for ip in ips if ip in reserved and ip not in used and ip not in prefix_ips]
        b_prefix = [ip for ip in ips if ip in prefix_ips]
        b_free = [ip for ip in ips if ip in free]
        has_reserved = b_res or any(ip in block for ip in reserved_all)
        if str(block) in prefix_blocks:
            status = "prefix_allocated"
        elif has_reserved:
            status = "has_reserved"
        elif not b_used:
            status = "free"
        elif not b_free:
            status = "full"
        else:
            status = "fragmented"
        analysis.append(
            {
                "block": str(block),
                "status": status,
                "used": len(b_used),
                "free": len(b_free),
                "reserved": len(b_res),
                "prefix": len(b_prefix),
                "used_ips": b_used,
                "free_ips": b_free,
                "in_reservation": any(block.overlaps(r) for r in reservation_nets),
            }
        )
    counts = {s: 0 for s in ("free", "fragmented", "full", "has_reserved", "prefix_allocated")}
    for b in analysis:
        counts[b["status"]] += 1
    candidates = counts["free"] + counts["fragmented"] + counts["full"]
    score = (
        None
        if candidates == 0
        else math.ceil((counts["fragmented"] + counts["full"]) / candidates * 100)
    )
    return {
        "total_ips": len(all_ips),
        "used": len(used),
        "free": len(free),
        "reserved": len(effective_reserved),
        "blocks": analysis,
        "total_blocks": len(analysis),
        "free_blocks": counts["free"],
        "fragmented_blocks": counts["fragmented"],
        "full_blocks": counts["full"],
        "reserved_blocks": counts["has_reserved"],
        "prefix_allocated_blocks": counts["prefix_allocated"],
        "fragmentation_score": score,
    }


def owner_summary(ip_map: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, int, int]]:
    """``(owner type, interfaces, addresses)``, most addresses first: the tool's owner
    table (computed in its ``print_analysis``; ipfrag's analysis gives the same figures as
    holders by kind)."""
    owners: dict[str, dict[str, Any]] = defaultdict(lambda: {"enis": set(), "ips": 0})
    for info in ip_map.values():
        owners[info["owner_type"]]["enis"].add(info["eni_id"])
        owners[info["owner_type"]]["ips"] += 1
    ranked = sorted(owners.items(), key=lambda x: -x[1]["ips"])
    return [(kind, len(data["enis"]), data["ips"]) for kind, data in ranked]


def support_tool_analysis(
    cidr: str, enis: Sequence[Mapping[str, Any]], reservations: Sequence[str] = ()
) -> dict[str, Any]:
    """The tool's whole analysis of one subnet from its parsed interface list.

    Cost: O(subnet size) string sets, plus O(interfaces) classification.
    """
    ip_map = build_ip_map(enis)
    prefix_map = build_prefix_map(enis)
    result = fragmentation(cidr, ip_map, reservations, prefix_map)
    result["owners"] = len({r["eni_id"] for r in ip_map.values()})
    result["owner_summary"] = owner_summary(ip_map)
    return result
