"""Runs a line of the Procfile exactly as production is told to run it (`honcho start` / a process manager)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from app.devstack import procfile_line
from tests.reliability.reliability_support import PYTHON, Process, settings_env


def procfile_process(name: str, settings: dict, log: Path, **extra) -> Process:
    """The Procfile's `name` line under bash, with the virtualenv first on PATH, in its own process group."""
    env = settings_env(settings, **extra)
    env["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{env.get('PATH', '')}"
    line = re.sub(r"^python ", f"{PYTHON} ", procfile_line(name))
    return Process(name, ["bash", "-c", f"exec {line}"], env, log)
