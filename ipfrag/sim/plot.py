"""Plots of runs and Monte Carlo results (matplotlib, the ``plot`` extra, imported lazily).

>>> from ipfrag.sim.scenario import run
>>> fig = plot_timeline(run({"subnets": ["10.0.0.0/24"], "duration": 120}))
>>> len(fig.axes)  # pods; free /28s with free addresses on a twin axis
3
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ipfrag.sim.montecarlo import MonteCarloResult, SweepResult
from ipfrag.sim.scenario import RunResult, SimExtraMissing

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_capacity", "plot_timeline", "save"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - matplotlib is in the dev extra
        raise SimExtraMissing("plots need matplotlib: pip install 'ipfrag[plot]'") from e
    return plt


def plot_timeline(result: RunResult) -> Figure:
    """Pods (running, pending) and the subnets (free addresses, free /28s) over time, with the
    first failure marked. Cost: O(steps).

    >>> from ipfrag.sim.scenario import run
    >>> plot_timeline(run({"subnets": ["10.0.0.0/24"], "duration": 60})).axes[1].get_ylabel()
    'free /28 blocks'
    """
    plt = _pyplot()
    tl = result.timeline
    hours = [r.time / 3600 for r in tl]
    fig: Figure
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    top.plot(hours, [r.pods_running for r in tl], label="pods running")
    top.plot(hours, [r.pods_pending for r in tl], label="pods pending")
    top.plot(hours, [r.addresses_idle for r in tl], label="idle addresses (warm pools)")
    top.set_ylabel("pods / addresses")
    top.legend(loc="upper left")
    bottom.plot(hours, [r.free_blocks for r in tl], color="tab:red", label="free /28")
    bottom.set_ylabel("free /28 blocks")
    other = bottom.twinx()
    other.plot(hours, [r.free_addresses for r in tl], color="tab:gray", label="free addresses")
    other.set_ylabel("free addresses")
    bottom.set_xlabel("hours")
    fail = result.summary.first_failure
    if fail is not None:
        for ax in (top, bottom):
            ax.axvline(fail.time / 3600, color="black", linestyle=":")
        top.set_title(f"{result.scenario.name}: first {fail.kind} on {fail.node}")
    else:
        top.set_title(f"{result.scenario.name}: no failure")
    fig.tight_layout()
    return fig


def plot_capacity(result: MonteCarloResult | SweepResult) -> Figure:
    """The distribution of pods running at the first failure: a histogram for one Monte Carlo
    result, a box per value for a sweep. Cost: O(runs).

    >>> from ipfrag.sim.montecarlo import run_many
    >>> mc = run_many({"subnets": ["10.0.0.0/24"], "duration": 0}, runs=2, progress=False)
    >>> plot_capacity(mc).axes[0].get_xlabel()
    'pods running at the first failure'
    """
    plt = _pyplot()
    fig: Figure
    fig, ax = plt.subplots(figsize=(8, 4))
    if isinstance(result, SweepResult):
        data = [
            [float(s.pods_at_failure) for s in r.summaries if s.pods_at_failure is not None]
            for r in result.results
        ]
        ax.boxplot(data)
        ax.set_xticks(range(1, len(data) + 1), [str(v) for v in result.values])
        ax.set_xlabel(result.param)
        ax.set_ylabel("pods running at the first failure")
        ax.set_title(f"{result.results[0].scenario.name}: capacity by {result.param}")
    else:
        pods = [float(s.pods_at_failure) for s in result.summaries if s.pods_at_failure is not None]
        ax.hist(pods, bins=min(30, max(len(pods), 1)))
        ax.set_xlabel("pods running at the first failure")
        ax.set_ylabel("runs")
        ax.set_title(f"{result.scenario.name}: {result.failed_runs} of {result.runs} runs failed")
    fig.tight_layout()
    return fig


def save(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Write a figure to ``path`` (format from the extension) and close it. O(figure).

    >>> import tempfile, pathlib
    >>> from ipfrag.sim.scenario import run
    >>> d = tempfile.mkdtemp(); p = pathlib.Path(d, "t.png")
    >>> save(plot_timeline(run({"subnets": ["10.0.0.0/24"], "duration": 60})), p); p.exists()
    True
    """
    plt = _pyplot()
    fig.savefig(path)
    plt.close(fig)
