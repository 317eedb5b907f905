"""The ``ipfrag max-pods`` subcommand, driven through ``ipfrag.cli.main``."""

from __future__ import annotations

import pytest

from ipfrag.aws import limits as lim
from ipfrag.aws.limits import max_pods, register_instance_type
from ipfrag.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["max-pods", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["m5.large"], 29),
        (["t3.medium"], 17),
        (["c5.18xlarge", "--no-cap"], 737),
        (["c5.18xlarge", "--vcpus", "72"], 250),
        (["m5.large", "--prefix-delegation", "--no-cap"], 434),
        (["m5.large", "--prefix-delegation", "--vcpus", "2"], 110),
        (["m5.large", "--custom-networking"], 20),
        (["m5.large", "--max-enis", "1"], 11),
        (["m5.large", "--max-enis", "2", "--custom-networking"], 11),
        (["M5.LARGE"], 29),
    ],
)
def test_prints_the_number(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: int
) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out, err) == (0, f"{expected}\n", "")


def test_agrees_with_the_library_for_a_sample_of_types(capsys: pytest.CaptureFixture[str]) -> None:
    for name in lim.instance_types()[::97]:
        for flags in ([], ["--prefix-delegation"], ["--custom-networking"]):
            status, out, _ = run(capsys, name, *flags, "--no-cap")
            expected = max_pods(
                name,
                prefix_delegation="--prefix-delegation" in flags,
                custom_networking="--custom-networking" in flags,
                cap=False,
            )
            assert (status, out) == (0, f"{expected}\n"), (name, flags)


def test_unknown_type_suggests_names_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "m5.lage")
    assert status == 2 and out == ""
    assert "unknown instance type 'm5.lage'" in err and "m5.large" in err


def test_missing_vcpus_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "c5.18xlarge")
    assert status == 2 and out == ""
    assert "--vcpus" in err and "--no-cap" in err and "737" in err


def test_xen_with_prefix_delegation_notes_the_fallback(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "t2.micro", "--prefix-delegation")
    assert (status, out) == (0, "4\n")
    assert "does not support prefix delegation" in err


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
@pytest.mark.parametrize("option", ["--max-enis", "--vcpus"])
def test_bad_numbers_are_usage_errors(
    capsys: pytest.CaptureFixture[str], option: str, bad: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["max-pods", "m5.large", option, bad])
    assert info.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_registered_types_are_known_to_the_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lim, "_registered", {})
    register_instance_type("zz9.large", max_enis=3, ipv4_per_eni=12)
    assert run(capsys, "zz9.large") == (0, "35\n", "")


def test_instance_type_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["max-pods"])
    assert info.value.code == 2
    assert "INSTANCE_TYPE" in capsys.readouterr().err
