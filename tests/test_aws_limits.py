"""Instance network limits, max pods and pod IP capacity (ipfrag.aws.limits)."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

import ipfrag
from ipfrag.aws import limits as lim
from ipfrag.aws.limits import (
    InstanceLimits,
    InvalidInstanceLimits,
    UnknownInstanceType,
    VcpusRequired,
    instance_limits,
    instance_types,
    limits_from_instance_type_info,
    max_pods,
    pod_ip_capacity,
    register_instance_type,
    unregister_instance_type,
)
from ipfrag.errors import IpfragError

TSV = Path(__file__).resolve().parents[1] / "ipfrag" / "data" / "instance-network-limits.tsv"


def _rows() -> list[dict[str, str]]:
    with TSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


ROWS = _rows()


@pytest.fixture(autouse=True)
def _isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no caller registrations and leaves none behind."""
    monkeypatch.setattr(lim, "_registered", {})


# --- the EKS formula for every shipped type, computed here from the raw TSV -------------------


def _expected(row: dict[str, str], *, prefix: bool, custom: bool, max_enis: int | None) -> int:
    enis = int(row["max_enis"])
    if max_enis is not None:
        enis = min(enis, max_enis)
    if custom:
        enis -= 1
    ips = int(row["ipv4_per_eni"])
    prefix_ok = row["hypervisor"] == "nitro" or row["bare_metal"] == "true"
    if prefix and prefix_ok:
        return enis * ((ips - 1) * 16) + 2
    return enis * (ips - 1) + 2


def test_table_has_every_type_once() -> None:
    names = [row["instance_type"] for row in ROWS]
    assert len(names) == 1391 == len(set(names))
    assert set(instance_types()) == set(names)


@pytest.mark.parametrize("prefix", [False, True])
@pytest.mark.parametrize("custom", [False, True])
@pytest.mark.parametrize("max_enis", [None, 2])
def test_max_pods_uncapped_matches_formula_for_all_types(
    prefix: bool, custom: bool, max_enis: int | None
) -> None:
    wrong = {}
    for row in ROWS:
        want = _expected(row, prefix=prefix, custom=custom, max_enis=max_enis)
        got = max_pods(
            row["instance_type"],
            prefix_delegation=prefix,
            custom_networking=custom,
            max_enis=max_enis,
            cap=False,
        )
        if got != want:
            wrong[row["instance_type"]] = (got, want)
    assert wrong == {}


@pytest.mark.parametrize("vcpus", [2, 30, 31, 192])
@pytest.mark.parametrize("prefix", [False, True])
def test_max_pods_capped_matches_formula_for_all_types(vcpus: int, prefix: bool) -> None:
    ceiling = 110 if vcpus <= 30 else 250
    for row in ROWS:
        want = min(_expected(row, prefix=prefix, custom=False, max_enis=None), ceiling)
        got = max_pods(row["instance_type"], prefix_delegation=prefix, vcpus=vcpus)
        assert got == want, row["instance_type"]


def test_every_row_parses_to_matching_limits() -> None:
    for row in ROWS:
        limits = instance_limits(row["instance_type"])
        assert limits.max_enis == int(row["max_enis"])
        assert limits.ipv4_per_eni == int(row["ipv4_per_eni"])
        assert limits.hypervisor == row["hypervisor"]
        assert limits.bare_metal is (row["bare_metal"] == "true")
        assert limits.default_network_card == int(row["default_network_card"])
        cards = tuple(
            (int(i), int(n)) for i, n in (c.split(":") for c in row["network_cards"].split(","))
        )
        assert limits.network_cards == cards
        # The CNI counts the default card only; the table agrees with itself on that.
        assert dict(cards)[limits.default_network_card] == limits.max_enis


# --- facts from the brief and from misc/eni-max-pods.txt (an independent source) -------------


def test_known_secondary_mode_values() -> None:
    assert max_pods("m5.large") == 29
    assert max_pods("t3.medium") == 17
    assert max_pods("c5.18xlarge", cap=False) == 737


def test_known_prefix_mode_values() -> None:
    assert max_pods("m5.large", prefix_delegation=True, cap=False) == 434
    assert max_pods("m5.large", prefix_delegation=True, vcpus=2) == 110


# instance type: (max pods, max pods with custom networking) as misc/eni-max-pods.txt lists them
ENI_MAX_PODS_TXT = {
    "a1.medium": (8, 5),
    "m4.large": (20, 11),
    "m5.large": (29, 20),
    "m5.metal": (737, 688),
    "c6in.32xlarge": (394, 345),
    "p5.48xlarge": (100, 51),
    "g5.48xlarge": (345, 296),
    "inf1.24xlarge": (321, 292),
    "d3.xlarge": (10, 8),
    "hpc7g.16xlarge": (198, 149),
    "g6e.24xlarge": (492, 443),
    "i4i.24xlarge": (437, 408),
}


@pytest.mark.parametrize(("name", "expected"), sorted(ENI_MAX_PODS_TXT.items()))
def test_agrees_with_eni_max_pods_txt(name: str, expected: tuple[int, int]) -> None:
    plain, custom = expected
    assert max_pods(name, cap=False) == plain
    assert max_pods(name, custom_networking=True, cap=False) == custom


def test_multi_card_types_count_the_default_card_only() -> None:
    p5 = instance_limits("p5.48xlarge")
    assert p5.max_enis == 2 and p5.total_interfaces == 64 and len(p5.network_cards) == 32


# --- prefix support by hypervisor -------------------------------------------------------------


def test_xen_falls_back_to_secondary_formula() -> None:
    t2 = instance_limits("t2.micro")
    assert t2.hypervisor == "xen" and not t2.supports_prefix_delegation
    assert max_pods("t2.micro", prefix_delegation=True) == max_pods("t2.micro") == 4
    assert pod_ip_capacity("t2.micro", prefix_delegation=True).mode == "secondary"


def test_bare_metal_without_nitro_hypervisor_gets_prefixes() -> None:
    metal = instance_limits("m5.metal")
    assert (metal.hypervisor, metal.bare_metal, metal.is_nitro) == ("unknown", True, False)
    assert metal.supports_prefix_delegation
    assert max_pods("m5.metal", prefix_delegation=True, cap=False) == 15 * 49 * 16 + 2
    assert max_pods("m5.metal", prefix_delegation=True, vcpus=96) == 250


# --- the cap and vCPUs ------------------------------------------------------------------------


def test_vcpus_needed_only_above_110() -> None:
    assert max_pods("m5.xlarge") == 58  # 4 * 14 + 2, no vCPUs needed
    with pytest.raises(VcpusRequired, match=r"vcpus=N.*cap=False") as info:
        max_pods("c5.18xlarge")
    assert isinstance(info.value, ValueError) and isinstance(info.value, IpfragError)
    assert "737" in str(info.value)
    with pytest.raises(VcpusRequired):
        max_pods("m5.large", prefix_delegation=True)


def test_cap_boundary_at_30_vcpus() -> None:
    assert max_pods("c5.18xlarge", vcpus=30) == 110
    assert max_pods("c5.18xlarge", vcpus=31) == 250
    assert max_pods("c5.4xlarge", vcpus=16) == 110  # 234 uncapped


def test_registered_vcpus_feed_the_cap() -> None:
    register_instance_type("zz1.4xlarge", max_enis=8, ipv4_per_eni=30, vcpus=16)
    assert max_pods("zz1.4xlarge") == 110
    assert max_pods("zz1.4xlarge", vcpus=64) == 234  # explicit vcpus win
    assert max_pods("zz1.4xlarge", cap=False) == 234


@pytest.mark.parametrize(
    ("bad", "error"),
    [(0, InvalidInstanceLimits), (-1, InvalidInstanceLimits), (True, ipfrag.InvalidType),
     (1.5, ipfrag.InvalidType), ("2", ipfrag.InvalidType)],
)  # fmt: skip
def test_bad_max_enis_and_vcpus(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        max_pods("m5.large", max_enis=bad)  # type: ignore[arg-type]
    with pytest.raises(error):
        max_pods("c5.18xlarge", vcpus=bad)  # type: ignore[arg-type]
    with pytest.raises(error):
        pod_ip_capacity("m5.large", max_enis=bad)  # type: ignore[arg-type]


# --- ENI counting -----------------------------------------------------------------------------


def test_max_enis_limits_and_custom_networking_subtracts() -> None:
    assert max_pods("m5.large", max_enis=1) == 11
    assert max_pods("m5.large", max_enis=99) == 29
    assert max_pods("m5.large", custom_networking=True) == 20
    assert max_pods("m5.large", max_enis=2, custom_networking=True) == 11


def test_custom_networking_on_one_eni_type_leaves_host_pods_only() -> None:
    assert instance_limits("hpc6id.32xlarge").max_enis == 1
    assert max_pods("hpc6id.32xlarge", custom_networking=True) == 2
    capacity = pod_ip_capacity("hpc6id.32xlarge", custom_networking=True, prefix_delegation=True)
    assert (capacity.enis, capacity.prefixes, capacity.addresses) == (0, 0, 0)


def test_pod_ip_capacity_m5_large() -> None:
    secondary = pod_ip_capacity("m5.large")
    assert (secondary.mode, secondary.enis, secondary.prefixes, secondary.addresses) == (
        "secondary",
        3,
        0,
        27,
    )
    prefix = pod_ip_capacity("m5.large", prefix_delegation=True)
    assert (prefix.mode, prefix.prefixes, prefix.addresses, prefix.slots_per_eni) == (
        "prefix",
        27,
        432,
        9,
    )
    assert max_pods("m5.large", prefix_delegation=True, cap=False) == prefix.addresses + 2


# --- names and errors -------------------------------------------------------------------------


def test_names_are_case_and_space_insensitive() -> None:
    assert instance_limits("  M5.Large\t") is instance_limits("m5.large")
    assert max_pods(" T3.MEDIUM ") == 17


def test_unknown_type_suggests_close_names() -> None:
    with pytest.raises(UnknownInstanceType) as info:
        instance_limits("m5.lage")
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, LookupError)
    assert isinstance(err, IpfragError)
    assert "m5.large" in err.suggestions and "m5.large" in str(err)
    assert err.instance_type == "m5.lage"
    assert "register_instance_type" in str(err)


def test_unknown_type_without_close_names() -> None:
    with pytest.raises(UnknownInstanceType) as info:
        max_pods("qqqqqqqqqqqq")
    assert info.value.suggestions == ()
    assert "did you mean" not in str(info.value)
    with pytest.raises(UnknownInstanceType):
        instance_limits("   ")


def test_non_str_name_is_a_type_error() -> None:
    for call in (instance_limits, max_pods, pod_ip_capacity, unregister_instance_type):
        with pytest.raises(ipfrag.InvalidType):
            call(None)  # type: ignore[operator]


@pytest.mark.parametrize("flag", ["prefix_delegation", "custom_networking", "cap"])
def test_non_bool_flags_are_type_errors(flag: str) -> None:
    with pytest.raises(ipfrag.InvalidType):
        max_pods("m5.large", **{flag: "yes"})  # type: ignore[arg-type]


def test_unregistering_a_shipped_type_says_so() -> None:
    with pytest.raises(ipfrag.InvalidArgument, match="shipped instance type"):
        unregister_instance_type("m5.large")
    with pytest.raises(UnknownInstanceType):
        unregister_instance_type("zz404.nothing")


# --- registration -----------------------------------------------------------------------------


def test_register_new_type_and_list_it() -> None:
    stored = register_instance_type(
        "X9.Large", max_enis=3, ipv4_per_eni=10, network_cards=[(0, 3), (1, 3)]
    )
    assert stored.instance_type == "x9.large"
    assert instance_limits("x9.large") is stored
    assert "x9.large" in instance_types()
    assert max_pods("x9.large") == 29
    assert stored.total_interfaces == 6


def test_register_overrides_shipped_and_unregister_restores() -> None:
    shipped = instance_limits("m5.large")
    register_instance_type(dataclasses.replace(shipped, max_enis=2))
    assert max_pods("m5.large") == 20
    unregister_instance_type("M5.LARGE")
    assert instance_limits("m5.large") is shipped
    with pytest.raises(ipfrag.InvalidArgument, match="shipped"):
        unregister_instance_type("m5.large")  # not registered any more


def test_suggestions_include_registered_names() -> None:
    register_instance_type("zz7g.large", max_enis=3, ipv4_per_eni=10)
    with pytest.raises(UnknownInstanceType) as info:
        instance_limits("zz7g.larg")
    assert "zz7g.large" in info.value.suggestions


BAD_REGISTRATIONS: list[dict[str, object]] = [
    {"max_enis": 0, "ipv4_per_eni": 10},
    {"max_enis": 3, "ipv4_per_eni": 0},
    {"max_enis": -3, "ipv4_per_eni": 10},
    {"max_enis": 3.0, "ipv4_per_eni": 10},
    {"max_enis": True, "ipv4_per_eni": 10},
    {"max_enis": 3, "ipv4_per_eni": 10, "hypervisor": "kvm"},
    {"max_enis": 3, "ipv4_per_eni": 10, "bare_metal": "yes"},
    {"max_enis": 3, "ipv4_per_eni": 10, "default_network_card": -1},
    {"max_enis": 3, "ipv4_per_eni": 10, "network_cards": [(1, 3)]},
    {"max_enis": 3, "ipv4_per_eni": 10, "network_cards": [(0, 3), (0, 3)]},
    {"max_enis": 3, "ipv4_per_eni": 10, "network_cards": [(0, 2)]},
    {"max_enis": 3, "ipv4_per_eni": 10, "network_cards": [(0, 0)]},
    {"max_enis": 3, "ipv4_per_eni": 10, "network_cards": [("0", 3)]},
    {"max_enis": 3, "ipv4_per_eni": 10, "network_cards": [(0,)]},
    {"max_enis": 3, "ipv4_per_eni": 10, "network_cards": 7},
    {"max_enis": 3, "ipv4_per_eni": 10, "vcpus": 0},
    {"max_enis": 3},
]


@pytest.mark.parametrize("kwargs", BAD_REGISTRATIONS)
def test_bad_registration_is_rejected_and_changes_nothing(kwargs: dict[str, object]) -> None:
    first = register_instance_type("zz5.large", max_enis=2, ipv4_per_eni=6)
    with pytest.raises(InvalidInstanceLimits):
        register_instance_type("zz5.large", **kwargs)  # type: ignore[call-overload]
    assert instance_limits("zz5.large") is first


def test_bad_names_are_rejected() -> None:
    with pytest.raises(InvalidInstanceLimits):
        register_instance_type("  ", max_enis=3, ipv4_per_eni=10)
    with pytest.raises(InvalidInstanceLimits):
        InstanceLimits(42, max_enis=3, ipv4_per_eni=10)  # type: ignore[arg-type]
    with pytest.raises(InvalidInstanceLimits):
        register_instance_type(instance_limits("m5.large"), max_enis=2)  # type: ignore[call-overload]


def test_limits_are_frozen_value_objects_with_slots() -> None:
    limits = instance_limits("m5.large")
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_enis = 4  # type: ignore[misc]
    assert not hasattr(limits, "__dict__")
    assert limits == InstanceLimits("m5.large", 3, 10, "nitro", False, 0, ((0, 3),))


def test_table_is_loaded_once() -> None:
    assert lim._shipped_table() is lim._shipped_table()


def test_malformed_table_is_reported_with_its_line() -> None:
    header = "\t".join(lim._COLUMNS)
    with pytest.raises(InvalidInstanceLimits, match="line 2"):
        lim._parse_table(header + "\nm5.large\t3\t10\tnitro\tmaybe\t0\t0:3\n", "t.tsv")
    with pytest.raises(InvalidInstanceLimits, match="line 3: duplicate"):
        lim._parse_table(header + "\n" + "a.b\t3\t10\tnitro\tfalse\t0\t0:3\n" * 2, "t.tsv")
    with pytest.raises(InvalidInstanceLimits, match="header"):
        lim._parse_table("name\tenis\n", "t.tsv")


# --- DescribeInstanceTypes --------------------------------------------------------------------


def _p5_info() -> dict[str, object]:
    return {
        "InstanceType": "p5.48xlarge",
        "Hypervisor": "nitro",
        "BareMetal": False,
        "VCpuInfo": {"DefaultVCpus": 192},
        "NetworkInfo": {
            "MaximumNetworkInterfaces": 64,
            "Ipv4AddressesPerInterface": 50,
            "DefaultNetworkCardIndex": 0,
            "NetworkCards": [
                {"NetworkCardIndex": i, "MaximumNetworkInterfaces": 2} for i in range(32)
            ],
        },
    }


def test_limits_from_describe_instance_types_match_the_table() -> None:
    built = limits_from_instance_type_info(_p5_info())
    assert dataclasses.replace(built, vcpus=None) == instance_limits("p5.48xlarge")
    assert built.vcpus == 192
    register_instance_type(built)
    assert max_pods("p5.48xlarge", prefix_delegation=True) == 250


def test_limits_from_describe_instance_types_bare_metal_and_errors() -> None:
    info = {
        "InstanceType": "zz8.metal",
        "BareMetal": True,
        "NetworkInfo": {"MaximumNetworkInterfaces": 15, "Ipv4AddressesPerInterface": 50},
    }
    built = limits_from_instance_type_info(info)
    assert (built.hypervisor, built.bare_metal, built.max_enis, built.vcpus) == (
        "unknown",
        True,
        15,
        None,
    )
    with pytest.raises(InvalidInstanceLimits, match="Ipv4AddressesPerInterface"):
        limits_from_instance_type_info({"InstanceType": "a.b", "NetworkInfo": {}})
    with pytest.raises(InvalidInstanceLimits, match="NetworkInfo"):
        limits_from_instance_type_info({"InstanceType": "a.b"})
    bad_card = _p5_info()
    bad_card["NetworkInfo"]["DefaultNetworkCardIndex"] = 40  # type: ignore[index]
    with pytest.raises(InvalidInstanceLimits, match="DefaultNetworkCardIndex"):
        limits_from_instance_type_info(bad_card)
