"""docs/architecture.md draws the layers that import-linter enforces."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def contract_layers() -> list[str]:
    config = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    return layers


def drawn_layers() -> list[str]:
    text = (BASE_DIR / "docs" / "architecture.md").read_text()
    block = re.search(r"<!-- layers:.*?```text\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no layers block"
    names = []
    for line in block.group(1).splitlines():
        if line.strip() and line.strip() != "▼":
            # The layer is what comes before the two spaces that start its description.
            names.append(re.split(r"\s{2,}", line.strip())[0])
    return names


def test_the_documented_layers_are_the_enforced_ones() -> None:
    assert drawn_layers() == contract_layers()


def test_every_app_package_is_in_a_layer() -> None:
    apps = {path.parent.name for path in BASE_DIR.glob("*/apps.py")} | {"config"}
    layered = {name.strip() for layer in contract_layers() for name in layer.split("|")}

    assert apps == layered
