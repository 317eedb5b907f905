"""Drain plans: which EKS nodes to drain (and replace) to get whole free blocks back.

A node is an EC2 instance: every owner whose info says ``drainable`` (true) and names
an ``instance_id`` belongs to that instance's node, its primary and secondary ENIs and
the branch ENIs of its pods alike. Draining a node frees every address and prefix of
all its owners. A block (of the size, a /28 by default) becomes free when every
address in it belongs to drained nodes; a block holding an address of any other owner
(Lambda, NAT, load balancers, RDS, endpoints, owners without info ...) or an address
AWS reserves can never be freed by draining.

:class:`Drain` answers two questions:

- :attr:`Drain.nodes`: per node, the blocks that become free if that node alone is
  drained (its own prefixes included), the support tool's ``--node-recs`` without
  its two misses (freed prefix blocks; branch ENIs with no attachment, which carry
  the instance id in their owner info);
- :meth:`Drain.plan`: the smallest set of nodes whose draining frees at least ``k``
  blocks. Exact (branch and bound, iterative deepening on the set size) while the
  search stays within a budget; otherwise the greedy below, with the a-posteriori
  bound it guarantees stated in the plan.

The greedy repeatedly adds the group of nodes that completes blocks at the best rate
(blocks freed per node added). Its answer is compared with a lower bound on the
optimum (the fewest nodes whose freeable blocks could add up to ``k``), so a plan
always says how far from optimal it can be: ``len(nodes) / lower_bound``.

>>> import ipfrag
>>> s = ipfrag.Subnet("10.0.0.0/26")
>>> for eni, node, ip in [("a", "i-1", "10.0.0.17"), ("b", "i-2", "10.0.0.18"),
...                       ("c", "i-2", "10.0.0.33")]:
...     _ = s.allocate_ip(ip, owner=eni)
...     s.set_owner_info(eni, {"instance_id": node, "drainable": True})
>>> d = Drain(s)
>>> [(n.instance_id, n.blocks_freed) for n in d.nodes]
[('i-2', 1), ('i-1', 0)]
>>> p = d.plan(2); p.nodes, p.blocks_freed, p.method
(('i-1', 'i-2'), 2, 'exact')
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ipfrag._gc import paused_gc
from ipfrag.analysis.report import _aws_reserved_blocks, block_prefixlen
from ipfrag.errors import InvalidArgument, InvalidType
from ipfrag.subnet import Subnet

__all__ = ["Drain", "DrainPlan", "NodeDrain", "drainable_node", "drainable_nodes"]

#: Search nodes the exact branch and bound may visit before the greedy answer stands.
EXACT_BUDGET = 200_000


def drainable_node(info: dict[str, object]) -> str | None:
    """The node (instance id) an owner's addresses go with when drained; None if not drainable.

    O(1).

    >>> drainable_node({"instance_id": "i-1", "drainable": True})
    'i-1'
    >>> drainable_node({"kind": "lambda"}) is None
    True
    """
    return _node_if_drainable(info.get("drainable"), info.get("instance_id"))


def _node_if_drainable(drainable: object, node: object) -> str | None:
    return node if drainable is True and isinstance(node, str) and node else None


def drainable_nodes(subnet: Subnet) -> dict[str | None, str]:
    """Every drainable owner's node: what :func:`drainable_node` says of each owner's info,
    read in bulk. Cost: O(owners with info).

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/24")
    >>> s.set_owner_info("eni-1", {"instance_id": "i-1", "drainable": True})
    >>> s.set_owner_info("eni-2", {"instance_id": "i-2", "drainable": False})
    >>> drainable_nodes(s)
    {'eni-1': 'i-1'}
    """
    drainable = subnet.owner_info_values("drainable")
    return {
        owner: node
        for owner, value in subnet.owner_info_values("instance_id").items()
        if (node := _node_if_drainable(drainable.get(owner), value)) is not None
    }


@dataclass(frozen=True, slots=True)
class NodeDrain:
    """What draining one node alone gives (see :attr:`Drain.nodes`).

    >>> NodeDrain("i-1", ("eni-1", "eni-2"), addresses=3, prefixes=1, blocks_touched=3,
    ...           blocks_freed=1).blocks_freed
    1
    """

    instance_id: str
    owners: tuple[str, ...]  # its ENIs in this subnet
    addresses: int  # single addresses it holds
    prefixes: int  # prefixes it holds
    blocks_touched: int  # blocks holding any of its addresses (its prefix blocks included)
    blocks_freed: int  # blocks that become free if it alone is drained

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (keys as the attributes). O(owners).

        >>> NodeDrain("i-1", ("eni-1",), 2, 1, 2, 1).to_dict()["blocks_freed"]
        1
        """
        return {
            "instance_id": self.instance_id,
            "owners": list(self.owners),
            "addresses": self.addresses,
            "prefixes": self.prefixes,
            "blocks_touched": self.blocks_touched,
            "blocks_freed": self.blocks_freed,
        }


@dataclass(frozen=True, slots=True)
class DrainPlan:
    """The fewest nodes to drain to free ``k`` blocks (see :meth:`Drain.plan`).

    ``nodes`` is None when even draining every drainable node frees fewer than ``k``
    blocks (``recoverable`` says how many it would). ``method`` is ``"exact"`` (the
    plan is minimal) or ``"greedy"`` (at most ``len(nodes) / lower_bound`` times the
    minimum).

    >>> DrainPlan(2, ("i-1",), 3, "exact", 1, 5).bound
    1.0
    """

    k: int
    nodes: tuple[str, ...] | None
    blocks_freed: int
    method: Literal["exact", "greedy"]
    lower_bound: int
    recoverable: int

    @property
    def bound(self) -> float | None:
        """How many times the minimum the plan may be (1.0 when exact); None if infeasible. O(1).

        >>> DrainPlan(3, ("i-1", "i-2"), 3, "greedy", 1, 9).bound
        2.0
        """
        if self.nodes is None:
            return None
        if self.method == "exact" or not self.nodes:
            return 1.0
        return len(self.nodes) / max(1, self.lower_bound)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: the attributes plus ``bound``. O(nodes).

        >>> DrainPlan(1, None, 0, "exact", 0, 0).to_dict()["nodes"] is None
        True
        """
        return {
            "k": self.k,
            "nodes": None if self.nodes is None else list(self.nodes),
            "blocks_freed": self.blocks_freed,
            "method": self.method,
            "lower_bound": self.lower_bound,
            "bound": self.bound,
            "recoverable": self.recoverable,
        }


class Drain:
    """The drain model of one subnet for blocks of ``/prefixlen`` (the subnet's default).

    Built once, O(A) for A allocations (plus an owner info read per owner); then
    :attr:`nodes` is O(G) and :meth:`plan` is exact or greedy as described in the
    module. The model keeps no reference to the subnet.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/26"); _ = s.allocate_prefix("10.0.0.16/28", owner="eni-1")
    >>> s.set_owner_info("eni-1", {"instance_id": "i-1", "drainable": True})
    >>> d = Drain(s); d.recoverable, d.nodes[0].blocks_freed
    (1, 1)
    """

    @paused_gc()  # many small objects, no cycles
    def __init__(self, subnet: Subnet, prefixlen: int | None = None) -> None:
        length = block_prefixlen(subnet, prefixlen)
        self.prefixlen = length
        j = subnet.cidr.max_prefixlen - length
        base = int(subnet.cidr.network_address)
        top = subnet.cidr.max_prefixlen
        node_of = drainable_nodes(subnet)
        owners: dict[str, set[str]] = defaultdict(set)
        singles: dict[str, int] = defaultdict(int)
        prefixes: dict[str, int] = defaultdict(int)
        solo: dict[str, int] = defaultdict(int)  # blocks its own prefixes cover
        holders: dict[int, set[str]] = defaultdict(set)
        blocked = _aws_reserved_blocks(subnet, j)
        for first, prefixlen, owner, is_prefix in subnet.allocation_values():
            node = node_of.get(owner)
            order = top - prefixlen
            off = first - base
            if node is not None:
                owners[node].add(owner or "")
                if is_prefix:
                    prefixes[node] += 1
                else:
                    singles[node] += 1
            if order >= j and is_prefix:
                if node is not None:
                    solo[node] += 1 << (order - j)
                continue
            if node is None:
                blocked.add(off >> j)
            else:
                holders[off >> j].add(node)
        groups: dict[frozenset[str], int] = defaultdict(int)
        touched: dict[str, int] = defaultdict(int)
        for block, nodes in holders.items():
            for n in nodes:
                touched[n] += 1
            if block not in blocked:
                groups[frozenset(nodes)] += 1
        for n, c in solo.items():
            groups[frozenset((n,))] += c
            touched[n] += c
        self._groups = dict(groups)
        # The most blocks a node can help free: the freeable blocks it holds addresses in.
        # Summed over any set of nodes, it bounds what draining them frees.
        self._gain: dict[str, int] = defaultdict(int)
        for group, w in groups.items():
            for n in group:
                self._gain[n] += w
        self.nodes: list[NodeDrain] = sorted(
            (
                NodeDrain(
                    n,
                    tuple(sorted(owners[n])),
                    singles[n],
                    prefixes[n],
                    touched.get(n, 0),
                    groups.get(frozenset((n,)), 0),
                )
                for n in owners
            ),
            key=lambda d: (-d.blocks_freed, -d.blocks_touched, d.instance_id),
        )
        #: Blocks draining every drainable node would free.
        self.recoverable = sum(groups.values())

    def freed_by(self, nodes: Iterable[str]) -> int:
        """Blocks that become free when all of ``nodes`` are drained. O(G) for G block groups.

        >>> import ipfrag
        >>> Drain(ipfrag.Subnet("10.0.0.0/24")).freed_by(["i-1"])
        0
        """
        chosen = set(nodes)
        return sum(w for group, w in self._groups.items() if group <= chosen)

    def _lower_bound(self, k: int) -> int:
        total = m = 0
        for t in sorted(self._gain.values(), reverse=True):
            if total >= k:
                break
            total += t
            m += 1
        return m

    def _greedy(self, k: int) -> list[str]:
        by_node: dict[str, list[frozenset[str]]] = defaultdict(list)
        for group in self._groups:
            for n in group:
                by_node[n].append(group)
        chosen: set[str] = set()
        done: set[frozenset[str]] = set()
        freed = 0
        order: list[str] = []
        while freed < k:
            best: tuple[float, int, tuple[str, ...]] | None = None
            candidates = {group - chosen for group in self._groups if group not in done}
            for missing in candidates:
                after = chosen | missing
                # Only groups holding one of the missing nodes can complete now.
                completed = {g for n in missing for g in by_node[n] if g not in done and g <= after}
                gain = sum(self._groups[g] for g in completed)
                key = (gain / len(missing), -len(missing), tuple(sorted(missing)))
                if best is None or key[:2] > best[:2] or (key[:2] == best[:2] and key[2] < best[2]):
                    best = key
            assert best is not None  # the caller checked k <= recoverable
            chosen.update(best[2])
            order.extend(best[2])
            newly = {g for n in best[2] for g in by_node[n] if g not in done and g <= chosen}
            done |= newly
            freed += sum(self._groups[g] for g in newly)
        return order

    def _exact(self, k: int, lower: int, upper: int, budget: int) -> list[str] | None:
        """A set of fewer than ``upper`` nodes freeing ``k`` blocks, None if there is none;
        raises _OutOfBudget when the search grows past ``budget`` steps."""
        relevant = sorted(self._gain, key=lambda n: (-self._gain[n], n))
        gains = [self._gain[n] for n in relevant]
        index = {n: i for i, n in enumerate(relevant)}
        groups = [(sorted(index[n] for n in g), w) for g, w in self._groups.items()]
        by_node: list[list[int]] = [[] for _ in relevant]
        for gi, (members, _) in enumerate(groups):
            for i in members:
                by_node[i].append(gi)
        missing = [len(m) for m, _ in groups]
        steps = 0

        def search(start: int, left: int, value: int, chosen: list[int]) -> list[int] | None:
            nonlocal steps
            if value >= k:
                return list(chosen)
            if left == 0:
                return None
            steps += 1
            if steps > budget:
                raise _OutOfBudget
            for i in range(start, len(relevant)):
                # gains are sorted descending: the best the next `left` nodes can add.
                if value + sum(gains[i : i + left]) < k:
                    return None
                gained = 0
                for gi in by_node[i]:
                    missing[gi] -= 1
                    if missing[gi] == 0:
                        gained += groups[gi][1]
                chosen.append(i)
                found = search(i + 1, left - 1, value + gained, chosen)
                chosen.pop()
                for gi in by_node[i]:
                    missing[gi] += 1
                if found is not None:
                    return found
            return None

        for size in range(lower, upper):
            found = search(0, size, 0, [])
            if found is not None:
                return [relevant[i] for i in found]
        return None

    def plan(self, k: int, *, exact_budget: int = EXACT_BUDGET) -> DrainPlan:
        """The fewest nodes whose draining frees at least ``k`` blocks.

        Exact (minimal) when the branch and bound finishes within ``exact_budget``
        search steps, else greedy with its bound stated (see the module). Raises
        :class:`~ipfrag.InvalidArgument` for ``k < 1``. Cost: the greedy is O(s * G * g * d)
        for s steps (at most the plan's size), G block groups of at most g nodes and d
        groups per node; the exact search is exponential in the plan's size, capped by
        the budget.

        >>> import ipfrag
        >>> Drain(ipfrag.Subnet("10.0.0.0/24")).plan(1).nodes is None
        True
        """
        if not isinstance(k, int) or isinstance(k, bool):
            raise InvalidType(f"k must be an int, not {k!r}")
        if k < 1:
            raise InvalidArgument(f"k must be at least 1, not {k}")
        lower = self._lower_bound(k)
        if k > self.recoverable:
            return DrainPlan(k, None, self.recoverable, "exact", lower, self.recoverable)
        greedy = self._greedy(k)
        method: Literal["exact", "greedy"] = "exact"
        nodes = greedy
        if len(greedy) > lower:
            try:
                better = self._exact(k, lower, len(greedy), exact_budget)
            except _OutOfBudget:
                method = "greedy"
            else:
                if better is not None:
                    nodes = better
        chosen = tuple(sorted(nodes))
        return DrainPlan(k, chosen, self.freed_by(chosen), method, lower, self.recoverable)


class _OutOfBudget(Exception):
    """The exact search grew past its budget: the greedy plan stands."""
