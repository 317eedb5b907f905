"""The snapshot loader's compiled scan (``ipfrag.aws._cscan.scan``) against its pure twin
(``ipfrag.aws.snapshot._scan_py``, built on the msgspec shapes).

The compiled scan may decline (return None) and leave the decision to the twin, but when it
answers, its answer must be the twin's, field for field. On plain JSON data (what
``json.load`` and boto3 give) it must decline exactly when the twin bails; on exotic data
(str and dict subclasses, tuples for lists, huge integers) it may decline more.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ipfrag.aws.snapshot as loader
from ipfrag.aws import _decode
from ipfrag.aws.classify import _VALUE_TAGS

_cscan = pytest.importorskip("ipfrag.aws._cscan")

NODE = "i-0123456789abcdef0"
TAG_KEYS = [*sorted(_VALUE_TAGS), "vpcresources.k8s.aws/vlan-id", "Name", "eks:eni:owner"]
V4 = ["10.0.0.9", "10.0.0.10", "10.0.0.11", "10.0.1.7", "0.0.0.0", "255.255.255.255"]
V6 = ["2600:1f14::5", "2600:1f14::6", "2600:1f14::7", "::ffff:1.2.3.4", "::"]
# Bad in some family, or the same address as another in another spelling:
BAD = ["010.0.0.9", "10.0.0.300", "", "x\x00", "2600:1f14::5", "10.0.0.9", "\udcff", "2600:1F14::5"]
P4 = ["10.0.0.32/28", "10.0.0.33/28", "junk"]
P6 = ["2600:1f14:0:0:1::/80", "2600:1f14::/64"]


class Text(str):
    """A str subclass (msgspec keeps it; the compiled scan declines)."""


class Mapping_(dict):  # type: ignore[type-arg]
    """A dict subclass."""


def _plain_value(draw: st.DrawFn, kind: str) -> Any:
    """A field value: mostly of the declared type, sometimes of another JSON type."""
    if draw(st.integers(0, 59)) == 31:  # a wrong type: the twin bails, the scan declines
        return draw(st.sampled_from([None, 1, True, 1.5, "x", [], {}]))
    return {
        "str": lambda: draw(st.sampled_from(["", "in-use", "branch", "a b", "é"])),
        "opt_str": lambda: draw(st.sampled_from([None, "", "trunk", "eks.amazonaws.com"])),
        "bool": lambda: draw(st.sampled_from([None, True, False])),
        "int": lambda: draw(st.sampled_from([None, 0, 1, 2, -1, 2**40])),
    }[kind]()


@st.composite
def interface(draw: st.DrawFn) -> dict[str, Any]:
    eni: dict[str, Any] = {
        "NetworkInterfaceId": draw(st.sampled_from(["eni-1", "eni-2", "eni-3"])),
        "SubnetId": draw(st.sampled_from(["subnet-a", "subnet-b"])),
    }
    for name in ("InterfaceType", "Description", "Status", "RequesterId", "VpcId"):
        if draw(st.booleans()):
            eni[name] = _plain_value(draw, "opt_str")
    if draw(st.booleans()):
        eni["RequesterManaged"] = _plain_value(draw, "bool")
    if draw(st.booleans()):
        eni["Attachment"] = {
            k: _plain_value(draw, kind)
            for k, kind in (
                ("InstanceId", "opt_str"),
                ("DeviceIndex", "int"),
                ("NetworkCardIndex", "int"),
                ("InstanceOwnerId", "opt_str"),
            )
            if draw(st.booleans())
        }
    if draw(st.booleans()):
        eni["Operator"] = {"Principal": _plain_value(draw, "opt_str")}
    for top, list_key, pool in (
        ("PrivateIpAddress", "PrivateIpAddresses", V4),
        ("Ipv6Address", "Ipv6Addresses", V6),
    ):
        if draw(st.booleans()):
            good = st.sampled_from(pool)
            address = good | st.sampled_from(BAD) if draw(st.integers(0, 5)) == 3 else good
            listed = draw(st.lists(address, max_size=3, unique=draw(st.integers(0, 5)) != 3))
            eni[list_key] = [{top: a, "Primary": draw(st.booleans())} for a in listed]
            if listed and draw(st.booleans()):
                eni[top] = draw(st.sampled_from(listed))
        if draw(st.integers(0, 11)) == 5:  # a primary address unlisted, or listed
            eni[top] = draw(st.sampled_from(pool))
    for list_key, key, pool in (
        ("Ipv4Prefixes", "Ipv4Prefix", P4),
        ("Ipv6Prefixes", "Ipv6Prefix", P6),
    ):
        if draw(st.booleans()):
            eni[list_key] = [{key: p} for p in draw(st.lists(st.sampled_from(pool), max_size=2))]
    if draw(st.booleans()):
        eni["TagSet"] = [
            {"Key": k, "Value": draw(st.sampled_from([None, "", "eni-9", NODE, "prod"]))}
            for k in draw(st.lists(st.sampled_from(TAG_KEYS), max_size=4))
        ]
    eni["Groups"] = [{"GroupId": "sg-1"}]  # unknown fields are ignored by both
    if draw(st.integers(0, 30)) == 17:  # broken shapes: a missing field, a bad nested item
        broken = draw(
            st.sampled_from(["no id", "id None", "tag without key", "entry without address", "key"])
        )
        if broken == "no id":
            del eni["NetworkInterfaceId"]
        elif broken == "id None":
            eni["SubnetId"] = None
        elif broken == "tag without key":
            eni["TagSet"] = [{"Value": "x"}]
        elif broken == "entry without address":
            eni["PrivateIpAddresses"] = [{"Primary": True}]
        else:
            eni[7] = "a non-str key"
    return eni


def twin(datas: list[Any], version: int) -> Any:
    try:
        return loader._scan_py(datas, version)
    except loader._Bail:
        return None


def compiled(datas: list[Any], version: int) -> Any:
    found = _cscan.scan(datas, version, _VALUE_TAGS)
    return None if found is None else loader._Scan(*found)


@given(st.lists(interface(), max_size=5), st.sampled_from([4, 6]))
def test_on_plain_data_the_scan_is_its_twin(datas: list[dict[str, Any]], version: int) -> None:
    assert compiled(datas, version) == twin(datas, version)


def _exotic(value: Any, draw: st.DrawFn) -> Any:
    """The same data with some values of exotic types msgspec may still accept."""
    if isinstance(value, dict):
        out = {
            Text(k) if isinstance(k, str) and draw(st.integers(0, 15)) == 9 else k: _exotic(v, draw)
            for k, v in value.items()
        }
        return Mapping_(out) if draw(st.integers(0, 7)) == 0 else out
    if isinstance(value, list):
        out_list = [_exotic(v, draw) for v in value]
        return tuple(out_list) if draw(st.integers(0, 7)) == 0 else out_list
    if isinstance(value, str) and draw(st.integers(0, 7)) == 0:
        return Text(value)
    if isinstance(value, int) and not isinstance(value, bool) and draw(st.integers(0, 3)) == 0:
        return value + 2**70
    return value


@given(st.data(), st.lists(interface(), max_size=4), st.sampled_from([4, 6]))
def test_when_the_scan_answers_it_answers_as_its_twin(
    data: st.DataObject, datas: list[dict[str, Any]], version: int
) -> None:
    exotic = [_exotic(copy.deepcopy(d), data.draw) for d in datas]
    found = compiled(exotic, version)
    if found is not None:
        assert found == twin(exotic, version)


def test_the_scan_declines_what_it_does_not_check_itself() -> None:
    base = {
        "NetworkInterfaceId": "eni-1",
        "SubnetId": "subnet-a",
        "PrivateIpAddresses": [
            {"PrivateIpAddress": f"10.0.{i // 250}.{i % 250}"} for i in range(2)
        ],
    }
    assert compiled([base], 4) is not None
    many = dict(
        base,
        PrivateIpAddresses=[{"PrivateIpAddress": f"10.0.{i // 250}.{i % 250}"} for i in range(300)],
    )
    assert compiled([many], 4) is None  # more than it compares pairwise
    assert twin([many], 4) is not None
    assert compiled([dict(base, Description=Text("x"))], 4) is None
    assert compiled([Mapping_(base)], 4) is None
    assert compiled([{Text(k): v for k, v in base.items()}], 4) is None  # msgspec refuses it
    assert twin([{Text(k): v for k, v in base.items()}], 4) is None
    with pytest.raises(TypeError):
        _cscan.scan((base,), 4, _VALUE_TAGS)  # a list, a version, a frozenset
    with pytest.raises(ValueError, match="version must be 4 or 6"):
        _cscan.scan([base], 5, _VALUE_TAGS)


def test_the_scan_reads_the_fields_the_shapes_declare() -> None:
    """The compiled scan validates exactly the fields of the msgspec shapes: a field added
    to ``_decode.py`` must be added to ``_cscan.c`` too."""
    shapes = {
        "Interface": _decode.Interface,
        "Attachment": _decode.Attachment,
        "Operator": _decode.Operator,
        "PrivateIpEntry": _decode.PrivateIpEntry,
        "Ipv6AddressEntry": _decode.Ipv6AddressEntry,
        "Ipv4PrefixEntry": _decode.Ipv4PrefixEntry,
        "Ipv6PrefixEntry": _decode.Ipv6PrefixEntry,
        "Tag": _decode.Tag,
    }
    declared = {
        name: tuple(f.name for f in msgspec.structs.fields(s)) for name, s in shapes.items()
    }
    assert declared == _cscan.FIELDS


def test_the_loader_uses_the_scan_unless_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IPFRAG_PURE", raising=False)
    assert loader._compiled_scan() is _cscan
    monkeypatch.setenv("IPFRAG_PURE", "1")
    assert loader._compiled_scan() is None
