"""Generate the example AWS snapshots (deterministic: seeded, no AWS access).

They are written to ``ipfrag/data/examples/<name>/`` and ship as package data
(:mod:`ipfrag.aws.examples` reads them; ``ipfrag analyze --example NAME``).

Each example folder holds what these aws-cli commands print for one subnet:

    aws ec2 describe-subnets --subnet-ids SUBNET > describe-subnets.json
    aws ec2 describe-network-interfaces --filters Name=subnet-id,Values=SUBNET \\
        > describe-network-interfaces.json
    aws ec2 get-subnet-cidr-reservations --subnet-id SUBNET > get-subnet-cidr-reservations.json

The state is made up but shaped like a real account; see README.md beside this script.
This script uses only the standard library (not ipfrag), so the examples are an
independent check of ipfrag's loader: ``AvailableIpAddressCount`` is computed here as
AWS defines it (size - 5 reserved - single addresses - 16 x IPv4 prefixes).

Run from the repository root:  python examples/snapshots/make_examples.py
"""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The examples ship inside the package (ipfrag.aws.examples reads them from there).
OUT = HERE.parent.parent / "ipfrag" / "data" / "examples"
ACCOUNT = "111122223333"
REGION = "eu-west-1"
CLUSTER = "prod"


class Ids:
    """Deterministic AWS-style resource ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def __call__(self, prefix: str, digits: int = 17) -> str:
        while True:
            value = f"{prefix}-{self.rng.getrandbits(4 * digits):0{digits}x}"
            if value not in self.seen:
                self.seen.add(value)
                return value

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def mac(self) -> str:
        return ":".join(f"{b:02x}" for b in [0x02, *self.rng.randbytes(5)])


class Space:
    """Which offsets of an IPv4 subnet are used; AWS's five reserved addresses pre-marked."""

    def __init__(self, cidr: str, rng: random.Random) -> None:
        self.net = ipaddress.IPv4Network(cidr)
        self.size = self.net.num_addresses
        self.rng = rng
        self.used: set[int] = {0, 1, 2, 3, self.size - 1}
        self.singles = 0
        self.prefixes = 0

    def single(self, avoid: range | None = None) -> str:
        """A random free address, as EC2 places single IPs; never inside ``avoid``."""
        while True:
            offset = self.rng.randrange(self.size)
            if offset not in self.used and (avoid is None or offset not in avoid):
                self.used.add(offset)
                self.singles += 1
                return str(self.net[offset])

    def prefix(self, within: range | None = None, avoid: range | None = None) -> str:
        """A random fully free aligned /28, inside ``within`` if given, never inside ``avoid``."""
        lo, hi = (within.start, within.stop) if within else (0, self.size)
        candidates = [
            o
            for o in range(lo, hi, 16)
            if not any(o + i in self.used for i in range(16)) and (avoid is None or o not in avoid)
        ]
        if not candidates:
            raise RuntimeError("example generator: no free /28 left")
        offset = self.rng.choice(candidates)
        self.used.update(range(offset, offset + 16))
        self.prefixes += 1
        return f"{self.net[offset]}/28"

    @property
    def available(self) -> int:
        return self.size - 5 - self.singles - 16 * self.prefixes


def dns_name(ip: str) -> str:
    return f"ip-{ip.replace('.', '-')}.{REGION}.compute.internal"


def tags(**pairs: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def eni(
    ids: Ids,
    subnet: dict[str, Any],
    *,
    ips: list[str],
    description: str = "",
    interface_type: str = "interface",
    instance: str | None = None,
    device: int = 0,
    attachment_owner: str | None = None,
    prefixes: list[str] | None = None,
    ipv6: list[str] | None = None,
    ipv6_prefixes: list[str] | None = None,
    status: str = "in-use",
    requester: str | None = None,
    tag_set: list[dict[str, str]] | None = None,
    eni_id: str | None = None,
) -> dict[str, Any]:
    """One describe-network-interfaces item, with the fields aws-cli prints in its order."""
    eni_id = eni_id or ids("eni")
    item: dict[str, Any] = {}
    if status == "in-use" and (instance or attachment_owner):
        attachment: dict[str, Any] = {
            "AttachTime": f"2024-05-14T09:{device * 7 % 60:02d}:{len(ips) % 60:02d}+00:00",
            "AttachmentId": ids("eni-attach"),
            "DeleteOnTermination": instance is not None,
            "DeviceIndex": device,
            "NetworkCardIndex": 0,
            "Status": "attached",
        }
        if instance:
            attachment["InstanceId"] = instance
            attachment["InstanceOwnerId"] = ACCOUNT
        else:
            attachment["InstanceOwnerId"] = attachment_owner
        item["Attachment"] = attachment
    item.update(
        {
            "AvailabilityZone": subnet["AvailabilityZone"],
            "Description": description,
            "Groups": [{"GroupName": "eks-cluster-sg-prod", "GroupId": "sg-0c1d2e3f4a5b6c7d8"}],
            "InterfaceType": interface_type,
            "Ipv6Addresses": [{"Ipv6Address": a, "IsPrimaryIpv6": False} for a in (ipv6 or [])],
            "MacAddress": ids.mac(),
            "NetworkInterfaceId": eni_id,
            "OwnerId": ACCOUNT,
            "PrivateDnsName": dns_name(ips[0]),
            "PrivateIpAddress": ips[0],
            "PrivateIpAddresses": [
                {"Primary": i == 0, "PrivateDnsName": dns_name(ip), "PrivateIpAddress": ip}
                for i, ip in enumerate(ips)
            ],
        }
    )
    if prefixes:
        item["Ipv4Prefixes"] = [{"Ipv4Prefix": p} for p in prefixes]
    if ipv6_prefixes:
        item["Ipv6Prefixes"] = [{"Ipv6Prefix": p} for p in ipv6_prefixes]
    if requester:
        item["RequesterId"] = requester
    item.update(
        {
            "RequesterManaged": requester is not None,
            "SourceDestCheck": True,
            "Status": status,
            "SubnetId": subnet["SubnetId"],
            "TagSet": tag_set or [],
            "VpcId": subnet["VpcId"],
            "Operator": {"Managed": False},
        }
    )
    return item


def subnet_item(
    ids: Ids, cidr: str, az: str, name: str, ipv6: str | None = None, **extra_tags: str
) -> dict[str, Any]:
    subnet_id = ids("subnet")
    item: dict[str, Any] = {
        "AvailabilityZone": az,
        "AvailabilityZoneId": {"a": "euw1-az3", "b": "euw1-az1", "c": "euw1-az2"}[az[-1]],
        "AvailableIpAddressCount": None,  # filled in at the end
        "CidrBlock": cidr,
        "DefaultForAz": False,
        "MapPublicIpOnLaunch": False,
        "MapCustomerOwnedIpOnLaunch": False,
        "State": "available",
        "SubnetId": subnet_id,
        "VpcId": "vpc-0a1b2c3d4e5f60718",
        "OwnerId": ACCOUNT,
        "AssignIpv6AddressOnCreation": ipv6 is not None,
        "Ipv6CidrBlockAssociationSet": [],
        "Tags": tags(Name=name, **extra_tags),
        "SubnetArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{subnet_id}",
        "EnableDns64": False,
        "Ipv6Native": False,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
        "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
    }
    if ipv6 is not None:
        item["Ipv6CidrBlockAssociationSet"] = [
            {
                "AssociationId": ids("subnet-cidr-assoc"),
                "Ipv6CidrBlock": ipv6,
                "Ipv6CidrBlockState": {"State": "associated"},
                "Ipv6AddressAttribute": "public",
                "IpSource": "amazon",
            }
        ]
    return item


def service_interfaces(
    ids: Ids, subnet: dict[str, Any], space: Space, avoid: range | None, ipv6: Any = None
) -> list[dict[str, Any]]:
    """The non-node interfaces found in a busy private subnet."""
    out = []

    def six() -> list[str]:
        return [ipv6()] if ipv6 else []

    for _ in range(2):
        out.append(
            eni(
                ids,
                subnet,
                ips=[space.single(avoid)],
                description=f"Amazon EKS {CLUSTER}",
                requester="602401143452",
                attachment_owner="602401143452",
                ipv6=six(),
            )
        )
    for fn in ("orders-worker", "thumbnailer", "billing-export"):
        out.append(
            eni(
                ids,
                subnet,
                ips=[space.single(avoid)],
                interface_type="lambda",
                description=f"AWS Lambda VPC ENI-{fn}-{ids.uuid()}",
                requester=f"AROAEXAMPLE7LAMBDA:awslambda_{ids.rng.randrange(10**9)}",
                attachment_owner="amazon-aws",
            )
        )
    for _ in range(2):
        out.append(
            eni(
                ids,
                subnet,
                ips=[space.single(avoid)],
                description=f"ELB app/k8s-prod-web-{ids.rng.getrandbits(40):010x}/"
                f"{ids.rng.getrandbits(64):016x}",
                requester="amazon-elb",
                attachment_owner="amazon-elb",
                ipv6=six(),
            )
        )
    out.append(
        eni(
            ids,
            subnet,
            ips=[space.single(avoid)],
            interface_type="network_load_balancer",
            description=f"ELB net/k8s-prod-ingress-{ids.rng.getrandbits(40):010x}/"
            f"{ids.rng.getrandbits(64):016x}",
            requester="amazon-elb",
            attachment_owner="amazon-elb",
            ipv6=six(),
        )
    )
    out.append(
        eni(
            ids,
            subnet,
            ips=[space.single(avoid)],
            interface_type="nat_gateway",
            description=f"Interface for NAT Gateway {ids('nat')}",
            requester="AROAEXAMPLE7NATGW:NatGatewaySession",
            attachment_owner="amazon-aws",
        )
    )
    for service in ("ecr.api", "ecr.dkr", "sts", "logs", "ec2", "elasticloadbalancing"):
        out.append(
            eni(
                ids,
                subnet,
                ips=[space.single(avoid)],
                interface_type="vpc_endpoint",
                description=f"VPC Endpoint Interface {ids('vpce')}",
                requester="727180483921",
                attachment_owner="amazon-aws",
                tag_set=tags(service=f"com.amazonaws.{REGION}.{service}"),
            )
        )
    out.append(
        eni(
            ids,
            subnet,
            ips=[space.single(avoid)],
            description=f"EFS mount target for {ids('fs')} ({ids('fsmt')})",
            requester="641247547298",
            attachment_owner="amazon-aws",
        )
    )
    out.append(
        eni(
            ids,
            subnet,
            ips=[space.single(avoid)],
            description="RDSNetworkInterface",
            requester="amazon-rds",
            attachment_owner="amazon-rds",
        )
    )
    return out


def node_tags(kind: str, name: str) -> list[dict[str, str]]:
    if kind == "karpenter":
        return tags(**{"karpenter.sh/nodepool": name, "eks:eks-cluster-name": CLUSTER})
    return tags(**{"eks:cluster-name": CLUSTER, "eks:nodegroup-name": name})


def cni_tags(instance: str) -> list[dict[str, str]]:
    return tags(
        **{
            "node.k8s.amazonaws.com/instance_id": instance,
            "cluster.k8s.amazonaws.com/name": CLUSTER,
            "node.k8s.amazonaws.com/createdAt": "2024-05-14T09:12:44Z",
        }
    )


def eks_prefix(seed: int = 20240514) -> dict[str, Any]:
    """An EKS pod /19: prefix-mode nodes, a legacy secondary-IP node group, SG-for-pods
    branch ENIs, service interfaces, leaked CNI ENIs and one prefix reservation."""
    rng = random.Random(seed)
    ids = Ids(rng)
    subnet = subnet_item(
        ids,
        "10.20.32.0/19",
        "eu-west-1a",
        "prod-eks-pods-eu-west-1a",
        **{
            f"kubernetes.io/cluster/{CLUSTER}": "shared",
            "karpenter.sh/discovery": CLUSTER,
            "kubernetes.io/role/internal-elb": "1",
        },
    )
    space = Space(subnet["CidrBlock"], rng)
    # The prefix reservation was created after the cluster had grown for a while: older
    # prefixes are scattered, newer ones come from the reservation.
    reservation = range(24 * 256, 28 * 256)  # 10.20.56.0/22
    enis: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []

    def node(kind: str, group: str, prefix_count: int, within: range | None) -> None:
        instance = ids("i")
        ip = space.single(reservation)
        prefixes = [
            space.prefix(within, None if within else reservation) for _ in range(prefix_count)
        ]
        nodes.append(
            eni(
                ids,
                subnet,
                ips=[ip],
                instance=instance,
                prefixes=prefixes,
                tag_set=node_tags(kind, group),
            )
        )
        if rng.random() < 0.3:  # a warm secondary ENI the VPC CNI attached
            extra = eni(
                ids,
                subnet,
                ips=[space.single(reservation)],
                instance=instance,
                device=1,
                description=f"aws-K8S-{instance}",
                tag_set=cni_tags(instance),
                prefixes=[
                    space.prefix(within, None if within else reservation)
                    for _ in range(rng.randint(1, 2))
                ],
            )
            nodes.append(extra)

    for _ in range(28):  # managed node group, prefix delegation, before the reservation
        node("mng", "ng-prefix-m5xl", rng.randint(1, 6), None)

    for _ in range(22):  # legacy node group in secondary-IP mode (m5.2xlarge: 4 x 15)
        instance = ids("i")
        enis.append(
            eni(
                ids,
                subnet,
                ips=[space.single(reservation) for _ in range(15)],
                instance=instance,
                tag_set=node_tags("mng", "ng-legacy-m52xl"),
            )
        )
        for device in range(1, rng.randint(2, 3)):
            enis.append(
                eni(
                    ids,
                    subnet,
                    ips=[space.single(reservation) for _ in range(15)],
                    instance=instance,
                    device=device,
                    description=f"aws-K8S-{instance}",
                    tag_set=cni_tags(instance),
                )
            )
        if rng.random() < 0.4:  # security groups for pods: a trunk ENI and branch ENIs
            trunk = ids("eni")
            enis.append(
                eni(
                    ids,
                    subnet,
                    ips=[space.single(reservation)],
                    instance=instance,
                    device=3,
                    interface_type="trunk",
                    description="aws-k8s-trunk-eni",
                    eni_id=trunk,
                    tag_set=tags(**{"vpcresources.k8s.aws/trunk-eni-id": trunk}),
                )
            )
            for _ in range(rng.randint(12, 30)):
                enis.append(
                    eni(
                        ids,
                        subnet,
                        ips=[space.single(reservation)],
                        interface_type="branch",
                        description="aws-k8s-branch-eni",
                        requester="AROAEXAMPLE7VPCRC:vpc-rc",
                        tag_set=tags(
                            **{
                                "vpcresources.k8s.aws/trunk-eni-id": trunk,
                                f"kubernetes.io/cluster/{CLUSTER}": "owned",
                            }
                        ),
                    )
                )

    enis.extend(service_interfaces(ids, subnet, space, reservation))

    for _ in range(12):  # newer Karpenter nodes: their prefixes come from the reservation
        node("karpenter", "default", rng.randint(1, 5), reservation)

    for i in range(4):  # CNI ENIs leaked by terminated nodes: available, attached to nothing
        gone = ids("i")
        enis.append(
            eni(
                ids,
                subnet,
                ips=[space.single(reservation) for _ in range(1 if i else 10)],
                description=f"aws-K8S-{gone}",
                status="available",
                tag_set=cni_tags(gone),
                prefixes=[space.prefix(None, reservation)] if i else None,
            )
        )

    interfaces = nodes + enis
    rng.shuffle(interfaces)
    subnet["AvailableIpAddressCount"] = space.available
    net = space.net
    return {
        "describe-subnets.json": {"Subnets": [subnet]},
        "describe-network-interfaces.json": {"NetworkInterfaces": interfaces},
        "get-subnet-cidr-reservations.json": {
            "SubnetIpv4CidrReservations": [
                {
                    "SubnetCidrReservationId": ids("scr"),
                    "SubnetId": subnet["SubnetId"],
                    "Cidr": f"{net[reservation.start]}/22",
                    "ReservationType": "prefix",
                    "OwnerId": ACCOUNT,
                    "Description": "VPC CNI prefix delegation",
                    "Tags": [],
                }
            ],
            "SubnetIpv6CidrReservations": [],
        },
    }


def eks_ipv6(seed: int = 20240601) -> dict[str, Any]:
    """A dual-stack subnet of an IPv6 EKS cluster: one /80 per node, IPv4 for the rest."""
    rng = random.Random(seed)
    ids = Ids(rng)
    v6net = ipaddress.IPv6Network("2a05:d018:4a3:6c08::/64")
    subnet = subnet_item(
        ids,
        "10.30.8.0/24",
        "eu-west-1b",
        "prod6-eks-nodes-eu-west-1b",
        ipv6=str(v6net),
        **{"kubernetes.io/cluster/prod6": "shared"},
    )
    space = Space(subnet["CidrBlock"], rng)
    # One /72 of prefix-type reservation (256 /80s) for the newest nodes.
    reserved72 = ipaddress.IPv6Network("2a05:d018:4a3:6c08:ff00::/72")
    # /80 indices: 0 and 0xFFFF hold AWS-reserved addresses, so no prefix fits there.
    prefix80s: set[int] = set()
    address80s: set[int] = {0, 0xFFFF}
    used_addr: set[int] = set()

    def prefix80(reserved: bool) -> str:
        while True:
            index = rng.randrange(0xFF00, 0x10000) if reserved else rng.randrange(0xFF00)
            if index not in prefix80s and index not in address80s:
                prefix80s.add(index)
                return f"{v6net[index << 48]}/80"

    def address6() -> str:
        # Single addresses land anywhere free except the reservation, like IPv4 ones.
        while True:
            offset = rng.getrandbits(64)
            index = offset >> 48
            if index not in prefix80s and 0 < index < 0xFF00 and offset not in used_addr:
                used_addr.add(offset)
                address80s.add(index)
                return str(v6net[offset])

    interfaces = []
    for n in range(30):
        instance = ids("i")
        interfaces.append(
            eni(
                ids,
                subnet,
                ips=[space.single()],
                instance=instance,
                ipv6=[address6()],
                ipv6_prefixes=[prefix80(reserved=n >= 22)],
                tag_set=node_tags(
                    "mng" if n < 22 else "karpenter", "ng-v6" if n < 22 else "default"
                ),
            )
        )
    interfaces.extend(service_interfaces(ids, subnet, space, None, address6))
    rng.shuffle(interfaces)
    subnet["AvailableIpAddressCount"] = space.available
    return {
        "describe-subnets.json": {"Subnets": [subnet]},
        "describe-network-interfaces.json": {"NetworkInterfaces": interfaces},
        "get-subnet-cidr-reservations.json": {
            "SubnetIpv4CidrReservations": [],
            "SubnetIpv6CidrReservations": [
                {
                    "SubnetCidrReservationId": ids("scr"),
                    "SubnetId": subnet["SubnetId"],
                    "Cidr": str(reserved72),
                    "ReservationType": "prefix",
                    "OwnerId": ACCOUNT,
                    "Description": "IPv6 node prefixes",
                    "Tags": [],
                }
            ],
        },
    }


EXAMPLES = {"eks-prefix": eks_prefix, "eks-ipv6": eks_ipv6}


def main() -> None:
    for name, make in EXAMPLES.items():
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        for filename, content in make().items():
            (folder / filename).write_text(json.dumps(content, indent=4) + "\n", encoding="utf-8")
        print(f"wrote {folder}")


if __name__ == "__main__":
    main()
