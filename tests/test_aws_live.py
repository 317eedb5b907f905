"""ipfrag.aws.live against botocore Stubber: no network, responses checked against the model."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import ipfrag
from ipfrag.aws import (
    AwsAccessDenied,
    AwsExtraMissing,
    AwsNotFound,
    AwsReadError,
    discover_cluster_subnets,
    live,
    load_live,
    load_snapshot,
    read_live,
    read_snapshot,
    save_snapshot,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "ipfrag" / "data" / "examples" / "eks-prefix"
SUBNETS = json.loads((EXAMPLE / "describe-subnets.json").read_text())
ENIS = json.loads((EXAMPLE / "describe-network-interfaces.json").read_text())
RESERVATIONS = json.loads((EXAMPLE / "get-subnet-cidr-reservations.json").read_text())
SUBNET_ID = SUBNETS["Subnets"][0]["SubnetId"]
VPC_ID = SUBNETS["Subnets"][0]["VpcId"]


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any, Stubber, Stubber]]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    ec2, eks = session.client("ec2"), session.client("eks")
    with Stubber(ec2) as ec2_stub, Stubber(eks) as eks_stub:
        yield ec2, eks, ec2_stub, eks_stub


def by_id(ids: list[str]) -> dict[str, Any]:
    return {"Filters": [{"Name": "subnet-id", "Values": ids}]}


def stub_read(ec2_stub: Stubber, subnets: list[dict[str, Any]], *, instances: bool = True) -> None:
    """The calls read_live makes once it knows the subnet ids: subnets, ENIs in two pages,
    reservations in two pages for the first subnet and one for the others."""
    ids = [s["SubnetId"] for s in subnets]
    ec2_stub.add_response("describe_subnets", {"Subnets": subnets}, by_id(ids))
    enis = ENIS["NetworkInterfaces"]
    half = len(enis) // 2
    params = {**by_id(ids), "IncludeManagedResources": True}
    ec2_stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": enis[:half], "NextToken": "page-2"},
        params,
    )
    ec2_stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": enis[half:]},
        {**params, "NextToken": "page-2"},
    )
    for i, subnet_id in enumerate(ids):
        if i == 0:
            ec2_stub.add_response(
                "get_subnet_cidr_reservations",
                {
                    "SubnetIpv4CidrReservations": [],
                    "SubnetIpv6CidrReservations": [],
                    "NextToken": "more",
                },
                {"SubnetId": subnet_id},
            )
            ec2_stub.add_response(
                "get_subnet_cidr_reservations",
                RESERVATIONS,
                {"SubnetId": subnet_id, "NextToken": "more"},
            )
        else:
            ec2_stub.add_response(
                "get_subnet_cidr_reservations",
                {"SubnetIpv4CidrReservations": [], "SubnetIpv6CidrReservations": []},
                {"SubnetId": subnet_id},
            )
    if instances:
        stub_instances(ec2_stub, instance_ids())


def instance_ids() -> list[str]:
    ids: dict[str, None] = {}
    for eni in ENIS["NetworkInterfaces"]:
        instance = eni.get("Attachment", {}).get("InstanceId")
        if instance:
            ids[instance] = None
    return list(ids)


def stub_instances(ec2_stub: Stubber, ids: list[str]) -> None:
    """DescribeInstances by an instance-id filter; the first instance named, one terminated."""
    instances = [{"InstanceId": i, "State": {"Code": 16, "Name": "running"}} for i in ids[1:]]
    if ids:
        instances[0]["Tags"] = [{"Key": "Name", "Value": "node-a"}]
    ec2_stub.add_response(
        "describe_instances",
        {"Reservations": [{"ReservationId": "r-0123456789abcdef0", "Instances": instances}]},
        {"Filters": [{"Name": "instance-id", "Values": ids}]},
    )


def expected_snapshot() -> dict[str, Any]:
    return load_snapshot(SUBNETS, ENIS, RESERVATIONS)


def test_read_by_subnet_id_pages_through_everything(aws: Any, tmp_path: Path) -> None:
    ec2, _, ec2_stub, _ = aws
    stub_read(ec2_stub, SUBNETS["Subnets"])
    raw = read_live([SUBNET_ID], ec2=ec2)
    ec2_stub.assert_no_pending_responses()
    assert len(raw.network_interfaces) == len(ENIS["NetworkInterfaces"])
    assert len(raw.ipv4_cidr_reservations) == 1
    assert raw.metadata["region"] == "eu-west-1"
    assert raw.metadata["subnet_sources"] == {SUBNET_ID: ["requested"]}
    snap = raw.load()
    assert snap == expected_snapshot() and snap.mismatches == [] and snap.warnings == []
    # saved, it analyzes offline the same
    again = read_snapshot(save_snapshot(tmp_path / "live.json", raw))
    assert again == snap and again.metadata["region"] == "eu-west-1"


def test_load_live_builds_subnets(aws: Any) -> None:
    ec2, _, ec2_stub, _ = aws
    stub_read(ec2_stub, SUBNETS["Subnets"])
    snap = load_live([SUBNET_ID, SUBNET_ID], ec2=ec2)  # repeated ids are read once
    assert snap == expected_snapshot()
    assert snap.raw.metadata["subnet_sources"] == {SUBNET_ID: ["requested"]}


def other_subnet(subnet_id: str, cidr: str) -> dict[str, Any]:
    return {
        **SUBNETS["Subnets"][0],
        "SubnetId": subnet_id,
        "CidrBlock": cidr,
        "AvailableIpAddressCount": 251,
        "Tags": [],
    }


def test_read_by_cluster_discovers_subnets(aws: Any) -> None:
    ec2, eks, ec2_stub, eks_stub = aws
    node_subnet = other_subnet("subnet-0node0000000000001", "10.20.0.0/24")
    cni_subnet = other_subnet("subnet-0cni00000000000001", "10.20.1.0/24")
    eks_stub.add_response(
        "describe_cluster",
        {
            "cluster": {
                "name": "prod",
                "status": "ACTIVE",
                "resourcesVpcConfig": {"subnetIds": [SUBNET_ID], "vpcId": VPC_ID},
            }
        },
        {"name": "prod"},
    )
    eks_stub.add_response(
        "list_nodegroups", {"nodegroups": ["ng-a"], "nextToken": "n2"}, {"clusterName": "prod"}
    )
    eks_stub.add_response(
        "list_nodegroups", {"nodegroups": ["ng-b"]}, {"clusterName": "prod", "nextToken": "n2"}
    )
    for name, subnets in (("ng-a", [SUBNET_ID]), ("ng-b", [node_subnet["SubnetId"]])):
        eks_stub.add_response(
            "describe_nodegroup",
            {"nodegroup": {"nodegroupName": name, "clusterName": "prod", "subnets": subnets}},
            {"clusterName": "prod", "nodegroupName": name},
        )
    eks_stub.add_response(
        "list_fargate_profiles", {"fargateProfileNames": []}, {"clusterName": "prod"}
    )
    vpc = {"Name": "vpc-id", "Values": [VPC_ID]}
    ec2_stub.add_response(
        "describe_subnets",
        {"Subnets": [SUBNETS["Subnets"][0]]},
        {"Filters": [vpc, {"Name": "tag-key", "Values": ["kubernetes.io/cluster/prod"]}]},
    )
    ec2_stub.add_response(
        "describe_subnets",
        {"Subnets": [SUBNETS["Subnets"][0]]},
        {"Filters": [vpc, {"Name": "tag:karpenter.sh/discovery", "Values": ["prod"]}]},
    )
    ec2_stub.add_response(
        "describe_subnets",
        {"Subnets": [cni_subnet]},
        {"Filters": [vpc, {"Name": "tag-key", "Values": ["kubernetes.io/role/cni"]}]},
    )
    discovered = [SUBNETS["Subnets"][0], node_subnet, cni_subnet]
    stub_read(ec2_stub, sorted(discovered, key=lambda s: s["SubnetId"]))
    raw = read_live(cluster="prod", ec2=ec2, eks=eks)
    ec2_stub.assert_no_pending_responses()
    eks_stub.assert_no_pending_responses()
    assert raw.metadata["cluster"] == "prod" and raw.metadata["vpc_id"] == VPC_ID
    assert raw.metadata["subnet_sources"] == {
        SUBNET_ID: [
            "cluster",
            "nodegroup ng-a",
            "tag kubernetes.io/cluster/prod",
            "tag karpenter.sh/discovery=prod",
        ],
        node_subnet["SubnetId"]: ["nodegroup ng-b"],
        cni_subnet["SubnetId"]: ["tag kubernetes.io/role/cni"],
    }
    snap = raw.load()
    assert sorted(snap) == sorted(raw.metadata["subnet_sources"])
    assert snap[SUBNET_ID] == expected_snapshot()[SUBNET_ID]
    assert snap[node_subnet["SubnetId"]].free_addresses == 251


def test_discover_without_vpc_id_or_nodegroups(aws: Any) -> None:
    ec2, eks, ec2_stub, eks_stub = aws
    eks_stub.add_response(
        "describe_cluster",
        {"cluster": {"name": "x", "resourcesVpcConfig": {"subnetIds": ["subnet-1"]}}},
        {"name": "x"},
    )
    eks_stub.add_response("list_nodegroups", {"nodegroups": []}, {"clusterName": "x"})
    eks_stub.add_response(
        "list_fargate_profiles", {"fargateProfileNames": []}, {"clusterName": "x"}
    )
    for tag_filter in (
        {"Name": "tag-key", "Values": ["kubernetes.io/cluster/x"]},
        {"Name": "tag:karpenter.sh/discovery", "Values": ["x"]},
        {"Name": "tag-key", "Values": ["kubernetes.io/role/cni"]},
    ):
        ec2_stub.add_response("describe_subnets", {"Subnets": []}, {"Filters": [tag_filter]})
    found = discover_cluster_subnets("x", eks=eks, ec2=ec2)
    assert found.subnet_ids == ("subnet-1",) and found.vpc_id is None
    assert found.warnings == () and found.auto_mode is False


def test_many_subnets_are_read_in_filter_chunks(aws: Any) -> None:
    ec2, _, ec2_stub, _ = aws
    subnets = [
        other_subnet(f"subnet-{i:017x}", f"10.{i // 256}.{i % 256}.0/24") for i in range(201)
    ]
    ids = [s["SubnetId"] for s in subnets]
    ec2_stub.add_response("describe_subnets", {"Subnets": subnets[:200]}, by_id(ids[:200]))
    ec2_stub.add_response("describe_subnets", {"Subnets": subnets[200:]}, by_id(ids[200:]))
    for chunk in (ids[:200], ids[200:]):
        ec2_stub.add_response(
            "describe_network_interfaces",
            {"NetworkInterfaces": []},
            {**by_id(chunk), "IncludeManagedResources": True},
        )
    for subnet_id in ids:
        ec2_stub.add_response(
            "get_subnet_cidr_reservations",
            {"SubnetIpv4CidrReservations": [], "SubnetIpv6CidrReservations": []},
            {"SubnetId": subnet_id},
        )
    snap = load_live(ids, ec2=ec2)  # no interface, so no instance to describe
    ec2_stub.assert_no_pending_responses()
    assert len(snap) == 201 and snap.mismatches == []


@pytest.mark.parametrize(
    ("service", "operation", "code", "action"),
    [
        ("ec2", "describe_subnets", "UnauthorizedOperation", "ec2:DescribeSubnets"),
        (
            "ec2",
            "describe_network_interfaces",
            "UnauthorizedOperation",
            "ec2:DescribeNetworkInterfaces",
        ),
        ("ec2", "get_subnet_cidr_reservations", "AccessDenied", "ec2:GetSubnetCidrReservations"),
        ("eks", "describe_cluster", "AccessDeniedException", "eks:DescribeCluster"),
    ],
)
def test_missing_permission_names_the_iam_action(
    aws: Any, service: str, operation: str, code: str, action: str
) -> None:
    ec2, eks, ec2_stub, eks_stub = aws
    stub = ec2_stub if service == "ec2" else eks_stub
    if operation in ("describe_network_interfaces", "get_subnet_cidr_reservations"):
        ec2_stub.add_response("describe_subnets", SUBNETS, by_id([SUBNET_ID]))
    if operation == "get_subnet_cidr_reservations":
        ec2_stub.add_response(
            "describe_network_interfaces",
            ENIS,
            {**by_id([SUBNET_ID]), "IncludeManagedResources": True},
        )
    stub.add_client_error(
        operation,
        service_error_code=code,
        service_message="You are not authorized",
        http_status_code=403,
    )
    with pytest.raises(AwsAccessDenied) as caught:
        if service == "eks":
            read_live(cluster="prod", ec2=ec2, eks=eks)
        else:
            read_live([SUBNET_ID], ec2=ec2)
    assert caught.value.action == action and caught.value.code == code
    assert f"missing IAM permission {action}" in str(caught.value)
    assert isinstance(caught.value, PermissionError) and action in live.IAM_ACTIONS


def test_unknown_cluster_and_subnet(aws: Any) -> None:
    ec2, eks, ec2_stub, eks_stub = aws
    eks_stub.add_client_error(
        "describe_cluster",
        service_error_code="ResourceNotFoundException",
        service_message="No cluster found for name: nope.",
        http_status_code=404,
    )
    with pytest.raises(AwsNotFound, match="nope"):
        read_live(cluster="nope", ec2=ec2, eks=eks)
    ec2_stub.add_response("describe_subnets", {"Subnets": []}, by_id(["subnet-0gone"]))
    with pytest.raises(AwsNotFound, match="subnet-0gone") as caught:
        read_live(["subnet-0gone"], ec2=ec2)
    assert isinstance(caught.value, ValueError)
    ec2_stub.add_client_error(
        "describe_subnets", service_error_code="RequestLimitExceeded", http_status_code=503
    )
    with pytest.raises(AwsReadError, match="RequestLimitExceeded"):
        read_live(["subnet-1"], ec2=ec2)


def test_without_boto3_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 now raises ImportError
    with pytest.raises(AwsExtraMissing, match=r"pip install 'ipfrag\[aws\]'"):
        read_live(["subnet-1"])
    with pytest.raises(ImportError):
        live.make_session()


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No region, credentials or profiles from the environment; no instance metadata lookup."""
    for var in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_config")
def test_configuration_problems_are_clear() -> None:
    with pytest.raises(AwsReadError, match="no AWS region"):
        read_live(["subnet-1"])
    with pytest.raises(AwsReadError, match="profile 'nope' not found"):
        read_live(["subnet-1"], profile="nope", region="eu-west-1")
    with pytest.raises(AwsReadError, match="no AWS credentials"):
        read_live(["subnet-1"], region="eu-west-1")


def test_nothing_to_read() -> None:
    with pytest.raises(ipfrag.InvalidArgument, match="subnet ids, a cluster name"):
        read_live([])


# ------------------------------------------------------------------- issue 9: discovery parity


def stub_cluster(eks_stub: Stubber, name: str, *, auto_mode: bool = False) -> None:
    cluster: dict[str, Any] = {
        "name": name,
        "status": "ACTIVE",
        "resourcesVpcConfig": {"subnetIds": [SUBNET_ID], "vpcId": VPC_ID},
    }
    if auto_mode:
        cluster["computeConfig"] = {"enabled": True, "nodePools": ["general-purpose"]}
    eks_stub.add_response("describe_cluster", {"cluster": cluster}, {"name": name})


def stub_tag_scan(ec2_stub: Stubber, name: str, subnets: list[dict[str, Any]]) -> None:
    vpc = {"Name": "vpc-id", "Values": [VPC_ID]}
    for tag_filter in (
        {"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{name}"]},
        {"Name": "tag:karpenter.sh/discovery", "Values": [name]},
        {"Name": "tag-key", "Values": ["kubernetes.io/role/cni"]},
    ):
        ec2_stub.add_response(
            "describe_subnets", {"Subnets": subnets}, {"Filters": [vpc, tag_filter]}
        )


def test_cluster_by_arn_with_fargate_profiles_and_auto_mode(aws: Any) -> None:
    ec2, eks, ec2_stub, eks_stub = aws
    fargate = other_subnet("subnet-0fargate000000001", "10.20.2.0/24")
    stub_cluster(eks_stub, "prod", auto_mode=True)
    eks_stub.add_response("list_nodegroups", {"nodegroups": []}, {"clusterName": "prod"})
    eks_stub.add_response(
        "list_fargate_profiles", {"fargateProfileNames": ["fp-default"]}, {"clusterName": "prod"}
    )
    eks_stub.add_response(
        "describe_fargate_profile",
        {
            "fargateProfile": {
                "fargateProfileName": "fp-default",
                "clusterName": "prod",
                "subnets": [fargate["SubnetId"]],
            }
        },
        {"clusterName": "prod", "fargateProfileName": "fp-default"},
    )
    stub_tag_scan(ec2_stub, "prod", [])
    stub_read(ec2_stub, sorted([SUBNETS["Subnets"][0], fargate], key=lambda s: s["SubnetId"]))
    arn = "arn:aws:eks:eu-west-1:111122223333:cluster/prod"
    raw = read_live(cluster=arn, ec2=ec2, eks=eks, region="us-east-1")
    ec2_stub.assert_no_pending_responses()
    eks_stub.assert_no_pending_responses()
    meta = raw.metadata
    assert meta["cluster"] == "prod" and meta["auto_mode"] is True
    assert meta["subnet_sources"][fargate["SubnetId"]] == ["fargate profile fp-default"]
    assert meta["warnings"] == [
        "region us-east-1 differs from the cluster ARN's eu-west-1: using eu-west-1"
    ]
    assert any("EKS Auto Mode" in n and "/28" in n for n in raw.load().notes)


def test_instance_names_and_states_reach_the_owner_info(aws: Any) -> None:
    ec2, _, ec2_stub, _ = aws
    stub_read(ec2_stub, SUBNETS["Subnets"])
    raw = read_live([SUBNET_ID], ec2=ec2)
    ids = instance_ids()
    instances = raw.metadata["instances"]
    assert ids[0] not in instances  # terminated meanwhile: simply absent
    assert instances[ids[1]] == {"name": "node-a", "state": "running"}
    (subnet,) = raw.load().values()
    named = [
        subnet.owner_info(owner)
        for owner in subnet.owners()
        if owner and subnet.owner_info(owner).get("instance_id") == ids[1]
    ]
    assert named and all(i["instance_name"] == "node-a" for i in named)
    assert all(i["instance_state"] == "running" for i in named)


@pytest.mark.parametrize(
    ("operation", "what"),
    [
        ("list_nodegroups", "node group discovery"),
        ("list_fargate_profiles", "Fargate profile discovery"),
    ],
)
def test_a_denied_discovery_call_is_a_warning(aws: Any, operation: str, what: str) -> None:
    ec2, eks, ec2_stub, eks_stub = aws
    stub_cluster(eks_stub, "prod")
    for op in ("list_nodegroups", "list_fargate_profiles"):
        if op == operation:
            eks_stub.add_client_error(
                op, service_error_code="AccessDeniedException", http_status_code=403
            )
        elif op == "list_nodegroups":
            eks_stub.add_response(op, {"nodegroups": []}, {"clusterName": "prod"})
        else:
            eks_stub.add_response(op, {"fargateProfileNames": []}, {"clusterName": "prod"})
    stub_tag_scan(ec2_stub, "prod", [])
    stub_read(ec2_stub, SUBNETS["Subnets"])
    raw = read_live(cluster="prod", ec2=ec2, eks=eks)
    ec2_stub.assert_no_pending_responses()
    (warning,) = raw.metadata["warnings"]
    assert warning.startswith(f"{what} skipped: missing IAM permission eks:")
    assert raw.metadata["subnet_sources"] == {SUBNET_ID: ["cluster"]}


def test_denied_instance_lookup_is_a_warning_but_data_calls_stay_fatal(aws: Any) -> None:
    ec2, _, ec2_stub, _ = aws
    subnets = SUBNETS["Subnets"]
    stub_read(ec2_stub, subnets)
    # replace the stubbed DescribeInstances answer by a refusal
    ec2_stub._queue.pop()
    ec2_stub.add_client_error(
        "describe_instances", service_error_code="UnauthorizedOperation", http_status_code=403
    )
    raw = read_live([SUBNET_ID], ec2=ec2)
    assert raw.metadata["instances"] == {}
    assert "ec2:DescribeInstances" in raw.metadata["warnings"][0]


def test_planned_calls_name_every_iam_action_without_calling_aws() -> None:
    calls = live.planned_calls(["subnet-1"], cluster="arn:aws:eks:eu-west-1:1:cluster/prod")
    assert {c.action for c in calls} == set(live.IAM_ACTIONS)
    assert [c.action for c in calls if c.fatal] == [
        "eks:DescribeCluster",
        "ec2:DescribeSubnets",
        "ec2:DescribeNetworkInterfaces",
        "ec2:GetSubnetCidrReservations",
    ]
    with pytest.raises(ipfrag.InvalidArgument):
        live.planned_calls([])


@pytest.mark.parametrize(
    "bad", ["", "arn:aws:ec2:eu-west-1:1:subnet/x", "arn:aws:eks:eu-west-1:1:cluster/"]
)
def test_bad_cluster_names(bad: str) -> None:
    with pytest.raises(ipfrag.InvalidArgument):
        live.parse_cluster(bad)


@pytest.mark.usefixtures("no_aws_config")
def test_a_malformed_region_is_one_clear_error() -> None:
    with pytest.raises(ipfrag.InvalidArgument, match="not a valid AWS region"):
        read_live(["subnet-1"], region="bad region!")
    with pytest.raises(ipfrag.InvalidType):
        read_live(["subnet-1"], region=5)  # type: ignore[arg-type]
