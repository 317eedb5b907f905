"""The Amazon VPC CNI's per-node pool rules, as pure decision functions.

Everything here follows ``pkg/ipamd/ipamd.go`` of aws/amazon-vpc-cni-k8s (see the project's
DOMAIN notes): the settings and their defaults (:class:`CniConfig`), when the pool is too low
(``isDatastorePoolTooLow``), how much to add (``getPrefixesNeeded`` / a whole ENI of secondary
IPs), and what may be given back (only whole empty prefixes, down to the target; never single
IPs in plain secondary mode). The functions look only at a node's counters
(:class:`PoolStats`); the cluster model (:mod:`ipfrag.sim.cluster`) carries them out against
subnets.

>>> cfg = CniConfig(prefix_delegation=True, warm_ip_target=5)
>>> empty = PoolStats(total=0, assigned=0, prefixes=0, free_prefixes=0)
>>> pool_too_low(cfg, empty, max_pods=110, ips_per_eni=9), units_to_add(cfg, empty, ips_per_eni=9)
(True, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ipfrag.errors import InvalidArgument, InvalidType

__all__ = [
    "DEFAULT_BACKOFF_SECONDS",
    "FLAVOURS",
    "IPS_PER_PREFIX",
    "CniConfig",
    "Flavour",
    "PoolStats",
    "pool_too_low",
    "shortfall",
    "units_to_add",
    "units_to_release",
]

#: Addresses in one IPv4 /28 prefix (the CNI's ``numIPsPerPrefix``).
IPS_PER_PREFIX = 16
#: ipamd waits this long after ``InsufficientCidrBlocks`` / ``InsufficientFreeAddressesInSubnet``.
DEFAULT_BACKOFF_SECONDS = 120.0

Flavour = Literal["vpc-cni", "cilium", "dense"]
#: The IPAM flavours: the VPC CNI; Cilium's ENI IPAM (falls back to /32 IPs on
#: ``InsufficientCidrBlocks`` and stays there); "dense" (Cilium's proposal #38499: single IPs
#: placed best-fit, into already spoiled /28s).
FLAVOURS: tuple[Flavour, ...] = ("vpc-cni", "cilium", "dense")


def _count(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidType(f"{name} must be an int{' or None' if optional else ''}, not {value!r}")
    if value < 0:
        raise InvalidArgument(f"{name} must be >= 0, not {value}")


@dataclass(frozen=True, slots=True)
class CniConfig:
    """The IPAM settings of every node of a cluster, with the VPC CNI's defaults.

    ``warm_prefix_target`` defaults to 1 as in the shipped manifest; ``warm_ip_target`` and
    ``minimum_ip_target`` are unset (None; 0 counts as unset, as in ipamd) and, when either is
    set, override the ENI/prefix targets. ``pre_allocate`` is Cilium's warm pool in /32 mode
    (its default 8). Construction validates every field (:class:`~ipfrag.InvalidType`,
    :class:`~ipfrag.InvalidArgument`). O(1).

    >>> CniConfig().warm_eni_target, CniConfig(prefix_delegation=True).warm_prefix_target
    (1, 1)
    >>> CniConfig(warm_ip_target=0).targets_defined
    False
    """

    prefix_delegation: bool = False
    warm_eni_target: int = 1
    warm_ip_target: int | None = None
    minimum_ip_target: int | None = None
    warm_prefix_target: int = 1
    custom_networking: bool = False
    flavour: Flavour = "vpc-cni"
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    pre_allocate: int = 8

    def __post_init__(self) -> None:
        for name in ("prefix_delegation", "custom_networking"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidType(f"{name} must be a bool, not {getattr(self, name)!r}")
        _count("warm_eni_target", self.warm_eni_target)
        _count("warm_prefix_target", self.warm_prefix_target)
        _count("warm_ip_target", self.warm_ip_target, optional=True)
        _count("minimum_ip_target", self.minimum_ip_target, optional=True)
        _count("pre_allocate", self.pre_allocate)
        if self.flavour not in FLAVOURS:
            raise InvalidArgument(f"unknown flavour {self.flavour!r}; expected one of {FLAVOURS}")
        b = self.backoff_seconds
        if not isinstance(b, (int, float)) or isinstance(b, bool):
            raise InvalidType(f"backoff_seconds must be a number, not {b!r}")
        if not b >= 0:
            raise InvalidArgument(f"backoff_seconds must be >= 0, not {b}")

    @property
    def targets_defined(self) -> bool:
        """Whether WARM_IP_TARGET or MINIMUM_IP_TARGET is set (``warmIPTargetsDefined``). O(1).

        >>> CniConfig(minimum_ip_target=30).targets_defined
        True
        """
        return bool(self.warm_ip_target) or bool(self.minimum_ip_target)


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A node's pool counters (ipamd's ``DataStoreStats``).

    ``total``: pod addresses held (ENI primary IPs excluded); ``assigned``: those in use by pods,
    plus the pods waiting for an address (then ``available`` is negative: the demand the
    pool must meet); ``prefixes``: prefixes held; ``free_prefixes``: prefixes with no address
    in use.

    >>> PoolStats(total=32, assigned=1, prefixes=2, free_prefixes=1).available
    31
    """

    total: int
    assigned: int
    prefixes: int = 0
    free_prefixes: int = 0

    @property
    def available(self) -> int:
        """Addresses held but not in use. O(1).

        >>> PoolStats(total=9, assigned=0).available
        9
        """
        return self.total - self.assigned


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def shortfall(cfg: CniConfig, stats: PoolStats, *, prefix_mode: bool) -> int:
    """Units short of WARM_IP_TARGET / MINIMUM_IP_TARGET (``datastoreTargetState``'s short).

    ``max(WARM_IP - available, MIN_IP - total, 0)`` addresses; in prefix mode that many
    addresses rounded up to whole /28 prefixes. 0 when neither target is set. O(1).

    >>> shortfall(CniConfig(minimum_ip_target=30), PoolStats(0, 0), prefix_mode=True)
    2
    >>> shortfall(CniConfig(warm_ip_target=5), PoolStats(9, 6), prefix_mode=False)
    2
    """
    if not cfg.targets_defined:
        return 0
    short = max((cfg.warm_ip_target or 0) - stats.available, 0)
    short = max(short, (cfg.minimum_ip_target or 0) - stats.total)
    return _ceil_div(short, IPS_PER_PREFIX) if prefix_mode else short


def pool_too_low(
    cfg: CniConfig,
    stats: PoolStats,
    *,
    max_pods: int,
    ips_per_eni: int,
    prefix_mode: bool | None = None,
    warm_ips: int | None = None,
) -> bool:
    """ipamd's ``isDatastorePoolTooLow``: should the node ask for more addresses now?

    Never once ``total >= max_pods``. With WARM_IP_TARGET/MINIMUM_IP_TARGET set: when
    :func:`shortfall` is positive. Otherwise when ``available < unit x warm target`` (unit:
    ``ips_per_eni`` secondary IPs and WARM_ENI_TARGET, or 16 and WARM_PREFIX_TARGET in prefix
    mode), or when the warm target is 0 and nothing is available. ``prefix_mode`` defaults to
    ``cfg.prefix_delegation``; ``warm_ips`` replaces ``unit x target`` by a plain address count
    (Cilium's /32 mode and its ``pre_allocate``). O(1).

    >>> cfg = CniConfig(prefix_delegation=True, warm_prefix_target=0)
    >>> pool_too_low(cfg, PoolStats(0, 0), max_pods=110, ips_per_eni=9)
    True
    >>> pool_too_low(cfg, PoolStats(16, 1, 1, 0), max_pods=110, ips_per_eni=9)
    False
    >>> pool_too_low(CniConfig(), PoolStats(9, 1), max_pods=29, ips_per_eni=9)
    True
    """
    if stats.total >= max_pods:
        return False
    prefix = cfg.prefix_delegation if prefix_mode is None else prefix_mode
    if cfg.targets_defined:
        return shortfall(cfg, stats, prefix_mode=prefix) > 0
    if warm_ips is not None:
        return stats.available < warm_ips or (warm_ips == 0 and stats.available <= 0)
    if prefix:
        unit, warm = IPS_PER_PREFIX, cfg.warm_prefix_target
    else:
        unit, warm = ips_per_eni, cfg.warm_eni_target
    return stats.available < unit * warm or (warm == 0 and stats.available <= 0)


def units_to_add(
    cfg: CniConfig,
    stats: PoolStats,
    *,
    ips_per_eni: int,
    prefix_mode: bool | None = None,
    warm_ips: int | None = None,
) -> int:
    """How many units (prefixes, or secondary IPs) growth asks for, when the pool is too low.

    With WARM_IP/MINIMUM_IP targets: the :func:`shortfall`, at least 1. Prefix mode: enough
    whole prefixes to bring the available addresses to ``16 x WARM_PREFIX_TARGET`` (above 0
    when the target is 0), at least 1. Secondary mode: whole ENIs' worth (``ips_per_eni``
    each; ipamd fills an ENI at a time). ``warm_ips`` (Cilium /32 mode): the addresses missing
    to reach it, at least 1. When pods wait (negative ``available``) this is what ipamd's
    successive reconcile cycles add in total until the pool is no longer too low. O(1).

    >>> units_to_add(CniConfig(prefix_delegation=True, warm_prefix_target=3),
    ...              PoolStats(16, 16, 1, 0), ips_per_eni=9)
    3
    >>> units_to_add(CniConfig(), PoolStats(9, 1), ips_per_eni=9)
    9
    >>> units_to_add(CniConfig(prefix_delegation=True), PoolStats(16, 50, 1, 0), ips_per_eni=9)
    4
    """
    prefix = cfg.prefix_delegation if prefix_mode is None else prefix_mode
    if cfg.targets_defined:
        return max(shortfall(cfg, stats, prefix_mode=prefix), 1)
    if warm_ips is not None:
        return max(warm_ips - stats.available, 1)
    if prefix:
        unit, warm = IPS_PER_PREFIX, cfg.warm_prefix_target
    else:
        unit, warm = ips_per_eni, cfg.warm_eni_target
    missing = unit * warm - stats.available + (1 if warm == 0 else 0)
    steps = max(_ceil_div(missing, unit), 1)
    return steps if prefix else steps * unit


def units_to_release(
    cfg: CniConfig,
    stats: PoolStats,
    *,
    max_pods: int,
    ips_per_eni: int,
    prefix_mode: bool | None = None,
    warm_ips: int | None = None,
) -> int:
    """How many units the node may give back now (ipamd's ``decreaseDatastorePool``).

    Prefix mode: only whole empty prefixes. With WARM_IP/MINIMUM_IP targets, ipamd's
    ``overPrefix``: ``min(free prefixes, prefixes - ceil((assigned + WARM_IP)/16),
    prefixes - ceil(MIN_IP/16))``; otherwise the free prefixes beyond WARM_PREFIX_TARGET.
    Secondary mode: with the targets set, the addresses over them (``over``); with only
    WARM_ENI_TARGET nothing (single IPs are never released, only whole unused ENIs). Never so
    many that the pool would be too low again (no grow/release ping-pong). O(1) per unit tried.

    >>> cfg = CniConfig(prefix_delegation=True)
    >>> units_to_release(cfg, PoolStats(48, 1, 3, 2), max_pods=110, ips_per_eni=9)
    1
    >>> units_to_release(CniConfig(), PoolStats(27, 0), max_pods=29, ips_per_eni=9)
    0
    """
    prefix = cfg.prefix_delegation if prefix_mode is None else prefix_mode
    if prefix:
        if cfg.targets_defined:
            need_warm = _ceil_div(stats.assigned + (cfg.warm_ip_target or 0), IPS_PER_PREFIX)
            need_min = _ceil_div(cfg.minimum_ip_target or 0, IPS_PER_PREFIX)
            over = min(stats.free_prefixes, stats.prefixes - need_warm, stats.prefixes - need_min)
        else:
            over = stats.free_prefixes - cfg.warm_prefix_target
        unit = IPS_PER_PREFIX
    elif cfg.targets_defined:
        over = max(stats.available - (cfg.warm_ip_target or 0), 0)
        over = min(over, stats.total - (cfg.minimum_ip_target or 0))
        unit = 1
    elif warm_ips is not None:
        over, unit = 0, 1  # Cilium's /32 mode keeps what it has (no excess-IP release modelled)
    else:
        return 0
    over = max(over, 0)
    while over > 0:
        after = PoolStats(
            stats.total - over * unit,
            stats.assigned,
            stats.prefixes - (over if prefix else 0),
            stats.free_prefixes - (over if prefix else 0),
        )
        if not pool_too_low(
            cfg,
            after,
            max_pods=max_pods,
            ips_per_eni=ips_per_eni,
            prefix_mode=prefix,
            warm_ips=warm_ips,
        ):
            break
        over -= 1
    return over
