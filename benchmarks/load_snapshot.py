"""Load a realistic /16 snapshot and analyze it; time it against the support tool's analysis.

Run ``python -m benchmarks.load_snapshot [--quick] [--seed N] [--repeat N] [--memory]``.

The workload is generated in memory from the seed (nothing is committed): one IPv4 /16
subnet of an EKS cluster with about 40,000 network interfaces holding about 44,500 single
addresses and 1,000 /28 prefixes, every item shaped as ``aws ec2
describe-network-interfaces`` prints it (250 prefix-mode nodes with four /28s on their
primary ENI, 320 secondary-mode VPC CNI ENIs with 15 addresses each, 37,000 pod branch
ENIs of security groups for pods, 1,500 Lambda ENIs and 930 service interfaces: NAT,
load balancers, endpoints, EFS, RDS, ElastiCache, DAX, CodeBuild). Its JSON text, indented
as the AWS CLI prints it, is about 70 MB.

Measured in CPU seconds of the process (``time.process_time``), best of ``--repeat`` rounds
in which the contenders run in turn:

* ``ipfrag load``: :func:`ipfrag.aws.load_snapshot` from the parsed responses (dicts);
* ``ipfrag analysis``: the analysis of the subnet (:func:`analysis_function`);
* ``ipfrag load+analysis``: both, timed as one run (the figure compared);
* ``support tool``: the AWS support team's analysis of the same parsed data
  (:mod:`benchmarks.peers_support_tool`);
* ``ipfrag from file``: ``load_snapshot`` given the two file paths (decoding included),
  against ``json.load`` + the support tool's analysis.

Both sides must agree on free addresses and free /28 blocks (the script exits with status 1
otherwise). ``--memory`` also reports the peak traced memory of a load (tracemalloc; slow).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.peers_support_tool import support_tool_analysis

__all__ = ["Workload", "analysis_function", "main", "make_snapshot"]

CIDR = "10.0.0.0/16"
SUBNET_ID = "subnet-0a1b2c3d4e5f60718"
VPC_ID = "vpc-0123456789abcdef0"
REGION = "eu-west-1"
AZ = "eu-west-1a"
ACCOUNT = "111122223333"
CLUSTER = "prod"


def analysis_function() -> Callable[[Any], object]:
    """ipfrag's per-subnet analysis, wherever this version of ipfrag keeps it.

    ``ipfrag.analysis.analyze`` (the analysis layer) when there is one, else the figures
    ``ipfrag analyze`` printed before that layer existed (``ipfrag.cli.analyze.analyze_subnet``).
    """
    try:
        from ipfrag.analysis import analyze  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        from ipfrag.cli.analyze import analyze_subnet

        return analyze_subnet
    return analyze  # type: ignore[no-any-return,unused-ignore]


@dataclass(frozen=True)
class Workload:
    """The generated responses, parsed, plus what they hold."""

    subnets: dict[str, Any]
    network_interfaces: dict[str, Any]
    singles: int
    prefixes: int

    @property
    def interfaces(self) -> int:
        """Number of network interfaces."""
        return len(self.network_interfaces["NetworkInterfaces"])


class _Gen:
    def __init__(self, seed: int, scale: float) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.seen: set[str] = set()
        base = 10 << 24
        self.ips = [f"{(base + o) >> 24}.{(base + o) >> 16 & 255}.{(base + o) >> 8 & 255}.{o & 255}"
                    for o in range(1 << 16)]  # fmt: skip

    def n(self, count: int) -> int:
        return max(1, round(count * self.scale))

    def ident(self, prefix: str, digits: int = 17) -> str:
        while True:
            value = f"{prefix}-{self.rng.getrandbits(4 * digits):0{digits}x}"
            if value not in self.seen:
                self.seen.add(value)
                return value

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def eni(
        self,
        ips: list[str],
        *,
        description: str = "",
        interface_type: str = "interface",
        instance: str | None = None,
        device: int = 0,
        prefixes: Sequence[str] = (),
        requester: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        eni_id = self.ident("eni")
        item: dict[str, Any] = {"AvailabilityZone": AZ, "AvailabilityZoneId": "euw1-az1"}
        if instance is not None:
            item["Attachment"] = {
                "AttachTime": "2026-11-01T08:00:00+00:00",
                "AttachmentId": self.ident("eni-attach"),
                "DeleteOnTermination": True,
                "DeviceIndex": device,
                "NetworkCardIndex": 0,
                "InstanceId": instance,
                "InstanceOwnerId": ACCOUNT,
                "Status": "attached",
            }
        item.update(
            {
                "Description": description,
                "Groups": [{"GroupId": self.ident("sg"), "GroupName": "eks-cluster-sg-prod"}],
                "InterfaceType": interface_type,
                "Ipv6Addresses": [],
                "MacAddress": "02:" + ":".join(f"{b:02x}" for b in self.rng.randbytes(5)),
                "NetworkInterfaceId": eni_id,
                "OwnerId": ACCOUNT,
                "PrivateDnsName": f"ip-{ips[0].replace('.', '-')}.{REGION}.compute.internal",
                "PrivateIpAddress": ips[0],
                "PrivateIpAddresses": [
                    {
                        "Primary": i == 0,
                        "PrivateDnsName": f"ip-{ip.replace('.', '-')}.{REGION}.compute.internal",
                        "PrivateIpAddress": ip,
                    }
                    for i, ip in enumerate(ips)
                ],
                "RequesterManaged": requester is not None,
                "SourceDestCheck": True,
                "Status": "in-use",
                "SubnetId": SUBNET_ID,
                "TagSet": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
                "VpcId": VPC_ID,
            }
        )
        if prefixes:
            item["Ipv4Prefixes"] = [{"Ipv4Prefix": p} for p in prefixes]
        if requester is not None:
            item["RequesterId"] = requester
        return item


def make_snapshot(seed: int = 1, scale: float = 1.0) -> Workload:
    """Generate the /16 workload (``scale`` < 1 gives a proportionally smaller one).

    Cost: O(interfaces); about a second at full scale.

    >>> w = make_snapshot(seed=1, scale=0.01)
    >>> w.interfaces, w.prefixes
    (399, 8)
    """
    g = _Gen(seed, scale)
    size = 1 << 16
    # /28 blocks clear of the five AWS-reserved addresses (first and last block).
    n_nodes = g.n(250)
    blocks = g.rng.sample(range(1, size // 16 - 1), 4 * n_nodes)
    used = set(range(4)) | {size - 1}
    for b in blocks:
        used.update(range(16 * b, 16 * b + 16))
    n_cni, n_branch, n_lambda, n_services = g.n(320), g.n(37_000), g.n(1_500), g.n(930)
    n_singles = n_nodes + 15 * n_cni + n_branch + n_lambda + n_services
    free = [o for o in range(size) if o not in used]
    singles = iter(g.rng.sample(free, n_singles))

    def ips(count: int) -> list[str]:
        return [g.ips[next(singles)] for _ in range(count)]

    enis: list[dict[str, Any]] = []
    nodes = [g.ident("i") for _ in range(n_nodes + n_cni)]
    cluster_tags = {"cluster.k8s.amazonaws.com/name": CLUSTER}
    for i, node in enumerate(nodes[:n_nodes]):
        mine = [f"{g.ips[16 * b]}/28" for b in blocks[4 * i : 4 * i + 4]]
        enis.append(g.eni(ips(1), instance=node, prefixes=mine))
    for node in nodes[n_nodes:]:
        tags = {"node.k8s.amazonaws.com/instance_id": node, **cluster_tags}
        enis.append(
            g.eni(ips(15), description=f"aws-K8S-{node}", instance=node, device=1, tags=tags)
        )
    trunks = [g.ident("eni") for _ in range(n_nodes)]
    for _ in range(n_branch):
        tags = {
            "eks:eni:owner": "eks-vpc-resource-controller",
            "vpcresources.k8s.aws/trunk-eni-id": g.rng.choice(trunks),
            "vpcresources.k8s.aws/vlan-id": str(g.rng.randrange(1, 120)),
            "kubernetes.io/cluster/prod": "owned",
        }
        enis.append(
            g.eni(
                ips(1),
                description="aws-k8s-branch-eni",
                interface_type="branch",
                requester="014851456324",
                tags=tags,
            )
        )
    functions = [f"orders-{k}" for k in range(40)]
    for _ in range(n_lambda):
        fn = g.rng.choice(functions)
        enis.append(
            g.eni(
                ips(1),
                description=f"AWS Lambda VPC ENI-{fn}-{g.uuid()}",
                interface_type="lambda",
                requester=f"AROAEXAMPLE:awslambda_{g.rng.randrange(10**9)}",
            )
        )
    services: list[tuple[str, str, str | None]] = [
        ("Interface for NAT Gateway {nat}", "nat_gateway", "amazon-vpc"),
        ("ELB app/web/{hex}", "interface", "amazon-elb"),
        ("ELB net/api/{hex}", "network_load_balancer", "amazon-elb"),
        ("VPC Endpoint Interface {vpce}", "vpc_endpoint", "amazon-vpce"),
        ("EFS mount target for {fs} ({fsmt})", "efs", "amazon-elasticfilesystem"),
        ("RDSNetworkInterface", "interface", "amazon-rds"),
        ("ElastiCache orders-cache-0001-001", "interface", "amazon-elasticache"),
        ("DAX orders-dax-abcdefghij", "interface", "amazon-dax"),
        ("AWS CodeBuild - build", "interface", f"AROAEXAMPLE:AWSCodeBuild-{ACCOUNT}"),
    ]
    for k in range(n_services):
        text, itype, requester = services[k % len(services)]
        description = text.format(
            nat=g.ident("nat"),
            hex=f"{g.rng.getrandbits(64):016x}",
            vpce=g.ident("vpce"),
            fs=g.ident("fs", 8),
            fsmt=g.ident("fsmt", 8),
        )
        enis.append(
            g.eni(ips(1), description=description, interface_type=itype, requester=requester)
        )
    g.rng.shuffle(enis)
    available = size - 5 - n_singles - 16 * len(blocks)
    subnet = {
        "AvailabilityZone": AZ,
        "AvailabilityZoneId": "euw1-az1",
        "AvailableIpAddressCount": available,
        "CidrBlock": CIDR,
        "DefaultForAz": False,
        "MapPublicIpOnLaunch": False,
        "State": "available",
        "SubnetId": SUBNET_ID,
        "VpcId": VPC_ID,
        "OwnerId": ACCOUNT,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "Tags": [{"Key": "Name", "Value": "prod-pods-a"}],
        "SubnetArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{SUBNET_ID}",
    }
    return Workload({"Subnets": [subnet]}, {"NetworkInterfaces": enis}, n_singles, len(blocks))


def _interleaved(repeat: int, runs: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """``{name: (best seconds, last result)}``, the runs taken in turn ``repeat`` times.

    CPU time of this (single-threaded) process: on a shared machine, wall-clock time mostly
    measures the other processes. Taking the contenders in turn, round after round, lets a
    busy minute slow them all alike; each run's previous result is freed before it starts,
    so that no run is charged for freeing another's.
    """
    best = dict.fromkeys(runs, float("inf"))
    last: dict[str, Any] = dict.fromkeys(runs)
    for _ in range(repeat):
        for name, run in runs.items():
            last[name] = None
            gc.collect()
            start = time.process_time()
            result = run()
            best[name] = min(best[name], time.process_time() - start)
            last[name] = result
            del result
    return {name: (best[name], last[name]) for name in runs}


def _traced_peak(run: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        kept = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del kept
    return peak


def run(seed: int, repeat: int, scale: float, memory: bool) -> dict[str, Any]:
    """Generate, time and cross-check; returns the figures (seconds, bytes)."""
    from ipfrag.aws import load_snapshot

    analyze = analysis_function()
    w = make_snapshot(seed, scale)
    enis = w.network_interfaces["NetworkInterfaces"]

    def load() -> Any:
        return load_snapshot(w.subnets, w.network_interfaces)

    def load_and_analyze() -> Any:
        loaded = load_snapshot(w.subnets, w.network_interfaces)
        return analyze(loaded[SUBNET_ID])

    snap = load()
    subnet = snap[SUBNET_ID]
    timed = _interleaved(
        repeat,
        {
            "load": load,
            "analysis": lambda: analyze(subnet),
            "total": load_and_analyze,
            "peer": lambda: support_tool_analysis(CIDR, enis),
        },
    )
    peer = timed["peer"][1]
    if (subnet.free_addresses, subnet.free_block_count(28)) != (peer["free"], peer["free_blocks"]):
        raise SystemExit(
            f"disagreement: ipfrag free {subnet.free_addresses}, free /28s "
            f"{subnet.free_block_count(28)}; support tool free {peer['free']}, free /28s "
            f"{peer['free_blocks']}"
        )
    if snap.warnings:
        raise SystemExit(f"ipfrag warnings: {snap.warnings[:3]}")
    figures: dict[str, Any] = {
        "interfaces": w.interfaces,
        "single_addresses": w.singles,
        "prefixes": w.prefixes,
        "free_addresses": subnet.free_addresses,
        "free_blocks": subnet.free_block_count(28),
        "ipfrag_load_s": timed["load"][0],
        "ipfrag_analysis_s": timed["analysis"][0],
        "ipfrag_total_s": timed["total"][0],
        "support_tool_s": timed["peer"][0],
    }
    with tempfile.TemporaryDirectory() as tmp:
        s_path, i_path = Path(tmp) / "subnets.json", Path(tmp) / "enis.json"
        s_path.write_text(json.dumps(w.subnets, indent=4))
        i_path.write_text(json.dumps(w.network_interfaces, indent=4))
        figures["json_bytes"] = i_path.stat().st_size

        def from_file() -> Any:
            loaded = load_snapshot(s_path, i_path)
            return analyze(loaded[SUBNET_ID])

        def peer_from_file() -> Any:
            with i_path.open("rb") as f:
                parsed = json.load(f)
            return support_tool_analysis(CIDR, parsed["NetworkInterfaces"])

        by_file = _interleaved(repeat, {"ipfrag": from_file, "peer": peer_from_file})
        figures["ipfrag_from_file_s"] = by_file["ipfrag"][0]
        figures["support_tool_from_file_s"] = by_file["peer"][0]
        if memory:
            figures["ipfrag_load_peak_bytes"] = _traced_peak(lambda: load_snapshot(s_path, i_path))
    return figures


def _report(f: dict[str, Any]) -> str:
    ratio = f["ipfrag_total_s"] / f["support_tool_s"]
    file_ratio = f["ipfrag_from_file_s"] / f["support_tool_from_file_s"]
    lines = [
        f"/16 snapshot: {f['interfaces']} interfaces, {f['single_addresses']} single addresses, "
        f"{f['prefixes']} /28 prefixes, {f['json_bytes'] / 1e6:.1f} MB of JSON",
        f"  free addresses {f['free_addresses']}, free /28s {f['free_blocks']} (both agree)",
        "from parsed data (dicts):",
        f"  ipfrag load            {f['ipfrag_load_s']:8.3f} s",
        f"  ipfrag analysis        {f['ipfrag_analysis_s']:8.3f} s",
        f"  ipfrag load+analysis   {f['ipfrag_total_s']:8.3f} s  (timed as one run)",
        f"  support tool analysis  {f['support_tool_s']:8.3f} s",
        f"  ipfrag / support tool  {ratio:8.2f}x",
        "from the JSON files (decoding included):",
        f"  ipfrag                 {f['ipfrag_from_file_s']:8.3f} s",
        f"  json.load + tool       {f['support_tool_from_file_s']:8.3f} s",
        f"  ipfrag / support tool  {file_ratio:8.2f}x",
    ]
    if "ipfrag_load_peak_bytes" in f:
        peak = f["ipfrag_load_peak_bytes"]
        lines.append(
            f"  peak traced memory of a load from file: {peak / 1e6:.0f} MB "
            f"({peak / f['json_bytes']:.1f}x the JSON size)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a 1/10 workload, one repeat")
    parser.add_argument("--memory", action="store_true", help="also trace peak memory (slow)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    scale, repeat = (0.1, 1) if args.quick else (1.0, args.repeat)
    figures = run(args.seed, repeat, scale, args.memory)
    print(_report(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
