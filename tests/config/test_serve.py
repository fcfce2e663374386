"""``make run`` is ``python -m config.serve``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.config.support import run_python

if TYPE_CHECKING:
    from pathlib import Path


def test_the_config_package_does_not_import_the_run_command(tmp_path: Path) -> None:
    # ``make run`` is ``python -m config.serve``: had importing the package (which loads
    # Celery's app) imported it already, Python would warn and run its top level twice.
    result = run_python(
        "import sys, config; print('config.serve' in sys.modules)",
        var_dir=tmp_path,
        secret_key="given",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
