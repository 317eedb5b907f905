"""``ipfrag analyze`` and ``ipfrag snapshot`` through ipfrag.cli.main (no network: Stubber)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ipfrag.aws import live, load_snapshot
from ipfrag.aws.examples import example_files
from ipfrag.aws.examples import example_names as examples
from ipfrag.cli import main

EXAMPLE = example_files("eks-prefix")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def expected_figures(*files: Path, family: int = 4) -> dict[str, int]:
    snap = load_snapshot(*files, family=family)  # type: ignore[arg-type]
    (s,) = snap.values()
    length = 28 if family == 4 else 80
    blocks = s.free_block_count(length)
    return {
        "free": s.free_addresses,
        "blocks": blocks,
        "stranded": s.free_addresses - (1 << (s.cidr.max_prefixlen - length)) * blocks,
        "largest": s.largest_free_prefixlen() or 0,
    }


def test_examples_are_found() -> None:
    assert examples() == ["eks-ipv6", "eks-prefix"]
    with pytest.raises(ValueError, match="known examples: eks-ipv6, eks-prefix"):
        example_files("nope")


def test_analyze_example_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "analyze", "--example", "eks-prefix")
    assert status == 0 and "warning" not in err
    f = expected_figures(*EXAMPLE)
    reported = json.loads(EXAMPLE[0].read_text())["Subnets"][0]["AvailableIpAddressCount"]
    assert f"free addresses      {f['free']}  (AvailableIpAddressCount {reported}: matches)" in out
    assert f"free /28 blocks       {f['blocks']}  (can carve a /28: yes)" in out
    assert f"stranded            {f['stranded']}  (free addresses no /28 can use" in out
    assert f"largest free         /{f['largest']}" in out
    assert "reservation       10.20.56.0/22 prefix" in out
    holders = [line.split() for line in out.splitlines() if line.startswith("    ")]
    assert holders[0][0] == "eks_node_secondary" and len(holders) == 9  # 8 kinds + "... more"
    assert "... and 5 more kinds" in out


def test_analyze_files_equals_example(capsys: pytest.CaptureFixture[str]) -> None:
    _, by_name, _ = run(capsys, "analyze", "--example", "eks-prefix")
    status, by_files, _ = run(
        capsys,
        "analyze",
        "--subnets",
        str(EXAMPLE[0]),
        "--network-interfaces",
        str(EXAMPLE[1]),
        "--cidr-reservations",
        str(EXAMPLE[2]),
    )
    assert status == 0 and by_files == by_name


def test_analyze_json_and_ipv6(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "analyze", "--example", "eks-ipv6", "--family", "6", "--json")
    assert status == 0
    doc = json.loads(out)
    (report,) = doc["subnets"]
    f = expected_figures(*example_files("eks-ipv6"), family=6)
    assert doc["family"] == 6 and report["prefixlen"] == 80
    assert report["prefix_blocks_available"] == f["blocks"] and report["can_carve"] is True
    assert report["stranded_addresses"] == f["stranded"]
    assert report["available_ip_address_count"] is None and report["count_matches"] is None
    assert report["holders"][0]["kind"] == "eks_node_primary"
    assert report["holders"][0]["prefixes"] == 30
    status, text, _ = run(capsys, "analyze", "--example", "eks-ipv6", "--family", "6")
    assert "free /80 blocks" in text and "AvailableIpAddressCount counts IPv4 only" in text


def test_analyze_other_prefix_length(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "analyze", "--example", "eks-prefix", "--prefixlen", "27", "--json"
    )
    (report,) = json.loads(out)["subnets"]
    (s,) = load_snapshot(*EXAMPLE).values()
    assert status == 0 and report["prefix_blocks_available"] == s.free_block_count(27)


def broken_copy(tmp_path: Path, **change: Any) -> Path:
    data = json.loads(EXAMPLE[1].read_text())
    data["NetworkInterfaces"][0]["PrivateIpAddresses"][0].update(change)
    data["NetworkInterfaces"][0]["PrivateIpAddress"] = change["PrivateIpAddress"]
    path = tmp_path / "enis.json"
    path.write_text(json.dumps(data))
    return path


def test_analyze_broken_file_fails_or_warns(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    enis = broken_copy(tmp_path, PrivateIpAddress="10.99.0.1")
    eni_id = json.loads(enis.read_text())["NetworkInterfaces"][0]["NetworkInterfaceId"]
    args = ["analyze", "--subnets", str(EXAMPLE[0]), "--network-interfaces", str(enis)]
    status, out, err = run(capsys, *args)
    assert status == 2 and out == ""
    assert eni_id in err and "PrivateIpAddresses[0].PrivateIpAddress" in err
    assert "outside subnet" in err
    status, out, err = run(capsys, *args, "--lenient")
    assert status == 0 and "MISMATCH, +1" in out
    assert f"warning: skipped: network interface {eni_id}" in err
    assert "AWS reports" in err


def test_analyze_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "analyze", "--subnets", str(EXAMPLE[0]))
    assert status == 2 and "--network-interfaces" in err
    status, _, err = run(capsys, "analyze", "--example", "nope")
    assert status == 2 and "no example snapshot 'nope'" in err
    with pytest.raises(SystemExit):
        main(["analyze", "--example", "eks-prefix", "--snapshot", "x.json"])


# ----------------------------------------------------------------------- ipfrag snapshot


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``make_session`` hands out stubbed clients; returns the ec2 Stubber."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    ec2 = session.client("ec2")
    seen: dict[str, Any] = {}

    class FakeSession:
        def client(self, service: str) -> Any:
            assert service == "ec2"
            return ec2

    def make_session(region: str | None = None, profile: str | None = None) -> FakeSession:
        seen.update(region=region, profile=profile)
        return FakeSession()

    monkeypatch.setattr(live, "make_session", make_session)
    with Stubber(ec2) as stub:
        stub.seen = seen
        yield stub


def test_snapshot_then_analyze(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stubbed: Any
) -> None:
    subnets = json.loads(EXAMPLE[0].read_text())
    subnet_id = subnets["Subnets"][0]["SubnetId"]
    ids = {"Filters": [{"Name": "subnet-id", "Values": [subnet_id]}]}
    stubbed.add_response("describe_subnets", subnets, ids)
    stubbed.add_response(
        "describe_network_interfaces",
        json.loads(EXAMPLE[1].read_text()),
        {**ids, "IncludeManagedResources": True},
    )
    stubbed.add_response(
        "get_subnet_cidr_reservations",
        json.loads(EXAMPLE[2].read_text()),
        {"SubnetId": subnet_id},
    )
    out_file = tmp_path / "snap.json"
    status, out, err = run(
        capsys,
        "snapshot",
        "--subnet-id",
        subnet_id,
        "--region",
        "eu-west-1",
        "--profile",
        "prod",
        "-o",
        str(out_file),
    )
    assert status == 0, err
    assert stubbed.seen == {"region": "eu-west-1", "profile": "prod"}
    assert "read 1 subnets, 303 network interfaces, 1 CIDR reservations in eu-west-1" in out
    assert f"ipfrag analyze --snapshot {out_file}" in out
    status, from_file, _ = run(capsys, "analyze", "--snapshot", str(out_file))
    _, from_example, _ = run(capsys, "analyze", "--example", "eks-prefix")
    assert status == 0 and from_file == from_example


def test_snapshot_reports_missing_permission(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stubbed: Any
) -> None:
    stubbed.add_client_error(
        "describe_subnets", service_error_code="UnauthorizedOperation", http_status_code=403
    )
    out_file = tmp_path / "snap.json"
    status, _, err = run(capsys, "snapshot", "--subnet-id", "subnet-1", "-o", str(out_file))
    assert status == 1 and "missing IAM permission ec2:DescribeSubnets" in err
    assert not out_file.exists()


def test_snapshot_needs_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "snapshot", "-o", "x.json")
    assert status == 2 and "--cluster NAME and/or --subnet-id" in err


def test_snapshot_prints_aws_text_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stubbed: Any
) -> None:
    subnets = json.loads(EXAMPLE[0].read_text())
    subnet_id = subnets["Subnets"][0]["SubnetId"]
    subnets["Subnets"][0]["CidrBlock"] = "10.20.32.0/19\x1b[2J"
    ids = {"Filters": [{"Name": "subnet-id", "Values": [subnet_id]}]}
    stubbed.add_response("describe_subnets", subnets, ids)
    stubbed.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": []},
        {**ids, "IncludeManagedResources": True},
    )
    stubbed.add_response(
        "get_subnet_cidr_reservations", {"SubnetIpv4CidrReservations": []}, {"SubnetId": subnet_id}
    )
    args = ["snapshot", "--subnet-id", subnet_id, "-o", str(tmp_path / "s.json")]
    status, out, err = run(capsys, *args)
    assert status == 0, err
    assert "\x1b" not in out and "10.20.32.0/19\\x1b[2J" in out
