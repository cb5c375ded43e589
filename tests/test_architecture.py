"""The house rules that a reviewer would otherwise have to remember: layers, handler registration, the map.

`python tests/test_architecture.py` rewrites the contracts block of ARCHITECTURE.md from pyproject.toml.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAP_START, MAP_END = "<!-- contracts:start -->", "<!-- contracts:end -->"


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _short(name: str) -> str:
    return name.removeprefix("app.").replace("**", "…") if name != "app" else "app (create_app)"


def _names(modules) -> str:
    return ", ".join(_short(m) for m in modules)


def _layer_member(raw: str) -> str:
    name = raw.strip()
    return f"({_short(name[1:-1])}, once it exists)" if name.startswith("(") else _short(name)


def render_map() -> str:
    """The contracts of pyproject.toml as the picture ARCHITECTURE.md shows, so the picture cannot drift."""
    lines = []
    for contract in contracts():
        lines.append(f"[{contract['id']}] {contract['name']}")
        if contract["type"] == "layers":
            for depth, layer in enumerate(contract["layers"]):
                if depth:
                    lines.append("      ↓")
                lines.append("    " + " · ".join(_layer_member(m) for m in re.split(r"[|:]", layer)))
        elif contract["type"] == "independence":
            lines.append("    " + "  ⟂  ".join(_short(m) for m in contract["modules"]))
        elif contract["type"] == "forbidden":
            lines.append(f"    {_names(contract['source_modules'])}  ✗→  {_names(contract['forbidden_modules'])}")
        elif contract["type"] == "protected":
            lines.append(f"    {_names(contract['protected_modules'])}  ←only  {_names(contract['allowed_importers'])}")
        else:
            raise AssertionError(f"render_map does not draw {contract['type']} contracts yet")
    return "\n".join(["```text", *lines, "```"])


def _map_in(text: str) -> str:
    return text.split(MAP_START, 1)[1].split(MAP_END, 1)[0].strip()


def test_architecture_md_shows_the_contracts_that_are_checked():
    shown = _map_in((ROOT / "ARCHITECTURE.md").read_text())
    assert shown == render_map(), "ARCHITECTURE.md differs from pyproject.toml: run `python tests/test_architecture.py`"


def _top_level_modules() -> set[str]:
    names = {f"app.{p.stem}" for p in APP.glob("*.py") if p.stem != "__init__"}
    return names | {f"app.{p.parent.name}" for p in APP.glob("*/__init__.py")}


def test_every_top_level_module_has_a_place():
    """A new module or package under app/ must be put in a layer (or be the separate stand-in) before it lands."""
    (layers,) = [c for c in contracts() if c["type"] == "layers"]
    placed = {m.strip().strip("()") for layer in layers["layers"] for m in re.split(r"[|:]", layer)}
    assert _top_level_modules() - placed == {"app.imagesd"}


def test_the_stand_in_is_forbidden_everything_but_settings_signing_and_address_checks():
    (imagesd,) = [c for c in contracts() if c["id"] == "imagesd"]
    allowed = {"app.imagesd", "app.config", "app.delivery_signing", "app.netguard"}
    assert set(imagesd["forbidden_modules"]) == _top_level_modules() - allowed


def test_storage_backends_are_named_only_in_the_adapters():
    """Callers use the Storage interface; asking which backend is held means the interface misses a method."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in APP.rglob("*.py")
        if "adapters" not in path.parts and re.search(r"\b(LocalStorage|S3Storage)\b", path.read_text())
    ]
    assert offenders == []


def _decorated_handlers() -> set[tuple[str, str]]:
    """(module, function) of every function in app/ decorated with `@handles(...)`, found by reading the source."""
    found = set()
    for path in APP.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                func = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name == "handles":
                    found.add((module, node.name))
    return found


def test_every_handler_in_app_is_registered_by_create_app(app):
    from app.domain import events

    registered = {(h.__module__, h.__name__) for handlers in events._handlers.values() for h in handlers}
    declared = _decorated_handlers()
    assert declared, "no @handles found: the scan is broken"
    assert declared - registered == set(), "handlers that never run: create_app does not import their module"


def _copy_project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    "module, line, broken",
    [
        ("app/api/problems.py", "import app.web.render", {"faces"}),
        # The domain sits under both faces, so the import also joins api to web indirectly.
        ("app/domain/common.py", "import app.web.render", {"layers", "faces"}),
        ("app/adapters/queue.py", "import app.domain.common", {"layers", "adapters"}),
        ("app/imagesd/errors.py", "import app.adapters.storage", {"imagesd"}),
        ("app/imagesd/errors.py", "import app", {"imagesd"}),  # create_app reaches everything
        ("app/web/render.py", "import app.imagesd.errors", {"imagesd-started"}),
        ("app/mcp_server.py", "import app.domain.common", {"remote"}),
    ],
)
def test_a_broken_contract_fails_lint_imports(tmp_path, module, line, broken):
    project = _copy_project(tmp_path)
    with open(project / module, "a") as handle:
        handle.write(f"\n{line}  # deliberately against the contract\n")
    names = {c["id"]: c["name"] for c in contracts()}
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = " ".join(result.stdout.split())
    assert {id_ for id_, name in names.items() if f"{name} BROKEN" in report} == broken, result.stdout


def test_the_contracts_hold_on_this_tree(tmp_path):
    """The same run on an untouched copy passes, so the failures above are the deliberate import and nothing else."""
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=_copy_project(tmp_path),
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


if __name__ == "__main__":
    path = ROOT / "ARCHITECTURE.md"
    text = path.read_text()
    head, rest = text.split(MAP_START, 1)
    path.write_text(f"{head}{MAP_START}\n{render_map()}\n{MAP_END}{rest.split(MAP_END, 1)[1]}")
    print(f"rewrote the contracts block of {path}")
