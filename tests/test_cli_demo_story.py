"""``ipfrag demo`` part two: the article's figures and the remedies, from the simulator."""

from __future__ import annotations

import io

import pytest

from ipfrag.cli import main
from ipfrag.cli.demo import run_story


def test_demo_keeps_part_one_first_then_the_story(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Subnet 10.0.0.0/20")
    assert out.index("At that moment:") < out.index("What-if simulation")
    assert "27 in secondary-IP mode, 432 in prefix mode" in out
    assert "5 /28s,  75 addresses idle" in out and "10 /28s, 155 addresses idle" in out


def test_story_remedies_come_from_monte_carlo() -> None:
    buf = io.StringIO()
    r = run_story(runs=3, seed=1, out=buf)
    names = [name for name, _ in r["remedies"]]
    assert names[0] == "remedies-baseline" and len(names) == 5
    pods = {name: cap.pods.p50 for name, cap in r["remedies"] if cap.pods is not None}
    assert pods["remedies-prefix-reservation"] > pods["remedies-baseline"]
    line = next(x for x in buf.getvalue().splitlines() if "prefix CIDR reservation" in x)
    assert f"{pods['remedies-prefix-reservation']:.0f}" in line
