"""Block maps: exact terminal text, parsed SVG, PNG bytes, notebook HTML."""

from __future__ import annotations

import importlib.util
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import ipfrag
from ipfrag.analysis import analyze, cells, subnet_html, text_map, to_svg
from ipfrag.analysis.maps import use_color

SVG = "{http://www.w3.org/2000/svg}"


def small() -> ipfrag.Subnet:
    s = ipfrag.Subnet("10.0.0.0/25")
    s.reserve("10.0.0.64/27", "prefix")
    s.reserve("10.0.0.96/28", "explicit")
    s.allocate_prefix("10.0.0.64/28", owner="eni-node")
    s.allocate_ip("10.0.0.20", owner="eni-lambda")
    for a in range(32, 48):
        s.allocate_ip(f"10.0.0.{a}", owner="eni-full")
    return s


def test_terminal_map_plain_text_exactly() -> None:
    assert text_map(analyze(small()), color=False) == "\n".join(
        [
            "/28 blocks of 10.0.0.0/25, 1 block per cell",
            "10.0.0.0    r%#.P..r",
            "                --=",
            "legend: . free  % fragmented  # full  P prefix_allocated  r reserved",
            "        - in a prefix reservation  = in an explicit reservation  + both",
        ]
    )


def test_terminal_map_rows_and_colour() -> None:
    r = analyze(small())
    text = text_map(r, color=True, width=4)
    lines = text.splitlines()
    assert lines[1] == "10.0.0.0    \x1b[90mr\x1b[33m%\x1b[31m#\x1b[32m.\x1b[0m"
    assert lines[2] == "10.0.0.64   \x1b[34mP\x1b[32m..\x1b[90mr\x1b[0m"
    assert lines[3] == "            --="
    assert text_map(r, color=False, width=4).splitlines()[1] == "10.0.0.0    r%#."


def test_colour_follows_the_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty()) and not use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())


def test_a_slash_16_fits_64_per_row_and_bigger_spaces_zoom_out() -> None:
    r = analyze(ipfrag.Subnet("10.0.0.0/16"))
    lines = text_map(r, color=False).splitlines()
    assert len(lines) == 1 + 64 + 1 and all(len(line) == 14 + 64 for line in lines[1:65])
    assert lines[64].startswith("10.0.252.0    .")
    s6 = ipfrag.Subnet("2600:1f14::/64", policy="lowest")
    s6.allocate_prefix(owner="node")
    s6.allocate_ip("2600:1f14::9:0:0:1", owner="lambda")
    zoom, cs = cells(analyze(s6))
    assert zoom == 16 and len(cs) == 4096
    assert [c.cls for c in cs[:2]] == ["fragmented", "free"]
    assert cs[0].counts == {
        "fragmented": 1,
        "full": 0,
        "prefix_allocated": 1,
        "reserved": 1,
        "free": 13,
    }
    assert str(cs[0].cidr) == "2600:1f14::/76"
    assert "16 blocks per cell" in text_map(analyze(s6), color=False).splitlines()[0]


def test_svg_parses_with_cells_classes_tooltips_and_legend() -> None:
    root = ET.fromstring(to_svg(analyze(small())))
    rects = [e for e in root.iter(f"{SVG}rect") if "cell" in (e.get("class") or "").split()]
    assert [e.get("class") for e in rects] == [
        "cell reserved",
        "cell fragmented",
        "cell full",
        "cell free",
        "cell prefix_allocated res-prefix",
        "cell free res-prefix",
        "cell free res-explicit",
        "cell reserved",
    ]
    tips = [e.find(f"{SVG}title").text for e in rects]  # type: ignore[union-attr]
    assert tips[1] == "10.0.0.16/28 fragmented; holders: eni-lambda"
    assert tips[4] == "10.0.0.64/28 prefix_allocated; in a prefix reservation; holders: eni-node"
    legend = root.find(f"{SVG}g[@class='legend']")
    assert legend is not None
    texts = [t.text for t in legend.iter(f"{SVG}text")]
    for name in ("free", "fragmented", "full", "prefix_allocated", "reserved"):
        assert name in texts


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="no matplotlib")
def test_png_is_written(tmp_path: Path) -> None:
    out = analyze(small()).to_png(tmp_path / "map.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ipfrag.IpfragError, match="cannot write"):
        analyze(small()).to_png(tmp_path / "missing" / "map.png")


def test_png_without_matplotlib_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ipfrag.analysis.ExtraMissing, match=r"ipfrag\[plot\]"):
        analyze(small()).to_png("x.png")


def test_notebook_html() -> None:
    html = subnet_html(small())
    assert "<svg" in html and "10.0.0.0/25" in html and "score" in html
    assert analyze(small())._repr_html_() == html == small()._repr_html_()
