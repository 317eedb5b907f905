"""Block maps of a :class:`~ipfrag.analysis.Report`: terminal text, SVG, PNG and notebook HTML.

Each cell is one aligned block of the report's size, coloured by class. A space with
more blocks than ``max_cells`` (4,096 by default: a /16 of /28s fits whole, 64 per
row) is zoomed out: each cell then summarizes ``zoom`` consecutive blocks (a power of
two, stated in the legend) and shows the most telling class among them, in the order
fragmented, full, prefix_allocated, reserved, free. Blocks overlapping a CIDR
reservation are outlined (terminal: a marker line under the row).

>>> import ipfrag
>>> s = ipfrag.Subnet("10.0.0.0/26"); _ = s.allocate_ip("10.0.0.20", owner="eni-1")
>>> print(text_map(ipfrag.analyze(s), color=False))
/28 blocks of 10.0.0.0/26, 1 block per cell
10.0.0.0   r%.r
legend: . free  % fragmented  # full  P prefix_allocated  r reserved
"""

from __future__ import annotations

import bisect
import html
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ipfrag.analysis.report import ExtraMissing, Report, analyze
from ipfrag.errors import InvalidArgument, IpfragError
from ipfrag.subnet import Network, Subnet

__all__ = [
    "CLASS_CHARS",
    "CLASS_COLORS",
    "Cell",
    "cells",
    "report_html",
    "subnet_html",
    "text_map",
    "to_png",
    "to_svg",
    "use_color",
]

#: One character per class in the terminal map.
CLASS_CHARS = {
    "free": ".",
    "fragmented": "%",
    "full": "#",
    "prefix_allocated": "P",
    "reserved": "r",
}
#: Fill colours (SVG, PNG, HTML) per class.
CLASS_COLORS = {
    "free": "#4caf50",
    "fragmented": "#ff9800",
    "full": "#d32f2f",
    "prefix_allocated": "#1e88e5",
    "reserved": "#9e9e9e",
}
_ANSI = {
    "free": "\x1b[32m",
    "fragmented": "\x1b[33m",
    "full": "\x1b[31m",
    "prefix_allocated": "\x1b[34m",
    "reserved": "\x1b[90m",
}
_RESET = "\x1b[0m"
_TELLING = ("fragmented", "full", "prefix_allocated", "reserved", "free")
_RES_MARK = {(): " ", ("prefix",): "-", ("explicit",): "=", ("explicit", "prefix"): "+"}
_ROW = 64
_MAX_CELLS = 4096


@dataclass(frozen=True, slots=True)
class Cell:
    """One map cell: ``zoom`` consecutive blocks, the class shown, and what it summarizes.

    >>> import ipfrag
    >>> cells(ipfrag.analyze(ipfrag.Subnet("10.0.0.0/26")))[1][1].cls
    'free'
    """

    cidr: Network
    cls: str
    counts: dict[str, int]
    reservations: tuple[str, ...]
    holders: tuple[str, ...]


def cells(report: Report, max_cells: int = _MAX_CELLS) -> tuple[int, list[Cell]]:
    """The map's cells and its zoom (blocks per cell, a power of two), in address order.

    Cost: O(C log A + A) for C cells and A allocations, whatever the space's size.

    >>> import ipfrag
    >>> zoom, cs = cells(ipfrag.analyze(ipfrag.Subnet("2600:1f14::/64")), max_cells=16)
    >>> zoom, len(cs), cs[0].cls, cs[0].counts["free"]
    (4096, 16, 'reserved', 4095)
    """
    if not isinstance(max_cells, int) or max_cells < 1:
        raise InvalidArgument(f"max_cells must be a positive int, not {max_cells!r}")
    zoom = 1
    while report.total_blocks // zoom > max_cells:
        zoom *= 2
    classes = report._classes
    index = report._class_index
    covered = report._covered
    out: list[Cell] = []
    n = report.total_blocks // zoom
    order = report.cidr.max_prefixlen - report.prefixlen
    zoom_order = order + zoom.bit_length() - 1
    c = 0  # next covered range that may overlap
    for cell in range(n):
        lo, hi = cell * zoom, (cell + 1) * zoom
        counts = dict.fromkeys(_TELLING, 0)
        holders: list[str] = []
        for idx in index[bisect.bisect_left(index, lo) : bisect.bisect_left(index, hi)]:
            counts[classes[idx]] += 1
            if len(holders) < 8:
                u = report._touched.get(idx)
                if u is not None:
                    holders.extend(o or "" for o in u.owners if len(holders) < 8)
        while c < len(covered) and covered[c][0] + covered[c][1] <= lo:
            c += 1
        k = c
        while k < len(covered) and covered[k][0] < hi:
            first, count, owner = covered[k]
            counts["prefix_allocated"] += min(hi, first + count) - max(lo, first)
            if len(holders) < 8:
                holders.append(owner or "")
            k += 1
        counts["free"] = zoom - sum(counts.values())
        cls = next(k for k in _TELLING if counts[k])
        res = report._reservations_in(lo, hi)
        out.append(
            Cell(
                report._network(lo * report.block_size, zoom_order)
                if zoom > 1
                else report._network(lo),
                cls,
                counts,
                res,
                tuple(dict.fromkeys(holders)),
            )
        )
    return zoom, out


def use_color(stream: IO[str] | None = None) -> bool:
    """True when ``stream`` (stdout by default) is a terminal and ``NO_COLOR`` is unset. O(1).

    >>> import io
    >>> use_color(io.StringIO())
    False
    """
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _legend_zoom(zoom: int) -> str:
    if zoom == 1:
        return "1 block per cell"
    return f"{zoom} blocks per cell, showing the most telling class among them"


def text_map(
    report: Report, *, color: bool | None = None, width: int = _ROW, max_cells: int = _MAX_CELLS
) -> str:
    """The block map as text: ``width`` cells per row, each row labelled with its first address.

    ``color=None`` colours when stdout is a terminal and ``NO_COLOR`` is unset. Rows
    touching a reservation get a marker line below (``-`` prefix, ``=`` explicit).
    Cost: that of :func:`cells`, O(C log A + A) for C cells and A allocations.

    >>> import ipfrag
    >>> s = ipfrag.Subnet("10.0.0.0/25"); _ = s.reserve("10.0.0.64/26", "explicit")
    >>> print(text_map(ipfrag.analyze(s), color=False))
    /28 blocks of 10.0.0.0/25, 1 block per cell
    10.0.0.0    r......r
                    ====
    legend: . free  % fragmented  # full  P prefix_allocated  r reserved
            - in a prefix reservation  = in an explicit reservation  + both
    """
    if not isinstance(width, int) or width < 1:
        raise InvalidArgument(f"width must be a positive int, not {width!r}")
    if color is None:
        color = use_color()
    zoom, cs = cells(report, max_cells)
    label_w = len(str(report.cidr.broadcast_address)) + 2
    lines = [f"/{report.prefixlen} blocks of {report.cidr}, {_legend_zoom(zoom)}"]
    any_res = False
    for start in range(0, len(cs), width):
        row = cs[start : start + width]
        text = _colour(row) if color else "".join(CLASS_CHARS[c.cls] for c in row)
        lines.append(f"{row[0].cidr.network_address!s:<{label_w}}{text}")
        if any(c.reservations for c in row):
            any_res = True
            marks = "".join(_RES_MARK[c.reservations] for c in row).rstrip()
            lines.append(" " * label_w + marks)
    lines.append("legend: " + "  ".join(f"{CLASS_CHARS[k]} {k}" for k in CLASS_CHARS))
    if any_res:
        lines.append("        - in a prefix reservation  = in an explicit reservation  + both")
    return "\n".join(lines)


def _colour(row: list[Cell]) -> str:
    """The row's characters with one colour escape per run of equal classes, reset at the end."""
    out: list[str] = []
    previous = None
    for c in row:
        if c.cls != previous:
            out.append(_ANSI[c.cls])
            previous = c.cls
        out.append(CLASS_CHARS[c.cls])
    return "".join(out) + _RESET


# --------------------------------------------------------------------------- SVG


def _svg_parts(report: Report, width: int, max_cells: int, cell: int) -> Iterator[str]:
    zoom, cs = cells(report, max_cells)
    rows = -(-len(cs) // width)
    label_w = 9 * max(len(str(c.cidr.network_address)) for c in cs) // 1 + 8
    grid_w = label_w + width * cell
    legend_y = 24 + rows * cell + 12
    height = legend_y + 20 * (len(CLASS_CHARS) + 3)
    title = f"/{report.prefixlen} blocks of {report.cidr}: {_legend_zoom(zoom)}"
    yield (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(grid_w, 420) + 8}" '
        f'height="{height}" font-family="monospace" font-size="11">'
    )
    yield (
        "<style>"
        + "".join(f".{k}{{fill:{v}}}" for k, v in CLASS_COLORS.items())
        + ".res-prefix{stroke:#000;stroke-width:1.5}"
        + ".res-explicit{stroke:#6a1b9a;stroke-width:1.5;stroke-dasharray:2 1}"
        + "</style>"
    )
    yield f'<text x="4" y="14">{html.escape(title)}</text>'
    for i, c in enumerate(cs):
        row, col = divmod(i, width)
        y = 24 + row * cell
        if col == 0:
            yield (
                f'<text x="4" y="{y + cell - 3}">{html.escape(str(c.cidr.network_address))}</text>'
            )
        classes = " ".join(["cell", c.cls, *(f"res-{k}" for k in c.reservations)])
        tip = f"{c.cidr} {c.cls}"
        if zoom > 1:
            tip += " (" + ", ".join(f"{k} {n}" for k, n in c.counts.items() if n) + ")"
        for k in c.reservations:
            tip += f"; in a {k} reservation"
        if c.holders:
            tip += "; holders: " + ", ".join(c.holders)
        yield (
            f'<rect class="{classes}" x="{label_w + col * cell}" y="{y}" '
            f'width="{cell - 1}" height="{cell - 1}"><title>{html.escape(tip)}</title></rect>'
        )
    yield '<g class="legend">'
    y = legend_y
    for k in CLASS_CHARS:
        yield f'<rect class="{k}" x="4" y="{y}" width="12" height="12"/>'
        yield f'<text x="22" y="{y + 10}">{k}</text>'
        y += 20
    yield f'<rect class="free res-prefix" x="4" y="{y}" width="12" height="12"/>'
    yield f'<text x="22" y="{y + 10}">outlined: in a prefix reservation</text>'
    y += 20
    yield f'<rect class="free res-explicit" x="4" y="{y}" width="12" height="12"/>'
    yield f'<text x="22" y="{y + 10}">dashed: in an explicit reservation</text>'
    y += 20
    yield f'<text x="4" y="{y + 10}">{html.escape(_legend_zoom(zoom))}</text>'
    yield "</g></svg>"


def to_svg(
    report: Report, *, width: int = _ROW, max_cells: int = _MAX_CELLS, cell: int = 10
) -> str:
    """The block map as a standalone SVG document (no dependency).

    Every cell is a ``<rect class="cell CLASS [res-KIND]">`` with a ``<title>`` tooltip
    (CIDR, class, reservation, holders); a legend follows the grid.
    Cost: that of :func:`cells`, O(C log A + A) for C cells and A allocations.

    >>> import ipfrag, xml.etree.ElementTree as ET
    >>> svg = to_svg(ipfrag.analyze(ipfrag.Subnet("10.0.0.0/26")))
    >>> rects = ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}rect")
    >>> [r.get("class") for r in rects][:4]
    ['cell reserved', 'cell free', 'cell free', 'cell reserved']
    """
    if not isinstance(width, int) or width < 1:
        raise InvalidArgument(f"width must be a positive int, not {width!r}")
    return "".join(_svg_parts(report, width, max_cells, cell))


def to_png(report: Report, path: str | os.PathLike[str], *, max_cells: int = _MAX_CELLS) -> Path:
    """Write the block map as a PNG through matplotlib (extra ``ipfrag[plot]``).

    Raises :class:`~ipfrag.analysis.ExtraMissing` without matplotlib, and an
    :class:`~ipfrag.IpfragError` naming the file when it cannot be written.
    Cost: that of :func:`cells`, O(C log A + A), plus matplotlib's rendering.

    >>> import ipfrag, tempfile, os
    >>> out = to_png(ipfrag.analyze(ipfrag.Subnet("10.0.0.0/24")),
    ...              os.path.join(tempfile.mkdtemp(), "map.png"))
    >>> out.read_bytes()[:4]
    b'\\x89PNG'
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch
    except ImportError as e:
        raise ExtraMissing("PNG maps need matplotlib: pip install 'ipfrag[plot]'") from e
    zoom, cs = cells(report, max_cells)
    names = list(CLASS_COLORS)
    width = min(_ROW, len(cs))
    rows = -(-len(cs) // width)
    grid = [[float("nan")] * width for _ in range(rows)]
    for i, c in enumerate(cs):
        grid[i // width][i % width] = names.index(c.cls)
    fig, ax = plt.subplots(figsize=(max(4.0, width / 6), max(2.0, rows / 6 + 1.5)))
    try:
        ax.imshow(
            grid,
            cmap=ListedColormap([CLASS_COLORS[k] for k in names]),
            vmin=-0.5,
            vmax=len(names) - 0.5,
            interpolation="nearest",
            aspect="equal",
        )
        ax.set_title(f"/{report.prefixlen} blocks of {report.cidr} ({_legend_zoom(zoom)})")
        ax.set_yticks(range(rows))
        ax.set_yticklabels([str(cs[r * width].cidr.network_address) for r in range(rows)])
        ax.tick_params(axis="y", labelsize=6)
        ax.set_xticks([])
        for i, c in enumerate(cs):
            if c.reservations:
                ax.add_patch(
                    matplotlib.patches.Rectangle(
                        (i % width - 0.5, i // width - 0.5),
                        1,
                        1,
                        fill=False,
                        edgecolor="black" if "prefix" in c.reservations else "purple",
                        linewidth=0.8,
                    )
                )
        ax.legend(
            handles=[Patch(color=CLASS_COLORS[k], label=k) for k in names],
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
            fontsize=7,
        )
        out = Path(path)
        fig.savefig(out, dpi=120, bbox_inches="tight")
    except OSError as e:
        raise IpfragError(f"cannot write the PNG map {path}: {e}") from e
    finally:
        plt.close(fig)
    return out


# --------------------------------------------------------------------------- notebooks


def report_html(report: Report) -> str:
    """A notebook view of a report: the headline figures and the SVG map.

    Cost: that of :func:`cells`, O(C log A + A) for C cells and A allocations.

    >>> import ipfrag
    >>> "<svg" in report_html(ipfrag.analyze(ipfrag.Subnet("10.0.0.0/24")))
    True
    """
    s = report.score
    head = "no candidate blocks" if s.value is None else f"score {s.value} ({s.severity.value})"  # type: ignore[union-attr]
    rows = [
        ("fragmentation", head),
        ("free addresses", f"{report.free_addresses:,}"),
        (f"free /{report.prefixlen} blocks", f"{report.blocks['free']:,}"),
        ("available to automatic prefixes", f"{report.prefix_blocks_available:,}"),
        ("stranded addresses", f"{report.stranded_addresses:,}"),
    ]
    table = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return (
        f"<div><b>{html.escape(str(report.cidr))}</b> /{report.prefixlen} blocks"
        f"<table>{table}</table>{to_svg(report)}</div>"
    )


def subnet_html(subnet: Subnet) -> str:
    """What ``Subnet._repr_html_`` shows: the report of the default block size, with its map.

    Cost: that of :func:`~ipfrag.analysis.analyze` and :func:`cells`, O(A + C log A).

    >>> import ipfrag
    >>> subnet_html(ipfrag.Subnet("10.0.0.0/24")).startswith("<div><b>10.0.0.0/24</b>")
    True
    """
    return report_html(analyze(subnet))
