"""asv suite: load a /16 snapshot with 40,000 interfaces, analyze it, and the support tool's peer.

The workload is :func:`benchmarks.load_snapshot.make_snapshot` (seeded, generated in
memory, built once per run by ``setup_cache``). ``time_load`` is
:func:`ipfrag.aws.load_snapshot` from the parsed responses, ``time_load_and_analyze`` adds
the per-subnet figures ``ipfrag analyze`` prints, ``time_support_tool`` is the AWS support
team's analysis of the same parsed data, and ``track_load_retained_mb`` the memory a loaded
snapshot keeps. Run ``asv run --quick --python=same --show-stderr``.
"""

from __future__ import annotations

from typing import Any

from benchmarks.compare import traced_bytes
from benchmarks.load_snapshot import CIDR, SUBNET_ID, analysis_function, make_snapshot
from benchmarks.peers_support_tool import support_tool_analysis

SEED = 1


class LoadSnapshot:
    """The /16 of issue 9: load, load + analysis, and the support tool on the same data."""

    timeout = 300

    def setup_cache(self) -> tuple[dict[str, Any], dict[str, Any]]:
        w = make_snapshot(SEED)
        return w.subnets, w.network_interfaces

    def time_load(self, data: tuple[dict[str, Any], dict[str, Any]]) -> None:
        from ipfrag.aws import load_snapshot

        load_snapshot(*data)

    def time_load_and_analyze(self, data: tuple[dict[str, Any], dict[str, Any]]) -> None:
        from ipfrag.aws import load_snapshot

        analysis_function()(load_snapshot(*data)[SUBNET_ID])

    def time_support_tool(self, data: tuple[dict[str, Any], dict[str, Any]]) -> None:
        support_tool_analysis(CIDR, data[1]["NetworkInterfaces"])

    def track_load_retained_mb(self, data: tuple[dict[str, Any], dict[str, Any]]) -> float:
        from ipfrag.aws import load_snapshot

        return traced_bytes(lambda: load_snapshot(*data)) / 1e6

    track_load_retained_mb.unit = "MB"  # type: ignore[attr-defined]
