"""What-if simulation: EKS clusters growing on real subnets under the real IPAM rules.

>>> import ipfrag.sim
>>> c = ipfrag.sim.Cluster("10.0.0.0/20", prefix_delegation=True, warm_prefix_target=1,
...                        policy="random", seed=1)
>>> n = c.add_node("m5.large"); c.add_pods(1, node=n); c.settle()
1
>>> c.node_usage(n)
{'enis': 1, 'prefixes': 2, 'addresses': 32, 'in_use': 1, 'idle': 31}
"""

from __future__ import annotations

from ipfrag.sim.cluster import (
    FAILURE_KINDS,
    SCHEDULING,
    SUBNET_SELECTION,
    Cluster,
    Event,
    NodeUsage,
    Tenant,
    TimelineRecord,
)
from ipfrag.sim.cni import FLAVOURS, CniConfig, PoolStats

__all__ = [
    "FAILURE_KINDS",
    "FLAVOURS",
    "SCHEDULING",
    "SUBNET_SELECTION",
    "Cluster",
    "CniConfig",
    "Event",
    "NodeUsage",
    "PoolStats",
    "Tenant",
    "TimelineRecord",
]
