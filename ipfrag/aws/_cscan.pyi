"""Type stub of the snapshot loader's compiled scan (``ipfrag/aws/_cscan.c``)."""

from typing import Any, Literal

FIELDS: dict[str, tuple[str, ...]]

def scan(
    datas: list[Any], version: int, value_tags: frozenset[str], /
) -> (
    tuple[
        list[str],
        list[str],
        list[tuple[Any, ...]],
        list[tuple[int, str, Literal["ip"]]],
        list[int],
        list[tuple[str, str, Literal["prefix"]]],
        list[int],
        list[str],
    ]
    | None
): ...
