"""``Cluster``: an EKS cluster growing on real subnets, step by step.

Nodes of EC2 instance types (limits from :mod:`ipfrag.aws`) join subnets (:class:`ipfrag.Subnet`),
get a primary ENI with its primary IP, and their IPAM (the VPC CNI by default, see
:mod:`ipfrag.sim.cni`; or Cilium, or "dense" placement, see :mod:`ipfrag.sim.flavours`) keeps a
warm pool of secondary IPs or /28 prefixes on as many ENIs as the type allows. Pods are
scheduled onto nodes and take addresses from the pools; other tenants of the subnet take and
free scattered single IPs. EC2's answers are the subnet's: a prefix that cannot be carved is
``InsufficientCidrBlocks``, recorded as an :class:`Event` (never raised); the node keeps what it
has, backs off for 120 s, and pods without an address stay pending.

>>> import ipfrag.sim
>>> c = ipfrag.sim.Cluster("10.0.0.0/20", prefix_delegation=True, seed=1)
>>> n = c.add_node("m5.large")
>>> c.add_pods(1, node=n)
1
>>> c.settle()
>>> c.node_usage(n)
{'enis': 1, 'prefixes': 2, 'addresses': 32, 'in_use': 1, 'idle': 31}
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from ipfrag.analysis import fragmentation_score
from ipfrag.aws import instance_limits, max_pods
from ipfrag.errors import InsufficientCapacity, InsufficientCidrBlocks, InvalidArgument, InvalidType
from ipfrag.sim import flavours
from ipfrag.sim.cni import (
    CniConfig,
    Flavour,
    PoolStats,
    pool_too_low,
    units_to_add,
    units_to_release,
)
from ipfrag.subnet import Subnet

__all__ = [
    "FAILURE_KINDS",
    "HOST_NETWORK_PODS",
    "SCHEDULING",
    "SUBNET_SELECTION",
    "Cluster",
    "Event",
    "NodeUsage",
    "Scheduling",
    "SubnetSelection",
    "Tenant",
    "TimelineRecord",
]

#: Pods every node runs on the host network (aws-node, kube-proxy): they take no pod IP.
HOST_NETWORK_PODS = 2
#: Event kinds that are EC2 capacity failures.
FAILURE_KINDS: frozenset[str] = frozenset({"InsufficientCidrBlocks", "InsufficientFreeAddresses"})

SubnetSelection = Literal["most-free", "round-robin", "most-free-28"]
#: How a new node picks its subnet: the most free addresses (Karpenter, by
#: ``AvailableIpAddressCount``), round robin, or the most free /28 (/80) prefixes.
SUBNET_SELECTION: tuple[SubnetSelection, ...] = ("most-free", "round-robin", "most-free-28")
Scheduling = Literal["spread", "bin-pack"]
#: Pod placement: onto the node with the fewest pods (default scheduler-like), or the fullest.
SCHEDULING: tuple[Scheduling, ...] = ("spread", "bin-pack")


class NodeUsage(TypedDict):
    """What :meth:`Cluster.node_usage` returns (pod addresses; ENI primary IPs excluded)."""

    enis: int
    prefixes: int
    addresses: int
    in_use: int
    idle: int


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened: an EC2 error (``kind`` is its name), a node joining, ...

    ``time`` in seconds of simulated time, ``step`` the clock step, ``node`` the node's name
    (None for other tenants), ``subnet`` the CIDR concerned.
    """

    time: float
    step: int
    kind: str
    node: str | None
    subnet: str | None
    message: str

    @property
    def is_failure(self) -> bool:
        """Whether this is an EC2 capacity failure. O(1).

        >>> Event(0.0, 0, "InsufficientCidrBlocks", "node-1", "10.0.0.0/24", "").is_failure
        True
        """
        return self.kind in FAILURE_KINDS


@dataclass(frozen=True, slots=True)
class TimelineRecord:
    """The cluster at one moment (see :meth:`Cluster.record`).

    ``addresses_held`` are pod addresses held by nodes (prefix addresses and secondary IPs),
    ``addresses_in_use`` those pods use, ``addresses_idle`` the rest (warm pools);
    ``free_addresses`` / ``free_blocks`` (/28, or /80 for IPv6) / ``used_fraction`` are over
    every subnet of the cluster; ``failures`` counts failure events so far.
    ``fragmentation_score`` is the worst (highest)
    :func:`ipfrag.analysis.fragmentation_score` of the cluster's subnets at the /28 (IPv6:
    /80) size, None when no subnet has a candidate block.
    """

    time: float
    step: int
    nodes: int
    pods_running: int
    pods_pending: int
    addresses_held: int
    addresses_in_use: int
    addresses_idle: int
    free_addresses: int
    free_blocks: int
    used_fraction: float
    tenant_addresses: int
    failures: int
    fragmentation_score: int | None = None


@dataclass(frozen=True, slots=True)
class Tenant:
    """Other users of a subnet (Lambda, ELB, NAT, endpoints): scattered single IPs.

    ``initial`` addresses are taken when the cluster is built, then ``take_per_hour`` more
    and ``free_per_hour`` given back (random ones) as the clock runs. ``subnet`` indexes the
    cluster's node subnets. Placement is EC2's (random), whatever the IPAM flavour.

    >>> Tenant("lambda", initial=100, take_per_hour=30).take_per_hour
    30.0
    """

    name: str = "tenant"
    initial: int = 0
    take_per_hour: float = 0.0
    free_per_hour: float = 0.0
    subnet: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidType(f"tenant name must be a non-empty str, not {self.name!r}")
        for attr in ("initial", "subnet"):
            v = getattr(self, attr)
            if not isinstance(v, int) or isinstance(v, bool):
                raise InvalidType(f"tenant {attr} must be an int, not {v!r}")
            if v < 0:
                raise InvalidArgument(f"tenant {attr} must be >= 0, not {v}")
        for attr in ("take_per_hour", "free_per_hour"):
            v = getattr(self, attr)
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise InvalidType(f"tenant {attr} must be a number, not {v!r}")
            if not v >= 0:
                raise InvalidArgument(f"tenant {attr} must be >= 0, not {v}")
            object.__setattr__(self, attr, float(v))


# ------------------------------------------------------------------------- internal state
class _Eni:
    __slots__ = ("id", "primary", "serves_pods", "subnet", "units")

    def __init__(self, eni_id: str, subnet: int, primary: Any, serves_pods: bool) -> None:
        self.id = eni_id
        self.subnet = subnet  # index into Cluster._all_subnets
        self.primary = primary
        self.serves_pods = serves_pods
        self.units = 0


class _Unit:
    """A pool unit: one prefix, or one secondary IP. ``mask``: bit i set = address i in use."""

    __slots__ = ("cidr", "eni", "is_prefix", "mask", "size", "used")

    def __init__(self, cidr: Any, eni: _Eni, size: int, is_prefix: bool) -> None:
        self.cidr = cidr
        self.eni = eni
        self.size = size
        self.is_prefix = is_prefix
        self.mask = 0
        self.used = 0


class _Node:
    __slots__ = (
        "assigned",
        "backoff_until",
        "empty_since",
        "enis",
        "fallback",
        "free_prefixes",
        "ips_per_eni",
        "max_pod_enis",
        "max_pods",
        "name",
        "pod_capacity",
        "pod_subnet",
        "pods",
        "prefixes",
        "slots",
        "state",
        "subnet",
        "total",
        "type",
        "units",
    )

    def __init__(self, name: str, itype: str, subnet: int, pod_subnet: int) -> None:
        self.name = name
        self.type = itype
        self.subnet = subnet
        self.pod_subnet = pod_subnet
        self.state: Literal["ready", "failed"] = "ready"
        self.enis: list[_Eni] = []
        self.units: list[_Unit] = []
        self.pods = 0  # pods bound to the node
        self.assigned = 0  # of which have an address
        self.total = 0
        self.prefixes = 0
        self.free_prefixes = 0
        self.fallback = False  # Cilium: switched to /32 mode for good
        self.backoff_until = float("-inf")
        self.empty_since: float | None = None
        self.max_pods = 0
        self.pod_capacity = 0
        self.slots = 0
        self.ips_per_eni = 0
        self.max_pod_enis = 0


def _lowest_free_bits(mask: int, k: int) -> tuple[int, int]:
    """Set the ``k`` lowest clear bits of ``mask``; returns (new mask, k)."""
    if mask & (mask + 1) == 0:  # contiguous from bit 0: one shift
        return (mask << k) | ((1 << k) - 1) if mask == 0 else (1 << (mask.bit_length() + k)) - 1, k
    for _ in range(k):
        mask |= mask + 1 & ~mask
    return mask, k


def _check_count(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidType(f"{name} must be an int, not {value!r}")
    if value < 0:
        raise InvalidArgument(f"{name} must be >= 0, not {value}")
    return value


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidArgument(f"unknown {name} {value!r}; expected one of {choices}")


class Cluster:
    """An EKS cluster on one or more subnets, simulated step by step.

    ``subnets``: a CIDR, an :class:`ipfrag.Subnet` (consumed as given), or a sequence of them
    (several node subnets, e.g. one per AZ). ``pod_subnets`` with ``custom_networking=True``:
    pods then take addresses from a separate subnet (ENIConfig), the primary ENI serves none.
    CNI settings (:class:`~ipfrag.sim.cni.CniConfig`) as keyword arguments: ``prefix_delegation``,
    ``warm_eni_target`` (1), ``warm_ip_target``, ``minimum_ip_target``, ``warm_prefix_target``
    (1), ``flavour`` ("vpc-cni", "cilium", "dense"), ``backoff_seconds`` (120). An IPv6 subnet
    means IPv6 mode: prefix delegation, one /80 per node, no warm pool. ``policy`` is the EC2
    placement of subnets built from CIDRs ("random", EC2-like); the "dense" flavour places its
    own addresses best-fit. ``subnet_selection`` and ``scheduling``: see
    :data:`SUBNET_SELECTION`, :data:`SCHEDULING`. ``autoscale`` names the instance type a
    cluster autoscaler adds when pods are pending (up to ``max_nodes``), removing empty nodes
    after ``scale_down_delay`` seconds. ``tenants``: :class:`Tenant` s. ``seed`` makes the run
    reproducible. Bad arguments raise :class:`~ipfrag.InvalidArgument` /
    :class:`~ipfrag.InvalidType`. Cost: O(subnet size) to build (the subnets).

    Attributes: ``config`` (the :class:`~ipfrag.sim.cni.CniConfig`), ``time`` (simulated
    seconds), ``steps`` (clock steps so far), ``events`` (:class:`Event` s, oldest first),
    ``timeline`` (:class:`TimelineRecord` s written by :meth:`step` and :meth:`record`).

    >>> c = Cluster("10.0.0.0/24", seed=1)
    >>> n = c.add_node("m5.large"); c.node_usage(n)["addresses"]
    9
    """

    def __init__(
        self,
        subnets: str | Subnet | Sequence[str | Subnet],
        *,
        prefix_delegation: bool = False,
        warm_eni_target: int = 1,
        warm_ip_target: int | None = None,
        minimum_ip_target: int | None = None,
        warm_prefix_target: int = 1,
        custom_networking: bool = False,
        pod_subnets: str | Subnet | Sequence[str | Subnet] | None = None,
        flavour: Flavour = "vpc-cni",
        backoff_seconds: float = 120.0,
        pre_allocate: int = 8,
        policy: Literal["random", "lowest", "best-fit"] = "random",
        seed: int | None = None,
        subnet_selection: SubnetSelection = "most-free",
        scheduling: Scheduling = "spread",
        autoscale: str | None = None,
        max_nodes: int | None = None,
        scale_down_delay: float = 600.0,
        node_max_pods: int | None = None,
        tenants: Iterable[Tenant] = (),
    ) -> None:
        self.config = CniConfig(
            prefix_delegation=prefix_delegation,
            warm_eni_target=warm_eni_target,
            warm_ip_target=warm_ip_target,
            minimum_ip_target=minimum_ip_target,
            warm_prefix_target=warm_prefix_target,
            custom_networking=custom_networking,
            flavour=flavour,
            backoff_seconds=backoff_seconds,
            pre_allocate=pre_allocate,
        )
        _check_choice("subnet_selection", subnet_selection, SUBNET_SELECTION)
        _check_choice("scheduling", scheduling, SCHEDULING)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise InvalidType(f"seed must be an int or None, not {seed!r}")
        if max_nodes is not None:
            _check_count("max_nodes", max_nodes)
        if node_max_pods is not None and _check_count("node_max_pods", node_max_pods) < 1:
            raise InvalidArgument("node_max_pods must be >= 1")
        if not isinstance(scale_down_delay, (int, float)) or isinstance(scale_down_delay, bool):
            raise InvalidType(f"scale_down_delay must be a number, not {scale_down_delay!r}")
        if not scale_down_delay >= 0:
            raise InvalidArgument(f"scale_down_delay must be >= 0, not {scale_down_delay}")
        if autoscale is not None:
            self._limits(autoscale)
        tenant_list = list(tenants)
        for t in tenant_list:
            if not isinstance(t, Tenant):
                raise InvalidType(f"tenants must be Tenant objects, not {t!r}")
        master = random.Random(seed)
        node_specs = _as_list(subnets, "subnets")
        pod_specs = [] if pod_subnets is None else _as_list(pod_subnets, "pod_subnets")
        if custom_networking and not pod_specs:
            raise InvalidArgument("custom_networking needs pod_subnets (the ENIConfig subnets)")
        if pod_specs and not custom_networking:
            raise InvalidArgument("pod_subnets are used only with custom_networking=True")
        built = [_build_subnet(s, policy, master.getrandbits(63)) for s in node_specs + pod_specs]
        versions = {s.version for s in built}
        if len(versions) != 1:
            raise InvalidArgument("a cluster's subnets must be all IPv4 or all IPv6")
        self._ipv6 = versions == {6}
        if self._ipv6 and not prefix_delegation:
            raise InvalidArgument("IPv6 mode needs prefix_delegation=True (one /80 per node)")
        for t in tenant_list:
            if t.subnet >= len(node_specs):
                raise InvalidArgument(
                    f"tenant {t.name!r}: subnet index {t.subnet} but only {len(node_specs)} "
                    "node subnets"
                )
        self._subnets: list[Subnet] = built
        self._node_subnets = list(range(len(node_specs)))
        self._pod_subnets = list(range(len(node_specs), len(built))) or self._node_subnets
        self._prefixlen = 80 if self._ipv6 else 28
        self._rng = random.Random(master.getrandbits(63))
        self._policy = policy
        self._selection: SubnetSelection = subnet_selection
        self._scheduling: Scheduling = scheduling
        self._autoscale = autoscale
        self._max_nodes = max_nodes
        self._scale_down_delay = float(scale_down_delay)
        self._node_max_pods = node_max_pods
        self._tenants = tenant_list
        self._tenant_ips: dict[str, list[tuple[int, Any]]] = {}
        self._tenant_acc = [[0.0, 0.0] for _ in tenant_list]
        self._rr = 0
        self._nodes: dict[str, _Node] = {}
        self._serial = 0
        self._eni_serial = 0
        self._dirty: set[str] = set()
        # Nodes with room for pods, and empty nodes: kept up to date so that scheduling and
        # scale-down do not scan every node at every step.
        self._room: dict[str, _Node] = {}
        self._empty: dict[str, _Node] = {}
        self._backoff: set[str] = set()
        self._unscheduled = 0
        self._held = 0
        self._in_use = 0
        self._pods_bound = 0
        self._failures = 0
        self.time = 0.0
        self.steps = 0
        self.events: list[Event] = []
        self.timeline: list[TimelineRecord] = []
        self._usable = sum(s.free_addresses for s in built)
        for t in tenant_list:
            self.take_tenant_ips(t.initial, subnet=t.subnet, owner=t.name)

    # ------------------------------------------------------------------ read access
    @property
    def subnet(self) -> Subnet:
        """The (first) node subnet being consumed: any ``Subnet`` query or map works. O(1).

        >>> Cluster("10.0.0.0/24").subnet.free_addresses
        251
        """
        return self._subnets[0]

    @property
    def subnets(self) -> tuple[Subnet, ...]:
        """Every subnet of the cluster: node subnets, then pod subnets. O(subnets).

        >>> len(Cluster(["10.0.0.0/24", "10.0.1.0/24"]).subnets)
        2
        """
        return tuple(self._subnets)

    @property
    def nodes(self) -> list[str]:
        """The names of the nodes in the cluster, in joining order. O(nodes).

        >>> c = Cluster("10.0.0.0/24"); _ = c.add_node("m5.large"); c.nodes
        ['node-1']
        """
        return list(self._nodes)

    @property
    def pending_pods(self) -> int:
        """Pods without an address: unscheduled ones and those waiting on a node. O(1).

        >>> c = Cluster("10.0.0.0/24"); c.add_pods(3); c.pending_pods
        0
        3
        """
        return self._unscheduled + self._pods_bound - self._in_use

    @property
    def running_pods(self) -> int:
        """Pods that have an address. O(1).

        >>> c = Cluster("10.0.0.0/24"); n = c.add_node("m5.large"); c.add_pods(3, node=n)
        3
        >>> c.running_pods
        3
        """
        return self._in_use

    @property
    def failures(self) -> list[Event]:
        """The EC2 capacity failure events so far, oldest first. O(events).

        >>> Cluster("10.0.0.0/24").failures
        []
        """
        return [e for e in self.events if e.is_failure]

    def _node(self, node: object) -> _Node:
        if not isinstance(node, str):
            raise InvalidType(f"node must be a node name (str), not {node!r}")
        try:
            return self._nodes[node]
        except KeyError:
            raise InvalidArgument(f"unknown node {node!r}") from None

    def node_usage(self, node: str) -> NodeUsage:
        """A node's ENIs, prefixes and pod addresses: held, in use by pods, idle. O(1).

        ``addresses`` counts pod addresses (prefix addresses and secondary IPs), not the ENI
        primary IPs; ``idle = addresses - in_use``. Unknown node: InvalidArgument.

        >>> c = Cluster("10.0.0.0/24", seed=3); n = c.add_node("m5.large")
        >>> c.node_usage(n)
        {'enis': 1, 'prefixes': 0, 'addresses': 9, 'in_use': 0, 'idle': 9}
        """
        nd = self._node(node)
        return {
            "enis": len(nd.enis),
            "prefixes": nd.prefixes,
            "addresses": nd.total,
            "in_use": nd.assigned,
            "idle": nd.total - nd.assigned,
        }

    def node_info(self, node: str) -> dict[str, Any]:
        """More about a node: type, subnet, state, pods, max pods, IP mode, back-off. O(1).

        >>> c = Cluster("10.0.0.0/24"); n = c.add_node("m5.large"); c.node_info(n)["mode"]
        'secondary'
        """
        nd = self._node(node)
        return {
            "instance_type": nd.type,
            "subnet": str(self._subnets[nd.subnet].cidr),
            "pod_subnet": str(self._subnets[nd.pod_subnet].cidr),
            "state": nd.state,
            "pods": nd.pods,
            "max_pods": nd.max_pods,
            "mode": self._mode(nd),
            "backoff_until": None if nd.backoff_until == float("-inf") else nd.backoff_until,
        }

    def _mode(self, nd: _Node) -> str:
        if self._ipv6:
            return "ipv6"
        if nd.fallback:
            return "/32-fallback"
        return "prefix" if self.config.prefix_delegation else "secondary"

    # ------------------------------------------------------------------ events
    def _event(self, kind: str, node: str | None, subnet: int | None, message: str) -> None:
        cidr = None if subnet is None else str(self._subnets[subnet].cidr)
        self.events.append(Event(self.time, self.steps, kind, node, cidr, message))
        if kind in FAILURE_KINDS:
            self._failures += 1

    # ------------------------------------------------------------------ nodes
    def _limits(self, instance_type: object) -> Any:
        if not isinstance(instance_type, str):
            raise InvalidType(f"instance_type must be a str, not {instance_type!r}")
        return instance_limits(instance_type)

    def _pick_subnet(self, candidates: list[int]) -> int:
        if len(candidates) == 1:
            return candidates[0]
        if self._selection == "round-robin":
            i = candidates[self._rr % len(candidates)]
            self._rr += 1
            return i
        if self._selection == "most-free":
            return max(candidates, key=lambda i: self._subnets[i].free_addresses)
        return max(candidates, key=lambda i: self._subnets[i].free_block_count(self._prefixlen))

    def add_node(
        self,
        instance_type: str,
        *,
        subnet: int | None = None,
        max_pods: int | None = None,
    ) -> str:
        """Launch a node: primary ENI + primary IP, then its IPAM fills the warm pool.

        The subnet is chosen by ``subnet_selection`` unless ``subnet`` (an index into the node
        subnets) is given. ``max_pods`` is the kubelet's limit; by default the cluster's
        ``node_max_pods``, else ``ipfrag.aws.max_pods`` uncapped (what the ENIs allow). If
        EC2 has no address for the primary IP the node is kept in state "failed" (an event,
        no exception). Unknown instance type: :class:`ipfrag.aws.UnknownInstanceType`; a type
        without prefix support in prefix mode: InvalidArgument. Returns the node's name.
        Cost: O(bits) per address or prefix taken.

        >>> c = Cluster("10.0.0.0/24", prefix_delegation=True, seed=1)
        >>> n = c.add_node("m5.large"); c.node_usage(n)
        {'enis': 1, 'prefixes': 1, 'addresses': 16, 'in_use': 0, 'idle': 16}
        """
        limits = self._limits(instance_type)
        cfg = self.config
        if cfg.prefix_delegation and not limits.supports_prefix_delegation:
            raise InvalidArgument(f"{limits.instance_type} does not support prefix delegation")
        if subnet is not None:
            if not isinstance(subnet, int) or isinstance(subnet, bool):
                raise InvalidType(f"subnet must be an int index, not {subnet!r}")
            if not 0 <= subnet < len(self._node_subnets):
                raise InvalidArgument(f"subnet index {subnet} out of range")
        if max_pods is None:
            max_pods = self._node_max_pods
        if max_pods is None:
            max_pods = _default_max_pods(limits.instance_type, cfg)
        elif _check_count("max_pods", max_pods) < 1:
            raise InvalidArgument("max_pods must be >= 1")
        pod_enis = limits.max_enis - (1 if cfg.custom_networking else 0)
        if pod_enis < 1:
            raise InvalidArgument(
                f"{limits.instance_type} has no ENI left for pods with custom networking"
            )
        home = self._pick_subnet(self._node_subnets) if subnet is None else subnet
        pod_home = self._pick_subnet(self._pod_subnets) if cfg.custom_networking else home
        self._serial += 1
        nd = _Node(f"node-{self._serial}", limits.instance_type, home, pod_home)
        nd.max_pods = max_pods
        nd.pod_capacity = max(max_pods - HOST_NETWORK_PODS, 0)
        nd.slots = limits.slots_per_eni
        nd.ips_per_eni = limits.slots_per_eni
        nd.max_pod_enis = pod_enis
        self._nodes[nd.name] = nd
        self._event("node-added", nd.name, home, f"{nd.type} joined")
        if self._attach_eni(nd, home, serves_pods=not cfg.custom_networking) is None:
            nd.state = "failed"
            nd.pod_capacity = 0
            return nd.name
        nd.empty_since = self.time
        self._track(nd)
        self._reconcile(nd)
        return nd.name

    def _track(self, nd: _Node) -> None:
        if nd.pods < nd.pod_capacity:
            self._room[nd.name] = nd
        else:
            self._room.pop(nd.name, None)
        if nd.pods == 0 and nd.state == "ready":
            self._empty[nd.name] = nd
        else:
            self._empty.pop(nd.name, None)

    def remove_node(self, node: str) -> int:
        """Drain and terminate a node: its addresses return to the subnets, its pods are pending.

        Returns the number of pods it had (they become unscheduled, to be placed again).
        Cost: O(units x bits).

        >>> c = Cluster("10.0.0.0/24"); n = c.add_node("m5.large"); _ = c.add_pods(2, node=n)
        >>> c.remove_node(n), c.subnet.free_addresses, c.pending_pods
        (2, 251, 2)
        """
        nd = self._node(node)
        for u in nd.units:
            self._subnets[u.eni.subnet].release(u.cidr)
        for e in nd.enis:
            self._subnets[e.subnet].release(e.primary)
        self._held -= nd.total
        self._in_use -= nd.assigned
        self._pods_bound -= nd.pods
        self._unscheduled += nd.pods
        del self._nodes[node]
        self._room.pop(node, None)
        self._empty.pop(node, None)
        self._dirty.discard(node)
        self._backoff.discard(node)
        self._event("node-removed", node, nd.subnet, f"{nd.type} left with {nd.pods} pods")
        return nd.pods

    def _attach_eni(self, nd: _Node, subnet: int, *, serves_pods: bool) -> _Eni | None:
        self._eni_serial += 1
        eni_id = f"eni-{self._eni_serial:08x}"
        s = self._subnets[subnet]
        try:
            primary = flavours.place_ip(self.config.flavour, s, owner=eni_id)
        except InsufficientCapacity as e:
            self._fail(nd, subnet, e)
            return None
        eni = _Eni(eni_id, subnet, primary, serves_pods)
        nd.enis.append(eni)
        return eni

    def _fail(self, nd: _Node, subnet: int, error: InsufficientCapacity) -> None:
        self._event(type(error).__name__, nd.name, subnet, str(error))
        nd.backoff_until = self.time + self.config.backoff_seconds
        self._backoff.add(nd.name)

    # ------------------------------------------------------------------ the node's IPAM
    def _stats(self, nd: _Node) -> PoolStats:
        # Pods waiting for an address count as assigned: the demand the pool must meet. One
        # growth step then adds what ipamd's successive reconcile cycles would add in total.
        return PoolStats(nd.total, max(nd.assigned, nd.pods), nd.prefixes, nd.free_prefixes)

    def _rules(self, nd: _Node) -> tuple[bool, int | None]:
        """(prefix mode, warm IPs) of the node's current IPAM mode."""
        if nd.fallback:
            return False, None if self.config.targets_defined else self.config.pre_allocate
        return self.config.prefix_delegation, None

    def _reconcile(self, nd: _Node) -> None:
        """ipamd's loop on one node until nothing changes; failures become events."""
        if nd.state != "ready":
            return
        if self._ipv6:
            self._reconcile_ipv6(nd)
            return
        cfg = self.config
        while True:
            self._assign_waiting(nd)
            prefix, warm = self._rules(nd)
            stats = self._stats(nd)
            if pool_too_low(
                cfg,
                stats,
                max_pods=nd.max_pods,
                ips_per_eni=nd.ips_per_eni,
                prefix_mode=prefix,
                warm_ips=warm,
            ):
                if self.time < nd.backoff_until:
                    return
                want = units_to_add(
                    cfg, stats, ips_per_eni=nd.ips_per_eni, prefix_mode=prefix, warm_ips=warm
                )
                if self._grow(nd, want, prefix):
                    continue
                return
            over = units_to_release(
                cfg,
                stats,
                max_pods=nd.max_pods,
                ips_per_eni=nd.ips_per_eni,
                prefix_mode=prefix,
                warm_ips=warm,
            )
            if over and self._shrink(nd, over, prefix):
                continue
            if self._free_eni(nd, prefix, warm):
                continue
            return

    def _reconcile_ipv6(self, nd: _Node) -> None:
        if not nd.units and self.time >= nd.backoff_until:
            eni = nd.enis[0] if not self.config.custom_networking else None
            if eni is None:
                eni = next((e for e in nd.enis if e.serves_pods), None) or self._attach_eni(
                    nd, nd.pod_subnet, serves_pods=True
                )
            if eni is not None:
                try:
                    cidr = flavours.place_prefix(
                        self.config.flavour, self._subnets[eni.subnet], owner=eni.id
                    )
                except InsufficientCapacity as e:
                    self._fail(nd, eni.subnet, e)
                else:
                    self._add_unit(nd, _Unit(cidr, eni, cidr.num_addresses, True))
        self._assign_waiting(nd)

    def _add_unit(self, nd: _Node, unit: _Unit) -> None:
        unit.eni.units += 1
        nd.units.append(unit)
        nd.total += unit.size
        self._held += unit.size
        if unit.is_prefix:
            nd.prefixes += 1
            nd.free_prefixes += 1

    def _grow(self, nd: _Node, want: int, prefix: bool) -> bool:
        """Add up to ``want`` units: on ENIs with a free slot first, then a new ENI."""
        added = 0
        cfg = self.config
        eni: _Eni | None = None
        while added < want and nd.total < nd.max_pods:
            if eni is None or eni.units >= nd.slots:
                eni = next((e for e in nd.enis if e.serves_pods and e.units < nd.slots), None)
            if eni is None:
                if sum(e.serves_pods for e in nd.enis) >= nd.max_pod_enis:
                    break
                eni = self._attach_eni(nd, nd.pod_subnet, serves_pods=True)
                if eni is None:
                    break
            s = self._subnets[eni.subnet]
            try:
                if prefix:
                    cidr: Any = flavours.place_prefix(cfg.flavour, s, owner=eni.id)
                    unit = _Unit(cidr, eni, 16, True)
                else:
                    cidr = flavours.place_ip(cfg.flavour, s, owner=eni.id)
                    unit = _Unit(cidr, eni, 1, False)
            except InsufficientCidrBlocks as e:
                if flavours.falls_back_to_single_ips(cfg.flavour):
                    self._event(type(e).__name__, nd.name, eni.subnet, str(e))
                    nd.fallback = True
                    self._event(
                        "fallback-to-/32", nd.name, eni.subnet, "node now takes single /32 IPs"
                    )
                    return True
                self._fail(nd, eni.subnet, e)
                break
            except InsufficientCapacity as e:
                self._fail(nd, eni.subnet, e)
                break
            self._add_unit(nd, unit)
            added += 1
        return added > 0

    def _shrink(self, nd: _Node, count: int, prefix: bool) -> bool:
        """Release ``count`` empty units, the most recently added first."""
        released = 0
        for i in range(len(nd.units) - 1, -1, -1):
            if released == count:
                break
            u = nd.units[i]
            if u.used or u.is_prefix != prefix:
                continue
            self._drop_unit(nd, i)
            released += 1
        return released > 0

    def _drop_unit(self, nd: _Node, i: int) -> None:
        u = nd.units.pop(i)
        self._subnets[u.eni.subnet].release(u.cidr)
        u.eni.units -= 1
        nd.total -= u.size
        self._held -= u.size
        if u.is_prefix:
            nd.prefixes -= 1
            nd.free_prefixes -= 1

    def _free_eni(self, nd: _Node, prefix: bool, warm: int | None) -> bool:
        """Detach one non-primary ENI no pod uses, if the pool stays high enough without it."""
        for eni in reversed(nd.enis[1:]):
            mine = [u for u in nd.units if u.eni is eni]
            if any(u.used for u in mine):
                continue
            size = sum(u.size for u in mine)
            pfx = sum(u.is_prefix for u in mine)
            after = PoolStats(
                nd.total - size, nd.assigned, nd.prefixes - pfx, nd.free_prefixes - pfx
            )
            if mine and pool_too_low(
                self.config,
                after,
                max_pods=nd.max_pods,
                ips_per_eni=nd.ips_per_eni,
                prefix_mode=prefix,
                warm_ips=warm,
            ):
                continue
            for i in range(len(nd.units) - 1, -1, -1):
                if nd.units[i].eni is eni:
                    self._drop_unit(nd, i)
            self._subnets[eni.subnet].release(eni.primary)
            nd.enis.remove(eni)
            return True
        return False

    # ------------------------------------------------------------------ pods
    def _assign_waiting(self, nd: _Node) -> None:
        """Give waiting pods addresses: first unit with room, lowest free address inside it."""
        waiting = nd.pods - nd.assigned
        if waiting <= 0 or nd.total == nd.assigned:
            return
        for u in nd.units:
            room = u.size - u.used
            if room <= 0:
                continue
            k = min(room, waiting)
            if u.used == 0 and u.is_prefix:
                nd.free_prefixes -= 1
            u.mask, _ = _lowest_free_bits(u.mask, k)
            u.used += k
            nd.assigned += k
            self._in_use += k
            waiting -= k
            if waiting == 0:
                break

    def _unassign(self, nd: _Node, k: int) -> None:
        """Remove ``k`` running pods of the node, chosen at random."""
        for _ in range(k):
            r = self._rng.randrange(nd.assigned)
            for u in nd.units:
                if r < u.used:
                    break
                r -= u.used
            bits = [i for i in range(u.mask.bit_length()) if u.mask >> i & 1]
            u.mask &= ~(1 << bits[r])
            u.used -= 1
            if u.used == 0 and u.is_prefix:
                nd.free_prefixes += 1
            nd.assigned -= 1
            self._in_use -= 1

    def _bind(self, nd: _Node, k: int) -> None:
        nd.pods += k
        self._pods_bound += k
        nd.empty_since = None if nd.pods else self.time
        self._track(nd)
        self._assign_waiting(nd)
        self._dirty.add(nd.name)

    def add_pods(self, count: int, *, node: str | None = None) -> int:
        """Create ``count`` pods: on ``node``, or placed by the scheduling policy.

        Pods take addresses from the node's pool at once; the rest wait on the node until its
        IPAM grows the pool (:meth:`settle`). Without ``node`` pods that fit on no node stay
        unscheduled (the autoscaler, if any, adds nodes at the next :meth:`step`). Returns the
        number of pods bound to nodes. A count over the node's free pod capacity raises
        InvalidArgument and changes nothing. Cost: O(count x log nodes + units).

        >>> c = Cluster("10.0.0.0/24", seed=1); n = c.add_node("m5.large")
        >>> c.add_pods(30)
        27
        >>> c.pending_pods, c.running_pods
        (21, 9)
        >>> c.settle(); c.pending_pods, c.running_pods
        (3, 27)
        """
        _check_count("count", count)
        if node is not None:
            nd = self._node(node)
            room = nd.pod_capacity - nd.pods
            if count > room:
                raise InvalidArgument(
                    f"{node} ({nd.type}, max pods {nd.max_pods}) has room for {room} more "
                    f"pods, not {count}"
                )
            if count:
                self._bind(nd, count)
            return count
        placed = self._schedule(count)
        self._unscheduled += count - placed
        return placed

    def _schedule(self, count: int) -> int:
        nodes = list(self._room.values())
        if not nodes or not count:
            return 0
        share: dict[str, int] = {}
        if self._scheduling == "bin-pack":
            nodes.sort(key=lambda nd: -nd.pods)
            left = count
            for nd in nodes:
                k = min(nd.pod_capacity - nd.pods, left)
                share[nd.name] = k
                left -= k
                if not left:
                    break
        else:
            heap = [(nd.pods, i, nd.pod_capacity) for i, nd in enumerate(nodes)]
            heapq.heapify(heap)
            left = count
            while left and heap:
                pods, i, cap = heapq.heappop(heap)
                # Fill this node up to the next one's level in one go.
                level = heap[0][0] if heap else cap
                k = min(max(level - pods, 1), cap - pods, left)
                name = nodes[i].name
                share[name] = share.get(name, 0) + k
                left -= k
                if pods + k < cap:
                    heapq.heappush(heap, (pods + k, i, cap))
        placed = 0
        for name, k in share.items():
            if k:
                self._bind(self._nodes[name], k)
                placed += k
        return placed

    def remove_pods(self, count: int, *, node: str | None = None) -> int:
        """Delete ``count`` pods; returns how many were deleted (at most what exists).

        Without ``node``: unscheduled pods first, then from the nodes with the most pods
        (a ReplicaSet scaling down), waiting pods before running ones; running pods are taken
        at random. Their addresses stay in the node's pool; :meth:`settle` lets the IPAM give
        whole empty prefixes back. Cost: O(count x units).

        >>> c = Cluster("10.0.0.0/24", seed=1); n = c.add_node("m5.large")
        >>> c.add_pods(5), c.remove_pods(2), c.running_pods
        (5, 2, 3)
        """
        _check_count("count", count)
        if node is not None:
            nd = self._node(node)
            k = min(count, nd.pods)
            self._unbind(nd, k)
            return k
        done = min(count, self._unscheduled)
        self._unscheduled -= done
        heap = [(-nd.pods, i, nd) for i, nd in enumerate(self._nodes.values()) if nd.pods]
        heapq.heapify(heap)
        take: dict[str, int] = {}
        while done < count and heap:
            negp, i, nd = heapq.heappop(heap)
            take[nd.name] = take.get(nd.name, 0) + 1
            done += 1
            if negp + 1 < 0:
                heapq.heappush(heap, (negp + 1, i, nd))
        for name, k in take.items():
            self._unbind(self._nodes[name], k)
        return done

    def _unbind(self, nd: _Node, k: int) -> None:
        waiting = nd.pods - nd.assigned
        self._unassign(nd, max(k - waiting, 0))
        nd.pods -= k
        self._pods_bound -= k
        if nd.pods == 0:
            nd.empty_since = self.time
        self._track(nd)
        self._dirty.add(nd.name)

    # ------------------------------------------------------------------ tenants
    def take_tenant_ips(self, count: int, *, subnet: int = 0, owner: str = "tenant") -> int:
        """Another tenant takes ``count`` scattered single IPs (EC2 placement, random).

        Returns how many it got; when the subnet runs out, one InsufficientFreeAddresses event
        (node None). Cost: O(count x bits).

        >>> c = Cluster("10.0.0.0/24", seed=1); c.take_tenant_ips(10), c.subnet.free_addresses
        (10, 241)
        """
        _check_count("count", count)
        if not isinstance(subnet, int) or not 0 <= subnet < len(self._subnets):
            raise InvalidArgument(f"subnet index {subnet!r} out of range")
        s = self._subnets[subnet]
        held = self._tenant_ips.setdefault(owner, [])
        for i in range(count):
            try:
                held.append((subnet, s.allocate_ip(owner=owner)))  # EC2's placement
            except InsufficientCapacity as e:
                self._event(type(e).__name__, None, subnet, f"tenant {owner}: {e}")
                return i
        return count

    def free_tenant_ips(self, count: int, *, owner: str = "tenant") -> int:
        """The tenant gives back ``count`` of its addresses, chosen at random; returns how many.

        Cost: O(count x bits).

        >>> c = Cluster("10.0.0.0/24", seed=1); _ = c.take_tenant_ips(10)
        >>> c.free_tenant_ips(4), c.subnet.free_addresses
        (4, 245)
        """
        _check_count("count", count)
        held = self._tenant_ips.get(owner, [])
        k = min(count, len(held))
        for _ in range(k):
            j = self._rng.randrange(len(held))
            held[j], held[-1] = held[-1], held[j]
            subnet, addr = held.pop()
            self._subnets[subnet].release(addr)
        return k

    # ------------------------------------------------------------------ the clock
    def settle(self) -> None:
        """Let every node's IPAM reconcile until nothing changes (no time passes).

        Nodes in back-off keep what they have until the clock passes it (:meth:`step`).
        Cost: O(changed nodes x units).

        >>> c = Cluster("10.0.0.0/24", seed=1); n = c.add_node("m5.large")
        >>> _ = c.add_pods(1, node=n); c.settle(); c.node_usage(n)["addresses"]
        18
        """
        while self._dirty:
            name = self._dirty.pop()
            nd = self._nodes.get(name)
            if nd is not None:
                self._reconcile(nd)

    def step(self, seconds: float = 60.0) -> TimelineRecord:
        """Advance the clock: tenants, expired back-offs, scheduling, autoscaler, settle.

        Returns the :class:`TimelineRecord` of the new moment (also appended to
        ``timeline``). Cost: O(changed nodes x units + pods scheduled x log nodes).

        >>> c = Cluster("10.0.0.0/24", seed=1, autoscale="m5.large"); c.add_pods(5)
        0
        >>> r = c.step(); r.nodes, r.pods_running
        (1, 5)
        """
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise InvalidType(f"seconds must be a number, not {seconds!r}")
        if not seconds >= 0:
            raise InvalidArgument(f"seconds must be >= 0, not {seconds}")
        self.time += seconds
        self.steps += 1
        for t, acc in zip(self._tenants, self._tenant_acc, strict=True):
            acc[0] += t.take_per_hour * seconds / 3600
            acc[1] += t.free_per_hour * seconds / 3600
            take, free = int(acc[0]), int(acc[1])
            acc[0] -= take
            acc[1] -= free
            self.free_tenant_ips(free, owner=t.name)
            self.take_tenant_ips(take, subnet=t.subnet, owner=t.name)
        for name in [n for n in self._backoff if self._nodes[n].backoff_until <= self.time]:
            self._backoff.discard(name)
            self._dirty.add(name)
        if self._unscheduled:
            placed = self._schedule(self._unscheduled)
            self._unscheduled -= placed
        self._autoscale_step()
        self.settle()
        return self.record()

    def _autoscale_step(self) -> None:
        if self._autoscale is None:
            return
        cap = self._max_nodes
        while self._unscheduled and (cap is None or len(self._nodes) < cap):
            name = self.add_node(self._autoscale)
            placed = self._schedule(self._unscheduled)
            self._unscheduled -= placed
            if self._nodes[name].state == "failed":
                self.remove_node(name)
                break
        for nd in list(self._empty.values()):
            if (
                nd.empty_since is not None
                and self.time - nd.empty_since >= self._scale_down_delay
                and len(self._nodes) > 1
            ):
                self.remove_node(nd.name)

    def record(self) -> TimelineRecord:
        """The cluster now, as a :class:`TimelineRecord` (appended to ``timeline``).

        Cost: O(subnets x bits).

        >>> c = Cluster("10.0.0.0/24", seed=1); r = c.record(); r.free_addresses
        251
        >>> r.fragmentation_score
        0
        """
        free = sum(s.free_addresses for s in self._subnets)
        scores = [fragmentation_score(s, self._prefixlen) for s in self._subnets]
        rec = TimelineRecord(
            time=self.time,
            step=self.steps,
            nodes=len(self._nodes),
            pods_running=self._in_use,
            pods_pending=self.pending_pods,
            addresses_held=self._held,
            addresses_in_use=self._in_use,
            addresses_idle=self._held - self._in_use,
            free_addresses=free,
            free_blocks=sum(s.free_block_count(self._prefixlen) for s in self._subnets),
            used_fraction=1 - free / self._usable if self._usable else 1.0,
            tenant_addresses=sum(len(v) for v in self._tenant_ips.values()),
            failures=self._failures,
            fragmentation_score=max((v for v in scores if v is not None), default=None),
        )
        self.timeline.append(rec)
        return rec

    def _check(self) -> None:
        """Assert the invariants between nodes, units, counters and subnets (for tests)."""
        held = in_use = bound = 0
        for nd in self._nodes.values():
            assert nd.total == sum(u.size for u in nd.units)
            assert nd.assigned == sum(u.used for u in nd.units)
            assert nd.prefixes == sum(u.is_prefix for u in nd.units)
            assert nd.free_prefixes == sum(u.is_prefix and not u.used for u in nd.units)
            assert 0 <= nd.assigned <= nd.pods <= max(nd.pod_capacity, 0)
            for u in nd.units:
                assert u.used == bin(u.mask).count("1") and u.mask < 1 << u.size
                assert self._subnets[u.eni.subnet].owner_of(_first(u.cidr)) == u.eni.id
            for e in nd.enis:
                assert e.units == sum(u.eni is e for u in nd.units) <= nd.slots
                assert self._subnets[e.subnet].owner_of(e.primary) == e.id
            held += nd.total
            in_use += nd.assigned
            bound += nd.pods
        assert (held, in_use, bound) == (self._held, self._in_use, self._pods_bound)
        nodes = self._nodes.values()
        assert set(self._room) == {nd.name for nd in nodes if nd.pods < nd.pod_capacity}
        assert set(self._empty) == {nd.name for nd in nodes if not nd.pods and nd.state == "ready"}


def _first(cidr: Any) -> Any:
    return cidr.network_address if hasattr(cidr, "network_address") else cidr


def _default_max_pods(instance_type: str, cfg: CniConfig) -> int:
    return max_pods(
        instance_type,
        prefix_delegation=cfg.prefix_delegation,
        custom_networking=cfg.custom_networking,
        cap=False,
    )


def _as_list(value: object, name: str) -> list[str | Subnet]:
    if isinstance(value, (str, Subnet)):
        return [value]
    if isinstance(value, (list, tuple)) and value:
        for v in value:
            if not isinstance(v, (str, Subnet)):
                raise InvalidType(f"{name} must hold CIDR strings or Subnets, not {v!r}")
        return list(value)
    raise InvalidType(f"{name} must be a CIDR, a Subnet or a non-empty list of them, not {value!r}")


def _build_subnet(spec: str | Subnet, policy: str, seed: int) -> Subnet:
    if isinstance(spec, Subnet):
        if spec.policy != policy:
            raise InvalidArgument(
                f"subnet {spec.cidr} has policy {spec.policy!r}; this flavour needs {policy!r} "
                "(pass the CIDR instead, or a Subnet built with that policy)"
            )
        return spec
    return Subnet(spec, policy=policy, seed=seed)  # type: ignore[arg-type]
