"""The near-duplicate rule finds resized, recompressed, slightly cropped and re-tagged copies of the corpus's photos
and pairs no two unrelated ones: the evaluation of bench/near_duplicates_eval.py on its smaller set."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from near_duplicates_eval import evaluate, pictures  # noqa: E402

# Its subject is not the database: the PostgreSQL pass does not run it again (scripts/test.sh).
pytestmark = pytest.mark.one_database


def test_near_duplicates_reach_the_goal_on_a_generated_set():
    found = pictures(full=False)
    result = evaluate(found)
    assert result["sources"] >= 5 and result["positive_pairs"] >= 150 and result["negative_pairs"] >= 800
    assert result["precision"] >= 0.99, result
    assert result["recall"] >= 0.95, result
