"""How the IPAM flavours differ: where single IPs go, and what an ``InsufficientCidrBlocks`` does.

- ``"vpc-cni"`` (the Amazon VPC CNI): EC2 places everything (the subnet's policy, random by
  default); after ``InsufficientCidrBlocks`` the node backs off 120 s and tries prefixes again.
- ``"cilium"`` (Cilium's ENI IPAM with prefix delegation, cilium/cilium #38499, #46644): on
  ``InsufficientCidrBlocks`` the node falls back to single /32 IPs, placed by EC2 at random, and
  stays in /32 mode for good.
- ``"dense"`` (Cilium's proposal #38499): like Cilium, but the IPAM asks EC2 for specific
  addresses inside already spoiled /28s: its subnets place automatic addresses best-fit
  (``Subnet(policy="best-fit")``), and prefixes into the smallest free run. Other tenants of the
  subnet still get EC2's random placement (:func:`place_random_ip`).

>>> subnet_policy("dense", "random"), falls_back_to_single_ips("vpc-cni")
('best-fit', False)
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from ipfrag.errors import InsufficientFreeAddresses
from ipfrag.sim.cni import Flavour
from ipfrag.subnet import Address, Subnet

__all__ = ["falls_back_to_single_ips", "place_ip", "place_random_ip", "subnet_policy"]

_RANDOM_TRIES = 64


def subnet_policy(flavour: Flavour, policy: str) -> str:
    """The placement policy the flavour's subnets need: ``policy``, or best-fit for dense. O(1).

    >>> subnet_policy("vpc-cni", "random")
    'random'
    """
    return "best-fit" if flavour == "dense" else policy


def falls_back_to_single_ips(flavour: Flavour) -> bool:
    """Whether a node switches to /32 IPs for good on ``InsufficientCidrBlocks``. O(1).

    >>> falls_back_to_single_ips("cilium")
    True
    """
    return flavour in ("cilium", "dense")


def place_ip(flavour: Flavour, subnet: Subnet, rng: random.Random, *, owner: str) -> Address:
    """One single IP for a node (ENI primary or pod IP), placed as the flavour places it.

    The subnet's own policy does it (best-fit for dense, see :func:`subnet_policy`).
    Raises :class:`~ipfrag.InsufficientFreeAddresses` when the subnet is full. O(bits).

    >>> s = Subnet("10.0.0.0/28", policy="lowest")
    >>> place_ip("vpc-cni", s, random.Random(1), owner="eni-1")
    IPv4Address('10.0.0.4')
    """
    return subnet.allocate_ip(owner=owner)


def place_random_ip(subnet: Subnet, rng: random.Random, *, owner: str) -> Address:
    """One single IP placed as EC2 does (uniformly at random), whatever the subnet's policy.

    A random-policy subnet places it itself. Otherwise (a dense flavour's best-fit subnet)
    random addresses are drawn until one is free and outside every reservation (automatic
    single IPs never land in reservations), which is uniform over the eligible addresses;
    after 64 misses the eligible addresses are listed and one is drawn. Raises
    :class:`~ipfrag.InsufficientFreeAddresses` when none is left. O(bits) expected while
    the subnet is not nearly full, O(free blocks) otherwise.

    >>> s = Subnet("10.0.0.0/24", policy="best-fit")
    >>> a = place_random_ip(s, random.Random(5), owner="lambda"); s.owner_of(a)
    'lambda'
    """
    if subnet.policy == "random":
        return subnet.allocate_ip(owner=owner)
    base = int(subnet.cidr.network_address)
    reserved = [r.cidr for r in subnet.reservations]
    make = ipaddress.ip_address
    for _ in range(_RANDOM_TRIES):
        addr = make(base + rng.randrange(subnet.size))
        if subnet.is_free(addr) and not any(addr in r for r in reserved):
            return subnet.allocate_ip(addr, owner=owner)
    return subnet.allocate_ip(_draw_free(subnet, reserved, rng), owner=owner)


def _draw_free(subnet: Subnet, reserved: list[Any], rng: random.Random) -> Address:
    import netaddr

    free = netaddr.IPSet(str(n) for n in subnet.free_ranges())
    if reserved:
        free -= netaddr.IPSet(str(r) for r in reserved)
    if not free.size:
        raise InsufficientFreeAddresses(f"{subnet.cidr} has no free address outside reservations")
    k = rng.randrange(free.size)
    for cidr in free.iter_cidrs():
        if k < cidr.size:
            return ipaddress.ip_address(int(cidr.first) + k)
        k -= cidr.size
    raise AssertionError("unreachable: k < free.size")  # pragma: no cover
