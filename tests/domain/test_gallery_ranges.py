"""Hypothesis over the gallery's ranges and parsers: focal points, workspace settings (cursors: test_query_engine.py)."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import image_edits
from app.domain.errors import DomainError
from app.domain.images import Image

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_a_focal_point_is_stored_inside_the_picture_or_refused(ctx, x, y):
    image = Image()
    if math.isfinite(x) and math.isfinite(y) and 0 <= x <= 1 and 0 <= y <= 1:
        image_edits.set_focal_point(image, x, y)
        assert 0 <= image.focal_x <= 1 and 0 <= image.focal_y <= 1
        assert abs(image.focal_x - x) <= 5e-5 and abs(image.focal_y - y) <= 5e-5
        option = image_edits.gravity(image)
        gx, gy = option.removeprefix("gravity=").split("x")
        assert 0 <= float(gx) <= 1 and 0 <= float(gy) <= 1  # what the images service accepts
        assert image_edits.crop_options(image, "w=200,h=200,fit=cover").endswith(option)
        assert image_edits.crop_options(image, "w=960,fit=scale-down") == "w=960,fit=scale-down"
    else:
        with pytest.raises(DomainError) as refused:
            image_edits.set_focal_point(image, x, y)
        assert refused.value.code == "invalid_focal_point" and image.focal_x is None
