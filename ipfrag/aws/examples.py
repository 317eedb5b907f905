"""The example snapshots shipped with ipfrag (package data), by name.

Each example is the output of ``aws ec2 describe-subnets``, ``aws ec2
describe-network-interfaces`` and ``aws ec2 get-subnet-cidr-reservations`` for one made-up
but realistic subnet (see ``examples/snapshots/README.md`` in the source tree). They live in
``ipfrag/data/examples/<name>/`` and are installed with the package, so ``ipfrag analyze
--example NAME`` works after a plain ``pip install``. Only names are accepted: never a path.

>>> example_names()
['eks-ipv6', 'eks-prefix']
>>> snap = load_example("eks-prefix")
>>> len(snap), snap.mismatches
(1, [])
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ipfrag.aws.snapshot import Snapshot, load_snapshot
from ipfrag.errors import InvalidArgument, InvalidType

__all__ = ["EXAMPLE_FILES", "example_files", "example_names", "load_example"]

#: The files of one example, in :func:`~ipfrag.aws.load_snapshot` argument order.
EXAMPLE_FILES = (
    "describe-subnets.json",
    "describe-network-interfaces.json",
    "get-subnet-cidr-reservations.json",
)


def _root() -> Path:
    # ipfrag is a regular package installed as files (wheel or checkout), so its data is on disk.
    return Path(str(resources.files("ipfrag"))) / "data" / "examples"


def example_names() -> list[str]:
    """The names of the shipped example snapshots, sorted. Cost: O(examples).

    >>> "eks-prefix" in example_names()
    True
    """
    root = _root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / EXAMPLE_FILES[0]).is_file())


def example_files(name: str) -> tuple[Path, Path, Path]:
    """The three aws-cli JSON files of example ``name``. Cost: O(examples).

    ``name`` must be one of :func:`example_names` (a name, never a path); anything else
    raises :class:`~ipfrag.InvalidArgument` listing the known names (a non-string:
    :class:`~ipfrag.InvalidType`).

    >>> example_files("eks-ipv6")[1].name
    'describe-network-interfaces.json'
    >>> example_files("../../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ipfrag.errors.InvalidArgument: no example snapshot '../../etc'; known examples: eks-ipv6, ...
    """
    if not isinstance(name, str):
        raise InvalidType(f"an example name must be a string, not {type(name).__name__}")
    names = example_names()
    if name not in names:
        known = ", ".join(names) or "none (the package data is missing)"
        raise InvalidArgument(f"no example snapshot {name!r}; known examples: {known}")
    folder = _root() / name
    subnets, interfaces, reservations = (folder / f for f in EXAMPLE_FILES)
    return subnets, interfaces, reservations


def load_example(name: str, **load_snapshot_kwargs: Any) -> Snapshot:
    """:func:`~ipfrag.aws.load_snapshot` of the example ``name`` (keyword arguments passed on).

    Cost: that of loading the example (a few thousand addresses).

    >>> snap = load_example("eks-ipv6", family=6)
    >>> snap.family, len(snap)
    (6, 1)
    """
    return load_snapshot(*example_files(name), **load_snapshot_kwargs)
