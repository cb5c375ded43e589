"""Models and services; no Flask request objects here."""

import importlib
import pkgutil


def register_models() -> None:
    """Imports every module of app.domain, so every table and every `@handles` handler registers where it is defined."""
    for module in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        importlib.import_module(module.name)
