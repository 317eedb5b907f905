"""The CLI never prints a traceback for bad input, and never lets AWS text drive the terminal.

In-process through ``ipfrag.cli.main`` for the tables (fast), and through real
``python -m ipfrag`` processes, all started at once, where only a process shows it:
the traceback on stderr, the exit status, a reader that closed the pipe.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ipfrag.cli.demo
from ipfrag import InvalidArgument, InvalidCidr, InvalidType
from ipfrag.aws.live import AwsAccessDenied, AwsNotFound, AwsReadError
from ipfrag.cli import EXIT_AWS_ERROR, EXIT_INTERRUPTED, EXIT_USAGE_ERROR, main
from ipfrag.cli._text import safe

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "ipfrag" / "data" / "examples" / "eks-prefix"


def one_error_line(err: str, command: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"ipfrag {command}: error: "), err
    return lines[0]


# ------------------------------------------------------------ in-process tables

INPUT_ERRORS = [
    (["demo", "--cidr", "junk"], "demo", "'junk' is not a CIDR"),
    (["demo", "--cidr", "10.0.0.0/29"], "demo", "/16 to /28"),
    (["demo", "--cidr", "10.0.0.0/8"], "demo", "/16 to /28"),
    (["demo", "--cidr", "2600::/64"], "demo", "IPv4"),
    (["demo", "--cidr", "fe80::%eth0/64"], "demo", "zone id"),
    (["demo", "--cidr", "10.0.0.0/28", "--singles", "12"], "demo", "singles must be 0 to 11"),
    (["demo", "--singles", "5000"], "demo", "singles must be 0 to 4091"),
    (["demo", "--seed", str(2**1100)], "demo", "seed"),
    (["max-pods", "no.such-type"], "max-pods", "unknown instance type"),
    (["analyze", "--snapshot", "/no/such/file.json"], "analyze", "/no/such/file.json"),
]


@pytest.mark.parametrize(("argv", "command", "words"), INPUT_ERRORS)
def test_input_errors_are_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], command: str, words: str
) -> None:
    assert main(argv) == EXIT_USAGE_ERROR
    out, err = capsys.readouterr()
    assert words in one_error_line(err, command)
    assert out == ""


USAGE_ERRORS = [
    (["demo", "--step", "0"], "demo", "positive integer"),
    (["demo", "--step", "x"], "demo", "positive integer"),
    (["demo", "--singles", "-1"], "demo", ">= 0"),
    (["demo", "--singles", "9" * 5000], "demo", ">= 0"),
    (["demo", "--seed", "1.5"], "demo", "invalid int"),
    (["max-pods", "m5.large", "--vcpus", "0"], "max-pods", "positive integer"),
    (["bogus"], "", "invalid choice"),
    ([], "", "required"),
]


@pytest.mark.parametrize(("argv", "command", "words"), USAGE_ERRORS)
def test_usage_errors_are_argparse_s(
    capsys: pytest.CaptureFixture[str], argv: list[str], command: str, words: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == EXIT_USAGE_ERROR
    err = capsys.readouterr().err
    prog = f"ipfrag {command}" if command else "ipfrag"
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"{prog}: error: ") and words in err
    assert err.rstrip().endswith(f"(see '{prog} --help')"), err


# ------------------------------------------------- what the central handler maps


def _raising(error: BaseException) -> Any:
    def run_demo(*args: Any, **kwargs: Any) -> Any:
        raise error

    return run_demo


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (AwsAccessDenied("ec2:DescribeSubnets", "UnauthorizedOperation", "no"), 1, "IAM"),
        (AwsNotFound("no cluster 'x'"), EXIT_AWS_ERROR, "no cluster"),
        (AwsReadError("could not connect"), EXIT_AWS_ERROR, "connect"),
        (FileNotFoundError(2, "No such file or directory", "in.json"), 2, "in.json: No such"),
        (PermissionError(13, "Permission denied", "out.json"), 2, "out.json: Permission"),
        (InvalidArgument("tag \x1b[2J\nforged"), 2, "tag \\x1b[2J\\nforged"),
        (KeyboardInterrupt(), EXIT_INTERRUPTED, None),
    ],
)
def test_failures_map_to_exit_statuses(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    status: int,
    words: str | None,
) -> None:
    monkeypatch.setattr(ipfrag.cli.demo, "run_demo", _raising(error))
    assert main(["demo"]) == status
    out, err = capsys.readouterr()
    assert out == ""
    if words is None:
        assert err == ""
    else:
        assert words in one_error_line(err, "demo")


def test_bugs_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only input errors are tamed: an internal error is not swallowed."""
    monkeypatch.setattr(ipfrag.cli.demo, "run_demo", _raising(ZeroDivisionError("bug")))
    with pytest.raises(ZeroDivisionError):
        main(["demo"])


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["max-pods", "m5.large"]) == 0
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------- terminal safety


@given(st.text())
def test_safe_text_is_printable_and_leaves_printable_text_alone(text: str) -> None:
    shown = safe(text)
    assert shown.isprintable()
    assert "\x1b" not in shown and "\n" not in shown
    if text.isprintable():
        assert shown == text


def test_aws_text_is_escaped_in_human_output_and_exact_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Name tag and a reservation description that try to drive the terminal."""
    evil = "\x1b]0;pwned\x07\x1b[31mred\nnext line\u202e"
    subnets = json.loads((EXAMPLE / "describe-subnets.json").read_text())
    first = subnets["Subnets"][0]
    for tag in first["Tags"]:
        if tag["Key"] == "Name":
            tag["Value"] = evil
    files = {}
    for name in ("describe-subnets.json", "describe-network-interfaces.json"):
        files[name] = tmp_path / name
        shutil.copy(EXAMPLE / name, files[name])
    files["describe-subnets.json"].write_text(json.dumps(subnets))
    argv = [
        "analyze",
        "--subnets",
        str(files["describe-subnets.json"]),
        "--network-interfaces",
        str(files["describe-network-interfaces.json"]),
    ]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    for raw in ("\x1b", "\x07", "\u202e", "red\nnext"):
        assert raw not in out + err
    assert "\\x1b]0;pwned\\x07\\x1b[31mred\\nnext line\\u202e" in out
    assert main([*argv, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert evil in [s["name"] for s in document["subnets"]]


# ------------------------------------------------------------- real processes


def _start(argv: list[str], closed_pipe: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipfrag", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if closed_pipe:  # the reader is gone before the first line: `ipfrag ... | head -0`
        assert proc.stdout is not None
        proc.stdout.close()
    return proc


def test_no_traceback_from_real_processes(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"Subnets": [{"Tags": [{"Key": "Name", "Value": "caf\xe9"}]}]}')
    utf16 = tmp_path / "utf16.json"
    utf16.write_text('{"Subnets": [', encoding="utf-16")
    missing = str(tmp_path / "missing.json")
    table: list[tuple[list[str], bool, int, str | None]] = [
        # argv, closed pipe, exit status, words of the one error line (None: quiet)
        (["demo", "--cidr", "junk"], False, 2, "ipfrag demo: error: 'junk' is not a CIDR"),
        (["demo", "--cidr", "10.0.0.0/30", "--step", "1"], False, 2, "ipfrag demo: error:"),
        (["demo", "--step", "0"], False, 2, "ipfrag demo: error: argument --step"),
        (["max-pods", "no.such-type"], False, 2, "ipfrag max-pods: error: unknown"),
        (["no-such-command"], False, 2, "ipfrag: error: argument COMMAND"),
        (["analyze", "--subnets", missing, "--network-interfaces", missing], False, 2, missing),
        (["analyze", "--subnets", str(latin1), "--network-interfaces", str(latin1)], False, 2, ""),
        (["analyze", "--subnets", str(utf16), "--network-interfaces", str(utf16)], False, 2, ""),
        (["demo"], True, 0, None),
        (["analyze", "--example", "eks-prefix"], True, 0, None),
        (["analyze", "--example", "eks-prefix", "--json"], True, 0, None),
    ]
    procs = [(_start(argv, closed), argv, status, words) for argv, closed, status, words in table]
    for proc, argv, status, words in procs:
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err and "Exception ignored" not in err, (argv, err)
        assert proc.returncode == status, (argv, proc.returncode, err)
        if words is None:
            assert err == "", (argv, err)
        else:  # one line, usage errors included
            assert len(err.splitlines()) == 1, (argv, err)
            assert words in err and err.startswith("ipfrag"), (argv, err)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"cidr": 5}, InvalidType),
        ({"cidr": "10.0.0.0/12"}, InvalidCidr),
        ({"singles": "5"}, InvalidType),
        ({"singles": -1}, InvalidArgument),
        ({"singles": 4092}, InvalidArgument),
        ({"step": 0}, InvalidArgument),
        ({"step": 2.5}, InvalidType),
    ],
)
def test_run_demo_checks_its_arguments_before_printing(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    out = io.StringIO()
    with pytest.raises(error):
        ipfrag.cli.demo.run_demo(**{"cidr": "10.0.0.0/20", **kwargs}, out=out)
    assert out.getvalue() == ""


def test_run_demo_on_a_full_subnet() -> None:
    out = io.StringIO()
    r = ipfrag.cli.demo.run_demo("10.0.0.0/28", singles=11, step=5, out=out)
    assert r["error"] == "InsufficientFreeAddresses" and r["free_addresses"] == 0
    assert "largest free block none." in out.getvalue()
