"""The example snapshots ship as package data and are looked up by name only."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

import pytest

import ipfrag
from ipfrag.aws.examples import EXAMPLE_FILES, example_files, example_names, load_example

ROOT = Path(__file__).resolve().parent.parent


def test_names_and_files() -> None:
    assert example_names() == ["eks-ipv6", "eks-prefix"]
    for name in example_names():
        files = example_files(name)
        assert [f.name for f in files] == list(EXAMPLE_FILES)
        assert all(f.is_file() for f in files)
        assert (
            files[0].parent == Path(ipfrag.__file__).resolve().parent / "data" / "examples" / name
        )


@pytest.mark.parametrize(
    "name",
    [
        "../../x",
        "eks-prefix/..",
        "../examples/eks-prefix",
        "/etc",
        str(ROOT),
        "",
        "EKS-PREFIX",
        ".",
    ],
)
def test_anything_but_a_known_name_is_refused(name: str) -> None:
    with pytest.raises(ipfrag.InvalidArgument, match="known examples: eks-ipv6, eks-prefix"):
        example_files(name)
    with pytest.raises(ipfrag.InvalidArgument):
        load_example(name)


def test_a_non_string_name_is_a_type_error() -> None:
    with pytest.raises(ipfrag.InvalidType):
        example_files(Path("eks-prefix"))  # type: ignore[arg-type]


def test_load_example_passes_keyword_arguments() -> None:
    snap = load_example("eks-ipv6", family=6, seed=3)
    assert snap.family == 6 and not snap.warnings
    (subnet,) = snap.values()
    assert subnet.cidr.version == 6


def test_package_data_config_covers_every_example_file() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ipfrag"]
    for name in example_names():
        for path in example_files(name):
            relative = path.relative_to(ROOT / "ipfrag").as_posix()
            assert any(
                fnmatch.fnmatch(relative, p) and p.count("/") == relative.count("/")
                for p in patterns
            ), relative


def test_cli_example_refuses_paths(capsys: pytest.CaptureFixture[str]) -> None:
    from ipfrag.cli import main

    try:
        status = main(["analyze", "--example", "../../x"])
    except ipfrag.IpfragError:  # the central handler in main() may turn this into exit 2
        status = 2
    assert status == 2
