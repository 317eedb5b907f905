"""Scenarios as data: loading (TOML, JSON, mappings, built-ins), validation by field path, runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ipfrag
from ipfrag.sim.builtin import BUILTIN, REMEDIES, article_figures, remedies, scenario
from ipfrag.sim.scenario import Scenario, ScenarioError, load_scenario, run

SMALL: dict[str, Any] = {
    "name": "small",
    "seed": 4,
    "subnets": [{"cidr": "10.0.0.0/22", "reservations": [{"cidr": "10.0.2.0/24"}]}],
    "cni": {"prefix_delegation": True, "warm_prefix_target": 1},
    "placement": {"policy": "random", "subnet_selection": "most-free", "scheduling": "spread"},
    "nodes": {"instance_type": "m5.large", "initial": 1, "max_pods": 110},
    "workload": [{"at": 0, "grow": 40}, {"at": 600, "replace_nodes": 1}],
    "tenants": [{"name": "lambda", "initial": 50, "take_per_hour": 60}],
    "stop": "first-failure",
    "duration": 7200,
}

TOML = """
name = "small"
seed = 4
stop = "first-failure"
duration = 7200
subnets = [{cidr = "10.0.0.0/22", reservations = [{cidr = "10.0.2.0/24"}]}]

[cni]
prefix_delegation = true
warm_prefix_target = 1

[placement]
policy = "random"
subnet_selection = "most-free"
scheduling = "spread"

[nodes]
instance_type = "m5.large"
initial = 1
max_pods = 110

[[workload]]
at = 0
grow = 40

[[workload]]
at = 600
replace_nodes = 1

[[tenants]]
name = "lambda"
initial = 50
take_per_hour = 60
"""


def test_toml_json_and_mapping_give_the_same_scenario(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(TOML)
    (tmp_path / "s.json").write_text(json.dumps(SMALL))
    a = load_scenario(tmp_path / "s.toml")
    assert a == load_scenario(str(tmp_path / "s.json")) == load_scenario(SMALL)
    assert Scenario.from_dict(a.to_dict()) == a
    assert a.subnets[0].reservations == (("10.0.2.0/24", "prefix"),)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"cni": {"warm_prefix_target": -1}}, "cni.warm_prefix_target"),
        ({"cni": {"warm_ip_target": "5"}}, "cni.warm_ip_target"),
        ({"cni": {"prefix_delegation": "yes"}}, "cni.prefix_delegation"),
        ({"cni": {"flavour": "calico"}}, "cni.flavour"),
        ({"cni": {"warm_prefix_targt": 1}}, "cni.warm_prefix_targt"),
        ({"subnets": [{"cidr": "10.0.0.5/22"}]}, "subnets[0]"),
        ({"subnets": []}, "subnets"),
        ({"subnets": ["10.0.0.0/22", 7]}, "subnets[1]"),
        (
            {
                "subnets": [
                    {
                        "cidr": "10.0.0.0/22",
                        "reservations": [{"cidr": "10.0.2.0/24", "kind": "both"}],
                    }
                ]
            },
            "subnets[0].reservations[0].kind",
        ),
        ({"nodes": {"instance_type": "m5.huge"}}, "nodes.instance_type"),
        ({"nodes": {"max_pods": 0}}, "nodes.max_pods"),
        ({"placement": {"scheduling": "random"}}, "placement.scheduling"),
        ({"placement": {"subnet_selection": "karpenter"}}, "placement.subnet_selection"),
        ({"workload": [{"at": 0, "grow": 1}, {"at": -5, "pods": 3}]}, "workload[1].at"),
        ({"workload": [{"at": 0}]}, "workload[0]"),
        ({"tenants": [{"take_per_hour": -1}]}, "tenants[0]"),
        ({"tenants": [{"subnet": 3}]}, "tenants[0].subnet"),
        ({"step": 0}, "step"),
        ({"stop": "never"}, "stop"),
        ({"seed": 1.5}, "seed"),
        ({"colour": "blue"}, "colour"),
        ({"pod_subnets": ["100.64.0.0/20"]}, "pod_subnets"),
    ],
)
def test_validation_names_the_field(change: dict[str, Any], path: str) -> None:
    data = {**SMALL, **change}
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert str(info.value).startswith(path + ":") or str(info.value).startswith(path)
    assert isinstance(info.value, ipfrag.InvalidArgument) and isinstance(info.value, ValueError)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.toml"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("subnets = [")
    with pytest.raises(ScenarioError, match=r"bad\.toml: not valid toml"):
        load_scenario(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**SMALL, "cni": {"warm_eni_target": -3}}))
    with pytest.raises(ScenarioError, match=r"wrong.json: cni.warm_eni_target"):
        load_scenario(wrong)
    with pytest.raises(ScenarioError):
        load_scenario(42)  # type: ignore[arg-type]


def test_with_param_paths_and_names() -> None:
    sc = load_scenario(SMALL)
    assert sc.with_param("warm_prefix_target", 0).cni.warm_prefix_target == 0
    assert sc.with_param("subnets.0.cidr", "10.0.0.0/21").subnets[0].cidr == "10.0.0.0/21"
    assert sc.with_param("nodes.instance_type", "m5.xlarge").nodes.instance_type == "m5.xlarge"
    assert sc.with_param("subnet_selection", "round-robin").placement.subnet_selection == (
        "round-robin"
    )
    with pytest.raises(ScenarioError):
        sc.with_param("no_such_thing", 1)
    with pytest.raises(ScenarioError, match=r"cni\.warm_prefix_target"):
        sc.with_param("warm_prefix_target", -2)


def test_run_timeline_summary_and_frames() -> None:
    r = run(SMALL)
    s = r.summary
    assert s.first_failure is not None and s.first_failure.is_failure
    assert s.first_failure.node is not None and s.first_failure.time == r.timeline[-1].time
    assert s.pods_at_failure == r.timeline[-1].pods_running and s.nodes_at_failure is not None
    assert 0 < (s.used_at_failure or 0) < 1
    assert s.peak_pods == max(rec.pods_running for rec in r.timeline)
    assert s.pods_never_started == r.timeline[-1].pods_pending
    assert any(e.kind == "node-removed" for e in r.events)  # the churn at 600 s
    df = r.to_pandas()
    assert len(df) == len(r.timeline) and {"time", "free_blocks", "addresses_idle"} <= set(df)
    scores = df["fragmentation_score"]
    assert scores.notna().all() and scores.between(0, 100).all()
    assert scores.iloc[-1] > scores.iloc[0]  # the run ends in a failure: more spoiled /28s
    ev = r.events_frame()
    assert list(ev.columns[:3]) == ["time", "step", "kind"]
    assert json.dumps(s.to_dict())  # JSON-safe


def test_a_run_is_deterministic_and_the_seed_matters() -> None:
    a, b, c = run(SMALL), run(SMALL), run(SMALL, seed=5)
    assert a.timeline == b.timeline and a.events == b.events
    assert a.timeline != c.timeline


def test_pods_never_started_when_the_subnet_is_full() -> None:
    r = run(
        {
            "subnets": ["10.0.0.0/26"],
            "nodes": {"initial": 1, "autoscale": False},
            "workload": [{"at": 0, "pods": 40}],
            "duration": 300,
        }
    )
    assert r.summary.pods_never_started == 13 and r.summary.peak_pods == 27


# --- the built-in story --------------------------------------------------------------------
def test_every_builtin_scenario_loads_by_name() -> None:
    for name in BUILTIN:
        assert load_scenario(name).name == name
    with pytest.raises(ipfrag.InvalidArgument):
        scenario("nope")


def test_article_figures() -> None:
    f = article_figures()
    assert (f["secondary_pod_ips"], f["prefix_pod_ips"]) == (27, 432)
    assert (f["prefixes_target0"], f["idle_target0"]) == (5, 75)
    assert (f["prefixes_default"], f["idle_default"]) == (10, 155)
    assert (f["held_secondary"], f["idle_secondary"]) == (90, 85)


def test_scattered_subnet_refuses_a_28_while_most_addresses_are_free() -> None:
    r = run("scattered-subnet", seed=3)
    fail = r.summary.first_failure
    assert fail is not None and fail.kind == "InsufficientCidrBlocks"
    assert (r.summary.used_at_failure or 1) < 0.5  # most of the subnet free, yet no /28


def test_remedies_buy_capacity() -> None:
    rows = {name: mc for name, _, mc in remedies(runs=4, seed=2, progress=False)}
    assert list(rows) == [name for name, _ in REMEDIES]

    def p50(name: str) -> float:
        pods = rows[name].capacity.pods
        assert pods is not None
        return pods.p50

    base = p50("remedies-baseline")
    for name in (
        "remedies-prefix-reservation",
        "remedies-larger-cidr",
        "remedies-fragmentation-aware",
    ):
        assert p50(name) > 1.5 * base, name
    # Dense placement only moves the nodes' own single IPs (one primary per node here); the
    # scattered addresses are other tenants', so it buys little in this scenario.
    assert rows["remedies-dense"].failed_runs == 4
