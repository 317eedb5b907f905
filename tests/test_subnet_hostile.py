"""Hostile input against the public ``Subnet`` surface: only success or an ``IpfragError``.

Issue 6's promise, held by fuzzing: random values of every type (None, huge and negative
ints, NaN, bytes, garbage and zone-id strings, containers, objects, ipaddress objects of
either family and kind) into every public method and the constructor, and random or
mutated JSON into ``Subnet.from_dict``. A wrong type raises ``InvalidType`` (a
``TypeError``), a bad value a ``ValueError`` subclass; a call that raises changes
nothing; ``to_dict()`` is always strict JSON. Plus, one class per test: zone ids,
``info`` validation, the release hint, iteration during change, and the memory bound.
"""

from __future__ import annotations

import copy
import enum
import ipaddress
import json
import math
import tracemalloc
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfrag import (
    InsufficientCapacity,
    InvalidArgument,
    InvalidCidr,
    InvalidType,
    IpfragError,
    NotAllocated,
    SnapshotError,
    Subnet,
)

# ------------------------------------------------------------------ fixtures


class _Kind(str, enum.Enum):
    A = "a"


class _Level(enum.IntEnum):
    HIGH = 2


def v4(backend: str = "bitmap") -> Subnet:
    s = Subnet("10.0.0.0/24", policy="lowest", seed=3, backend=backend, info={"id": "s-1"})  # type: ignore[arg-type]
    s.allocate_ip("10.0.0.17", owner="eni-1")
    s.allocate_prefix("10.0.0.32/28", owner="eni-2")
    s.allocate_ip("10.0.0.200")
    s.reserve("10.0.0.128/26", kind="prefix", description="pods")
    s.set_owner_info("eni-1", {"instance_id": "i-1", "tags": [{"k": "v"}]})
    return s


def v6() -> Subnet:
    s = Subnet("2600:1f14:0:1::/64", policy="random", seed=5)
    s.allocate_prefix("2600:1f14:0:1:1::/80", owner="node-1")
    s.allocate_ip("2600:1f14:0:1:2::7", owner="node-2")
    return s


SUBNETS: dict[str, Callable[[], Subnet]] = {
    "v4-bitmap": v4,
    "v4-sparse": lambda: v4("sparse"),
    "v6": v6,
}


def strict_json(s: Subnet) -> dict[str, Any]:
    """``to_dict()``, checked to be strict JSON (no NaN, no odd types) on the way."""
    d = s.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    return d


def assert_typed(e: BaseException) -> None:
    """The error contract: IpfragError, and exactly one of the TypeError/ValueError sides."""
    assert isinstance(e, IpfragError), f"raw {type(e).__name__}: {e}"
    if isinstance(e, InvalidType):
        assert isinstance(e, TypeError) and not isinstance(e, ValueError)
    elif isinstance(e, InsufficientCapacity):
        assert not isinstance(e, (TypeError, ValueError))
    else:
        assert isinstance(e, ValueError) and not isinstance(e, TypeError), type(e)
    assert str(e)


# ---------------------------------------------------------------- strategies

NEAR_MISSES = [
    "10.0.0.5",
    "10.0.0.16/28",
    "10.0.0.17/28",
    "10.0.0.128/26",
    "10.0.0.5%eth0",
    "fe80::1%eth0",
    "fe80::%eth0/64",
    "2600:1f14:0:1:1::/80",
    "2600:1f14:0:1:1::%1/80",
    "2600:1f14:0:1:2::7",
    " 10.0.0.40 ",
    "10.0.0.0/" + "9" * 5000,
    "1" * 5000,
    "10.0.0.0/024",
    "10.0.0.0/٢٨",
    "::ffff:10.0.0.5",
    "10.0.0.5\x00",
    "\ud800",
    "eni-1",
    "eni-2",
    "",
    "prefix",
    "explicit",
    "random",
    "bitmap",
    "sparse",
    "aws",
]

ADDRESS_OBJECTS = st.sampled_from(
    [
        ipaddress.IPv4Address("10.0.0.9"),
        ipaddress.IPv6Address("2600:1f14:0:1:3::1"),
        ipaddress.IPv6Address("fe80::1%eth0"),
        ipaddress.IPv4Network("10.0.0.64/28"),
        ipaddress.IPv4Network("10.0.0.0/8"),
        ipaddress.IPv6Network("2600:1f14:0:1:4::/80"),
        ipaddress.IPv6Network("fe80::%eth0/64"),
        ipaddress.IPv4Interface("10.0.0.9/24"),
        ipaddress.IPv6Interface("2600:1f14:0:1:3::1/64"),
    ]
)

# An int too long to write in decimal (its repr raises): mapped, so the strategy's own repr works.
TOO_LONG = st.just(5000).map(lambda digits: 10**digits)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**32, 2**64, 2**128, -(2**70)])
    | TOO_LONG
    | st.floats()
    | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**130), max_value=2**130),
    st.sampled_from([167772177, 28, 80, 0, -1]),
    TOO_LONG,
    st.floats(),
    st.binary(max_size=8),
    st.text(max_size=12),
    st.sampled_from(NEAR_MISSES),
    ADDRESS_OBJECTS,
    st.integers(min_value=0, max_value=140),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), JSON, max_size=3),
    st.builds(object),
    st.frozensets(st.integers(), max_size=2),
)
"""Any value at all, biased towards the near misses that reach deep into the parsers."""


def _iterate(it: Iterator[Any], n: int = 5) -> list[Any]:
    return [x for _, x in zip(range(n), it, strict=False)]


METHODS: dict[str, tuple[int, Callable[..., Any]]] = {
    # name: (number of drawn arguments, call)
    "allocate_ip": (1, lambda s, a: s.allocate_ip(a)),
    "allocate_ip owner": (2, lambda s, a, o: s.allocate_ip(a, owner=o)),
    "allocate_prefix": (1, lambda s, a: s.allocate_prefix(a)),
    "allocate_prefix owner": (2, lambda s, a, o: s.allocate_prefix(a, owner=o)),
    "allocate_prefix length": (2, lambda s, a, n: s.allocate_prefix(a, prefixlen=n)),
    "allocate_prefix auto": (2, lambda s, o, n: s.allocate_prefix(owner=o, prefixlen=n)),
    "release": (1, lambda s, a: s.release(a)),
    "release_owner": (1, lambda s, o: s.release_owner(o)),
    "owner_of": (1, lambda s, a: s.owner_of(a)),
    "allocation_of": (1, lambda s, a: s.allocation_of(a)),
    "allocations_of": (1, lambda s, o: s.allocations_of(o)),
    "is_free": (1, lambda s, a: s.is_free(a)),
    "can_carve": (1, lambda s, n: s.can_carve(n)),
    "free_block_count": (1, lambda s, n: s.free_block_count(n)),
    "free_blocks": (1, lambda s, n: _iterate(s.free_blocks(n))),
    "free_ranges": (0, lambda s: _iterate(s.free_ranges())),
    "allocations": (0, lambda s: _iterate(s.allocations())),
    "histogram": (0, lambda s: s.histogram()),
    "largest_free_prefixlen": (0, lambda s: s.largest_free_prefixlen()),
    "reserve": (2, lambda s, c, k: s.reserve(c, k)),
    "reserve description": (2, lambda s, c, d: s.reserve(c, "explicit", description=d)),
    "unreserve": (1, lambda s, c: s.unreserve(c)),
    "set_owner_info": (2, lambda s, o, i: s.set_owner_info(o, i)),
    "allocate_many": (1, lambda s, e: s.allocate_many(e)),
    "allocate_many entry": (2, lambda s, a, o: s.allocate_many([(a, o, "ip"), (a, o, "prefix")])),
    "owner_info": (1, lambda s, o: s.owner_info(o)),
    "from_dict": (1, lambda s, d: Subnet.from_dict(d)),
    "eq": (1, lambda s, x: s == x),
}


@settings(max_examples=max(20, settings().max_examples))
@given(
    which=st.sampled_from(sorted(SUBNETS)),
    calls=st.lists(
        st.tuples(st.sampled_from(sorted(METHODS)), st.lists(ANYTHING, min_size=2, max_size=2)),
        min_size=1,
        max_size=12,
    ),
)
def test_every_method_takes_anything(which: str, calls: list[tuple[str, list[Any]]]) -> None:
    s = SUBNETS[which]()
    for name, args in calls:
        arity, call = METHODS[name]
        before = strict_json(s)
        try:
            call(s, *args[:arity])
        except Exception as e:
            assert_typed(e)
            assert strict_json(s) == before, f"a failed {name} changed the subnet"
        s._check()
        strict_json(s)


CONSTRUCTOR_ARGS = {
    "policy": st.sampled_from(["random", "lowest", "best-fit"]) | ANYTHING,
    "seed": st.integers(min_value=-(2**64), max_value=2**64) | ANYTHING,
    "reserved": st.sampled_from(["aws", None]) | ANYTHING,
    "prefixlen": st.integers(min_value=0, max_value=130) | ANYTHING,
    "backend": st.sampled_from(["auto", "sparse"]) | ANYTHING.filter(lambda v: v != "bitmap"),
    "name": st.text(max_size=5) | ANYTHING,
    "info": st.dictionaries(st.text(max_size=4), JSON, max_size=3) | ANYTHING,
}


@given(
    cidr=st.sampled_from(["10.0.0.0/24", "10.0.0.0/28", "2600::/64", "0.0.0.0/0", "::/0"])
    | ANYTHING,
    kwargs=st.fixed_dictionaries({}, optional=CONSTRUCTOR_ARGS),
)
def test_constructor_takes_anything(cidr: Any, kwargs: dict[str, Any]) -> None:
    try:
        s = Subnet(cidr, **kwargs)
    except Exception as e:
        assert_typed(e)
        return
    s._check()
    assert Subnet.from_dict(json.loads(json.dumps(strict_json(s)))) == s


# ----------------------------------------------------------------- from_dict


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list) and len(value) < 50:
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _replace(root: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return root


@given(
    which=st.sampled_from(sorted(SUBNETS)),
    edits=st.lists(
        st.tuples(st.integers(min_value=0), JSON | ANYTHING, st.booleans()), min_size=1, max_size=3
    ),
)
def test_from_dict_on_mutated_data(which: str, edits: list[tuple[int, Any, bool]]) -> None:
    data: Any = strict_json(SUBNETS[which]())
    for index, value, delete in edits:
        paths = list(_paths(data))
        path = paths[index % len(paths)]
        data = _replace(data, path, value, delete and bool(path))
    before = copy.deepcopy(data)
    comparable = before == data  # object() is not equal to its copy
    try:
        s = Subnet.from_dict(data)
    except Exception as e:
        assert isinstance(e, SnapshotError), f"raw {type(e).__name__}: {e}"
    else:
        s._check()
        strict_json(s)
    assert data == before or not comparable, "from_dict must not change its input"


@given(JSON)
def test_from_dict_on_random_json(data: Any) -> None:
    with pytest.raises(SnapshotError):
        Subnet.from_dict(data)


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize(
    "field", ["info", "owner_info", "allocations", "reservations", "rng_state", "cidr"]
)
def test_from_dict_on_deep_nesting(field: str) -> None:
    """100,000 levels anywhere: a SnapshotError, never RecursionError."""
    data = v4().to_dict()
    data[field] = {"a": _nested(100_000)} if field in ("info", "owner_info") else _nested(100_000)
    with pytest.raises(SnapshotError):
        Subnet.from_dict(data)


@pytest.mark.parametrize(
    ("gauss", "ok"),
    [
        (None, True),
        (0.25, True),
        (1, True),
        ("0.5", False),
        ([1], False),
        (float("nan"), False),
        pytest.param(10**5000, False, id="int-beyond-any-float"),  # once an OverflowError
    ],
)
def test_from_dict_rng_state_gauss_next(gauss: Any, ok: bool) -> None:
    data = Subnet("10.0.0.0/24", seed=1).to_dict()
    data["rng_state"][2] = gauss
    if ok:
        s = Subnet.from_dict(data)
        strict_json(s)
        s.allocate_ip()
    else:
        with pytest.raises(SnapshotError, match="rng_state"):
            Subnet.from_dict(data)


# ------------------------------------------------------------------ by class

ZONE_IDS = [
    lambda s: s.allocate_ip("fe80::1%eth0"),
    lambda s: s.allocate_ip(ipaddress.IPv6Address("fe80::1%eth0")),
    lambda s: s.allocate_prefix("fe80::1:0:0:0%eth0/80"),
    lambda s: s.allocate_prefix(ipaddress.IPv6Network("fe80::1:0:0:0%eth0/80")),
    lambda s: s.release("fe80::1%eth0"),
    lambda s: s.is_free("fe80::1%eth0"),
    lambda s: s.owner_of("fe80::1%eth0"),
    lambda s: s.reserve("fe80::8000:0:0:0%1/65"),
]


@pytest.mark.parametrize("call", ZONE_IDS)
def test_zone_ids_are_rejected(call: Callable[[Subnet], Any]) -> None:
    s = Subnet("fe80::/64")
    before = s.to_dict()
    with pytest.raises(InvalidCidr, match=r"zone id \(%(eth0|1)\)"):
        call(s)
    assert s.to_dict() == before


@pytest.mark.parametrize("cidr", ["fe80::%eth0/64", "fe80::1%eth0/64", "10.0.0.0%x/24"])
def test_zone_ids_in_the_subnet_cidr(cidr: str) -> None:
    with pytest.raises(InvalidCidr, match="zone id") as info:
        Subnet(cidr)
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("info", "error", "words"),
    [
        ([("a", 1)], InvalidType, "must be a mapping"),
        ("text", InvalidType, "must be a mapping"),
        ({"a": float("nan")}, InvalidArgument, "nan"),
        ({"a": [1, float("inf")]}, InvalidArgument, "inf"),
        ({"a": {1: "x", "1": "y"}}, InvalidArgument, "two keys"),
        ({None: 1, "null": 2}, InvalidArgument, "two keys"),
        ({"a": 10**5000}, InvalidArgument, "too long"),
        ({"a": b"bytes"}, InvalidArgument, "not a JSON value"),
        ({"a": {1, 2}}, InvalidArgument, "not a JSON value"),
        ({(1, 2): "x"}, InvalidArgument, "key that is not a string"),
        ({"a": _nested(65)}, InvalidArgument, "nested more than 64"),
        ({"a": _nested(1_000_000)}, InvalidArgument, "nested more than 64"),
    ],
)
def test_info_must_be_json(info: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        Subnet("10.0.0.0/24", info=info)
    s = v4()
    before = s.to_dict()
    with pytest.raises(error, match=words):
        s.set_owner_info("eni-1", info)
    assert s.to_dict() == before


def test_info_is_copied_as_json_and_to_dict_stays_strict() -> None:
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(InvalidArgument, match="nested"):
        Subnet("10.0.0.0/24", info=cycle)
    s = Subnet("10.0.0.0/24", info={"t": (1, 2), 5: True, "n": None, "f": 0.5})
    assert s.info == {"t": [1, 2], "5": True, "n": None, "f": 0.5}
    kinds = Subnet("10.0.0.0/24", info={_Kind.A: [_Kind.A, _Level.HIGH]}).info
    assert kinds == {"a": ["a", 2]}
    assert [type(v) for v in [*kinds, *kinds["a"]]] == [str, str, int], "plain JSON types"
    s.info["bad"] = float("nan")  # info is the subnet's own dict: to_dict re-checks it
    with pytest.raises(InvalidArgument, match="nan"):
        s.to_dict()


def _typed(value: Any) -> Any:
    """A value with the exact type of every part spelled out (True is not 1, "a" not _Kind.A)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


FLAT_EDGES: list[tuple[Any, Any]] = [
    # info, what the subnet keeps (exact types), or the error class
    ({"a": True, "b": 1, "c": 0, "d": False}, {"a": True, "b": 1, "c": 0, "d": False}),
    ({"a": 2**63 - 1, "b": -(2**63)}, {"a": 2**63 - 1, "b": -(2**63)}),
    ({"a": 2**63, "b": -(2**63) - 1}, {"a": 2**63, "b": -(2**63) - 1}),  # the full check
    ({"a": 10**5000}, InvalidArgument),
    ({"a": float("nan")}, InvalidArgument),
    ({"a": float("-inf")}, InvalidArgument),
    ({"a": -0.0, "b": 1e308, "c": 5e-324}, {"a": -0.0, "b": 1e308, "c": 5e-324}),
    ({"a": _Kind.A, "b": _Level.HIGH}, {"a": "a", "b": 2}),  # enums become plain JSON
    ({_Kind.A: "x"}, {"a": "x"}),
    ({1: "x", None: "y", 2.5: "z"}, {"1": "x", "null": "y", "2.5": "z"}),
    ({True: "z"}, {"true": "z"}),
    ({1: "x", "1": "y"}, InvalidArgument),
    ({"a": b"x"}, InvalidArgument),
    ({"a": (1, 2), "b": {"c": None}}, {"a": [1, 2], "b": {"c": None}}),
]


@pytest.mark.parametrize(("info", "expected"), FLAT_EDGES)
def test_owner_info_fast_path_keeps_the_full_validators_verdict(info: Any, expected: Any) -> None:
    """The flat fast path and the full validator agree: same kept value, same exact types."""
    for form in (info, _DictSubclass(info), types.MappingProxyType(info)):
        s = Subnet("10.0.0.0/24")
        if isinstance(expected, type):
            with pytest.raises(expected):
                s.set_owner_info("eni-1", form)
            assert s.owner_info("eni-1") == {}
            continue
        s.set_owner_info("eni-1", form)
        assert _typed(s.owner_info("eni-1")) == _typed(expected)
        assert _typed(s.to_dict()["owner_info"]["eni-1"]) == _typed(expected)
        json.dumps(s.to_dict(), allow_nan=False)


class _DictSubclass(dict):  # type: ignore[type-arg]
    """A dict subclass: never the fast path (its items could be anything)."""


@given(
    st.dictionaries(
        st.text(max_size=3) | st.sampled_from([_Kind.A, 7, None]),
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=3)
        | st.sampled_from([_Kind.A, _Level.HIGH]),
        max_size=6,
    )
)
def test_flat_info_is_kept_as_json_would(info: dict[Any, Any]) -> None:
    s = Subnet("10.0.0.0/24")
    try:
        s.set_owner_info("eni-1", info)
    except InvalidArgument:
        bad = any(isinstance(v, float) and not math.isfinite(v) for v in info.values())
        keys = [str.__str__(k) if isinstance(k, str) else json.dumps(k) for k in info]
        assert bad or len(set(keys)) < len(keys)
        return
    kept = s.owner_info("eni-1")
    assert _typed(kept) == _typed(json.loads(json.dumps(info)))
    kept["new"] = 1  # the returned dict is a copy
    assert "new" not in s.owner_info("eni-1")


def test_owner_info_returns_a_copy_nested_or_flat() -> None:
    s = Subnet("10.0.0.0/24")
    s.set_owner_info("flat", {"kind": "node"})
    s.set_owner_info("nested", {"tags": [{"k": "v"}]})
    flat, nested = s.owner_info("flat"), s.owner_info("nested")
    flat["kind"] = "changed"
    nested["tags"][0]["k"] = "changed"
    assert s.owner_info("flat") == {"kind": "node"}
    assert s.owner_info("nested") == {"tags": [{"k": "v"}]}
    t = s.copy()
    t.owner_info("nested")  # the fork's info is its own too
    s.set_owner_info("flat", {"kind": "other"})
    assert t.owner_info("flat") == {"kind": "node"}


@pytest.mark.parametrize(
    ("target", "hint"),
    [
        ("10.0.0.10/31", "the allocation 10.0.0.10 lies inside it"),
        ("10.0.0.0/26", "3 allocations lie inside it, the first 10.0.0.10"),
        ("10.0.0.33", "it lies inside the allocation 10.0.0.32/28, which is released whole"),
        ("10.0.0.32/29", "it lies inside the allocation 10.0.0.32/28"),
        ("10.0.0.64/28", None),
    ],
)
def test_release_hint_states_containment_the_right_way(target: str, hint: str | None) -> None:
    s = Subnet("10.0.0.0/24")
    s.allocate_ip("10.0.0.10")
    s.allocate_prefix("10.0.0.32/28")
    s.allocate_ip("10.0.0.50")
    with pytest.raises(NotAllocated) as info:
        s.release(target)
    message = str(info.value)
    assert message.startswith(f"{target} is not an allocation")
    if hint is None:
        assert ";" not in message
    else:
        assert hint in message


def test_a_failed_call_interns_no_owner() -> None:
    s = v4()
    owners = list(s._owners)
    for call in (
        lambda: s.allocate_ip("10.0.0.17", owner="new-1"),  # in use
        lambda: s.allocate_prefix("10.0.0.33/28", owner="new-2"),  # misaligned
        lambda: s.allocate_prefix(owner="new-3", prefixlen=20),  # too wide
    ):
        with pytest.raises(IpfragError):
            call()
    assert s._owners == owners
    s.allocate_ip(owner="new-4")
    assert s._owners == [*owners, "new-4"]


# --------------------------------------------------- iteration during change

ITERATORS: dict[str, Callable[[Subnet], Iterator[Any]]] = {
    "allocations": lambda s: s.allocations(),
    "free_blocks": lambda s: s.free_blocks(30),
    "free_ranges": lambda s: s.free_ranges(),
}
CHANGES: dict[str, Callable[[Subnet], Any]] = {
    "release": lambda s: s.release("10.0.0.17"),
    "release_owner": lambda s: s.release_owner("eni-2"),
    "allocate_ip": lambda s: s.allocate_ip("10.0.0.90"),
    "allocate_prefix": lambda s: s.allocate_prefix(prefixlen=30),
    "reserve": lambda s: s.reserve("10.0.0.64/27", "explicit"),
    "unreserve": lambda s: s.unreserve("10.0.0.128/26"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("iterator", sorted(ITERATORS))
@pytest.mark.parametrize("backend", ["bitmap", "sparse"])
def test_changing_the_subnet_while_iterating_raises_runtime_error(
    backend: str, iterator: str, change: str
) -> None:
    s = v4(backend)
    it = ITERATORS[iterator](s)
    next(it)
    CHANGES[change](s)
    with pytest.raises(RuntimeError, match="Subnet changed during iteration"):
        next(it)
    s._check()
    # Iterating over a list is the way to change the subnet in the loop.
    for a in list(s.allocations()):
        s.release(a.cidr)
    assert s.used_addresses == 0


@pytest.mark.parametrize("backend", ["bitmap", "sparse"])
def test_reading_while_iterating_is_fine(backend: str) -> None:
    s = v4(backend)
    seen = []
    for a in s.allocations():
        seen.append(a)
        s.is_free("10.0.0.5"), s.free_block_count(), s.to_dict(), s.copy().allocate_ip()
    assert seen == list(s.allocations()) and len(seen) == 3


def test_iterator_arguments_are_checked_at_the_call() -> None:
    s = v4()
    with pytest.raises(InvalidType):
        s.free_blocks("28")  # type: ignore[arg-type]
    with pytest.raises(InvalidCidr):
        s.free_blocks(40)


# ----------------------------------------------------------------- memory


def _peak(make: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        make()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "cidr", ["10.0.0.0/8", "10.0.0.0/11", "0.0.0.0/0", "2600::/104", "2600::/64", "::/0"]
)
def test_no_cidr_makes_a_subnet_allocate_unbounded_memory(cidr: str) -> None:
    """Above 2**20 addresses ``backend="auto"`` is sparse: memory follows the state."""

    def work() -> Subnet:
        s = Subnet(cidr, seed=1)
        length = s.cidr.prefixlen + 4
        s.allocate_prefix(owner="a", prefixlen=length)
        s.allocate_ip(owner="b")
        s.reserve(str(next(s.free_blocks(length))), "explicit")
        list(s.allocations()), s.histogram(), next(s.free_ranges())
        s.copy().to_dict()
        return s

    assert _peak(work) < 1_000_000
    assert work().to_dict()["backend"] == "sparse"


def test_the_dense_core_has_a_stated_ceiling() -> None:
    assert Subnet("10.0.0.0/12").to_dict()["backend"] == "bitmap"  # 2**20: still dense
    for cidr in ("10.0.0.0/7", "2600::/100"):
        with pytest.raises(InvalidArgument, match=r"at most 2\*\*24"):
            _peak(lambda c=cidr: Subnet(c, backend="bitmap"))


# ------------------------------------------------------------------- the core

CORE_CALLS: dict[str, Callable[..., Any]] = {
    "claim": lambda sp, a, b: sp.claim(a, b),
    "release": lambda sp, a, b: sp.release(a, b),
    "fill": lambda sp, a, b: sp.fill(a, b),
    "is_free": lambda sp, a, b: sp.is_free(a, b),
    "free_within": lambda sp, a, b: sp.free_within(a, b),
    "track": lambda sp, a, b: sp.track(a),
    "free_block_count": lambda sp, a, b: sp.free_block_count(a, within=b),
    "has_free_block": lambda sp, a, b: sp.has_free_block(a),
    "iter_free_blocks": lambda sp, a, b: _iterate(sp.iter_free_blocks(a, within=b)),
    "iter_maximal_free": lambda sp, a, b: _iterate(sp.iter_maximal_free(within=a)),
    "pick_address": lambda sp, a, b: sp.pick_address(a, within=b),
    "pick_address unit": lambda sp, a, b: sp.pick_address("best-fit", unit=a),
    "pick_block": lambda sp, a, b: sp.pick_block(a, b),
}


@given(
    backend=st.sampled_from(["bitmap", "sparse"]),
    name=st.sampled_from(sorted(CORE_CALLS)),
    a=st.integers(min_value=-2, max_value=10) | ANYTHING | st.tuples(ANYTHING, ANYTHING),
    b=st.integers(min_value=-2, max_value=10) | ANYTHING | st.tuples(ANYTHING, ANYTHING),
)
def test_the_core_takes_anything(backend: str, name: str, a: Any, b: Any) -> None:
    from ipfrag.core import make_space

    sp = make_space(8, backend)  # type: ignore[arg-type]
    sp.claim(17)
    before = (sp.free_count, sp.histogram(), list(sp.iter_maximal_free()))
    try:
        CORE_CALLS[name](sp, a, b)
    except Exception as e:
        assert_typed(e)
        assert (sp.free_count, sp.histogram(), list(sp.iter_maximal_free())) == before
    sp._check()


@pytest.mark.parametrize(
    ("bits", "backend", "error"),
    [
        (None, "auto", InvalidType),
        (8.0, "auto", InvalidType),
        (-1, "auto", InvalidArgument),
        (129, "sparse", InvalidArgument),
        (8, None, InvalidType),
        (8, "tree", InvalidArgument),
    ],
)
def test_make_space_arguments(bits: Any, backend: Any, error: type[Exception]) -> None:
    from ipfrag.core import make_space

    with pytest.raises(error):
        make_space(bits, backend)
