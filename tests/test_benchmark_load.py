"""The /16 loading benchmark is a correctness check too: the workload, the support tool's peer
and ipfrag agree with a plain set of integers. Nothing here asserts a timing."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from benchmarks import load_snapshot as bench
from benchmarks.peers_support_tool import classify_eni, support_tool_analysis
from ipfrag.aws import load_snapshot

SCALE = 0.02


def oracle(w: bench.Workload) -> tuple[int, int]:
    """Free addresses and free aligned /28s of the workload, with a set of ints."""
    net = ipaddress.ip_network(bench.CIDR)
    base, size = int(net.network_address), net.num_addresses
    used = {0, 1, 2, 3, size - 1}
    for eni in w.network_interfaces["NetworkInterfaces"]:
        for a in eni["PrivateIpAddresses"]:
            used.add(int(ipaddress.ip_address(a["PrivateIpAddress"])) - base)
        for p in eni.get("Ipv4Prefixes", []):
            start = int(ipaddress.ip_network(p["Ipv4Prefix"]).network_address) - base
            used.update(range(start, start + 16))
    blocks = sum(1 for b in range(0, size, 16) if not used & set(range(b, b + 16)))
    return size - len(used), blocks


def test_workload_ipfrag_and_the_support_tool_agree_with_the_oracle() -> None:
    w = bench.make_snapshot(seed=3, scale=SCALE)
    free, blocks = oracle(w)
    snap = load_snapshot(w.subnets, w.network_interfaces)
    subnet = snap[bench.SUBNET_ID]
    assert snap.mismatches == [] and snap.warnings == []
    assert (subnet.free_addresses, subnet.free_block_count(28)) == (free, blocks)
    peer = support_tool_analysis(bench.CIDR, w.network_interfaces["NetworkInterfaces"])
    assert (peer["free"], peer["free_blocks"]) == (free, blocks)
    assert peer["owners"] == w.interfaces
    assert bench.analysis_function()(subnet) is not None


def test_workload_is_reproducible_and_scales() -> None:
    a, b = bench.make_snapshot(5, SCALE), bench.make_snapshot(5, SCALE)
    assert a == b and a != bench.make_snapshot(6, SCALE)
    assert a.interfaces == round(40_000 * SCALE)
    assert a.prefixes == 4 * round(250 * SCALE)


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        ({"NetworkInterfaceId": "e", "Status": "available"}, "orphaned"),
        ({"NetworkInterfaceId": "e", "InterfaceType": "efs"}, "efs"),
        ({"NetworkInterfaceId": "e", "Description": "DAX x"}, "dax"),
        ({"NetworkInterfaceId": "e", "Attachment": {"InstanceId": "i-1", "DeviceIndex": 1}},
         "ec2_secondary"),
        ({"NetworkInterfaceId": "e", "Description": "mine"}, "other"),
    ],
)  # fmt: skip
def test_support_tool_classification_table(item: dict[str, Any], kind: str) -> None:
    assert classify_eni(item)[0] == kind


def test_benchmark_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "both agree" in text and "support tool" in text
    assert out.is_file()
