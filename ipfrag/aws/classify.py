"""Who holds the addresses: owner classification of network interfaces.

Input is one ``NetworkInterfaces[]`` item exactly as ``aws ec2 describe-network-interfaces``
prints it (and boto3 returns it). The answer comes from, in this order:

1. Amazon EKS and VPC CNI marks: ``InterfaceType`` ``trunk``/``branch`` (security groups for pods:
   the VPC resource controller's ``aws-k8s-trunk-eni`` and ``aws-k8s-branch-eni``), the VPC CNI's
   own ENIs (description ``aws-K8S-<instance id>``, tag ``node.k8s.amazonaws.com/instance_id``,
   optional tag ``cluster.k8s.amazonaws.com/name``), and the control plane's cross-account ENIs
   (description ``Amazon EKS <cluster>``);
2. the service table :data:`SERVICE_RULES`: a rule matches on ``InterfaceType`` (the EC2 API enum:
   ``nat_gateway``, ``vpc_endpoint``, ``lambda`` ...), on the description AWS writes (``Interface
   for NAT Gateway nat-...``, ``ELB app/<name>/<id>``, ``RDSNetworkInterface`` ...) or on
   ``RequesterId``; the first matching rule wins; then the tags EMR puts on the interfaces it
   creates (``aws:elasticmapreduce:job-flow-id``, ``aws:elasticmapreduce:editor-id``);
3. the attachment: an interface attached to an instance is the instance's (``EC2_INSTANCE``), or
   an EKS node's primary ENI (``EKS_NODE_PRIMARY``) when its tags say EKS or the instance is known
   to be an EKS node (:func:`classify_interfaces` learns that from the node's VPC CNI ENIs);
4. ``UNKNOWN`` otherwise.

An interface in status ``available`` that is attached to nothing is ``ORPHANED`` whatever it was:
it holds addresses (and spoils /28s) for nobody. ``Classification.origin`` keeps what it was.

Every kind says whether its addresses are **drainable** (:attr:`OwnerKind.drainable`): freed by
draining and replacing an EKS node (its primary and VPC CNI ENIs, its pods' branch ENIs), as
opposed to held by a service the cluster operator cannot move (Lambda, NAT, load balancers,
databases, endpoints, the control plane ...). Unknown ``InterfaceType`` strings (newer than this
table) are accepted and fall through to the description, requester and attachment rules.

>>> from ipfrag.aws.classify import classify_interface
>>> c = classify_interface({"InterfaceType": "nat_gateway", "Status": "in-use",
...                         "Description": "Interface for NAT Gateway nat-0a1b2c3d4e5f60718"})
>>> c.kind.value, c.resource, c.label
('nat_gateway', 'nat-0a1b2c3d4e5f60718', 'NAT gateway nat-0a1b2c3d4e5f60718')
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from ipfrag.errors import InvalidType

__all__ = [
    "SERVICE_RULES",
    "Classification",
    "InterfaceFacts",
    "OwnerKind",
    "ServiceRule",
    "classify_interface",
    "classify_interfaces",
]


class OwnerKind(str, Enum):
    """Who an interface (and so its addresses) belongs to. The values are stable JSON strings."""

    EKS_NODE_PRIMARY = "eks_node_primary"
    """Primary ENI (device index 0) of an EKS node: the node IP and, in secondary mode, pods."""
    EKS_NODE_SECONDARY = "eks_node_secondary"
    """ENI the VPC CNI attached to a node for pod IPs or prefixes (``aws-K8S-i-...``)."""
    EKS_POD_ENI = "eks_pod_eni"
    """Branch ENI of one pod with its own security groups (``aws-k8s-branch-eni``)."""
    EKS_CONTROL_PLANE = "eks_control_plane"
    """Cross-account ENI of the EKS control plane (``Amazon EKS <cluster>``)."""
    TRUNK = "trunk"
    """Trunk ENI carrying branch ENIs (EKS security groups for pods, ECS ENI trunking)."""
    BRANCH = "branch"
    """Branch ENI not recognizably EKS (for instance ECS awsvpc trunking)."""
    EFA = "efa"
    """Elastic Fabric Adapter (``efa``, ``efa-only``)."""
    LAMBDA = "lambda"
    NAT_GATEWAY = "nat_gateway"
    ALB = "alb"
    NLB = "nlb"
    GATEWAY_LB = "gateway_lb"
    CLASSIC_ELB = "classic_elb"
    ELB = "elb"
    """A load balancer whose flavour the interface does not tell."""
    VPC_ENDPOINT = "vpc_endpoint"
    GATEWAY_LB_ENDPOINT = "gateway_lb_endpoint"
    TRANSIT_GATEWAY = "transit_gateway"
    API_GATEWAY_MANAGED = "api_gateway_managed"
    QUICKSIGHT = "quicksight"
    GLOBAL_ACCELERATOR = "global_accelerator"
    IOT_RULES = "iot_rules"
    CODESTAR_CONNECTIONS = "codestar_connections"
    RDS = "rds"
    RDS_PROXY = "rds_proxy"
    REDSHIFT = "redshift"
    DMS = "dms"
    ELASTICACHE = "elasticache"
    OPENSEARCH = "opensearch"
    EFS = "efs"
    FSX = "fsx"
    ROUTE53_RESOLVER = "route53_resolver"
    DIRECTORY_SERVICE = "directory_service"
    WORKSPACES = "workspaces"
    ECS_TASK = "ecs_task"
    CODEBUILD = "codebuild"
    DAX = "dax"
    EVS = "evs"
    """Amazon Elastic VMware Service."""
    EC2_INSTANCE_CONNECT_ENDPOINT = "ec2_instance_connect_endpoint"
    GLUE = "glue"
    SAGEMAKER = "sagemaker"
    MSK = "msk"
    """Amazon Managed Streaming for Apache Kafka brokers."""
    AMAZON_MQ = "amazon_mq"
    CLIENT_VPN = "client_vpn"
    APP_RUNNER = "app_runner"
    EMR = "emr"
    BATCH = "batch"
    EC2_INSTANCE = "ec2_instance"
    """A plain interface attached to an instance, not recognizably an EKS node's."""
    ORPHANED = "orphaned"
    """Status ``available`` and attached to nothing: addresses held for nobody."""
    UNKNOWN = "unknown"

    @property
    def drainable(self) -> bool:
        """Whether draining (and replacing) an EKS node frees this kind's addresses. O(1).

        True for EKS node primary and VPC CNI ENIs and for pod branch ENIs; False for every
        service-held, orphaned or unknown interface.

        >>> OwnerKind.EKS_POD_ENI.drainable, OwnerKind.LAMBDA.drainable
        (True, False)
        """
        return self in _DRAINABLE


_DRAINABLE = frozenset(
    {OwnerKind.EKS_NODE_PRIMARY, OwnerKind.EKS_NODE_SECONDARY, OwnerKind.EKS_POD_ENI}
)


@dataclass(frozen=True, slots=True)
class Classification:
    """The owner of one interface.

    ``label`` is human text; ``resource`` the owning resource's id or name when the interface
    tells it (``nat-...``, ``vpce-...``, a function or load balancer name); ``instance_id`` the
    instance it serves (attachment, VPC CNI tag or description); ``cluster`` the EKS cluster when
    known; ``is_eks`` whether it serves EKS (nodes, pods, control plane); ``origin`` the kind it
    would have without the ``ORPHANED`` verdict (equal to ``kind`` otherwise).
    """

    kind: OwnerKind
    label: str
    instance_id: str | None = None
    is_eks: bool = False
    resource: str | None = None
    cluster: str | None = None
    origin: OwnerKind | None = None

    def __post_init__(self) -> None:
        if self.origin is None:
            object.__setattr__(self, "origin", self.kind)

    @property
    def drainable(self) -> bool:
        """Whether draining an EKS node frees these addresses (:attr:`OwnerKind.drainable`).

        >>> Classification(OwnerKind.EKS_NODE_SECONDARY, "VPC CNI ENI").drainable
        True
        """
        return self.kind.drainable


@dataclass(frozen=True, slots=True)
class ServiceRule:
    """One row of the service table.

    Matches when the ``InterfaceType`` is in ``interface_types``, or ``description`` matches the
    start of the description (unless ``description_decides`` is false: then the regex only
    extracts the name, for descriptions that several kinds share), or ``requester`` matches
    anywhere in ``RequesterId``. ``label`` is formatted with ``{name}``: the regex group
    ``name`` of ``description`` when it matched, else ``""`` (the label drops the trailing space).
    With ``requester_required`` the description counts only for an interface a service created
    (``RequesterId`` present).
    """

    kind: OwnerKind
    label: str
    interface_types: frozenset[str] = frozenset()
    description: re.Pattern[str] | None = None
    requester: re.Pattern[str] | None = None
    description_decides: bool = True
    requester_required: bool = False


def _rule(
    kind: OwnerKind,
    label: str,
    types: Iterable[str] = (),
    description: str | None = None,
    requester: str | None = None,
    *,
    description_decides: bool = True,
    requester_required: bool = False,
) -> ServiceRule:
    return ServiceRule(
        kind,
        label,
        frozenset(types),
        re.compile(description) if description else None,
        re.compile(requester) if requester else None,
        description_decides,
        requester_required,
    )


#: The service table, first match wins. Descriptions are the texts the services write, as seen
#: in ``describe-network-interfaces`` output; ``InterfaceType`` values are the EC2 API enum
#: (NAT gateways report ``nat_gateway``, the API model spells it ``natGateway``: both count).
SERVICE_RULES: tuple[ServiceRule, ...] = (
    # Gateway Load Balancer endpoints share the endpoint description; only the type tells.
    _rule(
        OwnerKind.GATEWAY_LB_ENDPOINT,
        "Gateway Load Balancer endpoint {name}",
        ["gateway_load_balancer_endpoint"],
        r"VPC Endpoint Interface (?P<name>vpce-[0-9a-f]+)",
        description_decides=False,
    ),
    _rule(
        OwnerKind.VPC_ENDPOINT,
        "VPC endpoint {name}",
        ["vpc_endpoint"],
        r"VPC Endpoint Interface (?P<name>vpce-[0-9a-f]+)",
    ),
    _rule(
        OwnerKind.NAT_GATEWAY,
        "NAT gateway {name}",
        ["nat_gateway", "natGateway"],
        r"Interface for NAT Gateway (?P<name>nat-[0-9a-f]+)",
    ),
    _rule(
        OwnerKind.LAMBDA,
        "Lambda function {name}",
        ["lambda"],
        r"AWS Lambda VPC ENI-(?P<name>.+?)(?:-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
        r"-[0-9a-f]{12})?$",
        r":awslambda_",
    ),
    _rule(OwnerKind.ALB, "Application Load Balancer {name}", (), r"ELB app/(?P<name>[^/]+)"),
    _rule(
        OwnerKind.NLB,
        "Network Load Balancer {name}",
        ["network_load_balancer"],
        r"ELB net/(?P<name>[^/]+)",
    ),
    _rule(
        OwnerKind.GATEWAY_LB,
        "Gateway Load Balancer {name}",
        ["gateway_load_balancer"],
        r"ELB gwy/(?P<name>[^/]+)",
    ),
    _rule(OwnerKind.CLASSIC_ELB, "Classic Load Balancer {name}", (), r"ELB (?P<name>[^/\s]+)$"),
    _rule(OwnerKind.ELB, "load balancer", ["load_balancer"], r"aws-elb", r"^amazon-elb$"),
    _rule(
        OwnerKind.TRANSIT_GATEWAY,
        "Transit Gateway attachment {name}",
        ["transit_gateway"],
        r"Network Interface for Transit Gateway Attachment (?P<name>tgw-attach-[0-9a-f]+)",
    ),
    _rule(
        OwnerKind.API_GATEWAY_MANAGED,
        "API Gateway VPC link",
        ["api_gateway_managed"],
        r"ENI managed by APIGateway",
    ),
    _rule(OwnerKind.QUICKSIGHT, "QuickSight VPC connection", ["quicksight"]),
    _rule(OwnerKind.GLOBAL_ACCELERATOR, "Global Accelerator", ["global_accelerator_managed"]),
    _rule(OwnerKind.IOT_RULES, "IoT rules VPC destination", ["iot_rules_managed"]),
    _rule(
        OwnerKind.CODESTAR_CONNECTIONS,
        "CodeStar Connections",
        ["aws_codestar_connections_managed"],
        r"AWS CodeStar Connections",
    ),
    _rule(
        OwnerKind.RDS_PROXY, "RDS Proxy {name}", (), r"Network interface for DBProxy (?P<name>.+)"
    ),
    _rule(OwnerKind.RDS, "RDS database", (), r"RDSNetworkInterface", r"^amazon-rds$"),
    _rule(OwnerKind.REDSHIFT, "Redshift cluster", (), r"RedshiftNetworkInterface"),
    _rule(OwnerKind.DMS, "DMS replication instance", (), r"DMSNetworkInterface"),
    _rule(
        OwnerKind.ELASTICACHE,
        "ElastiCache {name}",
        (),
        r"ElastiCache (?P<name>\S+)",
        r"^amazon-elasticache$",
    ),
    _rule(OwnerKind.OPENSEARCH, "OpenSearch domain {name}", (), r"ES (?P<name>\S+)$"),
    _rule(
        OwnerKind.EFS,
        "EFS mount target {name}",
        ["efs"],
        r"EFS mount target for (?P<name>fs-[0-9a-f]+)",
    ),
    # FSx words its descriptions differently per file system flavour; all name FSx.
    _rule(
        OwnerKind.FSX,
        "FSx file system {name}",
        (),
        r".*?\bFSx\b(?:.*?(?P<name>fs-[0-9a-f]+))?",
    ),
    _rule(
        OwnerKind.ROUTE53_RESOLVER,
        "Route 53 Resolver endpoint {name}",
        (),
        r"Route 53 Resolver: (?P<name>rslvr-[a-z]+-[0-9a-f]+)",
    ),
    _rule(
        OwnerKind.DIRECTORY_SERVICE,
        "Directory Service {name}",
        (),
        r"AWS created network interface for directory (?P<name>d-[0-9a-f]+)",
    ),
    _rule(OwnerKind.WORKSPACES, "WorkSpace", (), r"Created By Amazon Workspaces"),
    _rule(
        OwnerKind.ECS_TASK,
        "ECS task attachment {name}",
        (),
        r"arn:aws[a-z-]*:ecs:[^:]*:[0-9]*:attachment/(?P<name>[0-9a-f-]+)",
    ),
    _rule(OwnerKind.CODEBUILD, "CodeBuild build", (), r"AWS CodeBuild", r":AWSCodeBuild-"),
    _rule(OwnerKind.DAX, "DAX cluster {name}", (), r"DAX(?: (?P<name>\S+))?", r"^amazon-dax$"),
    _rule(OwnerKind.EVS, "Elastic VMware Service", ["evs"]),
    _rule(
        OwnerKind.EC2_INSTANCE_CONNECT_ENDPOINT,
        "EC2 Instance Connect Endpoint {name}",
        ["ec2_instance_connect_endpoint"],
        r".*?(?P<name>eice-[0-9a-f]+)",
        description_decides=False,
    ),
    _rule(OwnerKind.GLUE, "Glue connection", (), r"Attached to Glue", r"(?i)\bglue\b"),
    # Descriptions that only mention a service name count when a service created the
    # interface (RequesterId present): a user's own instance may be named "kafka-1".
    _rule(
        OwnerKind.SAGEMAKER,
        "SageMaker",
        (),
        r".*?\bSageMaker\b",
        r"(?i)sagemaker",
        requester_required=True,
    ),
    _rule(
        OwnerKind.MSK,
        "MSK cluster",
        (),
        r".*?\b(?:Amazon MSK|MSK|Kafka)\b",
        r"(?i)^amazon-kafka$|:kafka",
        requester_required=True,
    ),
    _rule(
        OwnerKind.AMAZON_MQ,
        "Amazon MQ broker",
        (),
        r".*?\bAmazon ?MQ\b",
        r"(?i)amazon-?mq",
        requester_required=True,
    ),
    _rule(
        OwnerKind.CLIENT_VPN,
        "Client VPN endpoint {name}",
        (),
        r"(?i)Client ?VPN(?:.*?(?P<name>cvpn-endpoint-[0-9a-f]+))?",
    ),
    _rule(
        OwnerKind.APP_RUNNER,
        "App Runner VPC connector",
        (),
        r".*?\bApp ?Runner\b",
        r"(?i)apprunner",
        requester_required=True,
    ),
    _rule(
        OwnerKind.EMR,
        "EMR",
        (),
        r".*?\b(?:EMR|ElasticMapReduce)\b",
        r"(?i)elasticmapreduce",
        requester_required=True,
    ),
    _rule(
        OwnerKind.BATCH,
        "Batch job",
        (),
        r".*?\bAWS Batch\b",
        r"(?i):aws-batch|batch\.amazonaws",
        requester_required=True,
    ),
)

_VPC_CNI_DESCRIPTION = "aws-K8S-"
_TRUNK_DESCRIPTION = "aws-k8s-trunk-eni"
_BRANCH_DESCRIPTION = "aws-k8s-branch-eni"
_EKS_CONTROL_PLANE = re.compile(r"Amazon EKS (?P<name>\S+)$")
_INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}$")
_NODE_TAG = "node.k8s.amazonaws.com/instance_id"
_TRUNK_TAG = "vpcresources.k8s.aws/trunk-eni-id"
_CNI_CLUSTER_TAG = "cluster.k8s.amazonaws.com/name"
_CLUSTER_TAGS = (_CNI_CLUSTER_TAG, "eks:cluster-name", "aws:eks:cluster-name")
_CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
_EKS_TAG_KEYS = frozenset(
    {
        _NODE_TAG,
        *_CLUSTER_TAGS,
        "eks:nodegroup-name",
        "eks:eni:owner",
        "karpenter.sh/nodepool",
        "karpenter.sh/provisioner-name",
        "karpenter.k8s.aws/ec2nodeclass",
    }
)
_EKS_TAG_PREFIXES = (_CLUSTER_TAG_PREFIX, "vpcresources.k8s.aws/")
# EMR tags the interfaces it creates with these keys (the AWS managed policy
# AmazonElasticMapReduceEditorsRole allows ec2:CreateTags on network interfaces for them).
_EMR_CLUSTER_TAG = "aws:elasticmapreduce:job-flow-id"
_EMR_EDITOR_TAG = "aws:elasticmapreduce:editor-id"
_VALUE_TAGS: frozenset[str] = frozenset(
    {_NODE_TAG, _TRUNK_TAG, *_CLUSTER_TAGS, _EMR_CLUSTER_TAG, _EMR_EDITOR_TAG}
)
"""The tag keys whose *values* classification reads; of every other tag only the key
counts. Interfaces whose facts differ only in other tags' values get the same verdict
(the snapshot loader classifies one of each such group)."""


def _text(eni: Mapping[str, Any], key: str) -> str:
    value = eni.get(key)
    return value if isinstance(value, str) else ""


def _tags(eni: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    listed = eni.get("TagSet") or eni.get("Tags")
    if not isinstance(listed, list):  # broken input: reported by the loader, ignored here
        return tags
    for tag in listed:
        if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str):
            value = tag.get("Value")
            tags[tag["Key"]] = value if isinstance(value, str) else ""
    return tags


_NO_TAGS: Mapping[str, str] = MappingProxyType({})


class InterfaceFacts(NamedTuple):
    """What classification reads of one interface, already typed (an immutable record).

    :meth:`from_item` takes them from a ``describe-network-interfaces`` item, treating
    missing or mistyped fields as absent; the snapshot loader builds them from its
    validated records directly (a named tuple: cheap to build 40,000 times). ``operator``
    is ``Operator.Principal``.

    >>> f = InterfaceFacts.from_item({"InterfaceType": "lambda", "TagSet": "broken"})
    >>> f.interface_type, f.tags
    ('lambda', {})
    """

    interface_type: str = ""
    description: str = ""
    requester: str = ""
    status: str = ""
    tags: Mapping[str, str] = _NO_TAGS
    instance_id: str | None = None
    device_index: int | None = None
    card_index: int | None = None
    operator: str = ""
    eni_id: str = ""

    @classmethod
    def from_item(cls, eni: Mapping[str, Any]) -> InterfaceFacts:
        """The facts of a ``describe-network-interfaces`` item. O(fields + tags).

        Raises :class:`~ipfrag.InvalidType` if ``eni`` is not a mapping.

        >>> InterfaceFacts.from_item({"Attachment": {"InstanceId": "i-1"}}).instance_id
        'i-1'
        """
        if not isinstance(eni, Mapping):
            raise InvalidType(f"a network interface must be a mapping, not {type(eni).__name__}")
        attachment = eni.get("Attachment")
        if not isinstance(attachment, Mapping):
            attachment = {}
        instance = attachment.get("InstanceId")
        device = attachment.get("DeviceIndex")
        card = attachment.get("NetworkCardIndex")
        operator = eni.get("Operator")
        principal = operator.get("Principal") if isinstance(operator, Mapping) else None
        return cls(
            _text(eni, "InterfaceType"),
            _text(eni, "Description").strip(),
            _text(eni, "RequesterId"),
            _text(eni, "Status"),
            _tags(eni),
            instance if isinstance(instance, str) and instance else None,
            device if isinstance(device, int) and not isinstance(device, bool) else None,
            card if isinstance(card, int) and not isinstance(card, bool) else None,
            principal if isinstance(principal, str) else "",
            _text(eni, "NetworkInterfaceId"),
        )


@lru_cache(maxsize=1024)
def _by_tag_keys(keys: tuple[str, ...]) -> tuple[bool, str | None]:
    """What the tag keys alone say: whether one marks EKS, and the cluster a
    ``kubernetes.io/cluster/<name>`` key names. Cached: interfaces share their tag keys
    (every pod ENI of a cluster has the same ones)."""
    eks = any(key in _EKS_TAG_KEYS or key.startswith(_EKS_TAG_PREFIXES) for key in keys)
    n = len(_CLUSTER_TAG_PREFIX)
    cluster = next((k[n:] for k in keys if k.startswith(_CLUSTER_TAG_PREFIX) and len(k) > n), None)
    return eks, cluster


def _eks_and_cluster(facts: InterfaceFacts) -> tuple[bool, str | None]:
    """Whether the interface is tagged (or operated) for EKS, and its cluster by tag."""
    tags = facts.tags
    if not tags:
        return "eks" in facts.operator.lower(), None
    eks, cluster = _by_tag_keys(tuple(tags))
    for key in _CLUSTER_TAGS:  # a value names the cluster before a key does
        if tags.get(key):
            cluster = tags[key]
            break
    return eks or "eks" in facts.operator.lower(), cluster


def _format(label: str, name: str | None) -> str:
    return label.format(name=name or "").rstrip()


def _match_rule(
    rule: ServiceRule, interface_type: str, description: str, requester: str
) -> tuple[bool, str | None]:
    """Whether ``rule`` matches, and the resource name its description regex found."""
    found = rule.description.match(description) if rule.description else None
    matched = bool(
        (found and rule.description_decides and (requester or not rule.requester_required))
        or interface_type in rule.interface_types
        or (rule.requester is not None and rule.requester.search(requester))
    )
    return matched, (found.groupdict().get("name") if found else None)


@lru_cache(maxsize=4096)
def _service(
    interface_type: str, description: str, requester: str
) -> tuple[OwnerKind, str, str | None] | None:
    """The first service rule matching: (kind, label, resource); cached, as services repeat."""
    for rule in SERVICE_RULES:
        matched, resource = _match_rule(rule, interface_type, description, requester)
        if matched:
            return rule.kind, _format(rule.label, resource), resource
    return None


# Verdicts repeat (every pod ENI on one trunk, every ENI of one Lambda function ...) and are
# immutable: one shared instance each saves building 40,000 frozen dataclasses.
_result = lru_cache(maxsize=4096)(Classification)


def _classify(
    f: InterfaceFacts, eks_instance_ids: Collection[str], trunk_nodes: Mapping[str, str]
) -> Classification:
    interface_type, description = f.interface_type, f.description
    tags = f.tags
    instance_id = f.instance_id
    eks, cluster = _eks_and_cluster(f)

    if interface_type == "trunk" or description.startswith(_TRUNK_DESCRIPTION):
        eks = eks or description.startswith(_TRUNK_DESCRIPTION) or instance_id in eks_instance_ids
        where = f" of {instance_id}" if instance_id else ""
        label = f"EKS trunk ENI{where}" if eks else f"trunk ENI{where}"
        return _result(OwnerKind.TRUNK, label, instance_id, eks, None, cluster)
    if interface_type == "branch" or description.startswith(_BRANCH_DESCRIPTION):
        trunk = tags.get(_TRUNK_TAG)
        # A branch ENI is not attached; its node is the trunk's instance, or the CNI's tag.
        node = instance_id or tags.get(_NODE_TAG) or (trunk_nodes.get(trunk) if trunk else None)
        if eks or description.startswith(_BRANCH_DESCRIPTION):
            where = f" on trunk {trunk}" if trunk else ""
            return _result(
                OwnerKind.EKS_POD_ENI, f"EKS pod branch ENI{where}", node, True, trunk, cluster
            )
        return _result(OwnerKind.BRANCH, "branch ENI", node, False, trunk, cluster)

    cni_node = tags.get(_NODE_TAG)
    if description.startswith(_VPC_CNI_DESCRIPTION) or cni_node:
        from_description = description[len(_VPC_CNI_DESCRIPTION) :]
        node = (
            instance_id
            or cni_node
            or (from_description if _INSTANCE_ID.match(from_description) else None)
        )
        where = f" of {node}" if node else ""
        return _result(
            OwnerKind.EKS_NODE_SECONDARY, f"VPC CNI ENI{where}", node, True, None, cluster
        )
    control_plane = _EKS_CONTROL_PLANE.match(description)
    if control_plane:
        name = control_plane.group("name")
        return _result(
            OwnerKind.EKS_CONTROL_PLANE, f"EKS control plane of {name}", None, True, None, name
        )
    if interface_type in ("efa", "efa-only"):
        eks = eks or instance_id in eks_instance_ids
        where = f" of {instance_id}" if instance_id else ""
        return _result(OwnerKind.EFA, f"EFA{where}", instance_id, eks, None, cluster)

    service = _service(interface_type, description, f.requester)
    if service is not None:
        kind, label, resource = service
        return _result(kind, label, instance_id, eks, resource, cluster)
    emr_cluster, emr_editor = tags.get(_EMR_CLUSTER_TAG), tags.get(_EMR_EDITOR_TAG)
    if emr_cluster is not None or emr_editor is not None:
        what = (
            f"EMR cluster {emr_cluster}"
            if emr_cluster
            else f"EMR notebook {emr_editor}"
            if emr_editor
            else "EMR"
        )
        resource = emr_cluster or emr_editor or None
        return _result(OwnerKind.EMR, what, instance_id, eks, resource, cluster)

    if instance_id:
        primary = f.device_index == 0 and f.card_index in (0, None)
        on_node = eks or instance_id in eks_instance_ids
        if on_node and primary:
            return _result(
                OwnerKind.EKS_NODE_PRIMARY,
                f"EKS node {instance_id} primary ENI",
                instance_id,
                True,
                None,
                cluster,
            )
        return _result(
            OwnerKind.EC2_INSTANCE, f"instance {instance_id}", instance_id, on_node, None, cluster
        )
    return _result(
        OwnerKind.UNKNOWN,
        f"unknown ({description})" if description else "unknown",
        None,
        eks,
        None,
        cluster,
    )


def _facts(eni: Mapping[str, Any] | InterfaceFacts) -> InterfaceFacts:
    return eni if isinstance(eni, InterfaceFacts) else InterfaceFacts.from_item(eni)


def _verdict(
    f: InterfaceFacts, eks_instance_ids: Collection[str], trunk_nodes: Mapping[str, str]
) -> Classification:
    found = _classify(f, eks_instance_ids, trunk_nodes)
    if f.status == "available" and not f.instance_id:
        return _result(
            OwnerKind.ORPHANED,
            f"unattached (available): {found.label}",
            found.instance_id,
            found.is_eks,
            found.resource,
            found.cluster,
            found.kind,
        )
    return found


def classify_interface(
    eni: Mapping[str, Any] | InterfaceFacts, *, eks_instance_ids: Collection[str] = ()
) -> Classification:
    """Classify one ``describe-network-interfaces`` item; see the module docs for the order.

    ``eni`` is the item (or its :class:`InterfaceFacts`). ``eks_instance_ids`` names
    instances known to be EKS nodes, so that their untagged primary ENIs count as
    ``EKS_NODE_PRIMARY`` (:func:`classify_interfaces` fills it in). Missing or mistyped
    fields are treated as absent: classification never fails on a mapping. Raises
    :class:`~ipfrag.InvalidType` if ``eni`` is not a mapping. O(rules + tags).

    >>> classify_interface({"Description": "aws-K8S-i-0123456789abcdef0", "Status": "in-use",
    ...     "Attachment": {"InstanceId": "i-0123456789abcdef0", "DeviceIndex": 1}}).kind.value
    'eks_node_secondary'
    >>> classify_interface({"Description": "", "Status": "available"}).kind.value
    'orphaned'
    """
    return _verdict(_facts(eni), eks_instance_ids, {})


def classify_interfaces(
    enis: Iterable[Mapping[str, Any] | InterfaceFacts],
) -> list[Classification]:
    """Classify many interfaces at once, in order; EKS nodes are learned from the whole set.

    An instance that holds a VPC CNI ENI, a trunk ENI, or an interface tagged for EKS is an EKS
    node, so its primary ENI (device index 0, usually untagged and without description) becomes
    ``EKS_NODE_PRIMARY``; a pod's branch ENI (not attached) gets the ``instance_id`` of the node
    whose trunk ENI carries it. O(n x rules).

    >>> node = "i-0123456789abcdef0"
    >>> out = classify_interfaces([
    ...     {"Description": "", "Status": "in-use",
    ...      "Attachment": {"InstanceId": node, "DeviceIndex": 0}},
    ...     {"Description": "aws-K8S-" + node, "Status": "in-use",
    ...      "Attachment": {"InstanceId": node, "DeviceIndex": 1}}])
    >>> [c.kind.value for c in out]
    ['eks_node_primary', 'eks_node_secondary']
    """
    facts = [_facts(eni) for eni in enis]
    trunk_nodes = _trunk_nodes((f.eni_id, f.interface_type, f.instance_id) for f in facts)
    return _classify_all(facts, trunk_nodes)


def _trunk_nodes(interfaces: Iterable[tuple[str, str | None, str | None]]) -> dict[str, str]:
    """``{trunk ENI id: its instance}`` of ``(ENI id, InterfaceType, instance id)`` triples:
    what a pod's branch ENI, which is not attached, takes its node from."""
    return {
        eni: instance
        for eni, interface_type, instance in interfaces
        if instance and eni and interface_type == "trunk"
    }


def _classify_all(
    facts: Sequence[InterfaceFacts], trunk_nodes: Mapping[str, str]
) -> list[Classification]:
    """:func:`classify_interfaces` of ``facts``, the trunk ENIs' nodes given
    (``{trunk ENI id: instance id}``): ``facts`` may then be one interface of each group
    that classification cannot tell apart, the nodes being learned from their verdicts."""
    first = [_verdict(f, (), trunk_nodes) for f in facts]
    nodes = {c.instance_id for c in first if c.instance_id and c.is_eks}
    if not nodes:
        return first
    # Knowing the EKS nodes only turns "not EKS" into "EKS" (a node's untagged primary ENI,
    # trunk or EFA): verdicts already EKS stay as they are.
    return [
        _verdict(f, nodes, trunk_nodes) if not c.is_eks and c.instance_id in nodes else c
        for f, c in zip(facts, first, strict=True)
    ]
