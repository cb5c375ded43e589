"""Hypothesis over the gallery's ranges and parsers: focal points, sort cursors, workspace settings."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import edits, gallery, workspace_settings
from app.domain.accounts import DomainError
from app.domain.images import Image

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_a_focal_point_is_stored_inside_the_picture_or_refused(ctx, x, y):
    image = Image()
    if math.isfinite(x) and math.isfinite(y) and 0 <= x <= 1 and 0 <= y <= 1:
        edits.set_focal_point(image, x, y)
        assert 0 <= image.focal_x <= 1 and 0 <= image.focal_y <= 1
        assert abs(image.focal_x - x) <= 5e-5 and abs(image.focal_y - y) <= 5e-5
        option = edits.gravity(image)
        gx, gy = option.removeprefix("gravity=").split("x")
        assert 0 <= float(gx) <= 1 and 0 <= float(gy) <= 1  # what the images service accepts
        assert edits.crop_options(image, "w=200,h=200,fit=cover").endswith(option)
        assert edits.crop_options(image, "w=960,fit=scale-down") == "w=960,fit=scale-down"
    else:
        with pytest.raises(DomainError) as refused:
            edits.set_focal_point(image, x, y)
        assert refused.value.code == "invalid_focal_point" and image.focal_x is None


@FAST
@given(st.text(max_size=200), st.sampled_from(list(gallery.SORTS)))
def test_any_cursor_is_either_understood_or_refused_clearly(cursor, sort):
    try:
        decoded = gallery.decode_cursor(cursor, sort)
    except DomainError as error:
        assert error.code == "invalid_cursor" and error.status == 400
    else:
        assert decoded is None or isinstance(decoded[1], str)


@FAST
@given(st.sampled_from(list(gallery.SORTS)), st.text(max_size=40), st.integers(0, 2**63 - 1))
def test_cursors_round_trip(sort, name, size):
    key = size if sort == "size" else name if sort.startswith("name") else None
    cursor = gallery.encode_cursor(sort, "fil_01abc", key)
    assert gallery.decode_cursor(cursor, sort) == (key, "fil_01abc")
    for other in gallery.SORTS:
        if other != sort and not (other.startswith("name") and sort.startswith("name")) and key is not None:
            with pytest.raises(DomainError):
                gallery.decode_cursor(cursor, other)


@FAST
@given(st.one_of(st.integers(-(10**6), 10**6), st.text(max_size=12), st.booleans(), st.none()))
def test_trash_days_are_a_whole_number_from_1_to_365(raw):
    try:
        value = workspace_settings.parse("trash_days", raw)
    except DomainError as error:
        assert "from 1 to 365" in error.message
        as_text = str(raw).strip()
        assert (
            isinstance(raw, bool) or raw is None or not (as_text.lstrip("-").isdecimal() and 1 <= int(as_text) <= 365)
        )
    else:
        assert 1 <= value <= 365 and value == int(str(raw).strip())
