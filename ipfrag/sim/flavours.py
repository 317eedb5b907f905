"""How the IPAM flavours differ: where single IPs go, and what an ``InsufficientCidrBlocks`` does.

- ``"vpc-cni"`` (the Amazon VPC CNI): EC2 places everything (the subnet's policy, random by
  default); after ``InsufficientCidrBlocks`` the node backs off 120 s and tries prefixes again.
- ``"cilium"`` (Cilium's ENI IPAM with prefix delegation, cilium/cilium #38499, #46644): on
  ``InsufficientCidrBlocks`` the node falls back to single /32 IPs, placed by EC2 at random, and
  stays in /32 mode for good.
- ``"dense"`` (Cilium's proposal #38499): like Cilium, but the IPAM asks EC2 for specific
  addresses inside already spoiled /28s: its nodes' addresses go best-fit
  (``allocate_ip(policy="best-fit")``), and prefixes into the smallest free run. Other tenants
  of the subnet still get EC2's placement, the subnet's own policy (random by default).

>>> node_policy("dense"), falls_back_to_single_ips("vpc-cni")
('best-fit', False)
"""

from __future__ import annotations

from ipfrag.sim.cni import Flavour
from ipfrag.subnet import Address, Network, Policy, Subnet

__all__ = ["falls_back_to_single_ips", "node_policy", "place_ip", "place_prefix"]


def node_policy(flavour: Flavour) -> Policy | None:
    """The placement a flavour's nodes ask for: best-fit for dense, else the subnet's own. O(1).

    >>> node_policy("dense"), node_policy("vpc-cni")
    ('best-fit', None)
    """
    return "best-fit" if flavour == "dense" else None


def falls_back_to_single_ips(flavour: Flavour) -> bool:
    """Whether a node switches to /32 IPs for good on ``InsufficientCidrBlocks``. O(1).

    >>> falls_back_to_single_ips("cilium")
    True
    """
    return flavour in ("cilium", "dense")


def place_ip(flavour: Flavour, subnet: Subnet, *, owner: str) -> Address:
    """One single IP for a node (ENI primary or pod IP), placed as the flavour places it.

    Dense nodes ask for the fullest /28 with room (:func:`node_policy`); the others take
    EC2's placement, the subnet's own policy. Raises
    :class:`~ipfrag.InsufficientFreeAddresses` when the subnet is full. O(bits).

    >>> s = Subnet("10.0.0.0/28", policy="lowest")
    >>> place_ip("vpc-cni", s, owner="eni-1")
    IPv4Address('10.0.0.4')
    """
    return subnet.allocate_ip(owner=owner, policy=node_policy(flavour))


def place_prefix(
    flavour: Flavour, subnet: Subnet, *, owner: str, prefixlen: int | None = None
) -> Network:
    """One prefix for a node, placed as the flavour places it (dense: the smallest free run).

    Raises :class:`~ipfrag.InsufficientCidrBlocks` when no aligned block is free. O(bits).

    >>> s = Subnet("10.0.0.0/24", policy="lowest")
    >>> place_prefix("dense", s, owner="eni-1")
    IPv4Network('10.0.0.16/28')
    """
    return subnet.allocate_prefix(owner=owner, prefixlen=prefixlen, policy=node_policy(flavour))
