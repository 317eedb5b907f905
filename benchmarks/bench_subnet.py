"""asv suites for the hot path of :class:`ipfrag.Subnet`.

IPv4 /24, /20 and /16 subnets at 0%, 30% and 70% use (seeded scattered single IPs), and
an IPv6 /64 holding N /80 prefixes (and as many scattered single IPs). Filled subnets
are built once per suite (``setup_cache``) and each benchmark works on a cheap
``copy()``. Every timed update is paired with its inverse (allocate + release, release
+ allocate), so each repeat sees the same state.

Run ``asv run --quick --python=same --show-stderr`` (``asv machine --yes`` once first).
"""

from __future__ import annotations

import ipaddress
import random
from typing import ClassVar

import ipfrag
from benchmarks.compare import make_workload, monte_carlo_fill, traced_bytes
from benchmarks.peers import Network

IPV4_SIZES = ["/24", "/20", "/16"]
IPV4_USE_PCT = [0, 30, 70]
IPV6_PREFIXES = [0, 1_000, 10_000]
IPV6_CIDR = "2001:db8:0:1::/64"
SEED = 2024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Filled = tuple[ipfrag.Subnet, list[Network]]  # a subnet and what was allocated in it


def _ipv4_cidr(size: str) -> str:
    return "10.0.0.0" + size


def _fill_ipv4(size: str, use_pct: int) -> Filled:
    cidr = _ipv4_cidr(size)
    w = make_workload(cidr, prefixlen=28, n_ops=0, seed=SEED, use=use_pct / 100, prefix_share=0)
    return _build(cidr, list(w.initial)), list(w.initial)


def _fill_ipv6(n_prefixes: int) -> Filled:
    w = make_workload(
        IPV6_CIDR,
        prefixlen=80,
        n_ops=0,
        seed=SEED,
        initial_prefixes=n_prefixes,
        initial_singles=n_prefixes,
    )
    return _build(IPV6_CIDR, list(w.initial)), list(w.initial)


def _build(cidr: str, allocations: list[Network]) -> ipfrag.Subnet:
    s = ipfrag.Subnet(cidr, policy="random", seed=SEED)
    for n in allocations:
        if n.prefixlen == n.max_prefixlen:
            s.allocate_ip(n.network_address)
        else:
            s.allocate_prefix(n)
    return s


class _Hot:
    """The timed hot path, shared by the IPv4 and IPv6 suites (set up by subclasses)."""

    subnet: ipfrag.Subnet
    prefixlen: int
    free_ip: Address
    used_ip: Address

    def _pick(self, filled: Filled, seed: int) -> None:
        s, allocations = filled
        singles = [n.network_address for n in allocations if n.prefixlen == n.max_prefixlen]
        self.subnet = s.copy()
        rng = random.Random(seed)
        base, size = int(s.cidr.network_address), s.size
        while True:
            candidate = ipaddress.ip_address(base + rng.randrange(4, size - 1))
            if self.subnet.is_free(candidate):
                self.free_ip = candidate
                break
        if singles:
            self.used_ip = singles[rng.randrange(len(singles))]
        else:  # an empty subnet: release needs something to release
            self.used_ip = self.subnet.allocate_ip(self.free_ip)
            self.free_ip = next(
                a for a in (self.free_ip + 1, self.free_ip - 1) if self.subnet.is_free(a)
            )

    def time_explicit_ip(self, *_: object) -> None:
        """``allocate_ip(address)`` then ``release`` of it."""
        self.subnet.allocate_ip(self.free_ip)
        self.subnet.release(self.free_ip)

    def time_auto_ip(self, *_: object) -> None:
        """``allocate_ip()`` by the random policy, then ``release`` of it."""
        self.subnet.release(self.subnet.allocate_ip())

    def time_release(self, *_: object) -> None:
        """``release`` of a single IP in use, then ``allocate_ip`` of it again."""
        self.subnet.release(self.used_ip)
        self.subnet.allocate_ip(self.used_ip)

    def time_can_carve(self, *_: object) -> None:
        """``can_carve`` of the default prefix length (/28, /80)."""
        self.subnet.can_carve(self.prefixlen)

    def time_free_block_count(self, *_: object) -> None:
        """``free_block_count`` of the default prefix length (/28, /80)."""
        self.subnet.free_block_count(self.prefixlen)


class _HotPrefix:
    """``allocate_prefix()`` on a subnet where at least one aligned block is free."""

    subnet: ipfrag.Subnet
    prefixlen: int

    def _ensure_free_block(self, seed: int) -> None:
        s = self.subnet
        if s.can_carve(self.prefixlen):
            return
        # Scattered singles leave no free block: free one block (not the first or last,
        # which hold AWS-reserved addresses) by releasing the singles inside it.
        block = 1 << (s.cidr.max_prefixlen - self.prefixlen)
        b = random.Random(seed).randrange(1, s.size // block - 1)
        first = int(s.cidr.network_address) + b * block
        for value in range(first, first + block):
            if s.allocation_of(ipaddress.ip_address(value)) is not None:
                s.release(ipaddress.ip_address(value))

    def time_auto_prefix(self, *_: object) -> None:
        """``allocate_prefix()`` by the random policy, then ``release`` of it."""
        self.subnet.release(self.subnet.allocate_prefix())


class IPv4:
    """Single IPs, release and /28 queries on IPv4 subnets by size and use."""

    params = (IPV4_SIZES, IPV4_USE_PCT)
    param_names: ClassVar[list[str]] = ["subnet", "use_pct"]
    timeout = 180.0

    def setup_cache(self) -> dict[tuple[str, int], Filled]:
        """Every (size, use) subnet, filled once."""
        return {(z, u): _fill_ipv4(z, u) for z in IPV4_SIZES for u in IPV4_USE_PCT}


class IPv4Hot(IPv4, _Hot):
    """The hot path on IPv4."""

    prefixlen = 28

    def setup(self, cache: dict[tuple[str, int], Filled], size: str, use_pct: int) -> None:
        """Copy the filled subnet; pick a free and a used address."""
        self._pick(cache[(size, use_pct)], SEED + use_pct)


class IPv4Prefix(IPv4, _HotPrefix):
    """Automatic /28 prefixes on IPv4."""

    prefixlen = 28

    def setup(self, cache: dict[tuple[str, int], Filled], size: str, use_pct: int) -> None:
        """Copy the filled subnet; make sure a /28 is free."""
        self.subnet = cache[(size, use_pct)][0].copy()
        self._ensure_free_block(SEED + use_pct)


class IPv4Memory(IPv4):
    """Bytes a filled IPv4 subnet holds (tracemalloc while building it from nothing)."""

    unit = "bytes"

    def setup(self, cache: dict[tuple[str, int], Filled], size: str, use_pct: int) -> None:
        """Keep what to allocate."""
        self.cidr, self.allocations = _ipv4_cidr(size), cache[(size, use_pct)][1]

    def track_subnet_bytes(self, *_: object) -> int:
        """tracemalloc bytes held by the built subnet."""
        return traced_bytes(lambda: _build(self.cidr, self.allocations))


class IPv6:
    """An IPv6 /64 holding N /80 prefixes and N scattered single IPs."""

    params = (IPV6_PREFIXES,)
    param_names: ClassVar[list[str]] = ["prefixes"]
    timeout = 180.0

    def setup_cache(self) -> dict[int, Filled]:
        """Every N, filled once."""
        return {n: _fill_ipv6(n) for n in IPV6_PREFIXES}


class IPv6Hot(IPv6, _Hot):
    """The hot path on IPv6, queries for /80."""

    prefixlen = 80

    def setup(self, cache: dict[int, Filled], n: int) -> None:
        """Copy the filled subnet; pick a free and a used address."""
        self._pick(cache[n], SEED + n)


class IPv6Prefix(IPv6, _HotPrefix):
    """Automatic /80 prefixes on IPv6."""

    prefixlen = 80

    def setup(self, cache: dict[int, Filled], n: int) -> None:
        """Copy the filled subnet (a /64 always has free /80s)."""
        self.subnet = cache[n][0].copy()
        self._ensure_free_block(SEED + n)


class IPv6Memory(IPv6):
    """Bytes an IPv6 /64 holding N prefixes and N single IPs holds (tracemalloc)."""

    unit = "bytes"

    def setup(self, cache: dict[int, Filled], n: int) -> None:
        """Keep what to allocate."""
        self.allocations = cache[n][1]

    def track_subnet_bytes(self, *_: object) -> int:
        """tracemalloc bytes held by the built subnet."""
        return traced_bytes(lambda: _build(IPV6_CIDR, self.allocations))


class Fill:
    """Peak memory of building a /16 at 70% use from nothing, single IP by single IP."""

    timeout = 180.0

    def setup(self) -> None:
        """The addresses to allocate."""
        w = make_workload("10.0.0.0/16", prefixlen=28, n_ops=0, seed=SEED, use=0.7, prefix_share=0)
        self.addresses = [n.network_address for n in w.initial]

    def peakmem_fill_16_at_70pct(self) -> None:
        """Build and fill the subnet."""
        s = ipfrag.Subnet("10.0.0.0/16")
        for a in self.addresses:
            s.allocate_ip(a)


class MonteCarlo:
    """One Monte Carlo fill of a /16: random /28s interleaved with random single IPs until
    ``InsufficientCidrBlocks`` (the simulator's inner loop), on the core in use."""

    timeout = 180.0

    def time_fill_16(self) -> None:
        """Build a /16 and fill it (seeded)."""
        monte_carlo_fill("10.0.0.0/16", SEED)
