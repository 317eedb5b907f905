"""The AWS layer: instance limits and max pods, owner classification, and real subnet state.

- :mod:`ipfrag.aws.limits`: EC2 instance network limits, ``max_pods`` as the EKS node
  tooling computes it, and the pod-IP capacity prefix mode gives;
- :mod:`ipfrag.aws.classify`: who holds an interface's addresses (EKS node, Lambda, NAT ...);
- :mod:`ipfrag.aws.snapshot`: ``{subnet_id: Subnet}`` rebuilt from ``describe-subnets``,
  ``describe-network-interfaces`` and ``get-subnet-cidr-reservations`` JSON, and snapshot files;
- :mod:`ipfrag.aws.examples`: the example snapshots shipped with the package, by name;
- :mod:`ipfrag.aws.live`: the same read live through boto3 (extra ``ipfrag[aws]``; boto3
  is imported only when a live function runs).

>>> import ipfrag.aws
>>> ipfrag.aws.max_pods("m5.large")
29
>>> snap = ipfrag.aws.load_snapshot(
...     {"Subnets": [{"SubnetId": "subnet-1", "CidrBlock": "10.0.0.0/24",
...                   "AvailableIpAddressCount": 250}]},
...     {"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "SubnetId": "subnet-1",
...                             "PrivateIpAddress": "10.0.0.9"}]})
>>> snap["subnet-1"].owner_of("10.0.0.9"), snap.mismatches
('eni-1', [])
"""

from ipfrag.aws.classify import (
    Classification,
    InterfaceFacts,
    OwnerKind,
    classify_interface,
    classify_interfaces,
)
from ipfrag.aws.examples import example_files, example_names, load_example
from ipfrag.aws.limits import (
    InstanceLimits,
    InvalidInstanceLimits,
    UnknownInstanceType,
    VcpusRequired,
    instance_limits,
    instance_types,
    max_pods,
    pod_ip_capacity,
    register_instance_type,
    unregister_instance_type,
)
from ipfrag.aws.live import (
    AwsAccessDenied,
    AwsExtraMissing,
    AwsNotFound,
    AwsReadError,
    ClusterSubnets,
    discover_cluster_subnets,
    load_live,
    read_live,
)
from ipfrag.aws.snapshot import (
    AWS_SUBNET_PREFIXLEN,
    Mismatch,
    RawSnapshot,
    Snapshot,
    SnapshotFieldError,
    collect_snapshot,
    load_snapshot,
    read_snapshot,
    save_snapshot,
)

__all__ = [
    "AWS_SUBNET_PREFIXLEN",
    "AwsAccessDenied",
    "AwsExtraMissing",
    "AwsNotFound",
    "AwsReadError",
    "Classification",
    "ClusterSubnets",
    "InstanceLimits",
    "InterfaceFacts",
    "InvalidInstanceLimits",
    "Mismatch",
    "OwnerKind",
    "RawSnapshot",
    "Snapshot",
    "SnapshotFieldError",
    "UnknownInstanceType",
    "VcpusRequired",
    "classify_interface",
    "classify_interfaces",
    "collect_snapshot",
    "discover_cluster_subnets",
    "example_files",
    "example_names",
    "instance_limits",
    "instance_types",
    "load_example",
    "load_live",
    "load_snapshot",
    "max_pods",
    "pod_ip_capacity",
    "read_live",
    "read_snapshot",
    "register_instance_type",
    "save_snapshot",
    "unregister_instance_type",
]
