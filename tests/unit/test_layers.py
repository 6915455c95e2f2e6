"""The house's layers: no module in incidents/ imports one from a layer above its own.

The layers, lowest first, are written out here (not read from the code they check). A module
may import modules of its own layer and of the layers below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "incidents"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "pure",
        (
            "incidents.rules",
            "incidents.bounds",
            "incidents.csvsafe",
            "incidents.links",
            "incidents.qr",
            "incidents.i18n",
            "incidents.stats.periods",
            "incidents.stats.disclosure",
            "incidents.stats.ratio",
            "incidents.evidence",
        ),
    ),
    ("extensions", ("incidents.extensions",)),
    ("models", ("incidents.models",)),
    (
        "reading",
        (
            "incidents.locks",
            "incidents.labels",
            "incidents.audit_labels",
            "incidents.passwords",
            "incidents.access",
            "incidents.queries",
            "incidents.stats",
        ),
    ),
    ("services", ("incidents.services", "incidents.notify", "incidents.outbox")),
    ("reports", ("incidents.privacy",)),
    ("requests", ("incidents.forms", "incidents.security", "incidents.errors")),
    (
        "blueprints",
        (
            "incidents.auth",
            "incidents.reporting",
            "incidents.aftercare",
            "incidents.hr",
            "incidents.admin",
            "incidents.main",
            "incidents.scim",
        ),
    ),
    ("app", ("incidents.cli", "incidents")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    """The layer of a module: that of the longest prefix listed (the package root last)."""
    best = -1, ""
    for number, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best[1]):
                best = number, prefix
    if best[0] < 0:
        raise AssertionError(f"{module} has no layer: add it to tests/unit/test_layers.py")
    return best[0]


def imports_of(path: Path) -> set[str]:
    """The modules of incidents/ that a file imports, anywhere in it (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                qualified = f"{node.module}.{alias.name}"
                found.add(qualified if qualified in MODULES else node.module)
    return {name for name in found if name == "incidents" or name.startswith("incidents.")}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_one_from_a_layer_above(module: str) -> None:
    own = layer_of(module)
    above = sorted(
        f"{name} ({LAYERS[layer_of(name)][0]})"
        for name in imports_of(MODULES[module])
        if layer_of(name) > own
    )
    assert not above, f"{module} ({LAYERS[own][0]}) imports from above: {', '.join(above)}"


def test_every_layer_names_modules_that_exist() -> None:
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            assert any(m == prefix or m.startswith(prefix + ".") for m in MODULES), prefix
