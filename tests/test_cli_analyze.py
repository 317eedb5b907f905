"""``ipfrag analyze`` end to end on the shipped snapshots, through ipfrag.cli.main."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import ipfrag
import ipfrag.aws
from ipfrag.aws.examples import example_files
from ipfrag.cli import main

FIXED_KEYS = {
    "free_addresses",
    "fragmentation_score",
    "severity",
    "unusable_index",
    "extfrag_index",
    "stranded_addresses",
    "prefix_blocks_available",
    "blocks",
}
BLOCK_KEYS = {
    "free",
    "fragmented",
    "full",
    "reserved",
    "prefix_allocated",
    "in_prefix_reservation",
    "in_explicit_reservation",
    "total",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def loaded(name: str, family: int = 4) -> ipfrag.Subnet:
    (s,) = ipfrag.aws.load_snapshot(*example_files(name), family=family).values()  # type: ignore[arg-type]
    return s


@pytest.mark.parametrize(("name", "family"), [("eks-prefix", "4"), ("eks-ipv6", "6")])
def test_json_carries_the_whole_report(
    capsys: pytest.CaptureFixture[str], name: str, family: str
) -> None:
    status, out, _ = run(capsys, "analyze", "--example", name, "--family", family, "--json")
    assert status == 0
    (doc,) = json.loads(out)["subnets"]
    assert doc.keys() >= FIXED_KEYS and set(doc["blocks"]) == BLOCK_KEYS
    assert doc == ipfrag.analyze(loaded(name, int(family))).to_dict()


def test_text_report_puts_score_and_severity_first(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "analyze", "--example", "eks-prefix")
    r = ipfrag.analyze(loaded("eks-prefix"))
    lines = out.splitlines()
    assert status == 0 and lines[1].startswith(
        f"  fragmentation score  {r.score.value}  {r.score.severity.value}  "  # type: ignore[union-attr]
    )
    b = r.blocks
    assert (
        f"  /28 blocks          512  {b['free']} free, {b['fragmented']} fragmented, "
        f"{b['full']} full, {b['reserved']} reserved, {b['prefix_allocated']} prefix_allocated; "
        f"{b['in_prefix_reservation']} in prefix and 0 in explicit reservations"
    ) in lines
    assert f"  linux indices     unusable {r.unusable_index:.3f}, extfrag -1.000" in lines


def test_map_svg_and_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    svg, png = tmp_path / "map.svg", tmp_path / "map.png"
    plot = importlib.util.find_spec("matplotlib") is not None
    args = ["analyze", "--example", "eks-prefix", "--map", "--svg", str(svg)]
    status, out, _ = run(capsys, *args, *(["--png", str(png)] if plot else []))
    assert status == 0
    expected = ipfrag.analyze(loaded("eks-prefix")).map(color=False)
    assert out.endswith("\n\n" + expected + "\n")  # captured output is no terminal: no colour
    cells = [
        e
        for e in ET.fromstring(svg.read_text()).iter("{http://www.w3.org/2000/svg}rect")
        if "cell" in (e.get("class") or "")
    ]
    assert len(cells) == 512
    if plot:  # PNG maps need the extra ipfrag[plot]
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_list_enis(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "analyze", "--example", "eks-prefix", "--list-enis")
    enis = json.loads(example_files("eks-prefix")[1].read_text())["NetworkInterfaces"]
    assert status == 0 and f"  network interfaces ({len(enis)})" in out
    for eni in enis:
        assert eni["NetworkInterfaceId"] in out
    status, out, _ = run(capsys, "analyze", "--example", "eks-prefix", "--list-enis", "--json")
    (doc,) = json.loads(out)["subnets"]
    assert len(doc["interfaces"]) == len(enis)
    assert set(doc["interfaces"][0]) == {
        "owner",
        "kind",
        "label",
        "instance_id",
        "addresses",
        "prefixes",
    }


def test_drain_and_advice_sections(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["analyze", "--example", "eks-prefix", "--node-recs", "--plan", "3"]
    args += ["--reserve", "24", "--instance-type", "m5.large", "--vcpus", "2"]
    status, out, _ = run(capsys, *args)
    assert status == 0
    assert "  node drain: /28 blocks freed if one node alone is drained" in out
    assert "  drain plan for 3 free /28s: " in out
    assert "  reservation advice for a /24 prefix reservation" in out
    status, out, _ = run(capsys, *args, "--json")
    (doc,) = json.loads(out)["subnets"]
    assert doc["nodes"] and all(n["blocks_freed"] >= 0 for n in doc["nodes"])
    assert doc["drain_plan"]["nodes"] and doc["drain_plan"]["blocks_freed"] >= 3
    assert doc["reservation_advice"]["places"]
    assert set(doc["drain_plan"]) == {
        "k",
        "nodes",
        "blocks_freed",
        "method",
        "lower_bound",
        "bound",
        "recoverable",
    }
    advice = doc["reservation_advice"]
    assert advice["prefixlen"] == 24 and advice["instance_type"] == "m5.large"
    assert advice["pods_per_node"] == 108 and advice["prefixes_per_node"] == 7
    status, out, _ = run(
        capsys, "analyze", "--example", "eks-ipv6", "--family", "6", "--reserve", "72"
    )
    assert status == 0 and "places could be reserved now" in out
    assert "guarantees 256 /80 prefixes" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prefixlen", "33"], "not an IPv4 length"),
        (["--prefixlen", "16"], "shorter than the subnet"),
        (["--prefixlen", "-1"], "not an IPv4 length"),
        (["--plan", "0"], "k must be at least 1"),
        (["--plan", "-2"], "k must be at least 1"),
        (["--reserve", "8"], "shorter than the subnet"),
        (["--reserve", "29"], "cannot hold /28 prefixes"),
        (["--reserve", "24", "--instance-type", "no.such"], "no.such"),
        (["--svg", "/nonexistent/dir/map.svg"], "cannot write the SVG map"),
        (["--instance-type", "m5.large"], "go with --reserve"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    status, out, err = run(capsys, "analyze", "--example", "eks-prefix", *extra)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err and err.startswith("ipfrag analyze:")


def test_ipv6_prefix_length_range(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys, "analyze", "--example", "eks-ipv6", "--family", "6", "--prefixlen", "129"
    )
    assert status == 2 and "not an IPv6 length (0..128)" in err
    status, out, _ = run(
        capsys, "analyze", "--example", "eks-ipv6", "--family", "6", "--prefixlen", "96", "--json"
    )
    (doc,) = json.loads(out)["subnets"]
    assert status == 0 and doc["blocks"]["total"] == 1 << 32


def test_aws_text_cannot_drive_the_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    files = example_files("eks-prefix")
    subnets = json.loads(files[0].read_text())
    subnets["Subnets"][0]["Tags"] = [{"Key": "Name", "Value": "evil\x1b[2Jname"}]
    (tmp_path / "subnets.json").write_text(json.dumps(subnets))
    status, out, _ = run(
        capsys,
        "analyze",
        "--subnets",
        str(tmp_path / "subnets.json"),
        "--network-interfaces",
        str(files[1]),
        "--cidr-reservations",
        str(files[2]),
    )
    assert status == 0 and "\x1b" not in out and "(evil\\x1b[2Jname)" in out
