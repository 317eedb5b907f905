"""``ipfrag.analyze``: every report number against a brute-force oracle over sets of ints."""

from __future__ import annotations

import gc
import ipaddress
import json
import math
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ipfrag
from ipfrag.analysis import Score, Severity, analyze, fragmentation_score, score, severity
from ipfrag.subnet import Network


@dataclass
class Oracle:
    """What was done to a subnet, kept as plain integers (offsets from the subnet base)."""

    bits: int
    maxbits: int
    used: set[int] = field(default_factory=set)
    prefixes: list[tuple[int, int]] = field(default_factory=list)  # (offset, order)
    reservations: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return 1 << self.bits

    @property
    def aws(self) -> set[int]:
        return {0, 1, 2, 3, self.size - 1}

    def free(self, off: int, order: int) -> bool:
        return all(a not in self.used and a not in self.aws for a in range(off, off + (1 << order)))

    def blocks(self, j: int) -> dict[str, int]:
        counts = dict.fromkeys(
            [
                "free",
                "fragmented",
                "full",
                "reserved",
                "prefix_allocated",
                "in_prefix_reservation",
                "in_explicit_reservation",
            ],
            0,
        )
        for off in range(0, self.size, 1 << j):
            end = off + (1 << j)
            if any(p <= off and end <= p + (1 << k) for p, k in self.prefixes):
                cls = "prefix_allocated"
            elif any(off <= a < end for a in self.aws):
                cls = "reserved"
            else:
                used = sum(1 for a in range(off, end) if a in self.used)
                cls = "free" if used == 0 else "full" if used == 1 << j else "fragmented"
            counts[cls] += 1
            for kind in ("prefix", "explicit"):
                spans = [(r, r + (1 << k)) for r, k, rk in self.reservations if rk == kind]
                if any(off < hi and lo < end for lo, hi in spans):
                    counts[f"in_{kind}_reservation"] += 1
        return counts

    def maximal_free(self) -> list[tuple[int, int]]:
        out = []
        for k in range(self.bits + 1):
            for off in range(0, self.size, 1 << k):
                parent = (off >> (k + 1)) << (k + 1)
                if self.free(off, k) and (k == self.bits or not self.free(parent, k + 1)):
                    out.append((off, k))
        return out

    def available(self, j: int) -> int:
        n = 0
        for off in range(0, self.size, 1 << j):
            if not self.free(off, j):
                continue
            end = off + (1 << j)
            overlapping = [
                (r, k, kind) for r, k, kind in self.reservations if off < r + (1 << k) and r < end
            ]
            if not overlapping or any(
                kind == "prefix" and r <= off and end <= r + (1 << k) for r, k, kind in overlapping
            ):
                n += 1
        return n


def net(subnet: ipfrag.Subnet, offset: int, order: int) -> Network:
    """The aligned block of ``2**order`` addresses at ``offset`` in the subnet."""
    base = int(subnet.cidr.network_address)
    return ipaddress.ip_network((base + offset, subnet.cidr.max_prefixlen - order))


@st.composite
def states(draw: st.DrawFn, version: int) -> tuple[ipfrag.Subnet, Oracle, int]:
    maxbits = 32 if version == 4 else 128
    bits = draw(st.integers(4, 8))
    base = "10.0.0.0" if version == 4 else "2600:1f14::"
    subnet = ipfrag.Subnet(f"{base}/{maxbits - bits}", policy="lowest")
    oracle = Oracle(bits, maxbits)
    size = 1 << bits
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.integers(0, bits - 1))
        off = draw(st.integers(0, (size >> k) - 1)) << k
        kind = draw(st.sampled_from(["prefix", "explicit"]))
        try:
            subnet.reserve(net(subnet, off, k), kind)  # type: ignore[arg-type]
        except ipfrag.ReservationConflict:
            continue
        oracle.reservations.append((off, k, kind))
    for i in range(draw(st.integers(0, 3))):
        k = draw(st.integers(1, min(5, bits - 1)))
        off = draw(st.integers(0, (size >> k) - 1)) << k
        try:
            subnet.allocate_prefix(net(subnet, off, k), owner=f"p{i}")
        except (ipfrag.AddressInUse, ipfrag.ReservedAddress):
            continue
        oracle.prefixes.append((off, k))
        oracle.used.update(range(off, off + (1 << k)))
    singles = draw(st.lists(st.integers(0, size - 1), max_size=size))
    if draw(st.integers(0, 4)) == 0:  # nearly or completely full: CRITICAL and EXHAUSTED
        singles = [a for a in range(size) if a % draw(st.integers(1, 64))]
    for a in singles:
        if a in oracle.used or a in oracle.aws:
            continue
        subnet.allocate_ip(net(subnet, a, 0).network_address, owner=f"e{a % 3}")
        oracle.used.add(a)
    # Mostly lengths with several blocks; the subnet's own length now and then.
    own = draw(st.integers(0, 9)) == 0
    prefixlen = maxbits - bits if own else draw(st.integers(maxbits - bits + 2, maxbits))
    return subnet, oracle, prefixlen


def check(subnet: ipfrag.Subnet, o: Oracle, prefixlen: int) -> None:
    r = analyze(subnet, prefixlen)
    j = o.maxbits - prefixlen
    blocks = o.blocks(j)
    assert r.blocks == blocks
    F = o.size - len(o.used) - len(o.aws)
    maximal = o.maximal_free()
    S = sum(1 << (k - j) for _, k in maximal if k >= j)
    assert blocks["free"] == S
    assert r.free_addresses == F and r.addresses["used"] == len(o.used)
    assert r.stranded_addresses == F - S * (1 << j)
    assert r.unusable_index == (1.0 if F == 0 else (F - S * (1 << j)) / F)
    if S > 0:
        assert r.extfrag_index == -1.0
    elif not maximal:
        assert r.extfrag_index == 0.0
    else:
        assert math.isclose(r.extfrag_index, 1 - (1 + F / (1 << j)) / len(maximal))
    assert r.prefix_blocks_available == o.available(j)
    hist: dict[int, int] = {}
    for _, k in maximal:
        hist[o.maxbits - k] = hist.get(o.maxbits - k, 0) + 1
    assert r.histogram == hist
    # The score, from the oracle's counts and the formula written out again.
    cand = blocks["free"] + blocks["fragmented"] + blocks["full"]
    if cand == 0:
        assert r.score.value is None and r.score.severity is None
    else:
        value = math.ceil(100 * (blocks["fragmented"] + blocks["full"]) / cand)
        if blocks["free"]:
            value = min(value, 99)
        assert r.score.value == value
        bands = [(25, "HEALTHY"), (50, "LOW"), (75, "MEDIUM"), (100, "HIGH")]
        expected = next((name for top, name in bands if value < top), None)
        if expected is None:
            expected = "CRITICAL" if blocks["fragmented"] else "EXHAUSTED"
        assert r.score.severity == Severity(expected)
    assert score(subnet, prefixlen) == r.score
    assert fragmentation_score(subnet, prefixlen) == r.score.value
    assert severity(subnet, prefixlen) == r.score.severity
    # Per block: the listing agrees with the counts and with the oracle, block by block.
    listed = list(r.iter_blocks(limit=None))
    assert len(listed) == r.total_blocks == o.size >> j
    for b in listed:
        off = int(b.cidr.network_address) - int(subnet.cidr.network_address)
        in_block = range(off, off + (1 << j))
        assert b.used == sum(1 for a in in_block if a in o.used)
        assert b.free == sum(1 for a in in_block if a not in o.used and a not in o.aws)
    for cls in ("free", "fragmented", "full", "reserved", "prefix_allocated"):
        assert sum(b.cls == cls for b in listed) == blocks[cls]
    assert sum(1 for b in listed if "prefix" in b.reservations) == blocks["in_prefix_reservation"]
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["fragmented_blocks"]["count"] == blocks["fragmented"]
    assert sum(h["addresses"] for h in d["holders"]) == len(o.used)


@settings(max_examples=settings().max_examples)
@given(states(4))
def test_ipv4_report_matches_the_oracle(state: tuple[ipfrag.Subnet, Oracle, int]) -> None:
    check(*state)


@settings(max_examples=settings().max_examples // 2)
@given(states(6))
def test_ipv6_report_matches_the_oracle(state: tuple[ipfrag.Subnet, Oracle, int]) -> None:
    check(*state)


def test_score_is_capped_at_99_while_a_block_is_free() -> None:
    s = ipfrag.Subnet("10.0.0.0/20")  # 256 /28s, 254 candidates
    for i in range(1, 254):
        s.allocate_ip(f"10.0.{i // 16}.{i % 16 * 16 + 5}", owner=f"e{i}")
    r = analyze(s)
    assert (r.blocks["free"], r.blocks["fragmented"]) == (1, 253)
    assert math.ceil(100 * 253 / 254) == 100 and r.score.value == 99
    assert r.score.severity is Severity.HIGH
    s.allocate_ip("10.0.15.229")  # block 254
    assert analyze(s).score.severity is Severity.CRITICAL == severity(s)


def test_exhausted_and_no_candidates() -> None:
    s = ipfrag.Subnet("10.0.0.0/26")
    s.allocate_prefix("10.0.0.16/28")
    for a in range(32, 48):
        s.allocate_ip(f"10.0.0.{a}")
    r = analyze(s)
    assert r.score == Score(100, Severity.EXHAUSTED, 0, 0, 1) and score(s).value == 100
    assert score(s).severity is Severity.EXHAUSTED
    assert analyze(ipfrag.Subnet("10.0.0.0/28")).score.value is None  # the only block is reserved
    assert fragmentation_score(ipfrag.Subnet("10.0.0.0/28")) is None


@pytest.mark.parametrize(
    ("counts", "value", "band"),
    [
        ((4, 1, 0), 20, "HEALTHY"),
        ((3, 1, 0), 25, "LOW"),
        ((1, 1, 0), 50, "MEDIUM"),
        ((1, 3, 0), 75, "HIGH"),
        ((0, 1, 1), 100, "CRITICAL"),
        ((0, 0, 2), 100, "EXHAUSTED"),
    ],
)
def test_severity_bands(counts: tuple[int, int, int], value: int, band: str) -> None:
    s = Score.of(*counts)
    assert (s.value, s.severity) == (value, Severity(band))


def test_ipv6_64_is_summarized_not_enumerated() -> None:
    s = ipfrag.Subnet("2600:1f14::/64", policy="lowest")
    s.allocate_prefix(owner="node-1")
    s.allocate_ip("2600:1f14::2:0:0:5", owner="lambda-1")
    r = analyze(s)  # 2**16 /80 blocks of 2**48 addresses each
    assert r.total_blocks == 1 << 16
    assert r.blocks["free"] == (1 << 16) - 4 and r.blocks["fragmented"] == 1
    assert not r.complete() and len(list(r.iter_blocks())) == 4
    assert r.to_pandas().attrs["complete"] is False
    r112 = analyze(s, 112)  # 2**48 blocks, 2**32 under the /80 prefix: listings stop
    assert len(list(r112.iter_blocks(limit=10))) == 10
    assert [b.cls for b in r112.iter_blocks(limit=3)] == [
        "reserved",
        "prefix_allocated",
        "prefix_allocated",
    ]
    r96 = analyze(s, 96)  # 2**32 blocks: counted, never enumerated
    assert r96.total_blocks == 1 << 32 and r96.blocks["prefix_allocated"] == 1 << 16
    assert r96.blocks["free"] == (1 << 32) - (1 << 16) - 3
    assert r96.score == score(s, 96)


def test_bad_prefix_lengths() -> None:
    s = ipfrag.Subnet("10.0.0.0/24")
    with pytest.raises(ipfrag.InvalidArgument, match="not an IPv4 length"):
        analyze(s, 33)
    with pytest.raises(ipfrag.InvalidArgument, match="shorter than the subnet"):
        analyze(s, 20)
    with pytest.raises(ipfrag.InvalidType):
        analyze(s, "28")  # type: ignore[arg-type]
    with pytest.raises(ipfrag.InvalidType):
        analyze("10.0.0.0/24")  # type: ignore[arg-type]


def test_holders_and_spoilers_by_kind() -> None:
    s = ipfrag.Subnet("10.0.0.0/24")
    s.allocate_ip("10.0.0.20", owner="eni-l")
    s.allocate_ip("10.0.0.21", owner="eni-n")
    s.allocate_prefix("10.0.0.32/28", owner="eni-n")
    s.set_owner_info("eni-l", {"kind": "lambda"})
    s.set_owner_info("eni-n", {"kind": "eks_node_primary"})
    r = analyze(s)
    holders = {h.kind: h for h in r.holders}
    assert (holders["eks_node_primary"].addresses, holders["eks_node_primary"].total) == (1, 17)
    assert r.spoilers == [("eks_node_primary", 1, 1, 1), ("lambda", 1, 1, 1)]
    assert r.block("10.0.0.20").holders == ("eni-l", "eni-n")
    assert r.block("10.0.0.40").cls == "prefix_allocated"
    assert ipfrag.analysis.holders_by_kind(s) == r.holders


def test_report_is_a_value_and_has_a_repr() -> None:
    s = ipfrag.Subnet("10.0.0.0/24")
    r = ipfrag.analyze(s)
    s.allocate_ip("10.0.0.20")
    assert r.blocks["fragmented"] == 0 and "score 0 HEALTHY" in repr(r)
    assert "<svg" in r._repr_html_()


def test_to_pandas_without_pandas_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pandas(name: str, *args: object, **kwargs: object) -> object:
        if name == "pandas":
            raise ImportError("no pandas")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ipfrag.analysis.ExtraMissing, match=r"ipfrag\[pandas\]"):
        analyze(ipfrag.Subnet("10.0.0.0/24")).to_pandas()


def test_the_collector_is_back_on_after_a_report_even_a_failed_one() -> None:
    s = ipfrag.Subnet("10.0.0.0/24")
    s.allocate_ip("10.0.0.9", owner="eni-1")
    s.set_owner_info("eni-1", {"kind": "lambda", "instance_id": "i-1", "drainable": True})
    assert ipfrag.analyze(s).holders[0].kind == "lambda"
    assert ipfrag.analysis.Drain(s).nodes[0].instance_id == "i-1"
    assert gc.isenabled()
    with pytest.raises(ipfrag.InvalidArgument):
        ipfrag.analyze(s, 40)
    assert gc.isenabled()
