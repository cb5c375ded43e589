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

# Its subject is not the database: the PostgreSQL pass does not run it again (scripts/test.sh).
pytestmark = pytest.mark.one_database

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
            if contract.get("containers"):
                lines.append(f"    inside {_names(contract['containers'])}:")
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
    (layers,) = [c for c in contracts() if c["type"] == "layers" and not c.get("containers")]
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


def test_a_new_domain_module_must_be_given_a_layer(tmp_path):
    """The domain's layers are exhaustive: a module nobody placed fails, so a cycle cannot hide in it."""
    project = _copy_project(tmp_path)
    (project / "app" / "domain" / "unplaced.py").write_text('"""Nobody gave this a layer."""\n')
    result = _lint(project)
    assert result.returncode == 1 and "unplaced" in result.stdout, result.stdout + result.stderr


def _domain_sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text())) for path in sorted((APP / "domain").rglob("*.py"))]


def _request_bound(tree: ast.Module) -> list[str]:
    """Names a domain module must not reach, wherever they are written (import-linter sees modules, not names)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "flask":
            found += [f"from flask import {a.name}" for a in node.names if a.name not in ("current_app",)]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "flask":
            found.append(f"flask.{node.attr}")
        elif isinstance(node, ast.Name) and node.id == "url_for":
            found.append(node.id)
    return found


def test_the_domain_has_no_request_no_url_for_and_no_extension_strings():
    """Request objects and routes belong to the faces; the adapters are reached through `app.domain.services`."""
    offenders = {}
    for path, tree in _domain_sources():
        names = _request_bound(tree)
        if path.name != "services.py":
            names += [
                "current_app.extensions[...]"
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute)
                and node.attr == "extensions"
                and getattr(node.value, "id", getattr(node.value, "attr", None)) in ("current_app", "app")
            ]
        if names:
            offenders[str(path.relative_to(ROOT))] = sorted(set(names))
    assert offenders == {}


def test_the_request_scan_finds_what_it_forbids():
    """The scan above is shown to catch each form once, so its empty answer means something."""
    source = "from flask import request, url_for\nimport flask\nflask.request.args\nurl_for('x')\n"
    assert set(_request_bound(ast.parse(source))) == {
        "from flask import request",
        "from flask import url_for",
        "flask.request",
        "url_for",
    }


def test_every_job_name_is_a_job_function_and_every_job_function_has_a_name(app):
    """The domain enqueues `Job` members; each is a function decorated `@job` in app.jobs, and nothing else is."""
    import importlib
    import pkgutil

    import app.jobs as jobs
    from app.domain.job_names import Job

    defined = set()
    for module in pkgutil.iter_modules(jobs.__path__, prefix="app.jobs."):
        loaded = importlib.import_module(module.name)
        defined |= {
            f"{module.name}.{name}"
            for name, value in vars(loaded).items()
            if callable(value) and getattr(value, "__wrapped__", None) is not None
        }
    assert defined == {member.value for member in Job}


def test_a_job_defined_under_another_name_fails_at_import():
    from app.domain.job_names import Job
    from app.jobs import job

    def provision_image(file_id):
        return file_id

    with pytest.raises(ValueError, match="PROVISION_IMAGE"):
        job(Job.PROVISION_IMAGE)(provision_image)


def test_benchmarks_start_their_servers_only_through_devstack():
    """Redis, gunicorn, the stand-in and thumbor are started by app/devstack.py (its Process stops a whole group);
    a benchmark's own Popen is only the profiler it attaches to a worker."""
    popens = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "bench").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "Popen"
    }
    assert popens <= {"bench/provision_bench.py"}, popens
    assert "py-spy" in (ROOT / "bench" / "provision_bench.py").read_text()


def _lint(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


MAX_FUNCTION_LINES = 60
LONG_START, LONG_END = "<!-- long-functions:start -->", "<!-- long-functions:end -->"


def long_functions(root: Path = APP, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """`path::Qual.name` → lines (def to last line) of every function in the tree longer than `limit`."""
    found = {}

    def visit(node, path: str, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                length = child.end_lineno - child.lineno + 1
                if not isinstance(child, ast.ClassDef) and length > limit:
                    found[f"{path}::{name}"] = length
                visit(child, path, f"{name}.")
            else:
                visit(child, path, prefix)

    for source in sorted(root.rglob("*.py")):
        visit(ast.parse(source.read_text()), str(source.relative_to(root.parent)), "")
    return found


def _allowed_long_functions() -> set[str]:
    block = (ROOT / "ARCHITECTURE.md").read_text().split(LONG_START, 1)[1].split(LONG_END, 1)[0]
    return set(re.findall(r"^\| `([^`]+::[^`]+)` \|", block, re.M))


def test_no_function_is_longer_than_sixty_lines_unless_architecture_md_says_why():
    """A function over 60 lines is split, or named with its reason in ARCHITECTURE.md (and only while it is long)."""
    assert set(long_functions()) == _allowed_long_functions()


def test_the_length_scan_counts_nested_functions_and_methods(tmp_path):
    package = tmp_path / "app"
    package.mkdir()
    body = "\n".join(f"    x{n} = {n}" for n in range(61))
    (package / "m.py").write_text(f"class C:\n  def long(self):\n{body}\n\ndef outer():\n  def inner():\n{body}\n")
    found = long_functions(package, 60)
    assert {name.split("::")[1] for name in found} == {"C.long", "outer", "outer.inner"}


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
        # …and, through app.domain.services, puts the domain's bottom row above its top one.
        ("app/adapters/queue.py", "import app.domain.common", {"layers", "adapters", "domain"}),
        ("app/imagesd/errors.py", "import app.adapters.storage", {"imagesd"}),
        ("app/imagesd/errors.py", "import app", {"imagesd"}),  # create_app reaches everything
        ("app/web/render.py", "import app.imagesd.errors", {"imagesd-started"}),
        ("app/mcp_server.py", "import app.domain.common", {"remote"}),
        # A cycle: removals is below images (images registers how its copies are removed).
        ("app/domain/removals.py", "import app.domain.images", {"domain"}),
        ("app/domain/limits.py", "import requests", {"domain-io"}),
    ],
)
def test_a_broken_contract_fails_lint_imports(tmp_path, module, line, broken):
    project = _copy_project(tmp_path)
    with open(project / module, "a") as handle:
        handle.write(f"\n{line}  # deliberately against the contract\n")
    names = {c["id"]: c["name"] for c in contracts()}
    result = _lint(project)
    assert result.returncode == 1, result.stdout + result.stderr
    report = " ".join(result.stdout.split())
    assert {id_ for id_, name in names.items() if f"{name} BROKEN" in report} == broken, result.stdout


def test_the_contracts_hold_on_this_tree(tmp_path):
    """The same run on an untouched copy passes, so the failures above are the deliberate import and nothing else."""
    result = _lint(_copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


if __name__ == "__main__":
    path = ROOT / "ARCHITECTURE.md"
    text = path.read_text()
    head, rest = text.split(MAP_START, 1)
    path.write_text(f"{head}{MAP_START}\n{render_map()}\n{MAP_END}{rest.split(MAP_END, 1)[1]}")
    print(f"rewrote the contracts block of {path}")
