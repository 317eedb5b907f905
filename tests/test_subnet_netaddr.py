"""``Subnet`` takes netaddr objects wherever it takes an address or a CIDR, without
importing netaddr itself; and its cheaply built return values are real stdlib objects."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import netaddr
import pytest

from ipfrag import Subnet
from ipfrag.errors import InvalidCidr, Misaligned, OutsideSubnet

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("backend", ["bitmap", "sparse"])
def test_netaddr_objects_work_like_strings(backend: str) -> None:
    a = Subnet("10.0.0.0/24", policy="lowest", backend=backend)  # type: ignore[arg-type]
    b = Subnet(netaddr.IPNetwork("10.0.0.0/24"), policy="lowest", backend=backend)  # type: ignore[arg-type]
    assert a.cidr == b.cidr
    assert a.allocate_ip("10.0.0.9", owner="x") == b.allocate_ip(
        netaddr.IPAddress("10.0.0.9"),  # type: ignore[arg-type]
        owner="x",
    )
    net = netaddr.IPNetwork("10.0.0.32/28")
    assert a.allocate_prefix("10.0.0.32/28") == b.allocate_prefix(net)  # type: ignore[arg-type]
    assert b.is_free(netaddr.IPNetwork("10.0.0.64/26")) and not b.is_free(net)  # type: ignore[arg-type]
    assert b.owner_of(netaddr.IPAddress("10.0.0.9")) == "x"  # type: ignore[arg-type]
    assert a.reserve("10.0.0.128/25") == b.reserve(netaddr.IPNetwork("10.0.0.128/25"))  # type: ignore[arg-type]
    b.release(net)  # type: ignore[arg-type]
    b.release(netaddr.IPAddress("10.0.0.9"))  # type: ignore[arg-type]
    a.release("10.0.0.32/28")
    a.release("10.0.0.9")
    assert a == b
    b._check()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (netaddr.IPNetwork("10.0.0.33/28"), Misaligned),  # host bits set, as "10.0.0.33/28"
        (netaddr.IPNetwork("10.0.1.0/28"), OutsideSubnet),
        (netaddr.IPAddress("10.0.1.1"), OutsideSubnet),
        (netaddr.IPAddress("2001:db8::1"), InvalidCidr),
        (netaddr.IPNetwork("2001:db8::/120"), InvalidCidr),
    ],
)
def test_netaddr_errors_are_the_string_errors(value: object, error: type[Exception]) -> None:
    s = Subnet("10.0.0.0/24")
    before = s.to_dict()
    call = s.allocate_prefix if isinstance(value, netaddr.IPNetwork) else s.allocate_ip
    with pytest.raises(error):
        call(value)  # type: ignore[operator]
    with pytest.raises(error):
        call(str(value))  # type: ignore[operator]
    assert s.to_dict() == before
    with pytest.raises(InvalidCidr):
        Subnet(netaddr.IPNetwork("10.0.0.1/24"))  # type: ignore[arg-type]


def test_netaddr_is_not_imported_by_ipfrag() -> None:
    code = (
        "import sys, ipfrag\n"
        "s = ipfrag.Subnet('10.0.0.0/24')\n"
        "s.release(s.allocate_ip('10.0.0.9')); s.release(s.allocate_prefix())\n"
        "s.is_free('10.0.0.0/28'); s.can_carve(); ipfrag.Subnet('2600:1f14::/64').allocate_ip()\n"
        "assert 'netaddr' not in sys.modules, 'ipfrag imported netaddr'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("cidr", ["10.0.0.0/24", "2600:1f14::/64"])
def test_returned_objects_are_ordinary_stdlib_objects(cidr: str) -> None:
    s = Subnet(cidr, seed=3)
    a = s.allocate_ip()
    n = s.allocate_prefix()
    same_a = ipaddress.ip_address(str(a))
    same_n = ipaddress.ip_network(str(n))
    assert type(a) is type(same_a) and a == same_a and hash(a) == hash(same_a)
    assert repr(a) == repr(same_a) and a.packed == same_a.packed
    assert type(n) is type(same_n) and n == same_n and hash(n) == hash(same_n)
    assert repr(n) == repr(same_n) and n.broadcast_address == same_n.broadcast_address
    assert n.num_addresses == same_n.num_addresses and n.netmask == same_n.netmask
    assert next(iter(n.hosts())) == next(iter(same_n.hosts())) and a not in n
    assert {a: 1}[same_a] == 1 and {n: 1}[same_n] == 1
