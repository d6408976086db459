"""Dependencies point one way (DESIGN.md §2): every module of `signage` is checked against the
rules of its folder, through everything it imports, directly or through other modules.

What counts: every `import` and `from … import` in a module (inside functions too), except those
under `if TYPE_CHECKING:`; importing `signage.a.b` also runs the package `signage.a`. The root
package `signage` (the app factory) is left out of what others import: Python runs it first for
every module, so it would make every rule about everything.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "signage"
ADAPTERS = ("signage.sources.adapters", "signage.sources.http", "signage.sources.untis",
            "signage.sources.affectit", "signage.sources.jsonrpc", "signage.sources.unitime",
            "signage.sources.mytimetable")
EVERYWHERE = ("tests", "bench")  # no product module needs test or benchmark code

# folder or module -> what it must never reach (a prefix matches the module and its children)
RULES = {
    "signage": EVERYWHERE,
    "signage.domain": ("flask", "requests", "redis", "apscheduler", "signage.sources",
                       "signage.store", "signage.sync", "signage.views", "signage.demo",
                       "signage.config", "signage.runtime", "signage.cli"),
    "signage.sources": ("flask", "redis", "apscheduler", "signage.store", "signage.sync",
                        "signage.views", "signage.demo", "signage.config", "signage.runtime",
                        "signage.cli"),
    "signage.sources.options": ("requests", *ADAPTERS),  # the settings read it: no HTTP
    "signage.store": ("flask", "requests", "apscheduler", "signage.sources", "signage.sync",
                      "signage.views", "signage.demo", "signage.config", "signage.runtime",
                      "signage.cli"),
    "signage.sync": ("flask", "signage.views", "signage.cli"),
    "signage.sync.engine": ("redis", "apscheduler", "signage.config", "signage.runtime",
                            "signage.demo", *ADAPTERS),
    "signage.sync.apply": ("redis", "requests", "signage.store", *ADAPTERS),
    "signage.sync.reconcile": ("redis", "requests", "signage.store", "signage.sources"),
    "signage.views": ("requests", "apscheduler", "signage.sync", "signage.demo", "signage.cli",
                      *ADAPTERS),
    "signage.demo": ("flask", "redis", "signage.views", "signage.sync", "signage.store",
                     "signage.config", "signage.runtime", "signage.cli"),
    "signage.config": ("flask", "requests", "apscheduler", "signage.views", "signage.sync",
                       "signage.demo", "signage.runtime", "signage.cli", *ADAPTERS),
    "signage.runtime": ("flask", "requests", "apscheduler", "signage.views", "signage.sync",
                        "signage.demo", "signage.cli", *ADAPTERS),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(path: Path) -> set[str]:
    """Return the absolute names a file imports (a `from a import b` gives `a` and `a.b`)."""
    names: set[str] = set()
    todo = list(ast.parse(path.read_text(), filename=str(path)).body)
    while todo:
        node = todo.pop()
        if _type_checking(node):
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        todo.extend(ast.iter_child_nodes(node))
    return names


def _ours(name: str) -> list[str]:
    """Return the modules of ours that importing `name` runs (its packages, then itself)."""
    parts = name.split(".")
    found = [".".join(parts[:n]) for n in range(2, len(parts) + 1)]
    return [m for m in found if m in MODULES]


@cache
def _reach(module: str) -> frozenset[str]:
    """Return every name `module` imports, directly or through our other modules."""
    seen, names, todo = {module}, set(), [module]
    while todo:
        for name in _imported(MODULES[todo.pop()]):
            names.add(name)
            for ours in _ours(name):
                if ours not in seen:
                    seen.add(ours)
                    todo.append(ours)
    return frozenset(names | seen - {module})


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rules(module: str) -> list[str]:
    return [bad for owner, bads in RULES.items() if _matches(module, owner) for bad in bads]


def _offending(module: str, reached: frozenset[str]) -> list[str]:
    rules = _rules(module)
    return sorted({name for name in reached for bad in rules
                   if _matches(name, bad) and not _matches(module, bad)})


@pytest.mark.parametrize("module", list(MODULES))
def test_module_imports_respect_the_layers(module):
    assert _offending(module, _reach(module)) == [], f"{module} reaches forbidden modules"


def test_every_module_has_a_rule_that_names_a_folder_of_ours():
    unruled = [m for m in MODULES if not any(bad.startswith("signage.") for bad in _rules(m))
               and m not in ("signage", "signage.cli")]  # the wiring may reach every layer
    assert unruled == []


def test_no_relative_imports_hide_from_the_check():
    relative = [str(p) for p in MODULES.values()
                if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(
                    ast.parse(p.read_text())))]
    assert relative == []


def test_a_forbidden_import_two_modules_away_is_found():
    # The views reach the settings, which reach the sources' options: allowed. Were the options
    # to import an adapter, every view would reach `requests` through them.
    reached = _reach("signage.views.api")
    assert "signage.sources.options" in reached and _offending("signage.views.api", reached) == []
    assert _offending("signage.views.api", reached | {"signage.sources.untis", "requests"}) == [
        "requests", "signage.sources.untis"]
    assert "signage.store.lease" not in _reach("signage.sync.engine")  # TYPE_CHECKING only


def test_the_check_reads_imports_inside_functions_and_type_checking_blocks(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import redis\n"
                      "def f():\n    from flask import g\n    import signage.views.api\n")
    assert _imported(module) == {"typing", "typing.TYPE_CHECKING", "flask", "flask.g",
                                 "signage.views.api"}


def test_every_module_serves_the_app_none_is_there_for_tests_only():
    wsgi = PACKAGE.parent / "wsgi.py"
    reached = set()
    for name in _imported(wsgi):
        for ours in [*_ours(name), *(["signage"] if name.split(".")[0] == "signage" else [])]:
            reached |= {ours, *_reach(ours)}
    assert sorted(set(MODULES) - reached) == []
