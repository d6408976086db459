"""Dependencies point one way (DESIGN.md §2): walk every module's imports and check them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "signage"

# module prefix -> imports it must never make (a prefix matches the module and its children)
FORBIDDEN = {
    "signage.model": ("flask", "signage", "requests", "apscheduler"),
    "signage.plan": ("flask", "requests", "apscheduler", "signage.sources", "signage.store",
                     "signage.sync", "signage.views", "signage.config"),
    "signage.sources": ("flask", "signage.store", "signage.views", "signage.sync",
                        "signage.config", "signage.runtime"),
    "signage.sync": ("flask", "signage.views", "signage.runtime", "signage.config"),
    "signage.store": ("flask", "signage.sources", "signage.views", "signage.sync"),
    "signage.views": ("signage.sources", "signage.sync", "signage.scheduler", "signage.demo",
                      "signage.check",
                      "requests"),
    "signage.demo": ("flask", "signage.views", "signage.sync", "signage.store"),
    "signage.screens": ("flask", "signage", "requests", "redis"),
    "signage.reconcile": ("flask", "requests", "redis", "signage.store", "signage.views",
                          "signage.sources", "signage.sync"),
    "signage.apply": ("flask", "requests", "redis", "signage.store", "signage.views",
                      "signage.sync"),
    "signage.announcements": ("flask", "signage", "requests", "redis"),
    "signage.registry": ("flask", "signage.sources", "signage.views", "signage.sync"),
    "signage.registry_redis": ("flask", "signage.sources", "signage.views", "signage.sync"),
    "signage.check_requests": ("flask", "requests", "signage.sources", "signage.sync",
                               "signage.views", "signage.check", "signage.scheduler"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[_module_name(p) for p in MODULES])
def test_module_imports_respect_the_layers(path):
    module = _module_name(path)
    rules = [bad for owner, bads in FORBIDDEN.items() if _matches(module, owner) for bad in bads]
    offending = sorted(
        name for name in _imports(path) for bad in rules
        if _matches(name, bad)
    )
    assert offending == [], f"{module} imports {offending}"


def test_no_relative_imports_hide_from_the_check():
    relative = [str(p) for p in MODULES
                if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(
                    ast.parse(p.read_text())))]
    assert relative == []


def test_the_check_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from flask import Flask\nimport signage.views.api\n")
    assert {"flask", "signage.views.api"} <= _imports(bad)
    assert _matches("signage.views.api", "signage.views")
    assert not _matches("signage.viewsx", "signage.views")
