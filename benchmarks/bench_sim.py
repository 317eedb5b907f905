"""asv suites for the simulator (:mod:`ipfrag.sim`).

- one run of ``article-fill-16`` (a /16 filled with m5.large prefix-mode nodes until the first
  failure) and of ``remedies-baseline``;
- ten serial Monte Carlo runs of ``remedies-baseline``;
- a Cluster step with 100 nodes (scheduling, autoscaler, settle, record).

Run ``asv run --quick --python=same --show-stderr`` (``asv machine --yes`` once first).
"""

from __future__ import annotations

from ipfrag.sim import Cluster
from ipfrag.sim.builtin import scenario
from ipfrag.sim.montecarlo import run_many
from ipfrag.sim.scenario import Scenario, run


class SimRuns:
    """Whole runs of built-in scenarios (the scenario is validated once, in setup)."""

    timeout = 120

    def setup(self) -> None:
        self.fill: Scenario = scenario("article-fill-16")
        self.remedies: Scenario = scenario("remedies-baseline")

    def time_fill_16_until_first_failure(self) -> None:
        run(self.fill, seed=1)

    def time_remedies_baseline_run(self) -> None:
        run(self.remedies, seed=1)

    def time_remedies_baseline_10_runs_serial(self) -> None:
        run_many(self.remedies, 10, seed=0, progress=False)


class ClusterStep:
    """One clock step of a 100-node prefix-mode cluster: pods arrive and leave."""

    def setup(self) -> None:
        self.c = Cluster("10.0.0.0/16", prefix_delegation=True, seed=1, autoscale="m5.large")
        for _ in range(100):
            self.c.add_pods(50, node=self.c.add_node("m5.large"))
        self.c.settle()

    def time_step_with_churn(self) -> None:
        self.c.add_pods(200)
        self.c.step(60)
        self.c.remove_pods(200)
        self.c.step(60)
