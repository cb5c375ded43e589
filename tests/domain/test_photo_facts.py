"""The photo summary's formatting over the whole range of EXIF rationals (32-bit numerator and denominator)."""

import re
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import photo_facts

RATIONAL = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))


def as_exif(numerator: int, denominator: int):
    """What app.domain.pictures stores for a rational: a float, or nothing for n/0."""
    return None if denominator == 0 else float(Fraction(numerator, denominator))


@settings(max_examples=300, deadline=None)
@given(RATIONAL)
def test_exposure_reads_like_a_camera_for_every_rational(pair):
    value = as_exif(*pair)
    text = photo_facts.exposure(value)
    if value is None or value <= 0:
        assert text is None
        return
    match = re.fullmatch(r"1/(\d+) s|(\d+(?:\.\d)?) s", text)
    assert match, text
    if match.group(1):
        denominator = int(match.group(1))
        assert value < 1 and denominator >= 2 and abs(1 / denominator - value) <= value / 10 + 1e-12
        assert abs(denominator - 1 / value) <= 0.5 + 1e-9
    else:
        assert abs(float(match.group(2)) - value) <= 0.05 + 1e-9 * value


@settings(max_examples=300, deadline=None)
@given(RATIONAL)
def test_f_numbers_have_one_decimal_at_most(pair):
    value = as_exif(*pair)
    text = photo_facts.f_number(value)
    if value is None or value <= 0:
        assert text is None
        return
    match = re.fullmatch(r"f/(\d+(?:\.\d)?)", text)
    assert match, text
    assert abs(float(match.group(1)) - value) <= 0.05 + 1e-9 * value
    assert not match.group(1).endswith(".0")


def test_known_values():
    assert photo_facts.exposure(1 / 75) == "1/75 s"
    assert photo_facts.exposure(0.00625) == "1/160 s"
    assert photo_facts.exposure(0.6) == "0.6 s" and photo_facts.exposure(0.75) == "0.8 s"
    assert photo_facts.exposure(2.0) == "2 s"
    assert photo_facts.exposure(float("inf")) is None and photo_facts.exposure("fast") is None
    assert photo_facts.f_number(2.4) == "f/2.4" and photo_facts.f_number(8.0) == "f/8"
    assert photo_facts.focal_length(100.0, 150) == "100 mm (150 mm in 35 mm terms)"
    assert photo_facts.camera({"Make": "NIKON CORPORATION", "Model": "NIKON D70"}) == "NIKON D70"
    assert photo_facts.camera({"Make": "Apple", "Model": "iPhone 15"}) == "Apple iPhone 15"
    taken = photo_facts.taken({"DateTimeOriginal": "2024:06:01 18:30:05", "OffsetTimeOriginal": "+02:00"})
    assert taken.iso == "2024-06-01T18:30:05+02:00" and taken.zoned
    assert photo_facts.taken({"DateTimeOriginal": "0000:00:00 00:00:00"}) is None
