"""Diagnose the shipped EKS snapshot, then try the advice on a what-if copy.

Loads the shipped ``eks-prefix`` example snapshot (no AWS access), prints the fragmentation
report and its block map, the nodes whose draining frees the most /28s, the smallest
drain plan for 8 free /28s, where a /25 ``prefix`` reservation could go, and finally
applies the plan and the reservation to a ``copy()`` of the subnet and shows the score
drop. The notebook ``examples/analyze.ipynb`` walks through the same steps.

    python examples/analyze.py
"""

from __future__ import annotations

import ipfrag
import ipfrag.aws
from ipfrag.analysis import Advice, Drain, DrainPlan, advise_reservation


def load() -> ipfrag.Subnet:
    """The one subnet of the ``eks-prefix`` example."""
    (subnet,) = ipfrag.aws.load_example("eks-prefix").values()
    return subnet


def apply(subnet: ipfrag.Subnet, plan: DrainPlan, advice: Advice) -> ipfrag.Subnet:
    """A what-if copy: the plan's nodes drained, and the first advised place reserved."""
    place = advice.places[0]
    nodes = set(plan.nodes or ()) | set(place.drain)
    what_if = subnet.copy()
    for owner in {a.owner for a in subnet.allocations() if a.owner}:
        if subnet.owner_info(owner).get("instance_id") in nodes:
            what_if.release_owner(owner)
    what_if.reserve(place.cidr, "prefix", description="advised by ipfrag")
    return what_if


def main() -> None:
    subnet = load()
    report = ipfrag.analyze(subnet)
    print(report)
    print(report.map(color=False))

    drain = Drain(subnet)
    print("\nnodes whose draining frees the most /28s:")
    for node in drain.nodes[:5]:
        print(f"  {node.instance_id}: {node.blocks_freed} /28s ({len(node.owners)} ENIs)")
    plan = drain.plan(8)
    print(f"drain plan for 8 free /28s ({plan.method}): {plan.nodes}")

    pods = ipfrag.aws.max_pods("m5.large", prefix_delegation=True, vcpus=2) - 2
    advice = advise_reservation(subnet, 25, pods_per_node=pods, limit=3)
    print(f"\n/25 prefix reservation: {advice.free_places} places free now")
    for place in advice.places:
        print(
            f"  {place.cidr}: {place.prefixes} /28 prefixes = {place.nodes} m5.large nodes; "
            f"first drain {len(place.drain)} nodes ({place.displaced} addresses)"
        )

    after = ipfrag.analyze(apply(subnet, plan, advice))
    print(
        f"\nwhat-if: score {report.score.value} -> {after.score.value}, "
        f"free /28s {report.blocks['free']} -> {after.blocks['free']}"
    )


if __name__ == "__main__":
    main()
