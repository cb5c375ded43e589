"""Every problem `code` the code base can answer is listed in docs/api.md's Errors section, so a new one cannot
ship undocumented (as `alt_text_too_long` once did)."""

from __future__ import annotations

import re
from pathlib import Path

from app.api.problems import _GENERIC_CODES

ROOT = Path(__file__).resolve().parents[2]
# A refusal raised with a literal code: ApiProblem(400, "code", …), DomainError("code", …), NotFound("code", …),
# problem(503, "code", …) and the other DomainError kinds; and the 413 codes problems._too_large returns.
RAISED = re.compile(
    r"\b(?:ApiProblem|DomainError|NotFound|ImageNotReady|UploadTooLarge|problem)\(\s*(?:\d{3},\s*)?\"([a-z][a-z0-9_]+)\""
)
# A code built from a template: every template must be listed here with what it becomes.
FORMATTED_RAISE = re.compile(
    r"\b(?:ApiProblem|DomainError|NotFound|problem)\(\s*(?:\d{3},\s*)?f\"([a-z][a-z0-9_]*\{[a-z_]+\}[a-z0-9_]*)\""
)
FORMATTED = {"invalid_{name}": ("invalid_maxBytes", "invalid_expiresIn")}  # domain/uploads.py: _whole's fields
RETURNED = re.compile(r"return \(?\s*\"([a-z][a-z0-9_]+)\",")
# Codes of the gallery's forms, the CLI's account commands and workspace settings: never answered under /api.
NOT_FROM_THE_API = {
    "invalid_action",  # web/gallery.py: a gallery form's action
    "invalid_focal_point",  # the gallery's focal point form (the API says invalid_field)
    "invalid_name",  # accounts and the gallery's rename form (the API says invalid_field)
    "invalid_email",  # accounts: the CLI and sign-up
    "weak_password",  # accounts
    "invalid_role",  # accounts
    "invalid_scope",  # accounts: token creation in the CLI
    "invalid_setting",  # workspace settings page and CLI
    "unknown_setting",  # workspace settings CLI
    "nothing_selected",  # the gallery's bulk bar
    "too_many_selected",  # the gallery's bulk bar
    "invalid_expected",  # the gallery's bulk bar: the count the editor confirmed
    "selection_changed",  # the gallery's bulk bar: the confirmed count no longer matches
}


def raised_codes() -> dict[str, str]:
    codes = {}
    for path in sorted([*(ROOT / "app" / "api").rglob("*.py"), *(ROOT / "app" / "domain").rglob("*.py")]):
        text = path.read_text()
        for code in RAISED.findall(text):
            codes.setdefault(code, str(path.relative_to(ROOT)))
        for template in FORMATTED_RAISE.findall(text):
            assert template in FORMATTED, f"{path}: the code {template!r} is built; list what it becomes in FORMATTED"
            for code in FORMATTED[template]:
                codes.setdefault(code, str(path.relative_to(ROOT)))
        if path.name == "problems.py":
            for code in RETURNED.findall(text):
                codes.setdefault(code, str(path.relative_to(ROOT)))
    for path in (ROOT / "app").glob("*.py"):  # the app factory's own answers (database_unavailable)
        for code in re.findall(r"\bproblem\(\s*\d{3},\s*\"([a-z][a-z0-9_]+)\"", path.read_text()):
            codes.setdefault(code, str(path.relative_to(ROOT)))
    return codes


def errors_section() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    return text[text.index("## Errors") : text.index("\n## ", text.index("## Errors") + 1)]


def test_every_problem_code_is_documented():
    codes = raised_codes()
    assert {
        "alt_text_too_long",
        "not_retryable",
        "invalid_parameter",
        "database_unavailable",
        "invalid_maxBytes",
    } <= set(codes)
    section = errors_section()
    expected = (set(codes) - NOT_FROM_THE_API) | set(_GENERIC_CODES.values()) | {"error"}
    missing = sorted(code for code in expected if f"`{code}`" not in section)
    assert not missing, f"docs/api.md's Errors section lacks {missing} (raised in {[codes.get(c) for c in missing]})"


def test_the_exceptions_are_real_codes_of_other_faces():
    """Each code kept out of the API docs is still raised somewhere (a stale entry would hide a new API code)."""
    everywhere = {
        code for path in (ROOT / "app").rglob("*.py") for code in re.findall(r"\"([a-z][a-z0-9_]+)\"", path.read_text())
    }
    assert everywhere >= NOT_FROM_THE_API
    assert not NOT_FROM_THE_API & set(_GENERIC_CODES.values())
