"""Owner classification of describe-network-interfaces items (ipfrag.aws.classify)."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ipfrag
from ipfrag.aws.classify import (
    _VALUE_TAGS,
    SERVICE_RULES,
    Classification,
    InterfaceFacts,
    OwnerKind,
    _verdict,
    classify_interface,
    classify_interfaces,
)

ACCOUNT = "111122223333"
NODE = "i-0a1b2c3d4e5f60718"
OTHER = "i-0fedcba9876543210"


def eni(
    description: str = "",
    *,
    interface_type: str = "interface",
    status: str = "in-use",
    instance: str | None = None,
    device: int = 0,
    requester: str | None = None,
    managed: bool | None = None,
    tags: dict[str, str] | None = None,
    ip: str = "10.0.37.14",
    instance_owner: str = ACCOUNT,
) -> dict[str, Any]:
    """A NetworkInterfaces[] item shaped as the AWS CLI prints it."""
    item: dict[str, Any] = {
        "AvailabilityZone": "eu-west-1a",
        "Description": description,
        "Groups": [{"GroupName": "default", "GroupId": "sg-0123456789abcdef0"}],
        "InterfaceType": interface_type,
        "Ipv6Addresses": [],
        "MacAddress": "0a:59:43:ab:4a:81",
        "NetworkInterfaceId": "eni-047ff73e04f5b733c",
        "OwnerId": ACCOUNT,
        "PrivateDnsName": f"ip-{ip.replace('.', '-')}.eu-west-1.compute.internal",
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
        "RequesterManaged": bool(managed),
        "SourceDestCheck": True,
        "Status": status,
        "SubnetId": "subnet-0699b5b8ff97ac92d",
        "TagSet": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        "VpcId": "vpc-0c135279d2fedea3d",
    }
    if requester is not None:
        item["RequesterId"] = requester
    if instance is not None:
        item["Attachment"] = {
            "AttachTime": "2024-08-18T07:27:41+00:00",
            "AttachmentId": "eni-attach-003f2b4fdcff1d81b",
            "DeleteOnTermination": True,
            "DeviceIndex": device,
            "NetworkCardIndex": 0,
            "InstanceId": instance,
            "InstanceOwnerId": instance_owner,
            "Status": "attached",
        }
    return item


EKS_TAGS = {"eks:eni:owner": "eks-vpc-resource-controller", "kubernetes.io/cluster/prod": "owned"}

# (case id, interface, kind, resource, label fragment)
CASES: list[tuple[str, dict[str, Any], OwnerKind, str | None, str]] = [
    (
        "vpc-cni-secondary",
        eni(
            f"aws-K8S-{NODE}",
            instance=NODE,
            device=1,
            tags={
                "node.k8s.amazonaws.com/instance_id": NODE,
                "node.k8s.amazonaws.com/createdAt": "2024-08-18T07:27:41Z",
                "cluster.k8s.amazonaws.com/name": "prod",
            },
        ),
        OwnerKind.EKS_NODE_SECONDARY,
        None,
        f"VPC CNI ENI of {NODE}",
    ),
    (
        "trunk",
        eni("aws-k8s-trunk-eni", interface_type="trunk", instance=NODE, device=2, tags=EKS_TAGS),
        OwnerKind.TRUNK,
        None,
        f"EKS trunk ENI of {NODE}",
    ),
    (
        "branch",
        eni(
            "aws-k8s-branch-eni",
            interface_type="branch",
            requester="895095153028",
            tags={
                "vpcresources.k8s.aws/vlan-id": "1",
                "vpcresources.k8s.aws/trunk-eni-id": "eni-03e61f90252a662d1",
                **EKS_TAGS,
            },
        ),
        OwnerKind.EKS_POD_ENI,
        "eni-03e61f90252a662d1",
        "EKS pod branch ENI on trunk eni-03e61f90252a662d1",
    ),
    (
        "eks-control-plane",
        eni(
            "Amazon EKS prod",
            instance_owner="298800981437",
            requester="298800981437",
        ),
        OwnerKind.EKS_CONTROL_PLANE,
        None,
        "EKS control plane of prod",
    ),
    (
        "lambda-hyperplane",
        eni(
            "AWS Lambda VPC ENI-report-builder-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
            interface_type="lambda",
            requester="AROAEXAMPLE:awslambda_123_20240101",
            managed=True,
        ),
        OwnerKind.LAMBDA,
        "report-builder",
        "Lambda function report-builder",
    ),
    (
        "lambda-legacy-interface-type",
        eni("AWS Lambda VPC ENI-cost-digest", requester="AROAEXAMPLE:awslambda_77"),
        OwnerKind.LAMBDA,
        "cost-digest",
        "Lambda function cost-digest",
    ),
    (
        "nat-gateway",
        eni(
            "Interface for NAT Gateway nat-0e1fba3d48050974f",
            interface_type="nat_gateway",
            requester="amazon-nat",
            managed=True,
        ),
        OwnerKind.NAT_GATEWAY,
        "nat-0e1fba3d48050974f",
        "NAT gateway nat-0e1fba3d48050974f",
    ),
    (
        "alb",
        eni("ELB app/billing-api/50dc6c495c0c9188", requester="amazon-elb", managed=True),
        OwnerKind.ALB,
        "billing-api",
        "Application Load Balancer billing-api",
    ),
    (
        "nlb",
        eni(
            "ELB net/internal-nlb/e9184833c2c1b7fc",
            interface_type="network_load_balancer",
            requester="amazon-elb",
            managed=True,
        ),
        OwnerKind.NLB,
        "internal-nlb",
        "Network Load Balancer internal-nlb",
    ),
    (
        "gwlb",
        eni(
            "ELB gwy/inspection/0123abcd4567ef89",
            interface_type="gateway_load_balancer",
            requester="amazon-elb",
        ),
        OwnerKind.GATEWAY_LB,
        "inspection",
        "Gateway Load Balancer inspection",
    ),
    (
        "classic-elb",
        eni("ELB legacy-web", requester="amazon-elb", managed=True),
        OwnerKind.CLASSIC_ELB,
        "legacy-web",
        "Classic Load Balancer legacy-web",
    ),
    (
        "elb-unknown-flavour",
        eni("", interface_type="load_balancer", requester="amazon-elb"),
        OwnerKind.ELB,
        None,
        "load balancer",
    ),
    (
        "vpc-endpoint",
        eni(
            "VPC Endpoint Interface vpce-0af0e655f20ceaa88",
            interface_type="vpc_endpoint",
            requester="727180483921",
            managed=True,
        ),
        OwnerKind.VPC_ENDPOINT,
        "vpce-0af0e655f20ceaa88",
        "VPC endpoint vpce-0af0e655f20ceaa88",
    ),
    (
        "gwlb-endpoint",
        eni(
            "VPC Endpoint Interface vpce-0bb1e655f20ceaa99",
            interface_type="gateway_load_balancer_endpoint",
        ),
        OwnerKind.GATEWAY_LB_ENDPOINT,
        "vpce-0bb1e655f20ceaa99",
        "Gateway Load Balancer endpoint",
    ),
    (
        "transit-gateway",
        eni(
            "Network Interface for Transit Gateway Attachment tgw-attach-03a924ff49189ecb2",
            interface_type="transit_gateway",
        ),
        OwnerKind.TRANSIT_GATEWAY,
        "tgw-attach-03a924ff49189ecb2",
        "Transit Gateway attachment",
    ),
    (
        "api-gateway",
        eni("ENI managed by APIGateway", interface_type="api_gateway_managed"),
        OwnerKind.API_GATEWAY_MANAGED,
        None,
        "API Gateway VPC link",
    ),
    ("quicksight", eni("", interface_type="quicksight"), OwnerKind.QUICKSIGHT, None, "QuickSight"),
    (
        "global-accelerator",
        eni("", interface_type="global_accelerator_managed"),
        OwnerKind.GLOBAL_ACCELERATOR,
        None,
        "Global Accelerator",
    ),
    (
        "iot",
        eni("", interface_type="iot_rules_managed"),
        OwnerKind.IOT_RULES,
        None,
        "IoT rules",
    ),
    (
        "codestar",
        eni("AWS CodeStar Connections", interface_type="aws_codestar_connections_managed"),
        OwnerKind.CODESTAR_CONNECTIONS,
        None,
        "CodeStar",
    ),
    (
        "rds",
        eni("RDSNetworkInterface", requester="amazon-rds", managed=True),
        OwnerKind.RDS,
        None,
        "RDS database",
    ),
    (
        "rds-proxy",
        eni("Network interface for DBProxy orders-proxy", requester="amazon-rds", managed=True),
        OwnerKind.RDS_PROXY,
        "orders-proxy",
        "RDS Proxy orders-proxy",
    ),
    ("redshift", eni("RedshiftNetworkInterface"), OwnerKind.REDSHIFT, None, "Redshift"),
    ("dms", eni("DMSNetworkInterface"), OwnerKind.DMS, None, "DMS"),
    (
        "elasticache",
        eni("ElastiCache sessions-0001-001", requester="amazon-elasticache", managed=True),
        OwnerKind.ELASTICACHE,
        "sessions-0001-001",
        "ElastiCache sessions-0001-001",
    ),
    ("opensearch", eni("ES logs-domain"), OwnerKind.OPENSEARCH, "logs-domain", "OpenSearch"),
    (
        "efs",
        eni("EFS mount target for fs-0dcdbf56073416b82 (fsmt-0852ce334db888836)"),
        OwnerKind.EFS,
        "fs-0dcdbf56073416b82",
        "EFS mount target fs-0dcdbf56073416b82",
    ),
    (
        "fsx",
        eni("ENI for Amazon FSx for Lustre file system fs-0123456789abcdef0"),
        OwnerKind.FSX,
        "fs-0123456789abcdef0",
        "FSx file system fs-0123456789abcdef0",
    ),
    (
        "route53-resolver",
        eni("Route 53 Resolver: rslvr-in-0123456789abcdef0:rni-0123456789abcdef0"),
        OwnerKind.ROUTE53_RESOLVER,
        "rslvr-in-0123456789abcdef0",
        "Route 53 Resolver endpoint",
    ),
    (
        "directory",
        eni("AWS created network interface for directory d-9067a1b2c3"),
        OwnerKind.DIRECTORY_SERVICE,
        "d-9067a1b2c3",
        "Directory Service d-9067a1b2c3",
    ),
    (
        "workspaces",
        eni("Created By Amazon Workspaces for AWS Account ID 111122223333"),
        OwnerKind.WORKSPACES,
        None,
        "WorkSpace",
    ),
    (
        "ecs-task",
        eni(
            "arn:aws:ecs:us-east-1:111122223333:attachment/f1f47f32-aecf-48d0-b045-900db0b9fcb9",
            requester="578734482556",
            managed=True,
        ),
        OwnerKind.ECS_TASK,
        "f1f47f32-aecf-48d0-b045-900db0b9fcb9",
        "ECS task attachment",
    ),
    (
        "codebuild",
        eni("", requester="AROAEXAMPLE:AWSCodeBuild-0a1b2c3d"),
        OwnerKind.CODEBUILD,
        None,
        "CodeBuild",
    ),
    (
        "efa",
        eni("", interface_type="efa", instance=OTHER, device=1),
        OwnerKind.EFA,
        None,
        f"EFA of {OTHER}",
    ),
    (
        "ec2-instance",
        eni("bastion primary", instance=OTHER, tags={"Name": "bastion"}),
        OwnerKind.EC2_INSTANCE,
        None,
        f"instance {OTHER}",
    ),
    (
        "eks-node-primary-by-tags",
        eni(
            "",
            instance=NODE,
            tags={"eks:cluster-name": "prod", "eks:nodegroup-name": "ng-1"},
        ),
        OwnerKind.EKS_NODE_PRIMARY,
        None,
        f"EKS node {NODE} primary ENI",
    ),
    (
        "ecs-trunk",
        eni("", interface_type="trunk", instance=OTHER, device=1),
        OwnerKind.TRUNK,
        None,
        f"trunk ENI of {OTHER}",
    ),
    (
        "ecs-branch",
        eni("", interface_type="branch"),
        OwnerKind.BRANCH,
        None,
        "branch ENI",
    ),
    ("unknown", eni("my tooling ENI"), OwnerKind.UNKNOWN, None, "unknown (my tooling ENI)"),
    # issue 9: the kinds the support tool knows, and the usual service conventions
    (
        "efs-by-type",
        eni("", interface_type="efs", requester="amazon-elasticfilesystem", managed=True),
        OwnerKind.EFS,
        None,
        "EFS mount target",
    ),
    ("evs", eni("", interface_type="evs", managed=True), OwnerKind.EVS, None, "VMware"),
    (
        "ec2-instance-connect-endpoint",
        eni(
            "EC2 Instance Connect Endpoint eice-0123456789abcdef0",
            interface_type="ec2_instance_connect_endpoint",
            managed=True,
        ),
        OwnerKind.EC2_INSTANCE_CONNECT_ENDPOINT,
        "eice-0123456789abcdef0",
        "EC2 Instance Connect Endpoint eice-0123456789abcdef0",
    ),
    (
        "dax",
        eni("DAX orders-dax-abcdefghij", requester="amazon-dax", managed=True),
        OwnerKind.DAX,
        "orders-dax-abcdefghij",
        "DAX cluster orders-dax-abcdefghij",
    ),
    (
        "aws-elb",
        eni("aws-elb-managed interface", requester="amazon-elb", managed=True),
        OwnerKind.ELB,
        None,
        "load balancer",
    ),
    (
        "codebuild-by-description",
        eni("AWS CodeBuild - build 4f1e", requester="AROAEXAMPLE:AWSCodeBuild-1"),
        OwnerKind.CODEBUILD,
        None,
        "CodeBuild",
    ),
    (
        "glue",
        eni(
            "Attached to Glue using role: arn:aws:iam::111122223333:role/glue-etl",
            requester="AROAEXAMPLE:GlueJobRunnerSession",
            managed=True,
        ),
        OwnerKind.GLUE,
        None,
        "Glue",
    ),
    (
        "sagemaker",
        eni(
            "[DO NOT DELETE] ENI managed by SageMaker for Studio Domain(d-abc123)",
            requester="AROAEXAMPLE:SageMaker",
            managed=True,
        ),
        OwnerKind.SAGEMAKER,
        None,
        "SageMaker",
    ),
    (
        "msk",
        eni("[DO NOT DELETE] ENI managed by Amazon MSK", requester="amazon-kafka", managed=True),
        OwnerKind.MSK,
        None,
        "MSK",
    ),
    (
        "amazon-mq",
        eni("AmazonMQ network interface for broker b-1234", requester="amazon-mq", managed=True),
        OwnerKind.AMAZON_MQ,
        None,
        "Amazon MQ",
    ),
    (
        "client-vpn",
        eni("ClientVPN Endpoint cvpn-endpoint-0123456789abcdef0", requester="AROAEXAMPLE:cvpn"),
        OwnerKind.CLIENT_VPN,
        "cvpn-endpoint-0123456789abcdef0",
        "Client VPN endpoint cvpn-endpoint-0123456789abcdef0",
    ),
    (
        "app-runner",
        eni("AWS App Runner VPC connector ENI", requester="AROAEXAMPLE:apprunner", managed=True),
        OwnerKind.APP_RUNNER,
        None,
        "App Runner",
    ),
    (
        "emr",
        eni("ENI for EMR Studio workspace", requester="AROAEXAMPLE:ElasticMapReduce"),
        OwnerKind.EMR,
        None,
        "EMR",
    ),
    (
        "emr-cluster-node-by-tag",  # EMR tags the interfaces it creates (AWS managed policy)
        eni(
            "",
            instance="i-0aaaabbbbccccdddd",
            device=1,
            tags={"aws:elasticmapreduce:job-flow-id": "j-2AXXXXXXGAPLF"},
        ),
        OwnerKind.EMR,
        "j-2AXXXXXXGAPLF",
        "EMR cluster j-2AXXXXXXGAPLF",
    ),
    (
        "emr-notebook-by-tag",
        eni("", tags={"aws:elasticmapreduce:editor-id": "e-1VLS6XXXXXXXXX"}),
        OwnerKind.EMR,
        "e-1VLS6XXXXXXXXX",
        "EMR notebook e-1VLS6XXXXXXXXX",
    ),
    (
        "batch",
        eni("", requester="AROAEXAMPLE:aws-batch-job", managed=True),
        OwnerKind.BATCH,
        None,
        "Batch",
    ),
]

DRAINABLE = {OwnerKind.EKS_NODE_PRIMARY, OwnerKind.EKS_NODE_SECONDARY, OwnerKind.EKS_POD_ENI}


@pytest.mark.parametrize("kind", list(OwnerKind))
def test_drainable_only_for_what_draining_a_node_frees(kind: OwnerKind) -> None:
    assert kind.drainable is (kind in DRAINABLE)
    assert Classification(kind, "x").drainable is kind.drainable


def test_unknown_interface_types_are_accepted() -> None:
    for itype in ("some_future_type", "", "INTERFACE", "nat gateway"):
        assert classify_interface(eni("", interface_type=itype)).kind is OwnerKind.UNKNOWN


def test_a_user_instance_named_after_a_service_stays_an_instance() -> None:
    for text in ("kafka broker MSK test", "SageMaker sandbox", "EMR edge node"):
        found = classify_interface(eni(text, instance=OTHER, device=1))
        assert found.kind is OwnerKind.EC2_INSTANCE, text


def test_branch_eni_gets_its_node_from_the_trunk_or_the_tag() -> None:
    trunk = eni("aws-k8s-trunk-eni", interface_type="trunk", instance=NODE, device=2)
    trunk["NetworkInterfaceId"] = "eni-0trunk00000000000"
    branch = eni(
        "aws-k8s-branch-eni",
        interface_type="branch",
        tags={"vpcresources.k8s.aws/trunk-eni-id": "eni-0trunk00000000000"},
    )
    tagged = eni(
        "aws-k8s-branch-eni",
        interface_type="branch",
        tags={"node.k8s.amazonaws.com/instance_id": OTHER},
    )
    out = classify_interfaces([branch, trunk, tagged])
    assert [c.kind for c in out] == [OwnerKind.EKS_POD_ENI, OwnerKind.TRUNK, OwnerKind.EKS_POD_ENI]
    assert out[0].instance_id == NODE and out[2].instance_id == OTHER
    assert out[0].drainable and not out[1].drainable
    # alone, the branch does not know its node
    assert classify_interface(branch).instance_id is None


@pytest.mark.parametrize("tags", ["not a list", 5, {"Key": "x"}, [1, None]])
def test_broken_tag_sets_never_crash_the_classifier(tags: Any) -> None:
    item = eni("", instance=NODE)
    item["TagSet"] = tags
    assert classify_interface(item).kind is OwnerKind.EC2_INSTANCE


@pytest.mark.parametrize(
    ("item", "kind", "resource", "label"),
    [pytest.param(item, kind, res, label, id=case) for case, item, kind, res, label in CASES],
)
def test_classifies_realistic_interfaces(
    item: dict[str, Any], kind: OwnerKind, resource: str | None, label: str
) -> None:
    before = copy.deepcopy(item)
    found = classify_interface(item)
    assert found.kind is kind
    assert found.origin is kind
    assert found.resource == resource
    assert label in found.label
    assert item == before  # the input is not touched


def test_every_kind_but_orphaned_and_primary_heuristics_has_a_case() -> None:
    covered = {kind for _, _, kind, _, _ in CASES}
    assert set(OwnerKind) - covered == {OwnerKind.ORPHANED}


@pytest.mark.parametrize(
    ("case", "eks"),
    [
        ("vpc-cni-secondary", True),
        ("trunk", True),
        ("branch", True),
        ("eks-control-plane", True),
        ("eks-node-primary-by-tags", True),
        ("ecs-trunk", False),
        ("ecs-branch", False),
        ("ec2-instance", False),
        ("nat-gateway", False),
        ("lambda-hyperplane", False),
    ],
)
def test_is_eks_flag(case: str, eks: bool) -> None:
    item = next(item for name, item, *_ in CASES if name == case)
    assert classify_interface(item).is_eks is eks


def test_instance_and_cluster_fields() -> None:
    secondary = classify_interface(CASES[0][1])
    assert (secondary.instance_id, secondary.cluster) == (NODE, "prod")
    control = classify_interface(eni("Amazon EKS prod"))
    assert (control.instance_id, control.cluster) == (None, "prod")
    branch = classify_interface(next(item for name, item, *_ in CASES if name == "branch"))
    assert branch.cluster == "prod"
    nat = classify_interface(eni("Interface for NAT Gateway nat-0e1fba3d48050974f"))
    assert (nat.instance_id, nat.cluster, nat.is_eks) == (None, None, False)


def test_nat_gateway_interface_type_spelled_as_in_the_api_model() -> None:
    assert classify_interface(eni("", interface_type="natGateway")).kind is OwnerKind.NAT_GATEWAY


def test_detached_vpc_cni_eni_is_orphaned_but_remembers_its_node() -> None:
    leaked = eni(
        f"aws-K8S-{NODE}",
        status="available",
        tags={"node.k8s.amazonaws.com/instance_id": NODE},
    )
    found = classify_interface(leaked)
    assert found.kind is OwnerKind.ORPHANED
    assert found.origin is OwnerKind.EKS_NODE_SECONDARY
    assert found.instance_id == NODE and found.is_eks
    assert found.label == f"unattached (available): VPC CNI ENI of {NODE}"


def test_instance_id_from_description_when_untagged_and_detached() -> None:
    found = classify_interface(eni(f"aws-K8S-{NODE}", status="available"))
    assert found.instance_id == NODE
    assert classify_interface(eni("aws-K8S-garbage")).instance_id is None


def test_available_plain_interface_is_orphaned() -> None:
    found = classify_interface(eni("", status="available"))
    assert (found.kind, found.origin, found.label) == (
        OwnerKind.ORPHANED,
        OwnerKind.UNKNOWN,
        "unattached (available): unknown",
    )
    # A Lambda ENI left behind after its function was deleted.
    lam = classify_interface(eni("AWS Lambda VPC ENI-old-fn", status="available"))
    assert (lam.kind, lam.origin, lam.resource) == (OwnerKind.ORPHANED, OwnerKind.LAMBDA, "old-fn")


def test_in_use_branch_without_attachment_is_not_orphaned() -> None:
    item = next(item for name, item, *_ in CASES if name == "branch")
    assert "Attachment" not in item
    assert classify_interface(item).kind is OwnerKind.EKS_POD_ENI


def test_untagged_node_primary_is_learned_from_the_nodes_cni_enis() -> None:
    primary = eni("", instance=NODE, device=0)
    secondary = eni(f"aws-K8S-{NODE}", instance=NODE, device=1)
    plain = eni("", instance=OTHER, device=0)
    assert classify_interface(primary).kind is OwnerKind.EC2_INSTANCE
    kinds = [c.kind for c in classify_interfaces([primary, secondary, plain])]
    assert kinds == [
        OwnerKind.EKS_NODE_PRIMARY,
        OwnerKind.EKS_NODE_SECONDARY,
        OwnerKind.EC2_INSTANCE,
    ]
    hinted = classify_interface(primary, eks_instance_ids={NODE})
    assert hinted.kind is OwnerKind.EKS_NODE_PRIMARY and hinted.is_eks


def test_learned_node_non_primary_interface_stays_ec2_but_is_eks() -> None:
    extra = eni("", instance=NODE, device=3)
    secondary = eni(f"aws-K8S-{NODE}", instance=NODE, device=1)
    first = classify_interfaces([extra, secondary])[0]
    assert first.kind is OwnerKind.EC2_INSTANCE and first.is_eks


def test_trunk_marks_its_instance_as_node() -> None:
    trunk = eni("aws-k8s-trunk-eni", interface_type="trunk", instance=NODE, device=2)
    primary = eni("", instance=NODE)
    assert classify_interfaces([primary, trunk])[0].kind is OwnerKind.EKS_NODE_PRIMARY


def test_classify_interfaces_accepts_a_generator_and_keeps_order() -> None:
    items = [item for _, item, *_ in CASES]
    out = classify_interfaces(iter(items))
    assert len(out) == len(items)
    assert [c.kind for c in out][:3] == [
        OwnerKind.EKS_NODE_SECONDARY,
        OwnerKind.TRUNK,
        OwnerKind.EKS_POD_ENI,
    ]
    assert classify_interfaces([]) == []


def test_missing_and_mistyped_fields_are_treated_as_absent() -> None:
    assert classify_interface({}).kind is OwnerKind.UNKNOWN
    odd = {
        "Description": None,
        "InterfaceType": 7,
        "Attachment": "nope",
        "TagSet": [{"Key": 1}, "x", {"Key": "Name"}],
        "Status": None,
    }
    assert classify_interface(odd).kind is OwnerKind.UNKNOWN
    with pytest.raises(ipfrag.InvalidType):
        classify_interface(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_boto3_style_tags_key_is_understood() -> None:
    item = eni("", instance=NODE)
    del item["TagSet"]
    item["Tags"] = [{"Key": "karpenter.sh/nodepool", "Value": "default"}]
    assert classify_interface(item).kind is OwnerKind.EKS_NODE_PRIMARY


def test_eks_operator_marks_instance_as_node() -> None:
    item = eni("", instance=NODE)
    item["Operator"] = {"Managed": True, "Principal": "eks.amazonaws.com"}
    assert classify_interface(item).kind is OwnerKind.EKS_NODE_PRIMARY


def test_primary_on_another_network_card_is_not_the_node_primary() -> None:
    item = eni("", instance=NODE, tags={"eks:cluster-name": "prod"})
    item["Attachment"]["NetworkCardIndex"] = 1
    assert classify_interface(item).kind is OwnerKind.EC2_INSTANCE


def test_results_are_frozen_and_json_friendly() -> None:
    found = classify_interface(CASES[0][1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.kind = OwnerKind.UNKNOWN  # type: ignore[misc]
    assert json.loads(json.dumps({"kind": found.kind})) == {"kind": "eks_node_secondary"}
    assert OwnerKind("nat_gateway") is OwnerKind.NAT_GATEWAY
    assert Classification(OwnerKind.RDS, "x").origin is OwnerKind.RDS


def test_rule_table_is_well_formed() -> None:
    kinds = [rule.kind for rule in SERVICE_RULES]
    assert len(kinds) == len(set(kinds))
    for rule in SERVICE_RULES:
        assert rule.interface_types or rule.description or rule.requester
        if "{name}" in rule.label:
            assert rule.description is not None and "name" in rule.description.groupindex


def test_description_names_the_load_balancer_flavour_whatever_the_type() -> None:
    alb = eni("ELB app/web/50dc6c495c0c9188", interface_type="load_balancer")
    assert classify_interface(alb).kind is OwnerKind.ALB
    assert classify_interface(eni("", requester="amazon-elb")).kind is OwnerKind.ELB


def test_endpoint_description_without_gateway_type_is_a_vpc_endpoint() -> None:
    found = classify_interface(eni("VPC Endpoint Interface vpce-0bb1e655f20ceaa99"))
    assert (found.kind, found.resource) == (OwnerKind.VPC_ENDPOINT, "vpce-0bb1e655f20ceaa99")


_NODES = ["i-0123456789abcdef0", "i-0fedcba9876543210", None]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(range(len(CASES))),
            st.sampled_from(_NODES),
            st.sampled_from([0, 1, None]),
            st.sampled_from(["in-use", "available"]),
        ),
        max_size=12,
    )
)
def test_learning_nodes_reclassifies_exactly_what_it_can_change(
    picks: list[tuple[int, str | None, int | None, str]],
) -> None:
    """classify_interfaces skips the second pass for verdicts already EKS: the same result
    as re-running every interface of a learned node."""
    items = []
    for case, node, device, status in picks:
        item = copy.deepcopy(CASES[case][1])
        item["Status"] = status
        if node is not None:
            item["Attachment"] = {"InstanceId": node, "DeviceIndex": device}
        else:
            item.pop("Attachment", None)
        items.append(item)
    facts = [InterfaceFacts.from_item(i) for i in items]
    trunks = {
        f.eni_id: f.instance_id
        for f in facts
        if f.instance_id and f.eni_id and f.interface_type == "trunk"
    }
    first = [_verdict(f, (), trunks) for f in facts]
    nodes = {c.instance_id for c in first if c.instance_id and c.is_eks}
    expected = [_verdict(f, nodes, trunks) for f in facts]
    assert classify_interfaces(items) == expected


_TAG_KEYS = [
    *sorted(_VALUE_TAGS),
    "kubernetes.io/cluster/prod",
    "vpcresources.k8s.aws/vlan-id",
    "eks:eni:owner",
    "eks:nodegroup-name",
    "karpenter.sh/nodepool",
    "Name",
    "aws:elasticmapreduce:job-flow-id",
    "team",
]
_TAG_VALUES = ["", "prod", "eni-0aaaaaaaaaaaaaaaa", NODE, "owned", "7"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(range(len(CASES))),
            st.lists(st.tuples(st.sampled_from(_TAG_KEYS), st.sampled_from(_TAG_VALUES))),
            st.randoms(use_true_random=False),
        ),
        max_size=8,
    )
)
def test_only_the_value_tags_values_count(
    picks: list[tuple[int, list[tuple[str, str]], Any]],
) -> None:
    """What the snapshot loader relies on to classify one interface per group: changing the
    value of a tag outside ``_VALUE_TAGS`` never changes a verdict (the key still counts)."""
    items, changed = [], []
    for case, tags, rnd in picks:
        item = copy.deepcopy(CASES[case][1])
        item["TagSet"] = item.get("TagSet", []) + [{"Key": k, "Value": v} for k, v in tags]
        other = copy.deepcopy(item)
        for tag in other["TagSet"]:
            if tag["Key"] not in _VALUE_TAGS:
                tag["Value"] = rnd.choice([*_TAG_VALUES, "x"])
        items.append(item)
        changed.append(other)
    assert classify_interfaces(changed) == classify_interfaces(items)


def test_emr_tags_do_not_override_eks_or_service_marks() -> None:
    """The EMR tags decide only what neither EKS marks nor a service rule claimed: EMR on EKS
    pods stay on their EKS node, a service's interface stays the service's."""
    tag = {"aws:elasticmapreduce:job-flow-id": "j-1"}
    on_eks = eni(f"aws-K8S-{NODE}", instance=NODE, device=1, tags=tag)
    assert classify_interface(on_eks).kind is OwnerKind.EKS_NODE_SECONDARY
    nat = eni("Interface for NAT Gateway nat-0a1b2c3d4e5f60718", interface_type="nat_gateway")
    tagged_nat = dict(nat, TagSet=[{"Key": k, "Value": v} for k, v in tag.items()])
    assert classify_interface(tagged_nat).kind is OwnerKind.NAT_GATEWAY
    bare = classify_interface(eni("", tags={"aws:elasticmapreduce:job-flow-id": ""}))
    assert (bare.kind, bare.label, bare.resource) == (OwnerKind.EMR, "EMR", None)
