"""Reading AWS JSON: files in any encoding aws-cli output ends up in, and the typed shapes.

The shapes are msgspec structs of the fields ipfrag reads from ``describe-subnets``,
``describe-network-interfaces`` and ``get-subnet-cidr-reservations`` items (unknown fields
are ignored); msgspec validates them at C speed and names the field path of a problem,
which :func:`shape_problem` turns into the words of
:class:`~ipfrag.aws.snapshot.SnapshotFieldError`.
The shapes hold only strings, numbers and lists of shapes, so they cannot form reference
cycles: they are not tracked by the garbage collector (``gc=False``), which matters when
40,000 interfaces are decoded at once. Each shape has a *loose* twin (built from it, not
written twice) whose list fields accept anything, so that in lenient mode one broken entry
of a list skips only that entry.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from ipfrag.errors import SnapshotError

__all__ = [
    "Attachment",
    "CidrReservation",
    "Interface",
    "Ipv4PrefixEntry",
    "Ipv6AddressEntry",
    "Ipv6Association",
    "Ipv6PrefixEntry",
    "PrivateIpEntry",
    "SubnetShape",
    "Tag",
    "convert",
    "list_fields",
    "loose",
    "read_json",
    "shape_problem",
]

_S = TypeVar("_S", bound=msgspec.Struct)


class Tag(msgspec.Struct, gc=False):
    Key: str
    Value: str | None = None


class PrivateIpEntry(msgspec.Struct, gc=False):
    PrivateIpAddress: str
    Primary: bool | None = None


class Ipv6AddressEntry(msgspec.Struct, gc=False):
    Ipv6Address: str


class Ipv4PrefixEntry(msgspec.Struct, gc=False):
    Ipv4Prefix: str


class Ipv6PrefixEntry(msgspec.Struct, gc=False):
    Ipv6Prefix: str


class Attachment(msgspec.Struct, gc=False):
    InstanceId: str | None = None
    DeviceIndex: int | None = None
    NetworkCardIndex: int | None = None
    InstanceOwnerId: str | None = None


class Operator(msgspec.Struct, gc=False):
    Principal: str | None = None


class Interface(msgspec.Struct, gc=False):
    NetworkInterfaceId: str
    SubnetId: str
    InterfaceType: str | None = None
    Description: str | None = None
    Status: str | None = None
    RequesterId: str | None = None
    VpcId: str | None = None
    AvailabilityZone: str | None = None
    RequesterManaged: bool | None = None
    Attachment: Attachment | None = None
    Operator: Operator | None = None
    PrivateIpAddress: str | None = None
    Ipv6Address: str | None = None
    PrivateIpAddresses: list[PrivateIpEntry] | None = None
    Ipv6Addresses: list[Ipv6AddressEntry] | None = None
    Ipv4Prefixes: list[Ipv4PrefixEntry] | None = None
    Ipv6Prefixes: list[Ipv6PrefixEntry] | None = None
    TagSet: list[Tag] | None = None


class Ipv6State(msgspec.Struct, gc=False):
    State: str | None = None


class Ipv6Association(msgspec.Struct, gc=False):
    Ipv6CidrBlock: str | None = None
    Ipv6CidrBlockState: Ipv6State | None = None


class SubnetShape(msgspec.Struct, gc=False):
    SubnetId: str
    CidrBlock: str | None = None
    AvailableIpAddressCount: int | None = None
    Ipv6Native: bool | None = None
    VpcId: str | None = None
    AvailabilityZone: str | None = None
    AvailabilityZoneId: str | None = None
    State: str | None = None
    Ipv6CidrBlockAssociationSet: list[Ipv6Association] | None = None
    Tags: list[Tag] | None = None


class CidrReservation(msgspec.Struct, gc=False):
    SubnetId: str
    Cidr: str
    ReservationType: str
    SubnetCidrReservationId: str | None = None
    Description: str | None = None


def _list_entry(annotation: Any) -> Any:
    """The entry type of a ``list[X] | None`` field annotation; None for any other field."""
    for option in getattr(annotation, "__args__", ()):
        if getattr(option, "__origin__", None) is list:
            return option.__args__[0]
    return None


def _loose(shape: type[_S]) -> type[msgspec.Struct]:
    """``shape`` with every list field typed ``Any``: entries are then checked one by one."""
    fields: list[tuple[str, Any, Any]] = []
    for f in msgspec.structs.fields(shape):
        typ = Any if _list_entry(f.type) is not None else f.type
        fields.append((f.name, typ, msgspec.NODEFAULT if f.required else f.default))
    return msgspec.defstruct(f"Loose{shape.__name__}", fields, gc=False)


_SHAPES: tuple[type[msgspec.Struct], ...] = (Interface, SubnetShape, CidrReservation)
_LOOSE = {shape: _loose(shape) for shape in _SHAPES}
_ENTRIES = {
    shape: {
        f.name: _list_entry(f.type)
        for f in msgspec.structs.fields(shape)
        if _list_entry(f.type) is not None
    }
    for shape in _SHAPES
}


def loose(shape: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The loose twin of ``shape`` (list fields unchecked)."""
    return _LOOSE[shape]


def list_fields(shape: type[msgspec.Struct]) -> dict[str, Any]:
    """``{field name: entry type}`` of the list fields of ``shape``."""
    return _ENTRIES[shape]


def convert(data: object, shape: type[_S]) -> _S:
    """``data`` (parsed JSON) as ``shape``; raises ``msgspec.ValidationError``."""
    return msgspec.convert(data, shape)


_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "bool": "a boolean",
    "array": "a list",
    "object": "an object",
    "null": "null",
    "float": "a number",
}
_AT = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>.*)`)?$", re.S)
_EXPECTED = re.compile(r"Expected `(?P<want>[^`]*)`, got `(?P<got>[^`]*)`")
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]*)`")


def _words(types: str) -> str:
    names = [t.strip() for t in types.split("|") if t.strip() != "null"] or ["null"]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in names)


def shape_problem(error: msgspec.ValidationError, prefix: str = "") -> tuple[str, str]:
    """(field path, problem) of a validation error, in ipfrag's words.

    ``prefix`` is the path of the converted value inside the item (``"PrivateIpAddresses[2]"``).
    An error on the value itself has the path ``prefix`` or ``"(item)"``.
    """
    text = str(error)
    m = _AT.match(text)
    problem = m.group("problem") if m else text
    path = (m.group("path") or "") if m else ""
    path = path.lstrip(".")
    missing = _MISSING.fullmatch(problem)
    if missing:
        path = f"{path}.{missing.group('name')}" if path else missing.group("name")
        problem = "missing"
    else:
        expected = _EXPECTED.fullmatch(problem)
        if expected:
            problem = (
                f"expected {_words(expected.group('want'))}, got {_words(expected.group('got'))}"
            )
        elif problem:
            problem = problem[0].lower() + problem[1:]
    if prefix:
        path = f"{prefix}.{path}" if path and not path.startswith("[") else prefix + path
    return path or "(item)", problem


# Byte order marks, longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _utf8(raw: bytes, path: Path) -> bytes:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding).encode("utf-8")
            except UnicodeError as e:
                raise SnapshotError(
                    f"{path}: starts with a {encoding.upper()} byte order mark but is not "
                    f"valid {encoding.upper()} ({e})"
                ) from e
    return raw


def read_json(path: str | os.PathLike[str], noun: str) -> Any:
    """Parse a JSON file; ``noun`` names what it should hold, for messages.

    Accepts UTF-8 (with or without a byte order mark) and UTF-16/UTF-32 with a byte order
    mark (PowerShell's ``>`` writes UTF-16). Anything unreadable, not text, not JSON, nested
    absurdly deep or holding an integer too large raises :class:`~ipfrag.errors.SnapshotError`
    naming the file.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as e:
        raise SnapshotError(f"cannot read {noun} file {file}: {e.strerror or e}") from e
    data = _utf8(raw, file)
    try:
        return msgspec.json.decode(data)
    except UnicodeDecodeError as e:
        raise SnapshotError(
            f"{file}: not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8 "
            "(PowerShell: | Out-File -Encoding utf8)"
        ) from e
    except RecursionError as e:
        raise SnapshotError(f"{file}: JSON nested too deeply to be AWS output") from e
    except msgspec.ValidationError as e:  # numbers out of range
        raise SnapshotError(f"{file}: not valid JSON ({str(e).split(' - at')[0]})") from e
    except msgspec.DecodeError as e:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as u:
            raise SnapshotError(
                f"{file}: not UTF-8 text (byte {u.start}: {u.reason}); save it as UTF-8 "
                "(PowerShell: | Out-File -Encoding utf8)"
            ) from e
        message = str(e).removeprefix("JSON is malformed: ")
        raise SnapshotError(f"{file}: not valid JSON ({message})") from e
