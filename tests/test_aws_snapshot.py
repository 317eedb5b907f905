"""ipfrag.aws.snapshot: rebuilding subnets from AWS JSON, broken input, snapshot files."""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

import ipfrag
from ipfrag.aws import (
    Mismatch,
    RawSnapshot,
    Snapshot,
    SnapshotFieldError,
    collect_snapshot,
    load_snapshot,
    read_snapshot,
    save_snapshot,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "ipfrag" / "data" / "examples"
FILES = (
    "describe-subnets.json",
    "describe-network-interfaces.json",
    "get-subnet-cidr-reservations.json",
)


def example(name: str) -> tuple[Path, Path, Path]:
    folder = EXAMPLES / name
    return folder / FILES[0], folder / FILES[1], folder / FILES[2]


def subnet(
    sid: str = "subnet-1", cidr: str = "10.0.0.0/24", available: int = 251, **extra: Any
) -> dict[str, Any]:
    return {
        "SubnetId": sid,
        "VpcId": "vpc-1",
        "CidrBlock": cidr,
        "AvailableIpAddressCount": available,
        "AvailabilityZone": "eu-west-1a",
        **extra,
    }


def iface(
    eni: str, ips: list[str], sid: str = "subnet-1", prefixes: list[str] = (), **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "NetworkInterfaceId": eni,
        "SubnetId": sid,
        "InterfaceType": "interface",
        "Status": "in-use",
        "Description": "",
        "PrivateIpAddress": ips[0],
        "PrivateIpAddresses": [
            {"PrivateIpAddress": ip, "Primary": i == 0} for i, ip in enumerate(ips)
        ],
    }
    if prefixes:
        data["Ipv4Prefixes"] = [{"Ipv4Prefix": p} for p in prefixes]
    data.update(extra)
    return data


def base_state() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A /24 with two interfaces (3 addresses, one /28) and one explicit reservation."""
    enis = [
        iface(
            "eni-a",
            ["10.0.0.10", "10.0.0.11"],
            prefixes=["10.0.0.48/28"],
            Attachment={"InstanceId": "i-0aaa", "DeviceIndex": 0},
        ),
        iface(
            "eni-b", ["10.0.0.200"], InterfaceType="lambda", Description="AWS Lambda VPC ENI-fn-1"
        ),
    ]
    reservations = {
        "SubnetIpv4CidrReservations": [
            {
                "SubnetCidrReservationId": "scr-1",
                "SubnetId": "subnet-1",
                "Cidr": "10.0.0.128/26",
                "ReservationType": "explicit",
                "OwnerId": "1",
            }
        ],
        "SubnetIpv6CidrReservations": [],
    }
    return (
        {"Subnets": [subnet(available=251 - 3 - 16)]},
        {"NetworkInterfaces": enis},
        reservations,
    )


def oracle(subnets_file: Path, enis_file: Path) -> tuple[int, int]:
    """Free addresses and free aligned /28s, counted from the raw JSON with sets of ints."""
    sub = json.loads(subnets_file.read_text())["Subnets"][0]
    net = ipaddress.ip_network(sub["CidrBlock"])
    base, size = int(net.network_address), net.num_addresses
    used = {0, 1, 2, 3, size - 1}
    for eni in json.loads(enis_file.read_text())["NetworkInterfaces"]:
        used.update(
            int(ipaddress.ip_address(a["PrivateIpAddress"])) - base
            for a in eni["PrivateIpAddresses"]
        )
        for p in eni.get("Ipv4Prefixes", []):
            start = int(ipaddress.ip_network(p["Ipv4Prefix"]).network_address) - base
            used.update(range(start, start + 16))
    free28 = sum(1 for o in range(0, size, 16) if used.isdisjoint(range(o, o + 16)))
    return size - len(used), free28


# ------------------------------------------------------------------------ valid input


def test_base_state_is_rebuilt_with_owners_reservations_and_info() -> None:
    snap = load_snapshot(*base_state())
    assert isinstance(snap, Snapshot) and list(snap) == ["subnet-1"]
    s = snap["subnet-1"]
    assert s.free_addresses == 251 - 3 - 16
    assert snap.mismatches == [] and snap.warnings == [] and snap.notes == []
    assert s.owner_of("10.0.0.11") == "eni-a" and s.owner_of("10.0.0.63") == "eni-a"
    assert s.owner_of("10.0.0.12") is None
    assert {(str(a.cidr), a.kind) for a in s.allocations_of("eni-a")} == {
        ("10.0.0.10/32", "ip"),
        ("10.0.0.11/32", "ip"),
        ("10.0.0.48/28", "prefix"),
    }
    assert [(str(r.cidr), r.kind) for r in s.reservations] == [("10.0.0.128/26", "explicit")]
    assert s.info["subnet_id"] == "subnet-1" and s.info["vpc_id"] == "vpc-1"
    assert s.info["availability_zone"] == "eu-west-1a"
    assert s.info["available_ip_address_count"] == 232
    assert s.info["cidr_reservation_ids"] == {"10.0.0.128/26": "scr-1"}
    a = s.owner_info("eni-a")
    assert a["instance_id"] == "i-0aaa" and a["interface_type"] == "interface"
    assert a["status"] == "in-use" and a["kind"] in {"ec2_instance", "eks_node_primary"}
    b = s.owner_info("eni-b")
    assert b["kind"] == "lambda" and b["description"] == "AWS Lambda VPC ENI-fn-1"


def test_eks_prefix_example_matches_an_independent_count() -> None:
    files = example("eks-prefix")
    snap = load_snapshot(*files)
    assert snap.warnings == [] and snap.mismatches == []
    (s,) = snap.values()
    free, free28 = oracle(files[0], files[1])
    reported = json.loads(files[0].read_text())["Subnets"][0]["AvailableIpAddressCount"]
    assert s.free_addresses == free == reported
    # The one reservation is a prefix one, so every free aligned /28 is still usable.
    assert s.free_block_count(28) == free28 > 0
    assert s.free_addresses - 16 * free28 > 3000  # most free addresses are stranded
    assert [(r.kind, str(r.cidr)) for r in s.reservations] == [("prefix", "10.20.56.0/22")]


def test_ipv6_example_builds_both_families() -> None:
    files = example("eks-ipv6")
    v4 = load_snapshot(*files)
    v6 = load_snapshot(*files, family=6)
    assert v4.warnings == [] and v6.warnings == [] and v4.mismatches == []
    (s4,), (s6,) = v4.values(), v6.values()
    assert s4.version == 4 and s6.version == 6 and s6.cidr.prefixlen == 64
    assert s4.info["ipv6_cidr"] == str(s6.cidr) and "available_ip_address_count" not in s6.info
    prefixes = [a for a in s6.allocations() if a.kind == "prefix"]
    assert len(prefixes) == 30 and all(a.cidr.prefixlen == 80 for a in prefixes)
    assert [r.kind for r in s6.reservations] == ["prefix"]
    assert sum(1 for p in prefixes if p.cidr.subnet_of(s6.reservations[0].cidr)) == 8
    assert s6.can_carve(80)


def test_example_files_match_the_botocore_output_shapes() -> None:
    model = botocore.session.get_session().get_service_model("ec2")
    operations = ("DescribeSubnets", "DescribeNetworkInterfaces", "GetSubnetCidrReservations")
    for name in ("eks-prefix", "eks-ipv6"):
        for path, op in zip(example(name), operations, strict=True):
            shape = model.operation_model(op).output_shape
            report = ParamValidator().validate(json.loads(path.read_text()), shape)
            assert not report.has_errors(), (path, report.generate_report())


def test_pages_files_bare_lists_and_boto3_responses(tmp_path: Path) -> None:
    subnets, enis, reservations = base_state()
    pages = [
        {
            "NetworkInterfaces": [enis["NetworkInterfaces"][0]],
            "NextToken": "abc",
            "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "r-1"},
        },
        {
            "NetworkInterfaces": [enis["NetworkInterfaces"][1]],
            "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "r-2"},
        },
    ]
    expected = load_snapshot(subnets, enis, reservations)["subnet-1"]
    assert load_snapshot(subnets, pages, reservations)["subnet-1"] == expected
    # a bare item list (aws ... --query Subnets) and several files
    page_files = []
    for i, page in enumerate(pages):
        page_files.append(tmp_path / f"enis-{i}.json")
        page_files[-1].write_text(json.dumps(page))
    (tmp_path / "subnets.json").write_text(json.dumps(subnets["Subnets"]))
    (tmp_path / "res.json").write_text(json.dumps(reservations))
    got = load_snapshot(str(tmp_path / "subnets.json"), page_files, tmp_path / "res.json")
    assert got["subnet-1"] == expected
    assert expected.reservations == got["subnet-1"].reservations


def test_boto3_datetimes_survive_save(tmp_path: Path) -> None:
    subnets, enis, res = base_state()
    enis["NetworkInterfaces"][0]["Attachment"]["AttachTime"] = dt.datetime(
        2024, 5, 1, 12, tzinfo=dt.timezone.utc
    )
    snap = load_snapshot(subnets, enis, res)
    path = save_snapshot(tmp_path / "snap.json", snap, metadata={"region": "eu-west-1"})
    data = json.loads(path.read_text())
    attach = data["describe_network_interfaces"]["NetworkInterfaces"][0]["Attachment"]
    assert attach["AttachTime"] == "2024-05-01T12:00:00+00:00"


def test_several_subnets_and_interfaces_of_other_subnets() -> None:
    subnets = {
        "Subnets": [subnet("subnet-1", "10.0.0.0/24", 250), subnet("subnet-2", "10.0.1.0/24", 249)]
    }
    enis = {
        "NetworkInterfaces": [
            iface("eni-1", ["10.0.0.7"], "subnet-1"),
            iface("eni-2", ["10.0.1.7", "10.0.1.8"], "subnet-2"),
            iface("eni-3", ["10.0.2.7"], "subnet-3"),
            iface("eni-4", ["10.0.2.8"], "subnet-3"),
        ]
    }
    snap = load_snapshot(subnets, enis)
    assert sorted(snap) == ["subnet-1", "subnet-2"] and snap.mismatches == []
    assert snap["subnet-2"].owner_of("10.0.1.8") == "eni-2"
    assert snap.warnings == []
    assert any("2 network interface(s) of subnet subnet-3" in n for n in snap.notes)


def test_identical_repeats_are_noted_conflicting_ones_raise() -> None:
    subnets, enis, _ = base_state()
    again = copy.deepcopy(enis)
    snap = load_snapshot(subnets, [enis, again])
    assert snap.mismatches == []
    assert any("eni-a is listed more than once" in n for n in snap.notes)
    again["NetworkInterfaces"][0]["Description"] = "changed"
    with pytest.raises(SnapshotFieldError, match=r"eni-a.*listed twice with different content"):
        load_snapshot(subnets, [enis, again])


def test_ipv6_only_subnet_appears_with_family_6_only() -> None:
    v6only = {
        "SubnetId": "subnet-6",
        "VpcId": "vpc-1",
        "Ipv6Native": True,
        "AvailableIpAddressCount": 0,
        "Ipv6CidrBlockAssociationSet": [
            {"Ipv6CidrBlock": "2600:1f14:1:2::/64", "Ipv6CidrBlockState": {"State": "associated"}},
            {
                "Ipv6CidrBlock": "2600:1f14:1:9::/64",
                "Ipv6CidrBlockState": {"State": "disassociated"},
            },
        ],
    }
    eni = {
        "NetworkInterfaceId": "eni-6",
        "SubnetId": "subnet-6",
        "Ipv6Addresses": [{"Ipv6Address": "2600:1f14:1:2::99"}],
        "Ipv6Prefixes": [{"Ipv6Prefix": "2600:1f14:1:2:5::/80"}],
    }
    four = load_snapshot({"Subnets": [v6only]}, {"NetworkInterfaces": [eni]})
    assert len(four) == 0 and any("no IPv4 CIDR" in n for n in four.notes)
    six = load_snapshot({"Subnets": [v6only]}, {"NetworkInterfaces": [eni]}, family=6)
    s = six["subnet-6"]
    assert str(s.cidr) == "2600:1f14:1:2::/64"
    assert s.owner_of("2600:1f14:1:2:5::1") == "eni-6"
    assert s.owner_of("2600:1f14:1:2::99") == "eni-6"
    assert six.mismatches == []


def test_mismatch_is_reported_not_hidden() -> None:
    subnets, enis, res = base_state()
    subnets["Subnets"][0]["AvailableIpAddressCount"] = 230
    snap = load_snapshot(subnets, enis, res)
    assert snap.mismatches == [Mismatch("subnet-1", "10.0.0.0/24", reported=230, rebuilt=232)]
    assert snap.mismatches[0].difference == 2
    assert any("AWS reports 230" in w and "232 free" in w for w in snap.warnings)
    # the rebuilt state is what the interfaces say, whatever the count
    assert snap["subnet-1"].free_addresses == 232


def test_round_trip_through_a_snapshot_file(tmp_path: Path) -> None:
    snap = load_snapshot(*example("eks-prefix"))
    path = save_snapshot(tmp_path / "snap.json", snap, metadata={"cluster": "prod"})
    again = read_snapshot(path)
    assert again.metadata["cluster"] == "prod"
    assert dict(again) == dict(snap)
    (s,), (t,) = snap.values(), again.values()
    state, state_again = s.to_dict(), t.to_dict()
    state.pop("rng_state"), state_again.pop("rng_state")  # fresh subnets, unseeded
    assert state == state_again
    # the file's sections are plain aws-cli output
    data = json.loads(path.read_text())
    assert load_snapshot(
        data["describe_subnets"],
        data["describe_network_interfaces"],
        data["get_subnet_cidr_reservations"],
    ) == dict(snap)
    # and the file itself is accepted for each argument
    assert load_snapshot(path, path, path) == dict(snap)
    assert collect_snapshot(path, path, path).load() == dict(snap)


def test_raw_snapshot_round_trip_keeps_both_reservation_families() -> None:
    raw = collect_snapshot(*example("eks-ipv6"))
    assert len(raw.ipv6_cidr_reservations) == 1 and raw.ipv4_cidr_reservations == ()
    assert raw.load(family=6) == load_snapshot(*example("eks-ipv6"), family=6)
    assert RawSnapshot().load() == {}


# ------------------------------------------------------------------------ broken input


def _edit(path: tuple[Any, ...], value: Any) -> Any:
    """A change to base_state(): set (or with value ..., delete) the item at path."""

    def apply(state: list[Any]) -> None:
        target: Any = state
        for key in path[:-1]:
            target = target[key]
        if value is ...:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return apply


def _primary(eni: tuple[Any, ...], value: Any) -> Any:
    """Change an interface's primary address, in the list and at the top level alike."""

    def apply(state: list[Any]) -> None:
        _edit((*eni, "PrivateIpAddresses", 0, "PrivateIpAddress"), value)(state)
        _edit((*eni, "PrivateIpAddress"), value)(state)

    return apply


ENI_A = (1, "NetworkInterfaces", 0)
ENI_B = (1, "NetworkInterfaces", 1)
SUB = (0, "Subnets", 0)
RES = (2, "SubnetIpv4CidrReservations", 0)

BROKEN = {
    # name: (change, item named, field named, message part)
    "address outside subnet": (
        _primary(ENI_B, "10.9.0.5"),
        "eni-b",
        "PrivateIpAddresses[0].PrivateIpAddress",
        "outside subnet subnet-1",
    ),
    "duplicate address of another interface": (
        _primary(ENI_B, "10.0.0.11"),
        "eni-b",
        "PrivateIpAddresses[0].PrivateIpAddress",
        "eni-a",
    ),
    "address inside another interface's prefix": (
        _primary(ENI_B, "10.0.0.50"),
        "eni-b",
        "PrivateIpAddresses[0].PrivateIpAddress",
        "duplicate",
    ),
    "address listed twice on one interface": (
        _edit((*ENI_A, "PrivateIpAddresses", 1, "PrivateIpAddress"), "10.0.0.10"),
        "eni-a",
        "PrivateIpAddresses[1].PrivateIpAddress",
        "duplicate address 10.0.0.10",
    ),
    "AWS-reserved address": (
        _primary(ENI_B, "10.0.0.2"),
        "eni-b",
        "PrivateIpAddresses[0].PrivateIpAddress",
        "AWS reserves",
    ),
    "malformed address": (
        _primary(ENI_B, "10.0.0.300"),
        "eni-b",
        "PrivateIpAddresses[0].PrivateIpAddress",
        "malformed IP address",
    ),
    "IPv6 address where IPv4 belongs": (
        _primary(ENI_B, "2600::1"),
        "eni-b",
        "PrivateIpAddresses[0].PrivateIpAddress",
        "not an IPv4 address",
    ),
    "primary address missing from the list": (
        _edit((*ENI_B, "PrivateIpAddress"), "10.0.0.201"),
        "eni-b",
        "PrivateIpAddress",
        "not among PrivateIpAddresses",
    ),
    "prefix with host bits": (
        _edit((*ENI_A, "Ipv4Prefixes", 0, "Ipv4Prefix"), "10.0.0.49/28"),
        "eni-a",
        "Ipv4Prefixes[0].Ipv4Prefix",
        "host bits",
    ),
    "prefix of the wrong length": (
        _edit((*ENI_A, "Ipv4Prefixes", 0, "Ipv4Prefix"), "10.0.0.32/27"),
        "eni-a",
        "Ipv4Prefixes[0].Ipv4Prefix",
        "/28 prefixes only",
    ),
    "garbage prefix": (
        _edit((*ENI_A, "Ipv4Prefixes", 0, "Ipv4Prefix"), "ten/28"),
        "eni-a",
        "Ipv4Prefixes[0].Ipv4Prefix",
        "malformed",
    ),
    "malformed IPv6 prefix": (
        _edit((*ENI_A, "Ipv6Prefixes"), [{"Ipv6Prefix": "2600::/64x"}]),
        "eni-a",
        "Ipv6Prefixes[0].Ipv6Prefix",
        "malformed",
    ),
    "missing interface id": (
        _edit((*ENI_B, "NetworkInterfaceId"), ...),
        "network interface at",
        "NetworkInterfaceId",
        "missing",
    ),
    "missing interface subnet": (_edit((*ENI_B, "SubnetId"), ...), "eni-b", "SubnetId", "missing"),
    "missing address in entry": (
        _edit((*ENI_A, "PrivateIpAddresses", 1), {"Primary": False}),
        "eni-a",
        "PrivateIpAddresses[1].PrivateIpAddress",
        "missing",
    ),
    "address list of wrong type": (
        _edit((*ENI_B, "PrivateIpAddresses"), "10.0.0.200"),
        "eni-b",
        "PrivateIpAddresses",
        "expected a list",
    ),
    "address entry of wrong type": (
        _edit((*ENI_B, "PrivateIpAddresses", 0), "10.0.0.200"),
        "eni-b",
        "PrivateIpAddresses[0]",
        "expected an object",
    ),
    "address of wrong type": (
        _primary(ENI_B, 167772360),
        "eni-b",
        "PrivateIpAddress",
        "expected a string",
    ),
    "interface that is not an object": (
        _edit(ENI_B, "eni-b"),
        "network interface at",
        "(item)",
        "expected an object",
    ),
    "attachment of wrong type": (
        _edit((*ENI_B, "Attachment"), "i-0abc"),
        "eni-b",
        "Attachment",
        "expected an object",
    ),
    "missing subnet CIDR": (
        _edit((*SUB, "CidrBlock"), ...),
        "subnet subnet-1",
        "CidrBlock",
        "missing",
    ),
    "malformed subnet CIDR": (
        _edit((*SUB, "CidrBlock"), "10.0.0.0/33"),
        "subnet subnet-1",
        "CidrBlock",
        "malformed",
    ),
    "missing available count": (
        _edit((*SUB, "AvailableIpAddressCount"), ...),
        "subnet subnet-1",
        "AvailableIpAddressCount",
        "missing",
    ),
    "available count of wrong type": (
        _edit((*SUB, "AvailableIpAddressCount"), "232"),
        "subnet subnet-1",
        "AvailableIpAddressCount",
        "expected an integer",
    ),
    "boolean where a number belongs": (
        _edit((*SUB, "AvailableIpAddressCount"), True),
        "subnet subnet-1",
        "AvailableIpAddressCount",
        "got a boolean",
    ),
    "reservation outside its subnet": (
        _edit((*RES, "Cidr"), "10.0.1.0/26"),
        "CIDR reservation scr-1",
        "Cidr",
        "10.0.1.0/26",
    ),
    "reservation of unknown type": (
        _edit((*RES, "ReservationType"), "pool"),
        "CIDR reservation scr-1",
        "ReservationType",
        "neither",
    ),
    "reservation listed under the wrong family": (
        _edit((*RES, "Cidr"), "2600::/80"),
        "CIDR reservation scr-1",
        "Cidr",
        "not IPv4",
    ),
    "reservation without CIDR": (
        _edit((*RES, "Cidr"), ...),
        "CIDR reservation scr-1",
        "Cidr",
        "missing",
    ),
}


def broken_state(change: Any) -> list[Any]:
    state = [copy.deepcopy(part) for part in base_state()]
    change(state)
    return state


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_input_raises_naming_item_and_field(case: str) -> None:
    change, item, field, message = BROKEN[case]
    with pytest.raises(SnapshotFieldError) as caught:
        load_snapshot(*broken_state(change))
    error = caught.value
    assert item in error.item and error.field == field, str(error)
    assert message in str(error)
    assert isinstance(error, ipfrag.SnapshotError) and isinstance(error, ValueError)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_input_is_a_warning_in_lenient_mode(case: str) -> None:
    change, item, field, message = BROKEN[case]
    snap = load_snapshot(*broken_state(change), lenient=True)
    skipped = [w for w in snap.warnings if w.startswith("skipped: ")]
    assert len(skipped) == 1 and item in skipped[0] and field in skipped[0]
    assert message in skipped[0]
    if "subnet-1" in snap:
        s = snap["subnet-1"]
        # what was not broken is still there; the broken item is not
        assert s.owner_of("10.0.0.10") == "eni-a" or case.startswith("address listed twice")
        if case == "primary address missing from the list":
            assert s.owner_of("10.0.0.200") == "eni-b" and s.owner_of("10.0.0.201") is None
        elif "eni-b" in item and field.startswith("PrivateIpAddress"):
            assert all(a.owner != "eni-b" for a in s.allocations())
    else:  # a broken subnet is skipped whole, and its interfaces with it
        assert field in ("CidrBlock", "AvailableIpAddressCount")
        assert any("subnet-1" in n for n in snap.notes)


def _count_item_by_item_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every one-at-a-time allocation (the loader's item path, or a bulk error's replay)."""
    calls: list[str] = []
    for name in ("allocate_ip", "allocate_prefix"):
        real = getattr(ipfrag.Subnet, name)

        def spy(self: ipfrag.Subnet, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            calls.append(_real.__name__)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(ipfrag.Subnet, name, spy)
    return calls


def test_clean_input_is_allocated_in_bulk_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_item_by_item_calls(monkeypatch)
    load_snapshot(*base_state())
    snaps = [load_snapshot(*example("eks-prefix"))]
    snaps += [load_snapshot(*example("eks-ipv6"), family=family) for family in (4, 6)]
    assert calls == [], "clean input took the item-by-item path"
    assert all(s.used_addresses for snap in snaps for s in snap.values())


@pytest.mark.parametrize("case", ["duplicate address of another interface", "AWS-reserved address"])
def test_broken_input_takes_the_item_path_for_its_subnet_only(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subnet 2 holds the broken interface: subnet 1 is built in bulk, subnet 2 item by item."""
    subnets, enis, reservations = broken_state(BROKEN[case][0])
    subnets["Subnets"][0]["SubnetId"] = "subnet-2"
    for eni in enis["NetworkInterfaces"]:
        eni["SubnetId"] = "subnet-2"
    reservations["SubnetIpv4CidrReservations"][0]["SubnetId"] = "subnet-2"
    subnets["Subnets"].insert(0, subnet("subnet-1", "10.0.1.0/24", 249))
    enis["NetworkInterfaces"].insert(0, iface("eni-1", ["10.0.1.7", "10.0.1.8"], "subnet-1"))
    calls = _count_item_by_item_calls(monkeypatch)
    with pytest.raises(SnapshotFieldError, match="eni-b"):
        load_snapshot(subnets, enis, reservations)
    assert calls, "the broken subnet was not explained item by item"
    del calls[:]
    snap = load_snapshot(subnets, enis, reservations, lenient=True)
    assert len(calls) >= 4  # subnet 2's items (after the bulk call's own replay)
    assert [w for w in snap.warnings if w.startswith("skipped")] == [
        w for w in snap.warnings if "eni-b" in w and w.startswith("skipped")
    ]
    assert snap["subnet-1"].owners() == {"eni-1": 2}
    assert snap["subnet-1"].owner_info("eni-1")["kind"] == "unknown"
    s2 = snap["subnet-2"]
    assert s2.owner_of("10.0.0.10") == "eni-a" and s2.owner_of("10.0.0.50") == "eni-a"
    assert all(a.owner != "eni-b" for a in s2.allocations())
    assert s2.owner_info("eni-a")["instance_id"] == "i-0aaa" and s2.owner_info("eni-b") == {}
    s2._check()


def test_lenient_mode_makes_the_mismatch_visible() -> None:
    change = BROKEN["malformed address"][0]
    snap = load_snapshot(*broken_state(change), lenient=True)
    assert [m.difference for m in snap.mismatches] == [1]  # eni-b's address was skipped


def test_unreadable_and_foreign_files_always_raise(tmp_path: Path) -> None:
    subnets, enis, _ = base_state()
    with pytest.raises(ipfrag.SnapshotError, match="cannot read"):
        load_snapshot(tmp_path / "missing.json", enis, lenient=True)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ipfrag.SnapshotError, match="not valid JSON"):
        load_snapshot(subnets, bad)
    with pytest.raises(ipfrag.SnapshotError, match="not a describe-network-interfaces response"):
        load_snapshot(subnets, subnets)
    with pytest.raises(SnapshotFieldError, match="Subnets: expected a list"):
        load_snapshot({"Subnets": {"SubnetId": "x"}}, enis)
    with pytest.raises(ipfrag.SnapshotError, match="got int"):
        load_snapshot(subnets, 5)
    with pytest.raises(ipfrag.SnapshotError, match="not an ipfrag snapshot"):
        read_snapshot(example("eks-prefix")[0])
    future = tmp_path / "future.json"
    future.write_text(json.dumps({"format": "ipfrag-aws-snapshot", "version": 99}))
    with pytest.raises(ipfrag.SnapshotError, match="version 99"):
        read_snapshot(future)
    with pytest.raises(ValueError, match="family"):
        load_snapshot(subnets, enis, family=5)  # type: ignore[arg-type]


def test_policy_and_seed_make_what_ifs_on_a_snapshot_reproducible() -> None:
    files = example("eks-prefix")

    def grow(seed: int) -> list[str]:
        snap = load_snapshot(*files, policy="random", seed=seed)
        (s,) = snap.values()
        assert s.policy == "random"
        return [str(s.allocate_ip(owner="what-if")) for _ in range(20)]

    assert grow(11) == grow(11)
    assert grow(11) != grow(12)
    (lowest,) = load_snapshot(*files, policy="lowest").values()
    first_free = next(lowest.free_ranges()).network_address
    assert lowest.allocate_ip() == first_free


def test_unknown_policy_is_rejected_before_building() -> None:
    with pytest.raises(ipfrag.InvalidArgument, match="policy"):
        load_snapshot(*example("eks-prefix"), policy="worst-fit")  # type: ignore[arg-type]
