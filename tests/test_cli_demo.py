"""The built-in example: `ipfrag demo` shows InsufficientCidrBlocks with thousands of free IPs."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from ipfrag.cli import main
from ipfrag.cli.demo import run_demo


def test_demo_default_run_fails_with_thousands_free(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "InsufficientCidrBlocks" in out
    m = re.search(r"At that moment: (\d+) addresses free", out)
    assert m is not None
    assert int(m.group(1)) > 2000
    assert "0 free /28" in out


def test_run_demo_figures_are_consistent() -> None:
    buf = io.StringIO()
    r = run_demo("10.0.0.0/20", singles=600, step=200, seed=3, out=buf)
    assert r["error"] == "InsufficientCidrBlocks"
    assert r["free_28"] == 0
    # 4091 usable, minus the singles, minus 16 per prefix taken before the failure.
    assert r["free_addresses"] == 4091 - 600 - 16 * r["prefixes"]
    assert r["free_addresses"] > 2000
    # The table has a row per step plus the start.
    rows = [line for line in buf.getvalue().splitlines() if re.match(r"\s+\d+\s+\d+\.\d%", line)]
    assert len(rows) == 4


def test_run_demo_is_reproducible_by_seed() -> None:
    a = run_demo("10.0.0.0/22", singles=100, seed=5, out=io.StringIO())
    b = run_demo("10.0.0.0/22", singles=100, seed=5, out=io.StringIO())
    assert a == b


def test_demo_rejects_bad_cidr() -> None:
    with pytest.raises(ValueError):
        run_demo("10.0.0.5/20", out=io.StringIO())


def test_console_entry_point_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ipfrag", "demo", "--cidr", "10.0.0.0/22", "--singles", "80"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "InsufficientCidrBlocks" in proc.stdout
