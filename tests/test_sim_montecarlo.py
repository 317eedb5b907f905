"""Monte Carlo and sweeps: reproducible by seed, identical on every executor; the
hypergeometric law of free /28s under random single-IP placement."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ipfrag
from ipfrag.sim import Cluster
from ipfrag.sim.montecarlo import Percentiles, percentile, run_many, run_seeds, sweep
from ipfrag.sim.scenario import ScenarioError

SMALL: dict[str, Any] = {
    "name": "small",
    "subnets": ["10.0.0.0/22"],
    "cni": {"prefix_delegation": True},
    "nodes": {"max_pods": 110},
    "workload": [{"at": 0, "grow": 50}],
    "tenants": [{"initial": 60}],
    "stop": "first-failure",
    "duration": 36000,
}


# --- the hypergeometric law ------------------------------------------------------------------
def exact_free_blocks(free: int, blocks: int, taken: int) -> tuple[float, float]:
    """Mean and variance of the number of all-free /28s when ``taken`` of ``free`` addresses
    are drawn uniformly without replacement and ``blocks`` /28s hold 16 free addresses each.

    A block stays free with probability C(F-16, m)/C(F, m); two blocks with C(F-32, m)/C(F, m).
    """
    p1 = Fraction(math.comb(free - 16, taken), math.comb(free, taken))
    p2 = Fraction(math.comb(free - 32, taken), math.comb(free, taken))
    mean = blocks * p1
    var = blocks * p1 + blocks * (blocks - 1) * p2 - mean * mean
    return float(mean), float(var)


@pytest.mark.parametrize("u", [0.05, 0.10, 0.20])
def test_free_28s_follow_the_hypergeometric_law(u: float) -> None:
    """Tolerance: the mean over N = 60 runs lies within 4 standard errors (exact variance) of
    the exact expectation; fixed seeds, so the test is deterministic (a 4-sigma band fails by
    chance with probability about 6e-5 when the law holds)."""
    runs = 60
    usable, blocks = 4091, 254  # a /20: 4096 - 5 AWS-reserved; first and last /28 excluded
    taken = round(u * usable)
    counts = []
    for seed in run_seeds(2024, runs):
        c = Cluster("10.0.0.0/20", seed=seed)
        assert c.take_tenant_ips(taken) == taken
        counts.append(c.subnet.free_block_count(28))
    mean, var = exact_free_blocks(usable, blocks, taken)
    observed = sum(counts) / runs
    assert abs(observed - mean) <= 4 * math.sqrt(var / runs), (observed, mean)
    # (1-u)^16 is the binomial approximation of the same law
    assert abs(mean / blocks - (1 - u) ** 16) < 0.01


def test_exact_law_matches_brute_force_on_a_tiny_space() -> None:
    # 2 blocks of 16 in 32 addresses, 3 taken: enumerate all C(32, 3) placements
    from itertools import combinations

    total = free2 = 0
    for picks in combinations(range(32), 3):
        n = sum(all(p // 16 != b for p in picks) for b in (0, 1))
        total += n
        free2 += n * n
    k = math.comb(32, 3)
    mean, var = exact_free_blocks(32, 2, 3)
    assert math.isclose(mean, total / k) and math.isclose(var, free2 / k - (total / k) ** 2)


# --- seeds, percentiles --------------------------------------------------------------------
def test_run_seeds_are_a_deterministic_prefix_family() -> None:
    assert run_seeds(7, 5) == run_seeds(7, 9)[:5]
    assert run_seeds(7, 3) != run_seeds(8, 3)
    assert all(0 <= s < 2**63 for s in run_seeds(1, 100))


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_matches_numpy(values: list[int], q: float) -> None:
    np = pytest.importorskip("numpy")
    assert math.isclose(percentile(values, q), float(np.percentile(values, q)), abs_tol=1e-9)


def test_percentiles_of() -> None:
    p = Percentiles.of([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (p.p5, p.p50, p.p95, p.mean) == (1.2, 3.0, 4.8, 3.0)
    with pytest.raises(ipfrag.InvalidArgument):
        percentile([], 50)


# --- reproducible everywhere ----------------------------------------------------------------
def test_run_many_is_reproducible_and_summarises_capacity() -> None:
    a = run_many(SMALL, runs=6, seed=11, progress=False)
    b = run_many(SMALL, runs=6, seed=11, progress=False)
    assert a.summaries == b.summaries and a.runs == 6 and a.failed_runs == 6
    pods = sorted(s.pods_at_failure or 0 for s in a.summaries)
    assert a.capacity.pods is not None and a.capacity.pods.p50 == percentile(pods, 50)
    assert a.capacity.used is not None and 0 < a.capacity.used.p50 < 1
    assert run_many(SMALL, runs=6, seed=12, progress=False).summaries != a.summaries
    # one run of many is the run of its seed
    assert a.summaries[3] == ipfrag.sim.scenario.run(SMALL, seed=a.seeds[3]).summary


def test_serial_threads_and_process_pool_agree() -> None:
    serial = run_many(SMALL, runs=6, seed=3, progress=False)
    with ThreadPoolExecutor(2) as ex:
        threads = run_many(SMALL, runs=6, seed=3, executor=ex, progress=False)
    procs = run_many(SMALL, runs=6, seed=3, workers=2, progress=False)
    assert serial.summaries == threads.summaries == procs.summaries
    assert serial.to_dict() == procs.to_dict()


def test_sweep_serial_and_dask_agree() -> None:
    distributed = pytest.importorskip("distributed")
    values = [0, 1, 2]
    serial = sweep(SMALL, "warm_prefix_target", values, runs=3, seed=5, progress=False)
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = sweep(
            SMALL,
            "warm_prefix_target",
            values,
            runs=3,
            seed=5,
            executor=client.get_executor(),
            progress=False,
        )
    assert serial.to_dict() == on_dask.to_dict()
    assert [r.scenario.cni.warm_prefix_target for r in serial.results] == values
    # common random numbers: every value runs the same seeds
    assert len({r.seeds for r in serial.results}) == 1


def test_sweep_validates_values_before_running() -> None:
    with pytest.raises(ScenarioError, match=r"cni\.warm_prefix_target"):
        sweep(SMALL, "warm_prefix_target", [1, -1], runs=2, progress=False)
    with pytest.raises(ScenarioError):
        sweep(SMALL, "nope", [1], runs=2, progress=False)
    with pytest.raises(ipfrag.InvalidArgument):
        sweep(SMALL, "warm_prefix_target", [], runs=2, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"runs": 0}, ipfrag.InvalidArgument),
        ({"runs": "3"}, ipfrag.InvalidType),
        ({"seed": -1}, ipfrag.InvalidArgument),
        ({"workers": 0}, ipfrag.InvalidArgument),
        ({"executor": "pool"}, ipfrag.InvalidType),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        run_many(SMALL, **{"runs": 2, "progress": False, **kwargs})


def test_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    run_many(SMALL, runs=2, seed=1, progress=True)
    assert "2/2" in capsys.readouterr().err


def test_dense_keeps_more_28s_than_random_in_secondary_mode() -> None:
    """Dense placement's point (Cilium #38499): the prefix capacity left after single IPs."""
    base = {
        "subnets": ["10.0.0.0/21"],
        "nodes": {"initial": 10, "autoscale": False},
        "workload": [{"at": 0, "pods": 200}],
        "tenants": [{"initial": 100}],
        "duration": 120,
    }
    sw = sweep(base, "flavour", ["vpc-cni", "dense"], runs=4, seed=1, progress=False)
    random_blocks, dense_blocks = (sum(s.free_blocks for s in r.summaries) / 4 for r in sw.results)
    assert dense_blocks > random_blocks + 30
