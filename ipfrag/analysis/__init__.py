"""The analysis layer: how fragmented is a subnet, where, and what to do about it.

Built on :class:`~ipfrag.Subnet`'s public API only (it never imports :mod:`ipfrag.aws`):

- :func:`analyze` gives a :class:`Report`: every aligned block of a size classified,
  the AWS support tool's fragmentation score and severity, the Linux
  ``unusable_index``/``extfrag_index``, stranded addresses, the free-block histogram,
  who holds the addresses and who spoils the fragmented blocks;
- :func:`fragmentation_score`, :func:`severity` and :func:`score`: the score alone,
  cheap enough to call at every simulation step;
- maps: :func:`text_map`, :func:`to_svg`, :func:`to_png` (extra ``[plot]``),
  :func:`subnet_html` for notebooks;
- :class:`Drain` (``.nodes``, ``.plan(k)``): what draining EKS nodes frees, the nodes
  being what :func:`drainable_node` / :func:`drainable_nodes` read in owner info;
- :func:`advise_reservation`: where a ``prefix`` CIDR reservation fits.

>>> import ipfrag
>>> s = ipfrag.Subnet("10.0.0.0/24"); _ = s.allocate_ip("10.0.0.17", owner="eni-1")
>>> ipfrag.analysis.fragmentation_score(s), ipfrag.analysis.severity(s).value
(8, 'HEALTHY')
"""

from ipfrag.analysis.advice import Advice, Place, advise_reservation
from ipfrag.analysis.drain import Drain, DrainPlan, NodeDrain, drainable_node, drainable_nodes
from ipfrag.analysis.maps import Cell, cells, subnet_html, text_map, to_png, to_svg
from ipfrag.analysis.report import (
    BLOCK_CLASSES,
    MAX_LISTED,
    BlockInfo,
    ExtraMissing,
    Holders,
    Interface,
    Report,
    Score,
    Severity,
    analyze,
    fragmentation_score,
    holders_by_kind,
    interfaces,
    score,
    severity,
)

__all__ = [
    "BLOCK_CLASSES",
    "MAX_LISTED",
    "Advice",
    "BlockInfo",
    "Cell",
    "Drain",
    "DrainPlan",
    "ExtraMissing",
    "Holders",
    "Interface",
    "NodeDrain",
    "Place",
    "Report",
    "Score",
    "Severity",
    "advise_reservation",
    "analyze",
    "cells",
    "drainable_node",
    "drainable_nodes",
    "fragmentation_score",
    "holders_by_kind",
    "interfaces",
    "score",
    "severity",
    "subnet_html",
    "text_map",
    "to_png",
    "to_svg",
]
