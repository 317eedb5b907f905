"""Read subnet state live from an AWS account (optional extra ``ipfrag[aws]``, boto3).

:func:`read_live` reads the three responses :mod:`ipfrag.aws.snapshot` understands, for
given subnet ids, or for an EKS cluster (see :func:`discover_cluster_subnets`), and
returns a :class:`~ipfrag.aws.snapshot.RawSnapshot`: save it with
:func:`~ipfrag.aws.snapshot.save_snapshot` to repeat the analysis offline, or build the
subnets with its ``load()`` method (:func:`load_live` does both steps in one).

Only read-only calls are made, through boto3 paginators where botocore has one
(``GetSubnetCidrReservations`` has none: it is paged by ``NextToken`` here). The IAM
actions needed are ``ec2:DescribeSubnets``, ``ec2:DescribeNetworkInterfaces``,
``ec2:GetSubnetCidrReservations`` and ``ec2:DescribeInstances``, plus
``eks:DescribeCluster``, ``eks:ListNodegroups``, ``eks:DescribeNodegroup``,
``eks:ListFargateProfiles`` and ``eks:DescribeFargateProfile`` for a cluster
(:func:`planned_calls` lists them for a given request without calling AWS).

The *data* calls (the subnets, their interfaces and reservations, and the cluster itself)
are fatal when refused: :class:`AwsAccessDenied` names the action; any other failure raises
:class:`AwsReadError`. The *discovery* calls that only add subnets or names (node groups,
Fargate profiles, tagged subnets, instance names) are not: a refusal becomes a warning in
the snapshot's ``metadata["warnings"]`` and reading goes on. boto3 is imported only when a
function here needs it; without it :class:`AwsExtraMissing` says to
``pip install 'ipfrag[aws]'``.

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
from ipfrag.errors import InvalidArgument, InvalidType, IpfragError
from ipfrag.subnet import Policy

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
    "PlannedCall",
    "discover_cluster_subnets",
    "load_live",
    "make_session",
    "parse_cluster",
    "planned_calls",
    "read_live",
]

#: Every IAM action this module may call.
IAM_ACTIONS = (
    "ec2:DescribeSubnets",
    "ec2:DescribeNetworkInterfaces",
    "ec2:GetSubnetCidrReservations",
    "ec2:DescribeInstances",
    "eks:DescribeCluster",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
    "eks:ListFargateProfiles",
    "eks:DescribeFargateProfile",
)

# The error codes EC2 (UnauthorizedOperation), IAM-style services (AccessDenied) and EKS
# (AccessDeniedException) answer a refused call with.
_DENIED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})
# EC2 accepts at most 200 values in one filter; DescribeInstances by id, 1000 ids a call.
_FILTER_VALUES = 200
_INSTANCE_IDS = 1000


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
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    for name, value in (("region", region), ("profile", profile)):
        if value is not None and not isinstance(value, str):
            raise InvalidType(f"{name} must be a string, not {type(value).__name__}")
    try:
        session: Session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as e:
        raise AwsReadError(f"AWS profile {profile!r} not found in the AWS config files") from e
    except BotoCoreError as e:
        raise AwsReadError(f"AWS configuration problem: {e}") from e
    return session


def _client(session: Session, service: Literal["ec2", "eks"]) -> Any:
    from botocore.exceptions import BotoCoreError, InvalidRegionError, NoRegionError

    try:
        return session.client(service)
    except NoRegionError as e:
        raise AwsReadError(
            "no AWS region configured: pass a region (--region) or set AWS_REGION"
        ) from e
    except InvalidRegionError as e:
        raise InvalidArgument(
            f"{session.region_name!r:.60} is not a valid AWS region name (such as eu-west-1)"
        ) from e
    except (BotoCoreError, ValueError) as e:
        raise AwsReadError(f"cannot create the AWS {service} client: {e}") from e


def _chunks(values: Sequence[str], size: int = _FILTER_VALUES) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def parse_cluster(cluster: str) -> tuple[str, str | None]:
    """``(name, region)`` of an EKS cluster given by name or by ARN (region None for a name).

    ``arn:aws:eks:eu-west-1:111122223333:cluster/prod`` gives ``("prod", "eu-west-1")``.
    Raises :class:`~ipfrag.InvalidArgument` for an empty name or an ARN that is not an EKS
    cluster's, :class:`~ipfrag.InvalidType` for a non-string. O(len).

    >>> parse_cluster("arn:aws:eks:eu-west-1:111122223333:cluster/prod")
    ('prod', 'eu-west-1')
    >>> parse_cluster("prod")
    ('prod', None)
    """
    if not isinstance(cluster, str):
        raise InvalidType(f"cluster must be a string, not {type(cluster).__name__}")
    text = cluster.strip()
    if not text:
        raise InvalidArgument("cluster must not be empty")
    if not text.startswith("arn:"):
        return text, None
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[2] != "eks" or not parts[5].startswith("cluster/"):
        raise InvalidArgument(f"not an EKS cluster ARN: {text!r:.200}")
    name = parts[5].removeprefix("cluster/")
    if not name or not parts[3]:
        raise InvalidArgument(f"EKS cluster ARN without a name or region: {text!r:.200}")
    return name, parts[3]


@dataclass(frozen=True)
class ClusterSubnets:
    """The subnets an EKS cluster uses, each with the reasons it was found.

    ``sources`` maps a subnet id to reasons such as ``"cluster"``, ``"nodegroup ng-1"``,
    ``"fargate profile fp-1"``, ``"tag kubernetes.io/cluster/prod"``. ``auto_mode`` is True
    for an EKS Auto Mode cluster (``computeConfig.enabled``): its nodes take /28 prefixes.
    ``warnings`` lists discovery calls that were refused or failed and were skipped.

    >>> ClusterSubnets("prod", "vpc-1", {"subnet-b": ("cluster",), "subnet-a": ("tag",)}).subnet_ids
    ('subnet-a', 'subnet-b')
    """

    cluster: str
    vpc_id: str | None
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    auto_mode: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def subnet_ids(self) -> tuple[str, ...]:
        """The subnet ids, sorted."""
        return tuple(sorted(self.sources))


@contextmanager
def _optional(action: str, warnings: list[str], what: str) -> Iterator[None]:
    """A discovery call that may fail: a refusal or error becomes a warning, not a failure."""
    try:
        with _calling(action):
            yield
    except AwsReadError as e:
        warnings.append(f"{what} skipped: {e}")


def discover_cluster_subnets(cluster: str, *, eks: EKSClient, ec2: EC2Client) -> ClusterSubnets:
    """Find the subnets of EKS cluster ``cluster`` (a name, or an ARN: see :func:`parse_cluster`).

    They are the cluster's own subnets (``eks:DescribeCluster``
    ``resourcesVpcConfig.subnetIds``), its managed node groups' subnets
    (``eks:ListNodegroups`` + ``eks:DescribeNodegroup``), its Fargate profiles' subnets
    (``eks:ListFargateProfiles`` + ``eks:DescribeFargateProfile``), and the subnets of the
    cluster's VPC tagged ``kubernetes.io/cluster/<cluster>``, ``karpenter.sh/discovery=<cluster>``
    or ``kubernetes.io/role/cni`` (VPC CNI subnet discovery). Subnets named only in
    ``ENIConfig`` objects (custom networking) live in Kubernetes, not in the AWS API: pass
    them as subnet ids. ``eks:DescribeCluster`` must succeed (:class:`AwsNotFound` for an
    unknown cluster); every other refused or failing call is a warning of the result.
    Cost: 1 + node groups + Fargate profiles + 5 API calls (plus pages).

    >>> discover_cluster_subnets.__name__
    'discover_cluster_subnets'
    """
    name, _ = parse_cluster(cluster)
    with _calling("eks:DescribeCluster"):
        described = eks.describe_cluster(name=name)["cluster"]
    vpc_config = described.get("resourcesVpcConfig", {})
    vpc_id = vpc_config.get("vpcId")
    auto_mode = bool((described.get("computeConfig") or {}).get("enabled"))
    sources: dict[str, list[str]] = {}
    warnings: list[str] = []

    def found(subnet_ids: Iterable[str], reason: str) -> None:
        for subnet_id in subnet_ids:
            reasons = sources.setdefault(subnet_id, [])
            if reason not in reasons:
                reasons.append(reason)

    found(vpc_config.get("subnetIds", []), "cluster")
    nodegroups: list[str] = []
    with _optional("eks:ListNodegroups", warnings, "node group discovery"):
        for page in eks.get_paginator("list_nodegroups").paginate(clusterName=name):
            nodegroups.extend(page.get("nodegroups", []))
    for group in nodegroups:
        with _optional("eks:DescribeNodegroup", warnings, f"node group {group}"):
            nodegroup = eks.describe_nodegroup(clusterName=name, nodegroupName=group)
            found(nodegroup["nodegroup"].get("subnets", []), f"nodegroup {group}")
    profiles: list[str] = []
    with _optional("eks:ListFargateProfiles", warnings, "Fargate profile discovery"):
        for profile_page in eks.get_paginator("list_fargate_profiles").paginate(clusterName=name):
            profiles.extend(profile_page.get("fargateProfileNames", []))
    for profile in profiles:
        with _optional("eks:DescribeFargateProfile", warnings, f"Fargate profile {profile}"):
            described_profile = eks.describe_fargate_profile(
                clusterName=name, fargateProfileName=profile
            )
            found(
                described_profile["fargateProfile"].get("subnets", []),
                f"fargate profile {profile}",
            )

    tagged: list[tuple[str, FilterTypeDef]] = [
        (
            f"tag kubernetes.io/cluster/{name}",
            {"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{name}"]},
        ),
        (
            f"tag karpenter.sh/discovery={name}",
            {"Name": "tag:karpenter.sh/discovery", "Values": [name]},
        ),
        ("tag kubernetes.io/role/cni", {"Name": "tag-key", "Values": ["kubernetes.io/role/cni"]}),
    ]
    paginator = ec2.get_paginator("describe_subnets")
    for reason, tag_filter in tagged:
        # Pods can only use subnets of the cluster's VPC; the CNI tag is not cluster-specific.
        filters: list[FilterTypeDef] = [tag_filter]
        if vpc_id:
            filters.insert(0, {"Name": "vpc-id", "Values": [vpc_id]})
        with _optional("ec2:DescribeSubnets", warnings, f"subnets by {reason}"):
            for subnets in paginator.paginate(Filters=filters):
                ids = (s["SubnetId"] for s in subnets.get("Subnets", []) if "SubnetId" in s)
                found(ids, reason)
    return ClusterSubnets(
        name, vpc_id, {k: tuple(v) for k, v in sources.items()}, auto_mode, tuple(warnings)
    )


@dataclass(frozen=True)
class PlannedCall:
    """One AWS call :func:`read_live` would make: the IAM action and what it is for.

    >>> PlannedCall("ec2:DescribeSubnets", "the subnets", fatal=True).action
    'ec2:DescribeSubnets'
    """

    action: str
    purpose: str
    fatal: bool  # a refusal stops the read (data calls); otherwise it is a warning


def planned_calls(
    subnet_ids: Iterable[str] = (), *, cluster: str | None = None
) -> list[PlannedCall]:
    """The calls (and IAM actions) :func:`read_live` would make, without calling AWS. O(1).

    >>> [c.action for c in planned_calls(["subnet-1"])]  # doctest: +NORMALIZE_WHITESPACE
    ['ec2:DescribeSubnets', 'ec2:DescribeNetworkInterfaces', 'ec2:GetSubnetCidrReservations',
     'ec2:DescribeInstances']
    """
    wanted = list(subnet_ids)
    calls: list[PlannedCall] = []
    if cluster is not None:
        name, _ = parse_cluster(cluster)
        calls += [
            PlannedCall("eks:DescribeCluster", f"cluster {name}: VPC, subnets, Auto Mode", True),
            PlannedCall("eks:ListNodegroups", "its managed node groups", False),
            PlannedCall("eks:DescribeNodegroup", "each node group's subnets", False),
            PlannedCall("eks:ListFargateProfiles", "its Fargate profiles", False),
            PlannedCall("eks:DescribeFargateProfile", "each Fargate profile's subnets", False),
            PlannedCall(
                "ec2:DescribeSubnets",
                f"subnets of its VPC tagged kubernetes.io/cluster/{name}, "
                f"karpenter.sh/discovery={name} or kubernetes.io/role/cni (3 calls)",
                False,
            ),
        ]
    elif not wanted:
        raise InvalidArgument("give subnet ids, a cluster name, or both")
    which = "the requested and discovered subnets" if cluster is not None else "the subnets"
    calls += [
        PlannedCall("ec2:DescribeSubnets", f"{which} (200 ids a call)", True),
        PlannedCall(
            "ec2:DescribeNetworkInterfaces",
            f"every interface of {which}, managed ones included",
            True,
        ),
        PlannedCall("ec2:GetSubnetCidrReservations", "each subnet's CIDR reservations", True),
        PlannedCall("ec2:DescribeInstances", "names and states of the attached instances", False),
    ]
    return calls


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


def _instance_ids(interfaces: Iterable[Mapping[str, Any]]) -> list[str]:
    ids: dict[str, None] = {}
    for eni in interfaces:
        attachment = eni.get("Attachment")
        instance = attachment.get("InstanceId") if isinstance(attachment, Mapping) else None
        if isinstance(instance, str) and instance.startswith("i-"):
            ids[instance] = None
    return list(ids)


def _read_instances(
    ec2: EC2Client, instance_ids: Sequence[str], warnings: list[str]
) -> dict[str, dict[str, str | None]]:
    """``{instance id: {"name": Name tag, "state": running ...}}``; terminated ones are absent."""
    instances: dict[str, dict[str, str | None]] = {}
    paginator = ec2.get_paginator("describe_instances")
    for start in range(0, len(instance_ids), _INSTANCE_IDS):
        chunk = list(instance_ids[start : start + _INSTANCE_IDS])
        # A filter, not InstanceIds=: an instance gone meanwhile must not fail the whole chunk.
        with _optional("ec2:DescribeInstances", warnings, "instance names and states"):
            for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": chunk}]):
                for reservation in page.get("Reservations", []):
                    for instance in reservation.get("Instances", []):
                        name = next(
                            (t.get("Value") for t in instance.get("Tags", [])
                             if t.get("Key") == "Name"),
                            None,
                        )  # fmt: skip
                        instances[instance.get("InstanceId", "")] = {
                            "name": name,
                            "state": instance.get("State", {}).get("Name"),
                        }
    return instances


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

    Reads the given ``subnet_ids`` and, with ``cluster`` (a name or an ARN, whose region
    wins), the cluster's subnets (see :func:`discover_cluster_subnets`). Clients come from
    ``ec2``/``eks`` if given, else from ``session``, else from a new session for ``profile``
    and ``region``. The snapshot's metadata records the region, profile, cluster, whether it
    runs EKS Auto Mode (``auto_mode``), read time, why each subnet was included
    (``subnet_sources``), the attached instances' names and states (``instances``, from
    ``ec2:DescribeInstances``) and the discovery calls skipped (``warnings``). Raises
    :class:`AwsAccessDenied`, :class:`AwsNotFound`, :class:`AwsReadError`,
    :class:`AwsExtraMissing`, or :class:`~ipfrag.InvalidArgument` when neither subnet ids
    nor a cluster are given (or the region is not a region name).
    Cost: O(subnets) API calls plus pages.

    >>> read_live()
    Traceback (most recent call last):
    ...
    ipfrag.errors.InvalidArgument: give subnet ids, a cluster name, or both
    """
    wanted = list(dict.fromkeys(subnet_ids))
    if not all(isinstance(subnet_id, str) for subnet_id in wanted):
        raise InvalidType("subnet ids must be strings")
    if not wanted and cluster is None:
        raise InvalidArgument("give subnet ids, a cluster name, or both")
    warnings: list[str] = []
    name = None
    if cluster is not None:
        name, arn_region = parse_cluster(cluster)
        if arn_region is not None and region is not None and arn_region != region:
            warnings.append(f"region {region} differs from the cluster ARN's {arn_region}: "
                            f"using {arn_region}")  # fmt: skip
        region = arn_region or region
    if ec2 is None or (cluster is not None and eks is None):
        session = session or make_session(region, profile)
        ec2 = ec2 or _client(session, "ec2")
        if cluster is not None:
            eks = eks or _client(session, "eks")
    sources: dict[str, list[str]] = {s: ["requested"] for s in wanted}
    discovered = None
    if name is not None:
        assert eks is not None
        discovered = discover_cluster_subnets(name, eks=eks, ec2=ec2)
        warnings.extend(discovered.warnings)
        for subnet_id in discovered.subnet_ids:
            sources.setdefault(subnet_id, []).extend(discovered.sources[subnet_id])
    ids = list(sources)
    subnets = _read_subnets(ec2, ids) if ids else []
    interfaces = _read_interfaces(ec2, ids) if ids else []
    v4, v6 = _read_reservations(ec2, ids)
    instances = _read_instances(ec2, _instance_ids(interfaces), warnings)
    metadata: dict[str, Any] = {
        "source": "aws",
        "region": ec2.meta.region_name,
        "read_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "subnet_sources": sources,
        "instances": instances,
    }
    if profile is not None:
        metadata["profile"] = profile
    if discovered is not None:
        metadata["cluster"] = discovered.cluster
        metadata["vpc_id"] = discovered.vpc_id
        metadata["auto_mode"] = discovered.auto_mode
    if warnings:
        metadata["warnings"] = warnings
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
    policy: Policy = "random",
    seed: int | None = None,
) -> Snapshot:
    """:func:`read_live`, then build the subnets (``Snapshot.raw`` keeps what was read).

    ``family``, ``lenient``, ``policy`` and ``seed`` are those of
    :func:`~ipfrag.aws.snapshot.load_snapshot`.

    Cost: that of :func:`read_live` plus O(n) allocations.

    >>> load_live(cluster=None)
    Traceback (most recent call last):
    ...
    ipfrag.errors.InvalidArgument: give subnet ids, a cluster name, or both
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
    return raw.load(family=family, lenient=lenient, policy=policy, seed=seed)
