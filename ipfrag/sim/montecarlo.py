"""Monte Carlo runs and parameter sweeps of a scenario, serial or on any executor.

Every run gets its own seed, derived from the base seed and the run's index by hashing
(:func:`run_seeds`), so the numbers do not depend on where or in which order runs execute:
serially, in a :class:`concurrent.futures.ProcessPoolExecutor`, or on a Dask cluster through
``distributed.Client.get_executor()`` they are identical. A sweep uses the same seeds for every
value (common random numbers), so differences between values are the values' doing.

The capacity at the first failure (pods running, nodes, share of the subnets in use) is
summarised by percentiles over the runs that failed (:class:`Capacity`).

>>> sc = {"subnets": ["10.0.0.0/23"], "cni": {"prefix_delegation": True},
...       "workload": [{"at": 0, "grow": 40}], "stop": "first-failure", "duration": 36000}
>>> mc = run_many(sc, runs=4, seed=1, progress=False)
>>> mc.failed_runs, mc.capacity.pods.p50 > 200
(4, True)
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from ipfrag.errors import InvalidArgument, InvalidType
from ipfrag.sim.scenario import Scenario, SimExtraMissing, Summary, load_scenario, run

__all__ = [
    "Capacity",
    "MonteCarloResult",
    "Percentiles",
    "SweepResult",
    "percentile",
    "run_many",
    "run_seeds",
    "sweep",
]

_QUANTILES = (5.0, 25.0, 50.0, 75.0, 95.0)


def run_seeds(seed: int, runs: int) -> list[int]:
    """The seeds of runs ``0 .. runs-1``: SHA-256 of ``"seed:index"``, 63 bits. O(runs).

    >>> run_seeds(1, 2) == run_seeds(1, 3)[:2], len(set(run_seeds(1, 1000)))
    (True, 1000)
    """
    return [
        int.from_bytes(hashlib.sha256(f"ipfrag.sim:{seed}:{i}".encode()).digest()[:8], "big") >> 1
        for i in range(runs)
    ]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation (numpy's default). O(n log n).

    >>> percentile([1, 2, 3, 4], 50), percentile([10], 95)
    (2.5, 10.0)
    """
    if not values:
        raise InvalidArgument("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


@dataclass(frozen=True, slots=True)
class Percentiles:
    """The 5th, 25th, 50th, 75th and 95th percentiles and the mean of some values.

    >>> Percentiles.of([1, 2, 3]).p50
    2.0
    """

    p5: float
    p25: float
    p50: float
    p75: float
    p95: float
    mean: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles:
        """Summarise ``values`` (non-empty). O(n log n).

        >>> Percentiles.of([0, 10]).p95
        9.5
        """
        p5, p25, p50, p75, p95 = (percentile(values, q) for q in _QUANTILES)
        return cls(p5, p25, p50, p75, p95, sum(values) / len(values))


@dataclass(frozen=True, slots=True)
class Capacity:
    """Percentiles of pods running, nodes, and used share of the subnets at the first failure,
    over the runs that failed (each None when no run failed)."""

    pods: Percentiles | None
    nodes: Percentiles | None
    used: Percentiles | None

    @classmethod
    def of(cls, summaries: Iterable[Summary]) -> Capacity:
        """From run summaries; runs without a failure are left out. O(runs log runs).

        >>> Capacity.of([]).pods is None
        True
        """
        failed = [s for s in summaries if s.first_failure is not None]
        if not failed:
            return cls(None, None, None)
        return cls(
            Percentiles.of([float(s.pods_at_failure or 0) for s in failed]),
            Percentiles.of([float(s.nodes_at_failure or 0) for s in failed]),
            Percentiles.of([float(s.used_at_failure or 0.0) for s in failed]),
        )


@dataclass(frozen=True, slots=True)
class MonteCarloResult:
    """Many seeded runs of one scenario: their summaries (in run order) and the capacity."""

    scenario: Scenario
    seed: int
    seeds: tuple[int, ...]
    summaries: tuple[Summary, ...]
    capacity: Capacity

    @property
    def runs(self) -> int:
        """How many runs. O(1).

        >>> run_many({"subnets": ["10.0.0.0/24"], "duration": 0}, runs=2, progress=False).runs
        2
        """
        return len(self.summaries)

    @property
    def failed_runs(self) -> int:
        """How many runs hit a failure. O(runs).

        >>> run_many({"subnets": ["10.0.0.0/24"], "duration": 0}, runs=2,
        ...          progress=False).failed_runs
        0
        """
        return sum(s.first_failure is not None for s in self.summaries)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: scenario name, runs, failures, capacity percentiles, per-run figures.

        O(runs).

        >>> d = run_many({"subnets": ["10.0.0.0/24"], "duration": 0}, runs=1,
        ...              progress=False).to_dict()
        >>> d["runs"], d["capacity"]["pods"]
        (1, None)
        """
        from dataclasses import asdict

        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "runs": self.runs,
            "failed_runs": self.failed_runs,
            "capacity": {
                k: None if v is None else asdict(v)
                for k, v in (
                    ("pods", self.capacity.pods),
                    ("nodes", self.capacity.nodes),
                    ("used", self.capacity.used),
                )
            },
            "per_run": [
                {
                    "seed": seed,
                    "failure": None if s.first_failure is None else s.first_failure.kind,
                    "failure_time": None if s.first_failure is None else s.first_failure.time,
                    "pods_at_failure": s.pods_at_failure,
                    "nodes_at_failure": s.nodes_at_failure,
                    "used_at_failure": s.used_at_failure,
                    "peak_pods": s.peak_pods,
                    "pods_never_started": s.pods_never_started,
                }
                for seed, s in zip(self.seeds, self.summaries, strict=True)
            ],
        }


@dataclass(frozen=True, slots=True)
class SweepResult:
    """A sweep: the parameter, and one :class:`MonteCarloResult` per value (same seeds)."""

    param: str
    values: tuple[Any, ...]
    results: tuple[MonteCarloResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the parameter and each value's Monte Carlo result. O(values x runs).

        >>> sw = sweep({"subnets": ["10.0.0.0/24"], "duration": 0}, "flavour",
        ...            ["vpc-cni", "cilium"], runs=1, progress=False)
        >>> [r["value"] for r in sw.to_dict()["results"]]
        ['vpc-cni', 'cilium']
        """
        return {
            "param": self.param,
            "results": [
                {"value": v, **r.to_dict()} for v, r in zip(self.values, self.results, strict=True)
            ],
        }


# ------------------------------------------------------------------------------- execution
def _run_chunk(scenario: Scenario, seeds: Sequence[int]) -> list[Summary]:
    """One task: a few runs (module-level, so process pools and Dask can pickle it)."""
    return [run(scenario, seed=s).summary for s in seeds]


def _chunks(seeds: Sequence[int], size: int) -> list[list[int]]:
    return [list(seeds[i : i + size]) for i in range(0, len(seeds), size)]


def _check_runs(runs: object, seed: object) -> None:
    for name, v, low in (("runs", runs, 1), ("seed", seed, 0)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise InvalidType(f"{name} must be an int, not {v!r}")
        if v < low:
            raise InvalidArgument(f"{name} must be >= {low}, not {v}")


def _progress(total: int, enabled: bool | None, desc: str) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError as e:
        raise SimExtraMissing("a progress bar needs tqdm: pip install 'ipfrag[sim]'") from e
    return tqdm(total=total, desc=desc, unit="run", file=sys.stderr)


def _execute(
    tasks: list[tuple[Scenario, list[int]]],
    *,
    executor: Executor | None,
    workers: int | None,
    bar: Any,
) -> list[list[Summary]]:
    """Run the tasks, in order of results = order of tasks, on the chosen executor."""
    if workers is not None:
        if not isinstance(workers, int) or isinstance(workers, bool):
            raise InvalidType(f"workers must be an int, not {workers!r}")
        if workers < 1:
            raise InvalidArgument(f"workers must be >= 1, not {workers}")
    if executor is not None and not isinstance(executor, Executor):
        raise InvalidType(f"executor must be a concurrent.futures.Executor, not {executor!r}")
    own: Executor | None = None
    if executor is None and workers is not None and workers > 1:
        executor = own = ProcessPoolExecutor(max_workers=workers)
    try:
        results: Iterator[list[Summary]]
        if executor is None:
            results = (_run_chunk(sc, seeds) for sc, seeds in tasks)
        else:
            results = executor.map(_run_chunk, *zip(*tasks, strict=True))
        out = []
        for r in results:
            out.append(r)
            if bar is not None:
                bar.update(len(r))
        return out
    finally:
        if own is not None:
            own.shutdown()
        if bar is not None:
            bar.close()


def _chunk_size(runs: int, workers: int | None, executor: Executor | None) -> int:
    parallel = workers or (os.cpu_count() or 1 if executor is not None else 1)
    return max(1, runs // (parallel * 8)) if parallel > 1 else max(1, runs // 20)


def run_many(
    scenario: Scenario | Mapping[str, Any] | str,
    runs: int = 100,
    seed: int = 0,
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> MonteCarloResult:
    """``runs`` seeded runs of a scenario (a :class:`Scenario`, data, a file or built-in name).

    ``executor``: any :class:`concurrent.futures.Executor` (a Dask cluster through
    ``distributed.Client(...).get_executor()``); without one, ``workers > 1`` starts a
    process pool, else the runs are serial. Results do not depend on the choice.
    ``progress``: a tqdm bar on stderr (None: only when stderr is a terminal).
    Cost: runs x one run.

    >>> a = run_many("remedies-baseline", runs=2, seed=3, progress=False)
    >>> a.summaries == run_many("remedies-baseline", runs=2, seed=3, progress=False).summaries
    True
    """
    _check_runs(runs, seed)
    sc = load_scenario(scenario)
    seeds = run_seeds(seed, runs)
    tasks = [(sc, chunk) for chunk in _chunks(seeds, _chunk_size(runs, workers, executor))]
    bar = _progress(runs, progress, sc.name)
    parts = _execute(tasks, executor=executor, workers=workers, bar=bar)
    summaries = tuple(s for part in parts for s in part)
    return MonteCarloResult(sc, seed, tuple(seeds), summaries, Capacity.of(summaries))


def sweep(
    scenario: Scenario | Mapping[str, Any] | str,
    param: str,
    values: Sequence[Any],
    runs: int = 100,
    seed: int = 0,
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Monte Carlo runs of the scenario for each value of one parameter (same seeds for all).

    ``param`` as in :meth:`Scenario.with_param` (``warm_prefix_target``, ``cni.flavour``,
    ``subnets.0.cidr``, ``subnet_selection`` ...). Every value is validated before any run.
    Cost: values x runs x one run.

    >>> sc = {"subnets": ["10.0.0.0/24"], "cni": {"prefix_delegation": True},
    ...       "workload": [{"at": 0, "pods": 5}], "nodes": {"initial": 5}, "duration": 60}
    >>> sw = sweep(sc, "warm_prefix_target", [0, 1], runs=2, progress=False)
    >>> [r.summaries[0].idle_addresses for r in sw.results]
    [75, 155]
    """
    _check_runs(runs, seed)
    if not isinstance(values, (list, tuple)) or not values:
        raise InvalidArgument("values must be a non-empty list")
    base = load_scenario(scenario)
    variants = [base.with_param(param, v) for v in values]
    seeds = run_seeds(seed, runs)
    size = _chunk_size(runs, workers, executor)
    tasks = [(sc, chunk) for sc in variants for chunk in _chunks(seeds, size)]
    bar = _progress(runs * len(variants), progress, f"{base.name}: {param}")
    parts = _execute(tasks, executor=executor, workers=workers, bar=bar)
    per = len(tasks) // len(variants)
    results = []
    for i, sc in enumerate(variants):
        summaries = tuple(s for part in parts[i * per : (i + 1) * per] for s in part)
        results.append(MonteCarloResult(sc, seed, tuple(seeds), summaries, Capacity.of(summaries)))
    return SweepResult(param, tuple(values), tuple(results))
