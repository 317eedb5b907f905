"""Read subnet state live from an AWS account (optional extra ``ipfrag[aws]``, boto3).

:func:`read_live` reads the three responses :mod:`ipfrag.aws.snapshot` understands, for
given subnet ids, or for an EKS cluster (see :func:`discover_cluster_subnets`), and
returns a :class:`~ipfrag.aws.snapshot.RawSnapshot`: save it with
:func:`~ipfrag.aws.snapshot.save_snapshot` to repeat the analysis offline, or build the
subnets with its ``load()`` method (:func:`load_live` does both steps in one).

Only read-only calls are made, through boto3 paginators where botocore has one
(``GetSubnetCidrReservations`` has none: it is paged by ``NextToken`` here). The IAM
actions needed are ``ec2:DescribeSubnets``, ``ec2:DescribeNetworkInterfaces`` and
``ec2:GetSubnetCidrReservations``, plus ``eks:DescribeCluster``, ``eks:ListNodegroups``
and ``eks:DescribeNodegroup`` for a cluster. A refused call raises
:class:`AwsAccessDenied` naming the action; any other failure raises
:class:`AwsReadError`. boto3 is imported only when a function here needs it; without it
:class:`AwsExtraMissing` says to ``pip install 'ipfrag[aws]'``.

The three responses are read one after the other, not atomically: on a busy subnet the
``AvailableIpAddressCount`` cross-check may then show a small mismatch.

>>> AwsAccessDenied("ec2:DescribeSubnets", "UnauthorizedOperation", "no").action
'ec2:DescribeSubnets'
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ipfrag.aws.snapshot import RawSnapshot, Snapshot
from ipfrag.errors import IpfragError

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_ec2.client import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef
    from mypy_boto3_eks.client import EKSClient

__all__ = [
    "IAM_ACTIONS",
    "AwsAccessDenied",
    "AwsExtraMissing",
    "AwsNotFound",
    "AwsReadError",
    "ClusterSubnets",
    "discover_cluster_subnets",
    "load_live",
    "make_session",
    "read_live",
]

#: Every IAM action this module may call.
IAM_ACTIONS = (
    "ec2:DescribeSubnets",
    "ec2:DescribeNetworkInterfaces",
    "ec2:GetSubnetCidrReservations",
    "eks:DescribeCluster",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
)

# The error codes EC2 (UnauthorizedOperation), IAM-style services (AccessDenied) and EKS
# (AccessDeniedException) answer a refused call with.
_DENIED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})
# EC2 accepts at most 200 values in one filter.
_FILTER_VALUES = 200


class AwsExtraMissing(IpfragError, ImportError):
    """boto3 is not installed; reading AWS live needs the ``ipfrag[aws]`` extra."""


class AwsReadError(IpfragError, RuntimeError):
    """An AWS call failed for a reason other than permissions (credentials, region, network ...)."""


class AwsAccessDenied(AwsReadError, PermissionError):
    """AWS refused a call; ``action`` is the IAM action to allow (``ec2:DescribeSubnets``).

    >>> str(AwsAccessDenied("eks:DescribeCluster", "AccessDeniedException", "denied"))
    'missing IAM permission eks:DescribeCluster (AccessDeniedException: denied)'
    """

    def __init__(self, action: str, code: str, message: str) -> None:
        self.action = action
        self.code = code
        super().__init__(f"missing IAM permission {action} ({code}: {message})")


class AwsNotFound(AwsReadError, ValueError):
    """A cluster or subnet that was asked for does not exist (in this account and region)."""


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as e:
        raise AwsExtraMissing("reading AWS live needs boto3: pip install 'ipfrag[aws]'") from e
    return boto3


@contextmanager
def _calling(action: str) -> Iterator[None]:
    """Turn botocore failures of ``action`` into ipfrag's typed errors."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except ClientError as e:
        error = e.response.get("Error", {})
        code = str(error.get("Code", "")) or "Unknown"
        message = str(error.get("Message", "")) or str(e)
        if code in _DENIED_CODES:
            raise AwsAccessDenied(action, code, message) from e
        if code == "ResourceNotFoundException" or code.endswith(".NotFound"):
            raise AwsNotFound(f"{action}: {code}: {message}") from e
        raise AwsReadError(f"{action} failed: {code}: {message}") from e
    except NoCredentialsError as e:
        raise AwsReadError(
            f"{action}: no AWS credentials found; configure them (aws configure, "
            "AWS_PROFILE, an instance role) or pass a profile"
        ) from e
    except BotoCoreError as e:
        raise AwsReadError(f"{action} failed: {e}") from e


def make_session(region: str | None = None, profile: str | None = None) -> Session:
    """A boto3 session for ``profile`` and ``region`` (None: the usual AWS defaults).

    Raises :class:`AwsExtraMissing` without boto3 and :class:`AwsReadError` for an
    unknown profile. Cost: reads the AWS config files once; no network call.

    >>> make_session(region="eu-west-1").region_name
    'eu-west-1'
    """
    boto3 = _boto3()
    from botocore.exceptions import ProfileNotFound

    try:
        session: Session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as e:
        raise AwsReadError(f"AWS profile {profile!r} not found in the AWS config files") from e
    return session


def _client(session: Session, service: Literal["ec2", "eks"]) -> Any:
    from botocore.exceptions import NoRegionError

    try:
        return session.client(service)
    except NoRegionError as e:
        raise AwsReadError(
            "no AWS region configured: pass a region (--region) or set AWS_REGION"
        ) from e


def _chunks(values: Sequence[str], size: int = _FILTER_VALUES) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


@dataclass(frozen=True)
class ClusterSubnets:
    """The subnets an EKS cluster uses, each with the reasons it was found.

    ``sources`` maps a subnet id to reasons such as ``"cluster"``, ``"nodegroup ng-1"``,
    ``"tag kubernetes.io/cluster/prod"``.

    >>> ClusterSubnets("prod", "vpc-1", {"subnet-b": ("cluster",), "subnet-a": ("tag",)}).subnet_ids
    ('subnet-a', 'subnet-b')
    """

    cluster: str
    vpc_id: str | None
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def subnet_ids(self) -> tuple[str, ...]:
        """The subnet ids, sorted."""
        return tuple(sorted(self.sources))


def discover_cluster_subnets(cluster: str, *, eks: EKSClient, ec2: EC2Client) -> ClusterSubnets:
    """Find the subnets of EKS cluster ``cluster``.

    They are the cluster's own subnets (``eks:DescribeCluster``
    ``resourcesVpcConfig.subnetIds``), its managed node groups' subnets
    (``eks:ListNodegroups`` + ``eks:DescribeNodegroup``), and the subnets of the cluster's
    VPC tagged ``kubernetes.io/cluster/<cluster>``, ``karpenter.sh/discovery=<cluster>`` or
    ``kubernetes.io/role/cni`` (VPC CNI subnet discovery). Subnets named only in
    ``ENIConfig`` objects (custom networking) live in Kubernetes, not in the AWS API: pass
    them as subnet ids. Raises :class:`AwsNotFound` for an unknown cluster.
    Cost: 1 + node groups + 3 API calls (plus pages).

    >>> discover_cluster_subnets.__name__
    'discover_cluster_subnets'
    """
    with _calling("eks:DescribeCluster"):
        described = eks.describe_cluster(name=cluster)["cluster"]
    vpc_config = described.get("resourcesVpcConfig", {})
    vpc_id = vpc_config.get("vpcId")
    sources: dict[str, list[str]] = {}

    def found(subnet_ids: Iterable[str], reason: str) -> None:
        for subnet_id in subnet_ids:
            reasons = sources.setdefault(subnet_id, [])
            if reason not in reasons:
                reasons.append(reason)

    found(vpc_config.get("subnetIds", []), "cluster")
    nodegroups: list[str] = []
    with _calling("eks:ListNodegroups"):
        for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster):
            nodegroups.extend(page.get("nodegroups", []))
    for name in nodegroups:
        with _calling("eks:DescribeNodegroup"):
            nodegroup = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)
        found(nodegroup["nodegroup"].get("subnets", []), f"nodegroup {name}")

    tagged: list[tuple[str, FilterTypeDef]] = [
        (
            f"tag kubernetes.io/cluster/{cluster}",
            {"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{cluster}"]},
        ),
        (
            f"tag karpenter.sh/discovery={cluster}",
            {"Name": "tag:karpenter.sh/discovery", "Values": [cluster]},
        ),
        ("tag kubernetes.io/role/cni", {"Name": "tag-key", "Values": ["kubernetes.io/role/cni"]}),
    ]
    paginator = ec2.get_paginator("describe_subnets")
    for reason, tag_filter in tagged:
        # Pods can only use subnets of the cluster's VPC; the CNI tag is not cluster-specific.
        filters: list[FilterTypeDef] = [tag_filter]
        if vpc_id:
            filters.insert(0, {"Name": "vpc-id", "Values": [vpc_id]})
        with _calling("ec2:DescribeSubnets"):
            for subnets in paginator.paginate(Filters=filters):
                ids = (s["SubnetId"] for s in subnets.get("Subnets", []) if "SubnetId" in s)
                found(ids, reason)
    return ClusterSubnets(cluster, vpc_id, {k: tuple(v) for k, v in sources.items()})


def _read_subnets(ec2: EC2Client, subnet_ids: Sequence[str]) -> list[dict[str, Any]]:
    subnets: dict[str, dict[str, Any]] = {}
    paginator = ec2.get_paginator("describe_subnets")
    with _calling("ec2:DescribeSubnets"):
        for chunk in _chunks(subnet_ids):
            for page in paginator.paginate(Filters=[{"Name": "subnet-id", "Values": chunk}]):
                for subnet in page.get("Subnets", []):
                    subnets[subnet.get("SubnetId", "")] = dict(subnet)
    missing = [s for s in subnet_ids if s not in subnets]
    if missing:
        raise AwsNotFound(
            f"ec2:DescribeSubnets: no such subnet in this account and region: {', '.join(missing)}"
        )
    return [subnets[s] for s in subnet_ids]


def _read_interfaces(ec2: EC2Client, subnet_ids: Sequence[str]) -> list[dict[str, Any]]:
    interfaces: list[dict[str, Any]] = []
    paginator = ec2.get_paginator("describe_network_interfaces")
    with _calling("ec2:DescribeNetworkInterfaces"):
        for chunk in _chunks(subnet_ids):
            # Managed interfaces may be hidden by default; they hold addresses all the same.
            pages = paginator.paginate(
                Filters=[{"Name": "subnet-id", "Values": chunk}], IncludeManagedResources=True
            )
            for page in pages:
                interfaces.extend(dict(eni) for eni in page.get("NetworkInterfaces", []))
    return interfaces


def _read_reservations(
    ec2: EC2Client, subnet_ids: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    v4: list[dict[str, Any]] = []
    v6: list[dict[str, Any]] = []
    with _calling("ec2:GetSubnetCidrReservations"):
        for subnet_id in subnet_ids:
            token: str | None = None
            while True:
                if token is None:
                    page = ec2.get_subnet_cidr_reservations(SubnetId=subnet_id)
                else:
                    page = ec2.get_subnet_cidr_reservations(SubnetId=subnet_id, NextToken=token)
                v4.extend(dict(r) for r in page.get("SubnetIpv4CidrReservations", []))
                v6.extend(dict(r) for r in page.get("SubnetIpv6CidrReservations", []))
                token = page.get("NextToken") or None
                if token is None:
                    break
    return v4, v6


def read_live(
    subnet_ids: Iterable[str] = (),
    *,
    cluster: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    session: Session | None = None,
    ec2: EC2Client | None = None,
    eks: EKSClient | None = None,
) -> RawSnapshot:
    """Read subnets, their interfaces and CIDR reservations from AWS into a raw snapshot.

    Reads the given ``subnet_ids`` and, with ``cluster``, the cluster's subnets (see
    :func:`discover_cluster_subnets`). Clients come from ``ec2``/``eks`` if given, else
    from ``session``, else from a new session for ``profile`` and ``region``. The
    snapshot's metadata records the region, profile, cluster, read time and why each
    subnet was included. Raises :class:`AwsAccessDenied`, :class:`AwsNotFound`,
    :class:`AwsReadError`, :class:`AwsExtraMissing`, or ``ValueError`` when neither
    subnet ids nor a cluster are given.
    Cost: O(subnets) API calls plus pages.

    >>> read_live()
    Traceback (most recent call last):
    ...
    ValueError: give subnet ids, a cluster name, or both
    """
    wanted = list(dict.fromkeys(subnet_ids))
    if not wanted and cluster is None:
        raise ValueError("give subnet ids, a cluster name, or both")
    if ec2 is None or (cluster is not None and eks is None):
        session = session or make_session(region, profile)
        ec2 = ec2 or _client(session, "ec2")
        if cluster is not None:
            eks = eks or _client(session, "eks")
    sources: dict[str, list[str]] = {s: ["requested"] for s in wanted}
    vpc_id = None
    if cluster is not None:
        assert eks is not None
        discovered = discover_cluster_subnets(cluster, eks=eks, ec2=ec2)
        vpc_id = discovered.vpc_id
        for subnet_id in discovered.subnet_ids:
            sources.setdefault(subnet_id, []).extend(discovered.sources[subnet_id])
    ids = list(sources)
    subnets = _read_subnets(ec2, ids) if ids else []
    interfaces = _read_interfaces(ec2, ids) if ids else []
    v4, v6 = _read_reservations(ec2, ids)
    metadata: dict[str, Any] = {
        "source": "aws",
        "region": ec2.meta.region_name,
        "read_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "subnet_sources": sources,
    }
    if profile is not None:
        metadata["profile"] = profile
    if cluster is not None:
        metadata["cluster"] = cluster
        metadata["vpc_id"] = vpc_id
    return RawSnapshot(tuple(subnets), tuple(interfaces), tuple(v4), tuple(v6), metadata)


def load_live(
    subnet_ids: Iterable[str] = (),
    *,
    cluster: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    session: Session | None = None,
    ec2: EC2Client | None = None,
    eks: EKSClient | None = None,
    family: Literal[4, 6] = 4,
    lenient: bool = False,
) -> Snapshot:
    """:func:`read_live`, then build the subnets (``Snapshot.raw`` keeps what was read).

    Cost: that of :func:`read_live` plus O(n) allocations.

    >>> load_live(cluster=None)
    Traceback (most recent call last):
    ...
    ValueError: give subnet ids, a cluster name, or both
    """
    raw = read_live(
        subnet_ids,
        cluster=cluster,
        region=region,
        profile=profile,
        session=session,
        ec2=ec2,
        eks=eks,
    )
    return raw.load(family=family, lenient=lenient)
