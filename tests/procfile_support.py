"""Runs a line of the Procfile exactly as production is told to run it (`honcho start` / a process manager)."""

from tests.reliability.reliability_support import procfile_process

__all__ = ["procfile_process"]
