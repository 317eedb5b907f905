"""The benchmark harness is a correctness check too: peers, workload and report.

Every peer of ``benchmarks.compare`` (and ipfrag behind the same interface) is compared
with a plain set of integers on random small cases; the workload generator's true
answers are recomputed from its operations; and the comparison runs end to end on a
tiny workload. Nothing here asserts a timing.
"""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path
from typing import Any

import pytest

from benchmarks import compare
from benchmarks.compare import IpfragModel, make_workload
from benchmarks.peers import (
    PEERS,
    FreeSpaceModel,
    IpaddressPeer,
    NaiveScanPeer,
    Network,
    UnsupportedSubnet,
    aws_reserved,
)
from ipfrag.core import IMPLEMENTATION

MODELS: list[type[FreeSpaceModel[Any]]] = [*PEERS, IpfragModel]


class Oracle:
    """Used addresses as a set of integers; blocks counted by brute force."""

    def __init__(self, cidr: Network, reserved_aws: bool) -> None:
        self.cidr = cidr
        self.base = int(cidr.network_address)
        self.used: set[int] = set()
        if reserved_aws:
            for n in aws_reserved(cidr):
                self.used.add(int(n.network_address))

    def covers(self, net: Network) -> range:
        first = int(net.network_address)
        return range(first, first + net.num_addresses)

    def is_free(self, net: Network) -> bool:
        return self.used.isdisjoint(self.covers(net))

    def free_block_count(self, prefixlen: int) -> int:
        size = 1 << (self.cidr.max_prefixlen - prefixlen)
        return sum(
            1
            for start in range(self.base, self.base + self.cidr.num_addresses, size)
            if self.used.isdisjoint(range(start, start + size))
        )


def _random_case(
    cidr: str, reserved_aws: bool, seed: int, steps: int
) -> tuple[Network, list[Network], list[tuple[str, Network]]]:
    """Initial allocations and a sequence of valid updates of random sizes."""
    net = ipaddress.ip_network(cidr)
    rng = random.Random(seed)
    oracle = Oracle(net, reserved_aws)
    held: list[Network] = []

    def free_block() -> Network | None:
        for _ in range(50):
            plen = rng.choice(
                [net.max_prefixlen] * 3 + list(range(net.prefixlen, net.max_prefixlen))
            )
            size = 1 << (net.max_prefixlen - plen)
            start = net.network_address + rng.randrange(net.num_addresses // size) * size
            block = ipaddress.ip_network((start, plen))
            if oracle.is_free(block):
                return block
        return None

    initial: list[Network] = []
    for _ in range(rng.randrange(0, 6)):
        block = free_block()
        if block is not None:
            oracle.used.update(oracle.covers(block))
            held.append(block)
            initial.append(block)
    ops: list[tuple[str, Network]] = []
    for _ in range(steps):
        block = free_block() if (not held or rng.random() < 0.6) else None
        if block is not None:
            oracle.used.update(oracle.covers(block))
            held.append(block)
            ops.append(("allocate", block))
        elif held:
            gone = held.pop(rng.randrange(len(held)))
            oracle.used.difference_update(oracle.covers(gone))
            ops.append(("release", gone))
    return net, initial, ops


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
@pytest.mark.parametrize(
    ("cidr", "reserved_aws"),
    [
        ("10.0.0.0/26", True),
        ("10.1.2.0/24", True),
        ("10.1.2.0/27", False),
        ("2001:db8::/122", True),
        ("2001:db8::1:0/120", False),
    ],
)
@pytest.mark.parametrize("seed", range(4))
def test_model_matches_set_oracle(
    model: type[FreeSpaceModel[Any]], cidr: str, reserved_aws: bool, seed: int
) -> None:
    """can_carve and free_block_count for every prefix length, after every update."""
    net, initial, ops = _random_case(cidr, reserved_aws, seed, steps=40)
    m = model(net, initial, reserved_aws=reserved_aws)
    oracle = Oracle(net, reserved_aws)
    for block in initial:
        oracle.used.update(oracle.covers(block))

    def check(where: str) -> None:
        for plen in range(net.prefixlen, net.max_prefixlen + 1):
            want = oracle.free_block_count(plen)
            assert m.free_block_count(plen) == want, f"{where}: /{plen}"
            assert m.can_carve(plen) == (want > 0), f"{where}: /{plen}"

    check("initial")
    for i, (kind, block) in enumerate(ops):
        if kind == "allocate":
            m.allocate(m.prepare(block))
            oracle.used.update(oracle.covers(block))
        else:
            m.release(m.prepare(block))
            oracle.used.difference_update(oracle.covers(block))
        check(f"after op {i} ({kind} {block})")


def test_ipaddress_peer_keeps_a_canonical_free_list() -> None:
    """The free list stays what collapse_addresses makes of it, in address order."""
    net, initial, ops = _random_case("10.9.0.0/24", True, seed=11, steps=200)
    m = IpaddressPeer(net, initial, reserved_aws=True)
    for kind, block in ops:
        (m.allocate if kind == "allocate" else m.release)(m.prepare(block))
        free = [n for n in m._free if isinstance(n, ipaddress.IPv4Network)]
        assert free == m._free
        assert free == list(ipaddress.collapse_addresses(free))
        assert m._starts == [int(n.network_address) for n in m._free]


def test_naive_scan_refuses_an_ipv6_64() -> None:
    net = ipaddress.ip_network("2001:db8::/64")
    assert not NaiveScanPeer.supports(net)
    with pytest.raises(UnsupportedSubnet):
        NaiveScanPeer(net, [], reserved_aws=True)


@pytest.mark.parametrize(
    ("cidr", "prefixlen", "kwargs"),
    [
        ("10.0.0.0/24", 28, {"use": 0.3}),
        ("10.0.0.0/22", 28, {"use": 0.7}),
        ("10.0.0.0/22", 28, {"use": 0.3, "prefix_share": 0.0}),
        ("2001:db8::/112", 120, {"initial_prefixes": 30, "initial_singles": 30}),
    ],
)
def test_workload_answers_are_true(cidr: str, prefixlen: int, kwargs: dict[str, Any]) -> None:
    """Replaying the workload into a set of integers gives the recorded counts."""
    w = make_workload(cidr, prefixlen=prefixlen, n_ops=400, seed=5, **kwargs)
    oracle = Oracle(w.cidr, reserved_aws=True)
    for block in w.initial:
        assert oracle.is_free(block)
        oracle.used.update(oracle.covers(block))
    if "use" in kwargs:
        assert len(oracle.used) - 5 == round(kwargs["use"] * w.cidr.num_addresses)
    held = set(w.initial)
    kinds = set()
    for op, count in zip(w.ops, w.counts, strict=True):
        kinds.add(op.kind)
        if op.kind == "release":
            held.remove(op.net)
            oracle.used.difference_update(oracle.covers(op.net))
        else:
            assert oracle.is_free(op.net), op
            assert op.kind != "explicit-prefix" or op.net.prefixlen == prefixlen
            held.add(op.net)
            oracle.used.update(oracle.covers(op.net))
        assert oracle.free_block_count(prefixlen) == count
    assert {"auto-ip", "explicit-ip", "release"} <= kinds


def test_workload_is_reproducible_by_seed() -> None:
    a = make_workload("10.0.0.0/22", prefixlen=28, n_ops=100, seed=3, use=0.3)
    b = make_workload("10.0.0.0/22", prefixlen=28, n_ops=100, seed=3, use=0.3)
    c = make_workload("10.0.0.0/22", prefixlen=28, n_ops=100, seed=4, use=0.3)
    assert a == b
    assert a != c


def test_replay_reports_a_wrong_answer() -> None:
    """A model that answers wrongly makes the replay raise Disagreement."""

    class OffByOne(NaiveScanPeer):
        def free_block_count(self, prefixlen: int) -> int:
            return super().free_block_count(prefixlen) + 1

    w = make_workload("10.0.0.0/24", prefixlen=28, n_ops=5, seed=1, use=0.3)
    with pytest.raises(compare.Disagreement, match="free_block_count"):
        compare.replay(OffByOne, w, max_ops=5)


def test_compare_tiny_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every implementation agrees on every answer, and the report has every row."""
    out = tmp_path / "figures.json"
    assert compare.main(["--tiny", "--seed", "7", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    figures = json.loads(out.read_text())

    assert [c["case"] for c in figures["cases"]] == [c.label for c in compare.CASES]
    for case in figures["cases"]:
        names = [r["implementation"] for r in case["runs"]]
        expected = ["ipfrag", "netaddr-free", "netaddr", "ipaddress-plain", "ipaddress"]
        if figures["cores"] == ["c", "python"]:
            expected.insert(1, "ipfrag-pure")
        if case["cidr"] != "2001:db8:0:1::/64":
            expected.append("naive-scan")
        assert names == expected
        for r in case["runs"]:
            assert r["ops"] >= 1
            assert f"{case['case']:<14} {r['implementation']:<14}" in text
    assert figures["cores"] == (["c", "python"] if IMPLEMENTATION == "c" else ["python"])
    targets = [t["target"] for t in figures["targets"]]
    assert len(targets) >= 6
    for t in targets:
        assert t in text
    for core in figures["cores"]:
        assert figures["memory"][core]["ipv4_16_at_70pct_bytes"] > 0
        assert figures["monte_carlo"][core]["mean_allocations"] > 0
    ipv6 = figures["memory"][figures["cores"][0]]["ipv6_64"]
    assert [m["n"] for m in ipv6] == list(compare.TINY.ipv6_memory_n)
    assert all(m["prefixes_bytes"] > 0 and m["single_ips_bytes"] > 0 for m in ipv6)
    assert "IPv4 /16 at 70% use" in text


def test_compare_exits_1_on_disagreement(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Wrong(IpaddressPeer):
        def can_carve(self, prefixlen: int) -> bool:
            return not super().can_carve(prefixlen)

    monkeypatch.setattr(compare, "PEERS", (Wrong,))
    real = compare.ipfrag_figures

    def one_core(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**real(*args, **kwargs), "core": "python"}  # no pure-core child process

    monkeypatch.setattr(compare, "ipfrag_figures", one_core)
    assert compare.main(["--tiny"]) == 1
    assert "DISAGREEMENT" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["benchmarks.peers", "benchmarks.compare"])
def test_examples_in_docstrings(module: str) -> None:
    """The ``>>>`` examples of the harness run (pytest collects only ipfrag's doctests)."""
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


def test_calibrate_scales_the_targets_by_a_reference_measured_in_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference (here HEAD, exported with git archive) and this tree's cores are
    measured in separate processes; every target is scaled by the reference's factor."""
    from benchmarks import calibrate

    if not (calibrate.ROOT / ".git").exists():
        pytest.skip("not a git checkout: no reference to export")
    out = tmp_path / "calibrate.json"
    args = ["--reference", "HEAD", "--rounds", "1", "--ops", "50", "--fills", "1"]
    assert calibrate.main([*args, "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    text = capsys.readouterr().out
    cores = ["c", "python"] if IMPLEMENTATION == "c" else ["python"]
    assert list(r["best"]) == ["reference", *cores]
    factor = r["machine_factor"]
    for key, issue in calibrate.ISSUE.items():
        assert factor[key] == pytest.approx(r["best"]["reference"][key] / issue)
    assert [(t["metric"], t["core"]) for t in r["targets"]] == [
        k for k in calibrate.TARGETS if k[1] in cores
    ]
    for t in r["targets"]:
        assert t["scaled_target"] == pytest.approx(t["issue_target"] * factor[t["metric"]])
        assert t["met"] == (t["measured"] <= t["scaled_target"])
        assert ("met" if t["met"] else "NOT MET") in text
    # Without the commit, only this tree's figures.
    assert calibrate.run("no-such-commit", 1, 50, 1)["reference"] is None


def test_interval_backends_agree_and_report_both_sparse_cores() -> None:
    """The sparse cores and the interval tree count the same free /80s (run() exits on a
    disagreement) and each has a time."""
    from benchmarks import interval_backends

    r = interval_backends.run(20, 3)
    assert set(r) == {"sparse", "pure", "intervaltree"} and min(r.values()) > 0
