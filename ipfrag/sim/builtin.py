"""Built-in scenarios: the story of "IP and Pod allocations in EKS", and the remedies.

- :func:`article_figures`: m5.large in secondary mode holds at most 27 pod IPs, in prefix mode
  432; five nodes with one pod each hold five /28s with 75 addresses idle under
  ``WARM_PREFIX_TARGET=0`` (the article's count) and ten /28s with 155 idle under the real
  default ``WARM_PREFIX_TARGET=1``; secondary mode with ``WARM_ENI_TARGET=1`` for comparison;
- ``scattered-subnet``: a /20 with scattered single IPs refuses a /28 while most addresses are
  free;
- ``article-fill-16``: a /16 filled with m5.large prefix-mode nodes until the first failure
  (the performance benchmark);
- ``remedies-*``: two /21 subnets (AZs) with Lambda and load-balancer addresses, prefix-mode
  nodes growing until the first failure, and the remedies: a prefix CIDR reservation, larger
  CIDRs, dense placement, fragmentation-aware subnet selection; :func:`remedies` runs them
  side by side through Monte Carlo.

>>> sorted(BUILTIN)[:2]
['article-fill-16', 'remedies-baseline']
>>> scenario("scattered-subnet").tenants[0].initial
600
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from concurrent.futures import Executor
from typing import Any

from ipfrag.errors import InvalidArgument
from ipfrag.sim.cluster import Cluster
from ipfrag.sim.montecarlo import MonteCarloResult, run_many
from ipfrag.sim.scenario import Scenario

__all__ = ["BUILTIN", "REMEDIES", "article_figures", "remedies", "scenario"]

_WEEK = 7 * 24 * 3600.0

_BASELINE: dict[str, Any] = {
    "name": "remedies-baseline",
    "description": (
        "Two /21 node subnets (two AZs); Lambda holds 400 scattered addresses in the first and "
        "takes 120 more an hour, load balancers 40 in the second; m5.large prefix-mode nodes "
        "(max pods 110) scale out as 60 pods arrive a minute; Karpenter picks the subnet with "
        "the most free addresses; EC2 places at random. Runs until the first failure."
    ),
    "subnets": ["10.0.0.0/21", "10.0.8.0/21"],
    "cni": {"prefix_delegation": True},
    "nodes": {"instance_type": "m5.large", "max_pods": 110},
    "workload": [{"at": 0, "grow": 60}],
    "tenants": [
        {"name": "lambda", "initial": 400, "take_per_hour": 120, "subnet": 0},
        {"name": "elb", "initial": 40, "subnet": 1},
    ],
    "stop": "first-failure",
    "duration": _WEEK,
}


def _variant(name: str, description: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(_BASELINE)
    data.update(changes)
    data["name"] = name
    data["description"] = description
    return data


#: The remedies side by side: (scenario name, what changes).
REMEDIES: tuple[tuple[str, str], ...] = (
    ("remedies-baseline", "as is"),
    ("remedies-prefix-reservation", "a prefix CIDR reservation (a /22 per subnet)"),
    ("remedies-larger-cidr", "larger CIDRs (/20 instead of /21)"),
    ("remedies-dense", "dense placement (Cilium #38499: best-fit)"),
    ("remedies-fragmentation-aware", "subnet selection by free /28s, not free addresses"),
)

_DATA: dict[str, dict[str, Any]] = {
    "article-fill-16": {
        "name": "article-fill-16",
        "description": (
            "A /16 filled with m5.large prefix-mode nodes (max pods 110, the EKS cap for 2 vCPUs) "
            "as 108 pods arrive a minute, until the first InsufficientCidrBlocks. Only the "
            "nodes' own primary IPs scatter."
        ),
        "subnets": ["10.0.0.0/16"],
        "cni": {"prefix_delegation": True},
        "nodes": {"instance_type": "m5.large", "max_pods": 110},
        "workload": [{"at": 0, "grow": 108}],
        "stop": "first-failure",
        "duration": _WEEK,
    },
    "scattered-subnet": {
        "name": "scattered-subnet",
        "description": (
            "A /20 where other tenants hold 600 scattered single IPs (15%); m5.large "
            "prefix-mode nodes scale out until EC2 refuses a /28 while most addresses are free."
        ),
        "subnets": ["10.0.0.0/20"],
        "cni": {"prefix_delegation": True},
        "nodes": {"instance_type": "m5.large", "max_pods": 110},
        "workload": [{"at": 0, "grow": 60}],
        "tenants": [{"name": "lambda", "initial": 600}],
        "stop": "first-failure",
        "duration": _WEEK,
    },
    "remedies-baseline": _BASELINE,
    "remedies-prefix-reservation": _variant(
        "remedies-prefix-reservation",
        "The baseline with a /22 prefix CIDR reservation in each subnet, made before the "
        "tenants arrive: their single IPs stay out, prefixes come from it first.",
        subnets=[
            {"cidr": "10.0.0.0/21", "reservations": [{"cidr": "10.0.4.0/22", "kind": "prefix"}]},
            {"cidr": "10.0.8.0/21", "reservations": [{"cidr": "10.0.12.0/22", "kind": "prefix"}]},
        ],
    ),
    "remedies-larger-cidr": _variant(
        "remedies-larger-cidr",
        "The baseline on two /20 subnets instead of /21 (a larger or secondary VPC CIDR).",
        subnets=["10.0.0.0/20", "10.0.16.0/20"],
    ),
    "remedies-dense": _variant(
        "remedies-dense",
        "The baseline with the dense IPAM flavour: the nodes' single IPs go into already "
        "spoiled /28s, prefixes into the smallest free run (tenants stay random).",
        cni={"prefix_delegation": True, "flavour": "dense"},
    ),
    "remedies-fragmentation-aware": _variant(
        "remedies-fragmentation-aware",
        "The baseline with nodes placed in the subnet with the most free /28s.",
        placement={"subnet_selection": "most-free-28"},
    ),
}

#: The built-in scenarios by name (plain data, as a TOML or JSON file would hold it).
BUILTIN: Mapping[str, Mapping[str, Any]] = _DATA


def scenario(name: str) -> Scenario:
    """The built-in scenario ``name`` (see :data:`BUILTIN`); InvalidArgument if unknown.

    Cost: O(subnet sizes) (validation builds the subnets once).

    >>> scenario("remedies-dense").cni.flavour
    'dense'
    """
    if name not in _DATA:
        raise InvalidArgument(f"no built-in scenario {name!r}; there are {', '.join(_DATA)}")
    return Scenario.from_dict(copy.deepcopy(_DATA[name]))


def remedies(
    runs: int = 50,
    seed: int = 0,
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[tuple[str, str, MonteCarloResult]]:
    """Monte Carlo runs of the baseline and each remedy (same seeds): (name, change, result).

    Cost: 5 x runs runs of about a hundred steps.

    >>> rows = remedies(runs=3, seed=1, progress=False)
    >>> [name for name, _, _ in rows][:2]
    ['remedies-baseline', 'remedies-prefix-reservation']
    """
    return [
        (
            name,
            change,
            run_many(
                scenario(name),
                runs,
                seed,
                executor=executor,
                workers=workers,
                progress=progress,
            ),
        )
        for name, change in REMEDIES
    ]


def article_figures(seed: int = 1) -> dict[str, int]:
    """The article's numbers, computed by the model (not typed in). Cost: a few small clusters.

    - ``secondary_pod_ips`` / ``prefix_pod_ips``: an m5.large filled with pods;
    - ``prefixes_target0`` / ``idle_target0``: five nodes with one pod each,
      ``WARM_PREFIX_TARGET=0``; ``prefixes_default`` / ``idle_default``: the same under the
      default ``WARM_PREFIX_TARGET=1``; ``held_secondary`` / ``idle_secondary``: the same in
      secondary mode with ``WARM_ENI_TARGET=1``.

    >>> f = article_figures()
    >>> f["secondary_pod_ips"], f["prefix_pod_ips"], f["idle_target0"], f["idle_default"]
    (27, 432, 75, 155)
    """
    out: dict[str, int] = {}
    for key, prefix in (("secondary_pod_ips", False), ("prefix_pod_ips", True)):
        c = Cluster("10.0.0.0/20", prefix_delegation=prefix, seed=seed)
        n = c.add_node("m5.large")
        c.add_pods(c.node_info(n)["max_pods"] - 2, node=n)
        c.settle()
        out[key] = c.node_usage(n)["in_use"]
    for suffix, kwargs in (
        ("target0", {"prefix_delegation": True, "warm_prefix_target": 0}),
        ("default", {"prefix_delegation": True}),
        ("secondary", {"prefix_delegation": False, "warm_eni_target": 1}),
    ):
        c = Cluster("10.0.0.0/20", seed=seed, **kwargs)
        for _ in range(5):
            c.add_pods(1, node=c.add_node("m5.large"))
        c.settle()
        usage = [c.node_usage(n) for n in c.nodes]
        if kwargs["prefix_delegation"]:
            out[f"prefixes_{suffix}"] = sum(u["prefixes"] for u in usage)
        else:
            out[f"held_{suffix}"] = sum(u["addresses"] for u in usage)
        out[f"idle_{suffix}"] = sum(u["idle"] for u in usage)
    return out
