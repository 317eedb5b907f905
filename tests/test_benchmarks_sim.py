"""The simulator's asv suites run (asv cannot import a worktree that is not installed, so the
suites are exercised here the way asv calls them: setup, then every ``time_`` method once)."""

from __future__ import annotations

import pytest

from benchmarks import bench_sim


@pytest.mark.parametrize("suite", [bench_sim.SimRuns, bench_sim.ClusterStep])
def test_asv_suites_run(suite: type) -> None:
    bench = suite()
    bench.setup()
    names = [n for n in dir(bench) if n.startswith("time_")]
    assert names
    for name in names:
        getattr(bench, name)()
