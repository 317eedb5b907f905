"""Scenarios as data, and what one run of a scenario produces.

A scenario (TOML, JSON, a mapping, or :class:`Scenario` built in Python) says which subnets
(with reservations), which IPAM settings, which nodes, what workload over time, which other
tenants, which placement and subnet-selection policies, and the seed. :func:`run` plays it on a
:class:`~ipfrag.sim.Cluster` and returns a :class:`RunResult`: the timeline (records, and a
pandas DataFrame with the ``pandas`` extra), the events, and a :class:`Summary` (the first
failure: when, which node, why; peak pods; idle addresses; pods that never started).

The data format (every field optional except ``subnets``)::

    name = "grow"
    seed = 1
    duration = 3600          # seconds of simulated time
    step = 60                # seconds per clock step
    stop = "end"             # or "first-failure"
    subnets = [{cidr = "10.0.0.0/20", reservations = [{cidr = "10.0.8.0/22", kind = "prefix"}]}]
    pod_subnets = []         # custom networking (cni.custom_networking = true)
    [cni]                    # ipfrag.sim.CniConfig fields
    prefix_delegation = true
    warm_prefix_target = 1
    [placement]
    policy = "random"        # EC2 placement
    subnet_selection = "most-free"
    scheduling = "spread"
    [nodes]
    instance_type = "m5.large"
    initial = 1
    max = 100                # the autoscaler's limit (autoscale = true)
    max_pods = 110           # kubelet max pods (default: what the ENIs allow)
    [[workload]]             # at a time: set the pod count, grow per step, replace nodes
    at = 0
    grow = 50
    [[tenants]]              # ipfrag.sim.Tenant fields
    initial = 300

Every field is checked; an error names its path (``cni.warm_prefix_target: ...``) and is a
:class:`ScenarioError` (an :class:`~ipfrag.InvalidArgument`).

>>> sc = Scenario.from_dict({"subnets": ["10.0.0.0/22"], "cni": {"prefix_delegation": True},
...                          "workload": [{"at": 0, "pods": 40}], "duration": 300})
>>> r = run(sc, seed=1); r.summary.peak_pods, r.summary.first_failure is None
(40, True)
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipfrag.errors import InvalidArgument as _InvalidArgument
from ipfrag.errors import IpfragError
from ipfrag.sim.cluster import SCHEDULING, SUBNET_SELECTION, Cluster, Event, Tenant, TimelineRecord
from ipfrag.sim.cni import CniConfig
from ipfrag.subnet import Subnet

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "NodeGroup",
    "Placement",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SimExtraMissing",
    "SubnetSpec",
    "Summary",
    "WorkloadEvent",
    "load_scenario",
    "run",
]

_POLICIES = ("random", "lowest", "best-fit")
_STOPS = ("end", "first-failure")


class ScenarioError(_InvalidArgument):
    """A scenario field is missing, unknown, of the wrong type or out of range (path named)."""


class SimExtraMissing(IpfragError, ImportError):
    """An optional dependency of the simulator (pandas, matplotlib, tqdm, dask) is missing."""


# ------------------------------------------------------------------------------- checking
def _fail(path: str, message: str) -> ScenarioError:
    return ScenarioError(f"{path}: {message}")


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"expected a table/object, got {value!r}")
    return value


def _known(data: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
    for key in data:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise _fail(where, f"unknown field; expected one of {', '.join(allowed)}")


def _int(value: object, path: str, *, low: int = 0, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(path, f"expected an integer, got {value!r}")
    if value < low:
        raise _fail(path, f"must be >= {low}, got {value}")
    return value


def _num(value: object, path: str, *, positive: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise _fail(path, f"expected a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise _fail(path, f"must be {'> 0' if positive else '>= 0'}, got {value}")
    return float(value)


def _choice(value: object, path: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise _fail(path, f"expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _str(value: object, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, f"expected a non-empty string, got {value!r}")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise _fail(path, f"expected a list, got {value!r}")
    return list(value)


# ------------------------------------------------------------------------------- the parts
@dataclass(frozen=True, slots=True)
class SubnetSpec:
    """A subnet of the scenario: its CIDR and CIDR reservations ``(cidr, kind)``.

    >>> spec = SubnetSpec("10.0.0.0/24", (("10.0.0.128/26", "prefix"),))
    >>> spec.build("random", 1).reservations[0].kind
    'prefix'
    """

    cidr: str
    reservations: tuple[tuple[str, str], ...] = ()

    def build(self, policy: str, seed: int) -> Subnet:
        """A fresh :class:`ipfrag.Subnet` with the reservations. O(subnet size).

        >>> SubnetSpec("10.0.0.0/24").build("random", 1).free_addresses
        251
        """
        s = Subnet(self.cidr, policy=policy, seed=seed)  # type: ignore[arg-type]
        for cidr, kind in self.reservations:
            s.reserve(cidr, kind)  # type: ignore[arg-type]
        return s


def _subnet_spec(value: object, path: str) -> SubnetSpec:
    if isinstance(value, str):
        value = {"cidr": value}
    data = _mapping(value, path)
    _known(data, ("cidr", "reservations"), path)
    cidr = _str(data.get("cidr"), f"{path}.cidr")
    res = []
    for i, r in enumerate(_list(data.get("reservations", []), f"{path}.reservations")):
        rp = f"{path}.reservations[{i}]"
        rd = _mapping(r, rp)
        _known(rd, ("cidr", "kind"), rp)
        res.append(
            (
                _str(rd.get("cidr"), f"{rp}.cidr"),
                _choice(rd.get("kind", "prefix"), f"{rp}.kind", ("prefix", "explicit")),
            )
        )
    spec = SubnetSpec(cidr, tuple(res))
    try:
        spec.build("random", 0)
    except IpfragError as e:
        raise _fail(path, str(e)) from e
    return spec


@dataclass(frozen=True, slots=True)
class Placement:
    """EC2 placement ``policy``, node ``subnet_selection`` and pod ``scheduling``.

    >>> Placement().subnet_selection
    'most-free'
    """

    policy: str = "random"
    subnet_selection: str = "most-free"
    scheduling: str = "spread"


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """The nodes: ``initial`` of ``instance_type``, an autoscaler up to ``max`` (None: no limit).

    >>> NodeGroup().instance_type
    'm5.large'
    """

    instance_type: str = "m5.large"
    initial: int = 0
    max: int | None = None
    max_pods: int | None = None
    autoscale: bool = True
    scale_down_delay: float = 600.0


@dataclass(frozen=True, slots=True)
class WorkloadEvent:
    """At ``at`` seconds: set the pod count (``pods``), grow by ``grow`` pods per step from then
    on (0 stops), and/or replace ``replace_nodes`` nodes (node churn: drained, removed).

    >>> WorkloadEvent(at=0, grow=50).grow
    50
    """

    at: float = 0.0
    pods: int | None = None
    grow: int | None = None
    replace_nodes: int = 0


_TOP = (
    "name",
    "description",
    "seed",
    "duration",
    "step",
    "stop",
    "subnets",
    "pod_subnets",
    "cni",
    "placement",
    "nodes",
    "workload",
    "tenants",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario (see the module doc for the format). Build with :meth:`from_dict`.

    >>> Scenario.from_dict({"subnets": ["10.0.0.0/24"]}).cni.warm_prefix_target
    1
    """

    subnets: tuple[SubnetSpec, ...]
    name: str = "scenario"
    description: str = ""
    seed: int = 0
    duration: float = 3600.0
    step: float = 60.0
    stop: str = "end"
    pod_subnets: tuple[SubnetSpec, ...] = ()
    cni: CniConfig = field(default_factory=CniConfig)
    placement: Placement = field(default_factory=Placement)
    nodes: NodeGroup = field(default_factory=NodeGroup)
    workload: tuple[WorkloadEvent, ...] = ()
    tenants: tuple[Tenant, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        """Validate scenario data; :class:`ScenarioError` names the bad field.

        Cost: O(fields + subnet sizes).

        >>> Scenario.from_dict({"subnets": ["10.0.0.0/24"], "cni": {"warm_prefix_target": -1}})
        Traceback (most recent call last):
        ...
        ipfrag.sim.scenario.ScenarioError: cni.warm_prefix_target: must be >= 0, got -1
        """
        data = _mapping(data, "scenario")
        _known(data, _TOP, "")
        subnets = _list(data.get("subnets"), "subnets") if "subnets" in data else None
        if not subnets:
            raise _fail("subnets", "at least one subnet is required")
        node_subnets = tuple(_subnet_spec(s, f"subnets[{i}]") for i, s in enumerate(subnets))
        pod_subnets = tuple(
            _subnet_spec(s, f"pod_subnets[{i}]")
            for i, s in enumerate(_list(data.get("pod_subnets", []), "pod_subnets"))
        )
        cni = _cni(data.get("cni", {}))
        pl = _mapping(data.get("placement", {}), "placement")
        _known(pl, [f.name for f in fields(Placement)], "placement")
        placement = Placement(
            _choice(pl.get("policy", "random"), "placement.policy", _POLICIES),
            _choice(
                pl.get("subnet_selection", "most-free"),
                "placement.subnet_selection",
                SUBNET_SELECTION,
            ),
            _choice(pl.get("scheduling", "spread"), "placement.scheduling", SCHEDULING),
        )
        nodes = _nodes(data.get("nodes", {}))
        workload = tuple(
            _workload(w, f"workload[{i}]")
            for i, w in enumerate(_list(data.get("workload", []), "workload"))
        )
        tenants = []
        for i, t in enumerate(_list(data.get("tenants", []), "tenants")):
            tp = f"tenants[{i}]"
            td = _mapping(t, tp)
            _known(td, [f.name for f in fields(Tenant)], tp)
            sub = td.get("subnet", 0)
            if isinstance(sub, int) and sub >= len(node_subnets):
                raise _fail(f"{tp}.subnet", f"no subnet {sub}: there are {len(node_subnets)}")
            try:
                tenants.append(Tenant(**td))
            except IpfragError as e:
                raise _fail(tp, str(e)) from e
        sc = cls(
            subnets=node_subnets,
            name=_str(data.get("name", "scenario"), "name"),
            description=str(data.get("description", "")),
            seed=_int(data.get("seed", 0), "seed") or 0,
            duration=_num(data.get("duration", 3600.0), "duration"),
            step=_num(data.get("step", 60.0), "step", positive=True),
            stop=_choice(data.get("stop", "end"), "stop", _STOPS),
            pod_subnets=pod_subnets,
            cni=cni,
            placement=placement,
            nodes=nodes,
            workload=workload,
            tenants=tuple(tenants),
        )
        if cni.custom_networking and not pod_subnets:
            raise _fail("pod_subnets", "custom networking (cni.custom_networking) needs them")
        if pod_subnets and not cni.custom_networking:
            raise _fail("pod_subnets", "used only with cni.custom_networking = true")
        try:
            sc.cluster(seed=sc.seed)
        except ScenarioError:
            raise
        except IpfragError as e:
            raise ScenarioError(f"scenario: {e}") from e
        return sc

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data; ``from_dict(to_dict())`` gives it back. O(fields).

        >>> sc = Scenario.from_dict({"subnets": ["10.0.0.0/24"], "seed": 3})
        >>> Scenario.from_dict(sc.to_dict()) == sc
        True
        """
        d = asdict(self)
        for key in ("subnets", "pod_subnets"):
            d[key] = [
                {
                    "cidr": s["cidr"],
                    "reservations": [{"cidr": c, "kind": k} for c, k in s["reservations"]],
                }
                for s in d[key]
            ]
        d["workload"] = [{k: v for k, v in w.items() if v is not None} for w in d["workload"]]
        d["nodes"] = {k: v for k, v in d["nodes"].items() if v is not None}
        d["cni"] = {k: v for k, v in d["cni"].items() if v is not None}
        return d

    def with_param(self, param: str, value: Any) -> Scenario:
        """A copy with one field changed: a dotted path (``cni.warm_prefix_target``,
        ``subnets.0.cidr``, ``nodes.instance_type``) or a field name found in exactly one
        section (``warm_prefix_target``, ``flavour``, ``subnet_selection``). Validated like
        :meth:`from_dict`. O(fields).

        >>> sc = Scenario.from_dict({"subnets": ["10.0.0.0/24"]})
        >>> sc.with_param("flavour", "cilium").cni.flavour
        'cilium'
        """
        data = self.to_dict()
        path = _resolve(data, param)
        target: Any = data
        for part in path[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = path[-1]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return Scenario.from_dict(data)

    def cluster(self, *, seed: int | None = None) -> Cluster:
        """A fresh :class:`Cluster` for this scenario (subnets, settings, initial nodes).

        Cost: O(subnet sizes + initial nodes).

        >>> sc = Scenario.from_dict({"subnets": ["10.0.0.0/24"], "nodes": {"initial": 2}})
        >>> sc.cluster().nodes
        ['node-1', 'node-2']
        """
        import random

        master = random.Random(self.seed if seed is None else seed)
        want = self.placement.policy
        node_subnets = [s.build(want, master.getrandbits(63)) for s in self.subnets]
        pod_subnets = [s.build(want, master.getrandbits(63)) for s in self.pod_subnets]
        cni = self.cni
        g = self.nodes
        c = Cluster(
            node_subnets,
            prefix_delegation=cni.prefix_delegation,
            warm_eni_target=cni.warm_eni_target,
            warm_ip_target=cni.warm_ip_target,
            minimum_ip_target=cni.minimum_ip_target,
            warm_prefix_target=cni.warm_prefix_target,
            custom_networking=cni.custom_networking,
            pod_subnets=pod_subnets or None,
            flavour=cni.flavour,
            backoff_seconds=cni.backoff_seconds,
            pre_allocate=cni.pre_allocate,
            policy=self.placement.policy,  # type: ignore[arg-type]
            seed=master.getrandbits(63),
            subnet_selection=self.placement.subnet_selection,  # type: ignore[arg-type]
            scheduling=self.placement.scheduling,  # type: ignore[arg-type]
            autoscale=g.instance_type if g.autoscale else None,
            max_nodes=g.max,
            scale_down_delay=g.scale_down_delay,
            node_max_pods=g.max_pods,
            tenants=self.tenants,
        )
        for _ in range(g.initial):
            c.add_node(g.instance_type)
        return c


def _resolve(data: Mapping[str, Any], param: str) -> list[str]:
    if not isinstance(param, str) or not param:
        raise ScenarioError(f"parameter must be a non-empty string, not {param!r}")
    parts = param.split(".")
    if len(parts) > 1 or parts[0] in data:
        return parts
    hits = [
        [section, param]
        for section, value in data.items()
        if isinstance(value, dict) and param in {f for f in _SECTION_FIELDS.get(section, ())}
    ]
    if len(hits) != 1:
        raise ScenarioError(
            f"unknown parameter {param!r}; use a dotted path such as cni.warm_prefix_target"
        )
    return hits[0]


_SECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "cni": tuple(f.name for f in fields(CniConfig)),
    "placement": tuple(f.name for f in fields(Placement)),
    "nodes": tuple(f.name for f in fields(NodeGroup)),
}


def _cni(value: object) -> CniConfig:
    data = _mapping(value, "cni")
    _known(data, _SECTION_FIELDS["cni"], "cni")
    for key in ("warm_eni_target", "warm_prefix_target", "pre_allocate"):
        if key in data:
            _int(data[key], f"cni.{key}")
    for key in ("warm_ip_target", "minimum_ip_target"):
        if key in data:
            _int(data[key], f"cni.{key}", optional=True)
    if "backoff_seconds" in data:
        _num(data["backoff_seconds"], "cni.backoff_seconds")
    for key in ("prefix_delegation", "custom_networking"):
        if key in data and not isinstance(data[key], bool):
            raise _fail(f"cni.{key}", f"expected true or false, got {data[key]!r}")
    if "flavour" in data:
        _choice(data["flavour"], "cni.flavour", ("vpc-cni", "cilium", "dense"))
    try:
        return CniConfig(**data)
    except IpfragError as e:  # pragma: no cover - the checks above catch every field first
        raise _fail("cni", str(e)) from e


def _nodes(value: object) -> NodeGroup:
    data = _mapping(value, "nodes")
    _known(data, _SECTION_FIELDS["nodes"], "nodes")
    itype = _str(data.get("instance_type", "m5.large"), "nodes.instance_type")
    from ipfrag.aws import instance_limits

    try:
        instance_limits(itype)
    except IpfragError as e:
        raise _fail("nodes.instance_type", str(e)) from e
    autoscale = data.get("autoscale", True)
    if not isinstance(autoscale, bool):
        raise _fail("nodes.autoscale", f"expected true or false, got {autoscale!r}")
    return NodeGroup(
        instance_type=itype,
        initial=_int(data.get("initial", 0), "nodes.initial") or 0,
        max=_int(data.get("max"), "nodes.max", optional=True),
        max_pods=_int(data.get("max_pods"), "nodes.max_pods", low=1, optional=True),
        autoscale=autoscale,
        scale_down_delay=_num(data.get("scale_down_delay", 600.0), "nodes.scale_down_delay"),
    )


def _workload(value: object, path: str) -> WorkloadEvent:
    data = _mapping(value, path)
    _known(data, [f.name for f in fields(WorkloadEvent)], path)
    ev = WorkloadEvent(
        at=_num(data.get("at", 0.0), f"{path}.at"),
        pods=_int(data.get("pods"), f"{path}.pods", optional=True),
        grow=_int(data.get("grow"), f"{path}.grow", optional=True),
        replace_nodes=_int(data.get("replace_nodes", 0), f"{path}.replace_nodes") or 0,
    )
    if ev.pods is None and ev.grow is None and not ev.replace_nodes:
        raise _fail(path, "says nothing: give pods, grow or replace_nodes")
    return ev


# ------------------------------------------------------------------------------- loading
def load_scenario(source: str | os.PathLike[str] | Mapping[str, Any] | Scenario) -> Scenario:
    """A :class:`Scenario` from a TOML or JSON file, a built-in name, a mapping, or as is.

    Files are read by extension (``.toml``; anything else as JSON). Built-in names are those
    of :mod:`ipfrag.sim.builtin`. Unreadable or malformed files raise :class:`ScenarioError`
    naming the file. Cost: O(file size + validation).

    >>> load_scenario("article-fill-16").cni.prefix_delegation
    True
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        return Scenario.from_dict(source)
    if not isinstance(source, (str, os.PathLike)):
        raise ScenarioError(
            f"a scenario is a file name, a built-in name or a mapping, not {source!r}"
        )
    from ipfrag.sim import builtin

    if isinstance(source, str) and source in builtin.BUILTIN:
        return builtin.scenario(source)
    path = Path(source)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError(
            f"{path}: cannot read the scenario ({e.strerror or e}); built-in scenarios: "
            + ", ".join(builtin.BUILTIN)
        ) from e
    try:
        if path.suffix.lower() == ".toml":
            data: Any = _toml().loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{path}: not valid {path.suffix.lstrip('.') or 'JSON'}: {e}") from e
    try:
        return Scenario.from_dict(data)
    except ScenarioError as e:
        raise ScenarioError(f"{path}: {e}") from e


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10
        import tomli  # type: ignore[import-not-found,unused-ignore]
    except ImportError as e:  # pragma: no cover
        raise SimExtraMissing("reading TOML on Python 3.10 needs tomli (pip install tomli)") from e
    return tomli  # pragma: no cover


# ------------------------------------------------------------------------------- running
@dataclass(frozen=True, slots=True)
class Summary:
    """What a run comes to. ``first_failure`` is the first EC2 capacity failure of a node
    (None if none); the ``*_at_failure`` figures are taken at the end of that clock step:
    pods running, nodes, and the share of the subnets' usable addresses in use.
    ``pods_never_started`` are pods still pending when the run ends.
    """

    steps: int
    time: float
    first_failure: Event | None
    pods_at_failure: int | None
    nodes_at_failure: int | None
    used_at_failure: float | None
    failures: int
    peak_pods: int
    peak_nodes: int
    idle_addresses: int
    peak_idle_addresses: int
    pods_never_started: int
    free_addresses: int
    free_blocks: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data (the failure event as a mapping). O(1).

        >>> sc = Scenario.from_dict({"subnets": ["10.0.0.0/24"], "duration": 0})
        >>> run(sc).summary.to_dict()["first_failure"] is None
        True
        """
        d = asdict(self)
        return d


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run: the scenario, the seed, the timeline records, the events and the summary."""

    scenario: Scenario
    seed: int
    timeline: tuple[TimelineRecord, ...]
    events: tuple[Event, ...]
    summary: Summary

    def to_pandas(self) -> pandas.DataFrame:
        """The timeline as a pandas DataFrame, one row per step (needs the ``pandas`` extra).

        Cost: O(steps).

        >>> sc = Scenario.from_dict({"subnets": ["10.0.0.0/24"], "duration": 120})
        >>> run(sc).to_pandas()[["time", "nodes"]].shape
        (3, 2)
        """
        pd = _pandas()
        frame: pandas.DataFrame = pd.DataFrame([asdict(r) for r in self.timeline])
        return frame

    def events_frame(self) -> pandas.DataFrame:
        """The events as a pandas DataFrame (``pandas`` extra). O(events).

        >>> sc = Scenario.from_dict({"subnets": ["10.0.0.0/24"], "nodes": {"initial": 1}})
        >>> list(run(sc).events_frame()["kind"])
        ['node-added']
        """
        pd = _pandas()
        cols = [f.name for f in fields(Event)]
        frame: pandas.DataFrame = pd.DataFrame([asdict(e) for e in self.events], columns=cols)
        return frame


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - pandas is in the dev extra
        raise SimExtraMissing("DataFrames need pandas: pip install 'ipfrag[pandas]'") from e
    return pd


def run(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str], *, seed: int | None = None
) -> RunResult:
    """Play a scenario (object, data, file or built-in name) from time 0 to ``duration`` (or
    the first failure, with ``stop = "first-failure"``), one clock step at a time; ``seed``
    overrides the scenario's.

    Each step applies the workload events that are due, adds ``grow`` pods, then
    :meth:`Cluster.step`. Deterministic for a seed. Cost: O(steps x changed nodes).

    >>> r = run({"subnets": ["10.0.0.0/24"], "cni": {"prefix_delegation": True},
    ...          "workload": [{"at": 0, "grow": 40}], "stop": "first-failure"}, seed=2)
    >>> r.summary.first_failure.kind, r.summary.pods_at_failure > 150
    ('InsufficientCidrBlocks', True)
    """
    sc = load_scenario(scenario)
    seed = sc.seed if seed is None else seed
    c = sc.cluster(seed=seed)
    c.record()
    pending = sorted(sc.workload, key=lambda w: w.at)
    grow = 0
    first: Event | None = None
    at_failure: TimelineRecord | None = None
    seen = 0  # events already searched for the first node failure
    steps = int(sc.duration // sc.step)
    for _ in range(steps):
        while pending and pending[0].at <= c.time:
            w = pending.pop(0)
            if w.pods is not None:
                total = c.running_pods + c.pending_pods
                if w.pods > total:
                    c.add_pods(w.pods - total)
                else:
                    c.remove_pods(total - w.pods)
            if w.grow is not None:
                grow = w.grow
            for _ in range(min(w.replace_nodes, len(c.nodes))):
                c.remove_node(c.nodes[0])
        if grow:
            c.add_pods(grow)
        rec = c.step(sc.step)
        if first is None and rec.failures:
            new = c.events[seen:]
            seen = len(c.events)
            first = next((e for e in new if e.is_failure and e.node is not None), None)
            if first is not None:
                at_failure = rec
                if sc.stop == "first-failure":
                    break
    tl = tuple(c.timeline)
    last = tl[-1]
    summary = Summary(
        steps=c.steps,
        time=c.time,
        first_failure=first,
        pods_at_failure=None if at_failure is None else at_failure.pods_running,
        nodes_at_failure=None if at_failure is None else at_failure.nodes,
        used_at_failure=None if at_failure is None else at_failure.used_fraction,
        failures=last.failures,
        peak_pods=max(r.pods_running for r in tl),
        peak_nodes=max(r.nodes for r in tl),
        idle_addresses=last.addresses_idle,
        peak_idle_addresses=max(r.addresses_idle for r in tl),
        pods_never_started=last.pods_pending,
        free_addresses=last.free_addresses,
        free_blocks=last.free_blocks,
    )
    return RunResult(sc, seed, tl, tuple(c.events), summary)
