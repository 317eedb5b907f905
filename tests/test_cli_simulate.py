"""``ipfrag simulate``: built-in names and files, runs, sweeps, JSON, plots, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipfrag.cli import main
from ipfrag.cli.simulate import parse_sweep
from ipfrag.sim.scenario import run

ROOT = Path(__file__).resolve().parent.parent
SMALL = """
name = "small"
subnets = ["10.0.0.0/22"]
stop = "first-failure"
duration = 36000
[cni]
prefix_delegation = true
[nodes]
max_pods = 110
[[workload]]
at = 0
grow = 50
[[tenants]]
initial = 60
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    p = tmp_path / "small.toml"
    p.write_text(SMALL)
    return p


def test_one_run_prints_the_first_failure(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(small), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    r = run(small, seed=3)
    f = r.summary.first_failure
    assert f is not None
    assert f"{f.kind} on {f.node}" in out
    assert f"then: {r.summary.pods_at_failure} pods running" in out
    last = out.rstrip().splitlines()[-1].split()
    assert "score" in out and last[-1] == str(r.timeline[-1].fragmentation_score)


def test_runs_print_capacity_percentiles(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(small), "--runs", "4", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "4 runs from seed 1" in out and "4/4" in out


def test_json_run_many_matches_the_api(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ipfrag.sim.montecarlo import run_many

    assert main(["simulate", str(small), "--runs", "3", "--seed", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(run_many(small, 3, 2, progress=False).to_dict()))


def test_sweep_and_plot(small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "sweep.png"
    argv = ["simulate", str(small), "--runs", "2", "--sweep", "warm_prefix_target=0,2"]
    assert main([*argv, "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "warm_prefix_target=0" in out and "warm_prefix_target=2" in out
    assert png.stat().st_size > 1000


def test_single_run_json_and_timeline_plot(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "t.png"
    assert main(["simulate", str(small), "--json", "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["first_failure"]["kind"] == "InsufficientCidrBlocks"
    assert len(data["timeline"]) == data["summary"]["steps"] + 1
    assert png.exists()


def test_list_and_builtin_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list"]) == 0
    out = capsys.readouterr().out
    assert "article-fill-16" in out and "remedies-dense" in out
    assert main(["simulate", "remedies-baseline"]) == 0
    assert "First failure" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "no-such-scenario"],
        ["simulate"],
        ["simulate", "remedies-baseline", "--sweep", "warm_prefix_target=-1"],
        ["simulate", "remedies-baseline", "--sweep", "colour=1,2"],
    ],
)
def test_bad_input_is_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ipfrag simulate: error:") and err.count("\n") == 1


def test_bad_toml_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[cni]\nwarm_prefix_target = -1\nsubnets = 3")
    assert main(["simulate", str(bad)]) == 2
    assert "bad.toml" in capsys.readouterr().err


def test_parse_sweep() -> None:
    assert parse_sweep("flavour=vpc-cni,dense") == ("flavour", ["vpc-cni", "dense"])
    assert parse_sweep("cni.prefix_delegation=true,false")[1] == [True, False]
    with pytest.raises(Exception, match="PARAM=V1"):
        parse_sweep("flavour")


def test_console_entry_point(small: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "ipfrag", "simulate", str(small), "--runs", "2", "--workers", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    assert "2/2" in proc.stdout and proc.stderr == ""
