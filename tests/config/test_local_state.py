"""What var/ holds is made by the commands, not by importing the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.config.support import run_python

if TYPE_CHECKING:
    from pathlib import Path


def test_importing_the_settings_creates_nothing(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"

    result = run_python(
        "from django.conf import settings; print(settings.FILE_UPLOAD_TEMP_DIR)",
        var_dir=var_dir,
        secret_key="given",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(var_dir / "tmp")
    assert not var_dir.exists()


def test_settings_without_a_key_say_how_to_get_one(tmp_path: Path) -> None:
    result = run_python(
        "from django.conf import settings; settings.SECRET_KEY", var_dir=tmp_path, secret_key=None
    )

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "make run" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_prepare_makes_the_folders_and_one_key_kept_across_runs(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    code = (
        "from config.local_state import prepare_local_state; prepare_local_state(); "
        "from django.conf import settings; print(settings.SECRET_KEY)"
    )

    first = run_python(code, var_dir=var_dir, secret_key=None)
    second = run_python(code, var_dir=var_dir, secret_key=None)

    assert first.returncode == 0, first.stderr
    key = (var_dir / "secret_key").read_text().strip()
    assert len(key) >= 50
    assert first.stdout.strip() == second.stdout.strip() == key
    assert (var_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    for folder in ("tmp", "static", "broker/queue", "broker/processed", "broker/control"):
        assert (var_dir / folder).is_dir(), folder


def test_prepare_writes_no_key_when_one_is_given(tmp_path: Path) -> None:
    result = run_python(
        "from config.local_state import prepare_local_state; prepare_local_state()",
        var_dir=tmp_path,
        secret_key="given",
    )

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secret_key").exists()
    assert (tmp_path / "tmp").is_dir()
