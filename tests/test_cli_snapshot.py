"""``ipfrag snapshot``: --dry-run needs no AWS access; configuration errors are one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipfrag.aws import live
from ipfrag.cli import main


def test_dry_run_lists_calls_and_iam_actions(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["snapshot", "--cluster", "arn:aws:eks:eu-west-1:111122223333:cluster/prod", "--dry-run"]
    )
    out = capsys.readouterr().out
    assert status == 0
    for action in live.IAM_ACTIONS:
        assert action in out
    assert "cluster prod" in out


def test_snapshot_needs_an_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", "--subnet-id", "subnet-1"]) == 2
    assert "-o FILE" in capsys.readouterr().err


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_config")
@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--region", "bad region!"], 2, "not a valid AWS region"),
        (["--profile", "nope", "--region", "eu-west-1"], 1, "profile 'nope' not found"),
        ([], 1, "no AWS region"),
    ],
)
def test_configuration_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], status: int, message: str
) -> None:
    out = tmp_path / "s.json"
    assert main(["snapshot", "--subnet-id", "subnet-1", "-o", str(out), *args]) == status
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
