"""EC2 instance network limits, and the max-pods numbers the EKS node tooling derives from them.

The shipped table (``ipfrag/data/instance-network-limits.tsv``, 1,391 types, see the README
beside it for provenance) is read once, lazily, on first use. Callers can add or override types
with :func:`register_instance_type` (new instance families appear every month), for instance from
a ``DescribeInstanceTypes`` response via :func:`limits_from_instance_type_info`.

Max pods follow the EKS node tooling (``max-pods-calculator.sh`` in awslabs/amazon-eks-ami and
``misc/eni-max-pods.txt`` in aws/amazon-vpc-cni-k8s):

- secondary-IP mode: ``enis * (ipv4_per_eni - 1) + 2``; the first address of every ENI is its
  primary IP and serves no pod, the ``+ 2`` are the host-network pods (aws-node, kube-proxy);
- prefix mode: ``enis * ((ipv4_per_eni - 1) * 16) + 2``: every non-primary slot holds a /28;
- custom networking: the primary ENI serves no pod, one ENI fewer;
- the result is capped at 110 on instances with at most 30 vCPUs and at 250 above.

Prefix mode applies where the VPC CNI allows prefixes (``IsPrefixDelegationSupported``: Nitro,
and bare metal whose hypervisor EC2 reports as absent); other (Xen) types fall back to the
secondary formula, as the CNI itself does. The old EKS calculator applied the prefix formula to
``hypervisor == "nitro"`` only, so for bare-metal types it printed the secondary number even with
prefix delegation on.

>>> from ipfrag.aws.limits import instance_limits, max_pods
>>> instance_limits("m5.large").max_enis
3
>>> max_pods("m5.large"), max_pods("m5.large", prefix_delegation=True, vcpus=2)
(29, 110)
"""

from __future__ import annotations

import csv
import difflib
import io
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, overload

from ipfrag.errors import InvalidArgument, InvalidType, IpfragError

__all__ = [
    "HYPERVISORS",
    "IPS_PER_PREFIX",
    "MAX_PODS_CAP_HIGH_CPU",
    "MAX_PODS_CAP_LOW_CPU",
    "MAX_PODS_LOW_CPU_LIMIT",
    "InstanceLimits",
    "InvalidInstanceLimits",
    "PodIpCapacity",
    "UnknownInstanceType",
    "VcpusRequired",
    "instance_limits",
    "instance_types",
    "limits_from_instance_type_info",
    "max_pods",
    "pod_ip_capacity",
    "register_instance_type",
    "unregister_instance_type",
]

#: Hypervisor values of the table; ``unknown`` is what EC2 reports (no value) for bare metal.
HYPERVISORS: tuple[str, ...] = ("nitro", "xen", "unknown")
#: Addresses in one IPv4 /28 prefix.
IPS_PER_PREFIX = 16
#: The EKS cap: 110 pods on instances with at most 30 vCPUs, 250 above.
MAX_PODS_CAP_LOW_CPU = 110
MAX_PODS_CAP_HIGH_CPU = 250
MAX_PODS_LOW_CPU_LIMIT = 30
#: Pods on the host network (aws-node, kube-proxy): counted in max pods, need no pod IP.
_HOST_NETWORK_PODS = 2

_DATA_FILE = "instance-network-limits.tsv"
_COLUMNS = (
    "instance_type",
    "max_enis",
    "ipv4_per_eni",
    "hypervisor",
    "bare_metal",
    "default_network_card",
    "network_cards",
)


class UnknownInstanceType(IpfragError, ValueError, LookupError):
    """An instance type that is neither shipped nor registered.

    ``suggestions`` holds the closest known names (possibly empty).
    """

    def __init__(self, instance_type: str, suggestions: Iterable[str] = ()) -> None:
        self.instance_type = instance_type
        self.suggestions: tuple[str, ...] = tuple(suggestions)
        message = f"unknown instance type {instance_type!r}"
        if self.suggestions:
            message += f"; did you mean {', '.join(self.suggestions)}?"
        message += " (add new types with ipfrag.aws.register_instance_type)"
        super().__init__(message)


class InvalidInstanceLimits(IpfragError, ValueError):
    """Limits that cannot describe a real instance (non-positive counts, unknown hypervisor ...)."""


class VcpusRequired(IpfragError, ValueError):
    """The EKS cap needs the vCPU count, which the table lacks and the caller did not give."""


def _normalize(instance_type: object) -> str:
    if not isinstance(instance_type, str):
        raise InvalidType(f"instance type must be a str, not {type(instance_type).__name__}")
    name = instance_type.strip().lower()
    if not name:
        raise UnknownInstanceType(instance_type)
    return name


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class InstanceLimits:
    """Network limits of one EC2 instance type.

    ``max_enis`` counts the interfaces pods can use, i.e. those of the default network card (what
    the VPC CNI and the EKS tooling count); ``network_cards`` lists ``(index, max_interfaces)`` of
    every card. ``vcpus`` is ``None`` for shipped types (the table has no vCPU counts) and may be
    given for registered ones. Construction validates every field and normalizes the name.

    >>> lim = InstanceLimits("M5.Large ", max_enis=3, ipv4_per_eni=10)
    >>> lim.instance_type, lim.network_cards, lim.supports_prefix_delegation
    ('m5.large', ((0, 3),), True)
    """

    instance_type: str
    max_enis: int
    ipv4_per_eni: int
    hypervisor: str = "nitro"
    bare_metal: bool = False
    default_network_card: int = 0
    network_cards: tuple[tuple[int, int], ...] = field(default=())
    vcpus: int | None = None

    def __post_init__(self) -> None:
        try:
            name = _normalize(self.instance_type)
        except (InvalidType, UnknownInstanceType):
            raise InvalidInstanceLimits(
                f"instance_type must be a non-empty str, got {self.instance_type!r}"
            ) from None
        object.__setattr__(self, "instance_type", name)
        for attr in ("max_enis", "ipv4_per_eni"):
            value = getattr(self, attr)
            if not _is_int(value) or value < 1:
                raise InvalidInstanceLimits(f"{name}: {attr} must be a positive int, got {value!r}")
        if self.hypervisor not in HYPERVISORS:
            raise InvalidInstanceLimits(
                f"{name}: hypervisor must be one of {', '.join(HYPERVISORS)}, "
                f"got {self.hypervisor!r}"
            )
        if not isinstance(self.bare_metal, bool):
            raise InvalidInstanceLimits(
                f"{name}: bare_metal must be a bool, got {self.bare_metal!r}"
            )
        if not _is_int(self.default_network_card) or self.default_network_card < 0:
            raise InvalidInstanceLimits(
                f"{name}: default_network_card must be an int >= 0, "
                f"got {self.default_network_card!r}"
            )
        if self.vcpus is not None and (not _is_int(self.vcpus) or self.vcpus < 1):
            raise InvalidInstanceLimits(f"{name}: vcpus must be a positive int, got {self.vcpus!r}")
        cards = self._checked_cards(name)
        object.__setattr__(self, "network_cards", cards)

    def _checked_cards(self, name: str) -> tuple[tuple[int, int], ...]:
        if not self.network_cards:
            return ((self.default_network_card, self.max_enis),)
        cards: list[tuple[int, int]] = []
        try:
            for index, interfaces in self.network_cards:
                if not (_is_int(index) and index >= 0 and _is_int(interfaces) and interfaces >= 1):
                    raise ValueError
                cards.append((index, interfaces))
        except (TypeError, ValueError):
            raise InvalidInstanceLimits(
                f"{name}: network_cards must be (index >= 0, max_interfaces >= 1) int pairs, "
                f"got {self.network_cards!r}"
            ) from None
        indexes = [index for index, _ in cards]
        if len(set(indexes)) != len(indexes):
            raise InvalidInstanceLimits(f"{name}: network card indexes repeat: {indexes}")
        if self.default_network_card not in indexes:
            raise InvalidInstanceLimits(
                f"{name}: default network card {self.default_network_card} is not among "
                f"network_cards {indexes}"
            )
        total = sum(interfaces for _, interfaces in cards)
        if self.max_enis > total:
            raise InvalidInstanceLimits(
                f"{name}: max_enis {self.max_enis} exceeds the {total} interfaces of all cards"
            )
        return tuple(sorted(cards))

    @property
    def supports_prefix_delegation(self) -> bool:
        """Whether the VPC CNI assigns /28 prefixes here: Nitro or bare metal. O(1).

        >>> instance_limits("t2.micro").supports_prefix_delegation
        False
        """
        return self.hypervisor == "nitro" or self.bare_metal

    @property
    def is_nitro(self) -> bool:
        """Whether EC2 reports the Nitro hypervisor (the old EKS calculator's test). O(1).

        >>> instance_limits("m5.metal").is_nitro, instance_limits("m5.metal").bare_metal
        (False, True)
        """
        return self.hypervisor == "nitro"

    @property
    def slots_per_eni(self) -> int:
        """IPv4 slots per ENI that can serve pods (all but the primary IP's). O(1).

        >>> instance_limits("m5.large").slots_per_eni
        9
        """
        return self.ipv4_per_eni - 1

    @property
    def total_interfaces(self) -> int:
        """Interfaces the instance can attach over all network cards. O(cards).

        >>> instance_limits("c6in.32xlarge").total_interfaces
        16
        """
        return sum(interfaces for _, interfaces in self.network_cards)


# ---------------------------------------------------------------------------------------------
# The registry: shipped table (loaded once, lazily) plus the caller's additions and overrides.

_lock = threading.Lock()
_shipped: dict[str, InstanceLimits] | None = None
_registered: dict[str, InstanceLimits] = {}


def _parse_table(text: str, source: str) -> dict[str, InstanceLimits]:
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    header = next(reader, None)
    if header is None or tuple(header) != _COLUMNS:
        raise InvalidInstanceLimits(f"{source}: header must be {_COLUMNS}, got {header}")
    table: dict[str, InstanceLimits] = {}
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            if len(row) != len(_COLUMNS):
                raise ValueError(f"{len(row)} columns instead of {len(_COLUMNS)}")
            name, enis, ips, hypervisor, metal, default_card, cards = row
            if metal not in ("true", "false"):
                raise ValueError(f"bare_metal must be true or false, got {metal!r}")
            limits = InstanceLimits(
                instance_type=name,
                max_enis=int(enis),
                ipv4_per_eni=int(ips),
                hypervisor=hypervisor,
                bare_metal=metal == "true",
                default_network_card=int(default_card),
                network_cards=tuple(
                    (int(index), int(count))
                    for index, count in (card.split(":") for card in cards.split(","))
                ),
            )
        except ValueError as exc:  # InvalidInstanceLimits is a ValueError too
            raise InvalidInstanceLimits(f"{source} line {line}: {exc}") from exc
        if limits.instance_type in table:
            raise InvalidInstanceLimits(f"{source} line {line}: duplicate {limits.instance_type}")
        table[limits.instance_type] = limits
    return table


def _shipped_table() -> dict[str, InstanceLimits]:
    global _shipped
    if _shipped is None:
        with _lock:
            if _shipped is None:
                resource = resources.files("ipfrag") / "data" / _DATA_FILE
                _shipped = _parse_table(resource.read_text(encoding="utf-8"), _DATA_FILE)
    return _shipped


def instance_limits(instance_type: str) -> InstanceLimits:
    """The network limits of ``instance_type`` (case and surrounding spaces ignored).

    Registered types take precedence over shipped ones. Raises :class:`UnknownInstanceType`
    (a ``ValueError`` and ``LookupError``) with close names as suggestions. O(1) after the
    one-time load of the table (about 1,400 rows); O(known types) to build suggestions on a miss.

    >>> instance_limits(" M5.LARGE ").ipv4_per_eni
    10
    >>> try:
    ...     instance_limits("m5.lage")
    ... except UnknownInstanceType as e:
    ...     print(e.suggestions[0])
    m5.large
    """
    name = _normalize(instance_type)
    found = _registered.get(name) or _shipped_table().get(name)
    if found is None:
        known = set(_shipped_table()) | set(_registered)
        raise UnknownInstanceType(instance_type, difflib.get_close_matches(name, known, n=3))
    return found


def instance_types() -> list[str]:
    """Every known instance type name, shipped and registered, sorted. O(n log n).

    >>> names = instance_types()
    >>> len(names) >= 1391, "m5.large" in names
    (True, True)
    """
    return sorted(set(_shipped_table()) | set(_registered))


@overload
def register_instance_type(instance_type: InstanceLimits, /) -> InstanceLimits: ...


@overload
def register_instance_type(
    instance_type: str,
    /,
    *,
    max_enis: int,
    ipv4_per_eni: int,
    hypervisor: str = "nitro",
    bare_metal: bool = False,
    default_network_card: int = 0,
    network_cards: Iterable[tuple[int, int]] = (),
    vcpus: int | None = None,
) -> InstanceLimits: ...


def register_instance_type(
    instance_type: str | InstanceLimits,
    /,
    *,
    max_enis: int | None = None,
    ipv4_per_eni: int | None = None,
    hypervisor: str = "nitro",
    bare_metal: bool = False,
    default_network_card: int = 0,
    network_cards: Iterable[tuple[int, int]] = (),
    vcpus: int | None = None,
) -> InstanceLimits:
    """Add an instance type, or override a shipped one; returns the stored limits.

    Pass either an :class:`InstanceLimits` or a name with keyword limits. Everything is
    validated before anything is stored (:class:`InvalidInstanceLimits` otherwise).
    ``network_cards`` defaults to one card holding ``max_enis`` interfaces. Registering the
    same name again replaces the earlier registration. O(1).

    >>> lim = register_instance_type("x9z.large", max_enis=3, ipv4_per_eni=12, vcpus=2)
    >>> max_pods("x9z.large")
    35
    >>> unregister_instance_type("x9z.large")
    """
    if isinstance(instance_type, InstanceLimits):
        if max_enis is not None or ipv4_per_eni is not None:
            raise InvalidInstanceLimits("give either an InstanceLimits or keyword limits, not both")
        limits = instance_type
    else:
        if max_enis is None or ipv4_per_eni is None:
            raise InvalidInstanceLimits(
                f"{instance_type!r}: max_enis and ipv4_per_eni are required"
            )
        try:
            cards = tuple(network_cards)
        except TypeError:
            raise InvalidInstanceLimits(
                f"{instance_type!r}: network_cards must be an iterable of pairs"
            ) from None
        limits = InstanceLimits(
            instance_type=instance_type,
            max_enis=max_enis,
            ipv4_per_eni=ipv4_per_eni,
            hypervisor=hypervisor,
            bare_metal=bare_metal,
            default_network_card=default_network_card,
            network_cards=cards,
            vcpus=vcpus,
        )
    with _lock:
        _registered[limits.instance_type] = limits
    return limits


def unregister_instance_type(instance_type: str) -> None:
    """Remove a registration made with :func:`register_instance_type`. O(1).

    A shipped type that the registration overrode becomes visible again. Raises
    :class:`~ipfrag.InvalidArgument` for a shipped type that was not overridden (shipped types
    cannot be removed) and :class:`UnknownInstanceType` for a name that is neither.

    >>> _ = register_instance_type("m5.large", max_enis=2, ipv4_per_eni=10)
    >>> instance_limits("m5.large").max_enis
    2
    >>> unregister_instance_type("m5.large")
    >>> instance_limits("m5.large").max_enis
    3
    """
    name = _normalize(instance_type)
    with _lock:
        if name not in _registered:
            if name in _shipped_table():
                raise InvalidArgument(
                    f"{name} is a shipped instance type, not a registration: only types added "
                    "with register_instance_type can be unregistered"
                )
            raise UnknownInstanceType(
                instance_type, difflib.get_close_matches(name, list(_registered), n=3)
            )
        del _registered[name]


def limits_from_instance_type_info(info: Mapping[str, Any]) -> InstanceLimits:
    """Build :class:`InstanceLimits` from one ``DescribeInstanceTypes`` ``InstanceTypes[]`` item.

    Counts the default network card's interfaces as ``max_enis`` (as the VPC CNI does), takes
    ``VCpuInfo.DefaultVCpus`` as ``vcpus`` and treats a missing ``Hypervisor`` as ``unknown``
    (EC2 omits it for bare metal). Pass the result to :func:`register_instance_type`. Raises
    :class:`InvalidInstanceLimits` naming the missing or malformed field. O(network cards).

    >>> info = {"InstanceType": "m7i.large", "Hypervisor": "nitro", "BareMetal": False,
    ...         "VCpuInfo": {"DefaultVCpus": 2},
    ...         "NetworkInfo": {"MaximumNetworkInterfaces": 3, "Ipv4AddressesPerInterface": 10,
    ...                         "DefaultNetworkCardIndex": 0,
    ...                         "NetworkCards": [{"NetworkCardIndex": 0,
    ...                                           "MaximumNetworkInterfaces": 3}]}}
    >>> lim = limits_from_instance_type_info(info)
    >>> lim.max_enis, lim.ipv4_per_eni, lim.vcpus
    (3, 10, 2)
    """

    def need(mapping: Mapping[str, Any], key: str, path: str) -> Any:
        if not isinstance(mapping, Mapping) or key not in mapping:
            raise InvalidInstanceLimits(f"DescribeInstanceTypes item: missing {path}")
        return mapping[key]

    name = need(info, "InstanceType", "InstanceType")
    network = need(info, "NetworkInfo", "NetworkInfo")
    ips = need(network, "Ipv4AddressesPerInterface", "NetworkInfo.Ipv4AddressesPerInterface")
    default_card = network.get("DefaultNetworkCardIndex", 0)
    cards_info = network.get("NetworkCards") or []
    cards: list[tuple[int, int]] = []
    for i, card in enumerate(cards_info):
        cards.append(
            (
                need(card, "NetworkCardIndex", f"NetworkInfo.NetworkCards[{i}].NetworkCardIndex"),
                need(
                    card,
                    "MaximumNetworkInterfaces",
                    f"NetworkInfo.NetworkCards[{i}].MaximumNetworkInterfaces",
                ),
            )
        )
    if cards:
        by_index = dict(cards)
        if default_card not in by_index:
            raise InvalidInstanceLimits(
                f"{name!r}: DefaultNetworkCardIndex {default_card!r} is not among NetworkCards"
            )
        enis = by_index[default_card]
    else:
        enis = need(network, "MaximumNetworkInterfaces", "NetworkInfo.MaximumNetworkInterfaces")
    vcpu_info = info.get("VCpuInfo")
    vcpus = vcpu_info.get("DefaultVCpus") if isinstance(vcpu_info, Mapping) else None
    return InstanceLimits(
        instance_type=name,
        max_enis=enis,
        ipv4_per_eni=ips,
        hypervisor=info.get("Hypervisor") or "unknown",
        bare_metal=info.get("BareMetal", False),
        default_network_card=default_card,
        network_cards=tuple(cards),
        vcpus=vcpus,
    )


# ---------------------------------------------------------------------------------------------
# Max pods and pod IP capacity.


@dataclass(frozen=True, slots=True)
class PodIpCapacity:
    """What a node can hand to pods: ``addresses`` in total, in ``prefixes`` /28s (prefix mode).

    ``mode`` is the mode really used: ``"secondary"`` also when prefix delegation was asked for
    on a type that does not support it. ``enis`` is the number of ENIs serving pods.
    """

    instance_type: str
    mode: Literal["secondary", "prefix"]
    enis: int
    slots_per_eni: int
    prefixes: int
    addresses: int


def _check_positive(name: str, value: int | None) -> None:
    if value is None:
        return
    if not _is_int(value):
        raise InvalidType(
            f"{name} must be a positive int, not {type(value).__name__} {value!r:.40}"
        )
    if value < 1:
        raise InvalidInstanceLimits(f"{name} must be a positive int, got {value!r}")


def _check_flags(**flags: object) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidType(f"{name} must be True or False, not {type(value).__name__}")


def pod_ip_capacity(
    instance_type: str,
    *,
    prefix_delegation: bool = False,
    custom_networking: bool = False,
    max_enis: int | None = None,
) -> PodIpCapacity:
    """Addresses (and /28 prefixes) the node can hand to pods, host-network pods excluded.

    Secondary mode: one address per non-primary slot of every pod ENI. Prefix mode (Nitro and
    bare metal only; others fall back to secondary): one /28 per such slot, 16 addresses each.
    ``custom_networking`` removes the primary ENI; ``max_enis`` caps the ENIs used (a
    non-positive ``max_enis`` raises :class:`InvalidInstanceLimits`, a non-int one
    :class:`~ipfrag.InvalidType`, as do non-bool flags). O(1).

    >>> pod_ip_capacity("m5.large").addresses
    27
    >>> cap = pod_ip_capacity("m5.large", prefix_delegation=True)
    >>> cap.prefixes, cap.addresses
    (27, 432)
    """
    _check_flags(prefix_delegation=prefix_delegation, custom_networking=custom_networking)
    limits = instance_limits(instance_type)
    _check_positive("max_enis", max_enis)
    enis = limits.max_enis if max_enis is None else min(max_enis, limits.max_enis)
    if custom_networking:
        enis = max(enis - 1, 0)
    slots = enis * limits.slots_per_eni
    if prefix_delegation and limits.supports_prefix_delegation:
        return PodIpCapacity(
            limits.instance_type,
            "prefix",
            enis,
            limits.slots_per_eni,
            slots,
            slots * IPS_PER_PREFIX,
        )
    return PodIpCapacity(limits.instance_type, "secondary", enis, limits.slots_per_eni, 0, slots)


def max_pods(
    instance_type: str,
    *,
    prefix_delegation: bool = False,
    custom_networking: bool = False,
    max_enis: int | None = None,
    vcpus: int | None = None,
    cap: bool = True,
) -> int:
    """The kubelet ``maxPods`` the EKS node tooling computes for ``instance_type``.

    ``pod IPs + 2`` (see :func:`pod_ip_capacity` for the pod IPs), then, with ``cap``, at most
    110 on instances with at most 30 vCPUs and 250 above. The vCPU count matters only when the
    uncapped value exceeds 110; it comes from ``vcpus``, else from a registered type's
    ``vcpus``, else :class:`VcpusRequired` is raised (pass ``vcpus`` or ``cap=False``).
    With ``custom_networking`` on a one-ENI type no ENI serves pods and the result is 2, as the
    calculator prints. Non-positive ``max_enis``/``vcpus`` raise :class:`InvalidInstanceLimits`
    (wrong types, ``None`` as instance type included: :class:`~ipfrag.InvalidType`),
    unknown types :class:`UnknownInstanceType`. O(1).

    >>> max_pods("m5.large"), max_pods("t3.medium"), max_pods("c5.18xlarge", cap=False)
    (29, 17, 737)
    >>> max_pods("m5.large", prefix_delegation=True, cap=False)
    434
    >>> max_pods("c5.18xlarge", vcpus=72)
    250
    """
    _check_positive("vcpus", vcpus)
    _check_flags(cap=cap)
    capacity = pod_ip_capacity(
        instance_type,
        prefix_delegation=prefix_delegation,
        custom_networking=custom_networking,
        max_enis=max_enis,
    )
    uncapped = capacity.addresses + _HOST_NETWORK_PODS
    if not cap or uncapped <= MAX_PODS_CAP_LOW_CPU:
        return uncapped
    if vcpus is None:
        vcpus = instance_limits(instance_type).vcpus
    if vcpus is None:
        raise VcpusRequired(
            f"max pods for {capacity.instance_type} is {uncapped} before the EKS cap, which is "
            f"{MAX_PODS_CAP_LOW_CPU} for instances with at most {MAX_PODS_LOW_CPU_LIMIT} vCPUs "
            f"and {MAX_PODS_CAP_HIGH_CPU} above; the table has no vCPU counts: pass vcpus=N "
            "(--vcpus N), or cap=False (--no-cap) for the uncapped value"
        )
    ceiling = MAX_PODS_CAP_LOW_CPU if vcpus <= MAX_PODS_LOW_CPU_LIMIT else MAX_PODS_CAP_HIGH_CPU
    return min(uncapped, ceiling)
