"""Stateful property tests of ``ipfrag.Subnet`` against a plain model.

A hypothesis ``RuleBasedStateMachine`` runs random programs of explicit and
automatic allocations, releases (valid and not), owner releases, reservations,
copies and ``to_dict``/``from_dict`` round trips on small IPv4 subnets (/24../28,
both backends), IPv6 /120s (both backends) and IPv6 /64s (sparse, /80 prefixes),
with and without AWS's reserved addresses, under all three policies.

The model is the ledger of allocations (``offset -> (order, owner, kind)``), the
reserved offsets and the reservations; every block query is answered from netaddr
``IPSet`` arithmetic on it. After every step every query is compared, and every
call that raises must leave ``to_dict()`` exactly as it was.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import netaddr
import pytest
from hypothesis import event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import ipfrag
from ipfrag import (
    AddressInUse,
    InsufficientCidrBlocks,
    InsufficientFreeAddresses,
    InvalidCidr,
    IpfragError,
    NotAllocated,
    ReservationConflict,
    ReservedAddress,
    Subnet,
)

OWNERS = ["eni-a", "eni-b", "eni-c", None]
N_LIST = 40  # how many free blocks of a (possibly huge) listing are compared


class Region:
    """An IPSet with its maximal CIDRs computed once."""

    def __init__(self, ipset: netaddr.IPSet) -> None:
        self.set = ipset
        self.cidrs: list[netaddr.IPNetwork] = ipset.iter_cidrs()
        self.size: int = ipset.size

    def __contains__(self, item: Any) -> bool:
        return item in self.set


def cidr_blocks(region: Region, length: int) -> Iterator[netaddr.IPNetwork]:
    """The aligned /length blocks inside a region, ascending."""
    for c in region.cidrs:
        if c.prefixlen <= length:
            yield from c.subnet(length)


def count_blocks(region: Region, length: int) -> int:
    return sum(1 << (length - c.prefixlen) for c in region.cidrs if c.prefixlen <= length)


class Model:
    """What the subnet should hold: allocations, AWS-reserved offsets, reservations."""

    def __init__(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network, aws: bool) -> None:
        self.net = net
        self.version = net.version
        self.maxbits = net.max_prefixlen
        self.bits = self.maxbits - net.prefixlen
        self.size = 1 << self.bits
        self.base = int(net.network_address)
        self.reserved = [0, 1, 2, 3, self.size - 1] if aws else []
        self.ledger: dict[int, tuple[int, str | None, str]] = {}
        self.reservations: dict[int, tuple[int, str, str | None]] = {}
        self._cache: tuple[Any, tuple[Region, Region, list[Region]]] | None = None

    # ---------------------------------------------------------- conversions
    def addr(self, off: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.base + off)

    def network(self, off: int, order: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network((self.base + off, self.maxbits - order))

    def nnet(self, off: int, order: int) -> netaddr.IPNetwork:
        return netaddr.IPNetwork(str(self.network(off, order)))

    def offset_of(self, value: Any) -> int:
        return int(netaddr.IPAddress(str(value))) - self.base

    # ------------------------------------------------------------- queries
    def used_within(self, off: int, order: int) -> int:
        end = off + (1 << order)
        n = sum(1 for r in self.reserved if off <= r < end)
        for o, (k, _, _) in self.ledger.items():
            n += max(0, min(end, o + (1 << k)) - max(off, o))
        return n

    def containing(self, off: int) -> int | None:
        for o, (k, _, _) in self.ledger.items():
            if o <= off < o + (1 << k):
                return o
        return None

    def allocations(self) -> list[ipfrag.Allocation]:
        return [
            ipfrag.Allocation(self.network(o, k), owner, kind)  # type: ignore[arg-type]
            for o, (k, owner, kind) in sorted(self.ledger.items())
        ]

    def regions(self) -> tuple[Region, Region, list[Region]]:
        """The free space; its part outside every reservation (where automatic single
        IPs go); the free part of each ``prefix`` reservation, by address."""
        key = (sorted(self.ledger.items()), sorted(self.reservations.items()))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        used = [self.nnet(o, k) for o, (k, _, _) in self.ledger.items()]
        used += [self.nnet(r, 0) for r in self.reserved]
        free = netaddr.IPSet([str(self.net)]) - netaddr.IPSet(used)
        reserved = netaddr.IPSet([self.nnet(o, k) for o, (k, _, _) in self.reservations.items()])
        tier = [
            Region(free & netaddr.IPSet([self.nnet(o, k)]))
            for o, (k, kd, _) in sorted(self.reservations.items())
            if kd == "prefix"
        ]
        out = (Region(free), Region(free - reserved), tier)
        self._cache = (key, out)
        return out


def smallest_fitting(sets: list[Region], length: int) -> list[netaddr.IPNetwork]:
    """The maximal free runs of the regions that hold a /length, keeping only the smallest."""
    fits = [c for s in sets for c in s.cidrs if c.prefixlen <= length]
    if not fits:
        return []
    longest = max(c.prefixlen for c in fits)
    return [c for c in fits if c.prefixlen == longest]


def subnet_configs() -> st.SearchStrategy[dict[str, Any]]:
    v4 = st.builds(
        lambda plen, n, backend: {
            "cidr": str(ipaddress.ip_network((0x0A000000 + (n << (32 - plen)), plen))),
            "backend": backend,
            "prefixlen": None,
        },
        st.integers(24, 28),
        st.integers(0, 2**12 - 1),
        st.sampled_from(["bitmap", "sparse"]),
    )
    v6_small = st.builds(
        lambda n, backend: {
            "cidr": str(ipaddress.ip_network(((0x2600_1F14 << 96) + (n << 8), 120))),
            "backend": backend,
            "prefixlen": None,
        },
        st.integers(0, 2**16 - 1),
        st.sampled_from(["bitmap", "sparse"]),
    )
    v6_64 = st.builds(
        lambda n, prefixlen: {
            "cidr": str(ipaddress.ip_network(((0x2600_1F14 << 96) + (n << 64), 64))),
            "backend": "sparse",
            "prefixlen": prefixlen,
        },
        st.integers(0, 2**16 - 1),
        st.sampled_from([None, None, 96]),
    )
    return st.fixed_dictionaries(
        {
            "net": st.one_of(v4, v6_small, v6_64),
            "reserved": st.sampled_from(["aws", None]),
            "policy": st.sampled_from(["random", "lowest", "best-fit"]),
            "seed": st.integers(0, 2**32),
        }
    )


class SubnetMachine(RuleBasedStateMachine):
    """Random programs on one Subnet, each query checked against the model."""

    def __init__(self) -> None:
        super().__init__()
        self.s = Subnet("10.0.0.0/28")
        self.m = Model(self.s.cidr, True)
        self.anchors: list[tuple[int, int]] = []
        self.steps = 0

    @initialize(config=subnet_configs())
    def setup(self, config: dict[str, Any]) -> None:
        net = config["net"]
        self.s = Subnet(
            net["cidr"],
            policy=config["policy"],
            seed=config["seed"],
            reserved=config["reserved"],
            prefixlen=net["prefixlen"],
            backend=net["backend"],
        )
        self.m = Model(ipaddress.ip_network(net["cidr"]), config["reserved"] == "aws")
        self.default_len = self.s.default_prefixlen
        assert self.default_len == (
            net["prefixlen"] or max(28 if self.m.version == 4 else 80, self.m.net.prefixlen)
        )
        self.unit = self.m.maxbits - self.default_len
        self.anchors = [(0, 0), (self.m.size - 1, 0), (self.m.size // 2, 0)]

    # --------------------------------------------------------------- drawing
    @property
    def huge(self) -> bool:
        return self.m.bits > 16

    def orders(self) -> st.SearchStrategy[int]:
        b = self.m.bits
        return st.one_of(
            st.integers(0, b), st.sampled_from(sorted({0, 1, min(4, b), self.unit, b}))
        )

    def draw_offset(self, data: st.DataObject) -> int:
        kind = data.draw(st.sampled_from(["anchor", "anchor", "any", "reserved"]), label="where")
        if kind == "reserved" and self.m.reserved:
            return data.draw(st.sampled_from(self.m.reserved), label="reserved offset")
        if kind == "any":
            return data.draw(st.integers(0, self.m.size - 1), label="offset")
        o, k = data.draw(st.sampled_from(self.anchors[-30:]), label="anchor")
        return o + data.draw(st.integers(0, (1 << k) - 1), label="inside")

    def draw_block(self, data: st.DataObject) -> tuple[int, int]:
        k = data.draw(self.orders(), label="order")
        return self.draw_offset(data) >> k << k, k

    def address_form(self, data: st.DataObject, off: int) -> Any:
        a = self.m.addr(off)
        return data.draw(st.sampled_from([str(a), a, int(a)]), label="address form")

    def network_form(self, data: st.DataObject, off: int, order: int) -> Any:
        n = self.m.network(off, order)
        return data.draw(st.sampled_from([str(n), n]), label="cidr form")

    # --------------------------------------------------------------- helpers
    def call(self, fn: Callable[[], Any], error: type[Exception] | None) -> Any:
        """Run ``fn``; when ``error`` is given it must raise exactly that, changing nothing."""
        event(f"{getattr(fn, '__name__', 'call')}: {error.__name__ if error else 'ok'}")
        if error is None:
            return fn()
        before = self.s.to_dict()
        with pytest.raises(error) as info:
            fn()
        assert type(info.value) is error, repr(info.value)
        if issubclass(error, ipfrag.InsufficientCapacity):
            assert not isinstance(info.value, ValueError)
        else:
            assert isinstance(info.value, ValueError)
        assert isinstance(info.value, IpfragError)
        assert self.s.to_dict() == before
        return None

    def add(self, off: int, order: int, owner: str | None, kind: str) -> None:
        self.m.ledger[off] = (order, owner, kind)
        self.anchors.append((off, order))

    # ----------------------------------------------------------- allocation
    @rule(data=st.data(), owner=st.sampled_from(OWNERS))
    def allocate_ip_explicit(self, data: st.DataObject, owner: str | None) -> None:
        off = self.draw_offset(data)
        error: type[Exception] | None = None
        if off in self.m.reserved:
            error = ReservedAddress
        elif self.m.used_within(off, 0):
            error = AddressInUse
        target = self.address_form(data, off)
        note(f"allocate_ip({target!r}) -> {error}")

        def allocate_ip() -> Any:
            return self.s.allocate_ip(target, owner=owner)

        got = self.call(allocate_ip, error)
        if error is None:
            assert got == self.m.addr(off)
            self.add(off, 0, owner, "ip")

    @rule(owner=st.sampled_from(OWNERS))
    def allocate_ip_auto(self, owner: str | None) -> None:
        _, open_, _ = self.m.regions()
        error = None if open_.size else InsufficientFreeAddresses

        def allocate_ip() -> Any:
            return self.s.allocate_ip(owner=owner)

        got = self.call(allocate_ip, error)
        note(f"allocate_ip() -> {got}")
        if error is not None:
            return
        assert netaddr.IPAddress(str(got)) in open_, "automatic IPs never land in reservations"
        off = self.m.offset_of(got)
        policy = self.s.policy
        if policy == "lowest":
            assert netaddr.IPAddress(str(got)) == open_.cidrs[0][0]
        elif policy == "best-fit":
            self.check_best_fit_ip(netaddr.IPAddress(str(got)), open_)
        self.add(off, 0, owner, "ip")

    def check_best_fit_ip(self, got: netaddr.IPAddress, open_: Region) -> None:
        """Into the fullest default-prefix block that has room, at a smallest hole."""
        length = self.default_len
        cidrs = open_.cidrs
        partial = {c.supernet(length)[0] for c in cidrs if c.prefixlen > length}
        if partial:
            room = {u: sum(c.size for c in cidrs if c in u) for u in partial}
            fewest = min(room.values())
            u = next(u for u in partial if got in u)
            assert room[u] == fewest, (got, room)
            holes = [c for c in cidrs if c in u]
            longest = max(c.prefixlen for c in holes)
            assert any(c.prefixlen == longest and c[0] == got for c in holes), (got, holes)
        else:
            runs = smallest_fitting([open_], length)
            assert any(got in c for c in runs) and int(got) % (1 << self.unit) == 0

    @rule(data=st.data(), owner=st.sampled_from(OWNERS))
    def allocate_prefix_explicit(self, data: st.DataObject, owner: str | None) -> None:
        off, k = self.draw_block(data)
        error: type[Exception] | None = None
        if any(off <= r < off + (1 << k) for r in self.m.reserved):
            error = ReservedAddress
        elif self.m.used_within(off, k):
            error = AddressInUse
        target = self.network_form(data, off, k)
        length = self.m.maxbits - k
        plen = data.draw(st.sampled_from([None, None, length, length + 1]), label="prefixlen")
        if plen is not None and plen != length:
            error = InvalidCidr
        note(f"allocate_prefix({target!r}, prefixlen={plen}) -> {error}")

        def allocate_prefix() -> Any:
            return self.s.allocate_prefix(target, owner=owner, prefixlen=plen)

        got = self.call(allocate_prefix, error)
        if error is None:
            assert got == self.m.network(off, k)
            self.add(off, k, owner, "prefix")

    @rule(data=st.data(), owner=st.sampled_from(OWNERS))
    def allocate_prefix_auto(self, data: st.DataObject, owner: str | None) -> None:
        k = data.draw(self.orders(), label="order")
        length = data.draw(st.sampled_from([self.m.maxbits - k, None]), label="prefixlen")
        length_ = self.default_len if length is None else length
        k = self.m.maxbits - length_
        _, open_, tier = self.m.regions()
        in_tier = sum(count_blocks(t, length_) for t in tier)
        in_open = count_blocks(open_, length_)
        error: type[Exception] | None = None
        if in_tier + in_open == 0:
            eligible = open_.size + sum(t.size for t in tier)
            error = InsufficientFreeAddresses if eligible < 1 << k else InsufficientCidrBlocks
        assert self.s.can_carve(length) == (error is None)
        assert self.s.free_block_count(length) == in_tier + in_open

        def allocate_prefix() -> Any:
            return self.s.allocate_prefix(owner=owner, prefixlen=length)

        got = self.call(allocate_prefix, error)
        note(f"allocate_prefix(prefixlen={length}) -> {got or error}")
        if error is not None:
            return
        block = netaddr.IPNetwork(str(got))
        assert block.prefixlen == length_
        sets = [t for t in tier if count_blocks(t, length_)] if in_tier else [open_]
        assert any(block in s for s in sets), (block, in_tier)
        if self.s.policy == "lowest":
            assert block == min(next(cidr_blocks(s, length_)) for s in sets)
        elif self.s.policy == "best-fit":
            # The smallest free run that fits, across every eligible set.
            runs = smallest_fitting(sets, length_)
            assert any(block in c for c in runs), (block, runs)
        self.add(self.m.offset_of(block[0]), k, owner, "prefix")

    @rule(length=st.integers(-1, 129))
    def bad_auto_prefixlen(self, length: int) -> None:
        if self.m.net.prefixlen <= length <= self.m.maxbits:
            return

        def allocate_prefix() -> Any:
            return self.s.allocate_prefix(prefixlen=length)

        self.call(allocate_prefix, InvalidCidr)
        self.call(lambda: self.s.can_carve(length), InvalidCidr)

    # --------------------------------------------------------------- release
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        kinds = ["allocation"] * 3 + ["inner", "start-of-prefix", "free", "reserved", "cover"]
        kind = data.draw(st.sampled_from(kinds), label="release what")
        ledger = self.m.ledger
        error: type[Exception] | None = NotAllocated
        target: Any
        if kind in ("allocation", "inner", "start-of-prefix") and ledger:
            off = data.draw(st.sampled_from(sorted(ledger)), label="allocation")
            k = ledger[off][0]
            if kind == "allocation":
                target = (
                    self.network_form(data, off, k)
                    if k or data.draw(st.booleans(), label="as /32")
                    else self.address_form(data, off)
                )
                error = None
            elif kind == "inner" and k:
                inner = off + data.draw(st.integers(1, (1 << k) - 1), label="inner")
                target = self.address_form(data, inner)
            else:
                target = self.address_form(data, off) if k else self.network_form(data, off, 0)
                if not k:
                    error = None
        elif kind == "reserved" and self.m.reserved:
            r = data.draw(st.sampled_from(self.m.reserved), label="reserved")
            target = self.address_form(data, r)
            error = ReservedAddress
        elif kind == "cover":
            off, k = self.draw_block(data)
            target = self.network_form(data, off, k)
            if ledger.get(off, (None,))[0] == k:
                error = None
            elif k == 0 and off in self.m.reserved:
                error = ReservedAddress
        else:
            off = self.draw_offset(data)
            target = self.address_form(data, off)
            entry = ledger.get(off)
            if entry is not None and entry[0] == 0:
                error = None
            elif off in self.m.reserved:
                error = ReservedAddress
        note(f"release({target!r}) -> {error}")

        def release() -> None:
            self.s.release(target)

        self.call(release, error)
        if error is None:
            del ledger[off]

    @rule(owner=st.sampled_from([*OWNERS, "eni-nobody"]))
    def release_owner(self, owner: str | None) -> None:
        mine = [o for o, (_, w, _) in self.m.ledger.items() if w == owner]
        assert [a.cidr for a in self.s.allocations_of(owner)] == [
            self.m.network(o, self.m.ledger[o][0]) for o in sorted(mine)
        ]
        assert self.s.release_owner(owner) == len(mine)
        for o in mine:
            del self.m.ledger[o]

    # ---------------------------------------------------------- reservations
    @rule(data=st.data(), kind=st.sampled_from(["prefix", "prefix", "explicit"]))
    def reserve(self, data: st.DataObject, kind: str) -> None:
        off, k = self.draw_block(data)
        end = off + (1 << k)
        overlaps = any(
            off < o + (1 << rk) and o < end for o, (rk, _, _) in self.m.reservations.items()
        )
        error = ReservationConflict if overlaps else None
        desc = data.draw(st.sampled_from([None, "for EKS nodes"]), label="description")
        target = self.network_form(data, off, k)
        note(f"reserve({target!r}, {kind}) -> {error}")

        def reserve() -> Any:
            return self.s.reserve(target, kind=kind, description=desc)  # type: ignore[arg-type]

        got = self.call(reserve, error)
        if error is None:
            assert got == ipfrag.Reservation(self.m.network(off, k), kind, desc)  # type: ignore[arg-type]
            self.m.reservations[off] = (k, kind, desc)
            self.anchors.append((off, k))

    @rule(data=st.data())
    def unreserve(self, data: st.DataObject) -> None:
        res = self.m.reservations
        existing = data.draw(st.booleans(), label="existing")
        if res and existing:
            off = data.draw(st.sampled_from(sorted(res)), label="reservation")
            k = res[off][0]
            error = None
        else:
            off, k = self.draw_block(data)
            error = None if res.get(off, (None,))[0] == k else ReservationConflict
        target = self.network_form(data, off, k)
        note(f"unreserve({target!r}) -> {error}")

        def unreserve() -> Any:
            return self.s.unreserve(target)

        got = self.call(unreserve, error)
        if error is None:
            k, kind, desc = res.pop(off)
            assert got == ipfrag.Reservation(self.m.network(off, k), kind, desc)  # type: ignore[arg-type]

    # ----------------------------------------------------------- copy & state
    @rule(owner=st.sampled_from(OWNERS))
    def copy_is_independent(self, owner: str | None) -> None:
        before = self.s.to_dict()
        t = self.s.copy()
        assert t == self.s and t.to_dict() == before
        with contextlib.suppress(InsufficientFreeAddresses):
            t.allocate_ip(owner=owner)
        for a in list(t.allocations())[:2]:
            t.release(a.cidr)
        if t.reservations:
            t.unreserve(t.reservations[0].cidr)
        else:
            t.reserve(t.cidr, kind="explicit")
        t._check()
        assert self.s.to_dict() == before
        assert t.reservations != self.s.reservations

    @rule()
    def round_trip(self) -> None:
        d = self.s.to_dict()
        text = json.dumps(d)
        t = Subnet.from_dict(json.loads(text))
        assert t == self.s
        assert t.to_dict() == d
        t._check()
        # The random state travels too: both continue the same sequence.
        a, b = self.s.copy(), t
        for sub in (a, b):
            with contextlib.suppress(InsufficientFreeAddresses):
                sub.allocate_ip()
        assert a.to_dict() == b.to_dict()

    @rule(data=st.data())
    def can_carve_is_allocate_prefix(self, data: st.DataObject) -> None:
        k = data.draw(self.orders(), label="order")
        length = self.m.maxbits - k
        t = self.s.copy()
        try:
            t.allocate_prefix(prefixlen=length)
            ok = True
        except (InsufficientCidrBlocks, InsufficientFreeAddresses):
            ok = False
        assert self.s.can_carve(length) == ok == (self.s.free_block_count(length) > 0)

    # ------------------------------------------------------------- invariant
    @invariant()
    def agrees_with_model(self) -> None:
        self.steps += 1
        s, m = self.s, self.m
        s._check()
        free, open_, tier = m.regions()
        assert s.free_addresses == free.size
        assert s.used_addresses == sum(1 << k for k, _, _ in m.ledger.values())
        assert list(s.allocations()) == m.allocations()
        assert list(s.allocation_values()) == [
            (int(a.cidr.network_address), a.cidr.prefixlen, a.owner, a.kind == "prefix")
            for a in m.allocations()
        ]
        assert s.reservations == tuple(
            ipfrag.Reservation(m.network(o, k), kd, d)  # type: ignore[arg-type]
            for o, (k, kd, d) in sorted(m.reservations.items())
        )
        self.check_owners()
        # Block queries: the eligible space is the unreserved free space plus the free
        # space of each prefix reservation.
        eligible = [open_, *tier]
        cidrs = free.cidrs
        assert s.histogram() == dict(sorted(Counter(c.prefixlen for c in cidrs).items())), (
            "histogram: maximal free blocks per prefix length"
        )
        assert [netaddr.IPNetwork(str(n)) for n in s.free_ranges()] == cidrs
        best = min((c.prefixlen for e in eligible for c in e.cidrs), default=None)
        assert s.largest_free_prefixlen() == best
        n_list = 12 if self.huge else N_LIST
        for length in self.sample_lengths():
            n = sum(count_blocks(e, length) for e in eligible)
            assert s.free_block_count(length) == n, length
            assert s.can_carve(length) == (n > 0)
            merged = sorted(
                itertools.chain.from_iterable(
                    itertools.islice(cidr_blocks(e, length), n_list) for e in eligible
                )
            )[:n_list]
            got = [
                netaddr.IPNetwork(str(b)) for b in itertools.islice(s.free_blocks(length), n_list)
            ]
            assert got == merged, length
        assert s.free_block_count() == s.free_block_count(self.default_len)

    def sample_lengths(self) -> list[int]:
        m = self.m
        lo, hi = m.net.prefixlen, m.maxbits
        picks = {lo, hi, self.default_len, min(hi, self.default_len + 1), (lo + hi) // 2}
        picks.add(lo + self.steps % (hi - lo + 1))
        return sorted(picks)

    def check_owners(self) -> None:
        s, m = self.s, self.m
        if m.bits <= 8:
            offsets: list[int] = list(range(m.size))
        else:
            offsets = [*m.reserved, m.size // 2]
            for o, (k, _, _) in m.ledger.items():
                offsets += [o, o + (1 << k) - 1, o + (1 << k), max(0, o - 1)]
            offsets = [o for o in offsets if o < m.size]
        for off in offsets:
            holder = m.containing(off)
            expected = None if holder is None else m.ledger[holder][1]
            assert s.owner_of(m.addr(off)) == expected, off
            alloc = s.allocation_of(m.addr(off))
            if holder is None:
                assert alloc is None
            else:
                assert alloc is not None and alloc.cidr == m.network(holder, m.ledger[holder][0])
            assert s.is_free(m.addr(off)) == (m.used_within(off, 0) == 0)


TestSubnetStateful = SubnetMachine.TestCase
TestSubnetStateful.settings = settings(max_examples=settings().max_examples)
