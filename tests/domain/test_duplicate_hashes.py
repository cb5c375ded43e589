"""The perceptual hash's storage and lookup rules: signed storage round-trips, bands rebuild the hash, and the band
neighbourhood finds every hash the pigeonhole rule promises (Hypothesis over all 64-bit hashes)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain.duplicates import RADIUS, THRESHOLD, is_near
from app.domain.pictures import BAND_BITS, band_neighbours, bands, hamming, to_signed, to_unsigned

hashes = st.integers(min_value=0, max_value=(1 << 64) - 1)


@given(hashes)
def test_a_hash_survives_the_signed_column(value):
    signed = to_signed(value)
    assert -(1 << 63) <= signed < 1 << 63
    assert to_unsigned(signed) == value


@given(hashes)
def test_the_bands_rebuild_the_hash(value):
    parts = bands(value)
    assert len(parts) == 4 and all(0 <= part < 1 << BAND_BITS for part in parts)
    rebuilt = 0
    for part in parts:
        rebuilt = (rebuilt << BAND_BITS) | part
    assert rebuilt == value
    assert bands(to_signed(value)) == parts


@given(hashes, hashes)
def test_hamming_is_a_metric(a, b):
    assert hamming(a, a) == 0
    assert hamming(a, b) == hamming(b, a) == hamming(to_signed(a), b)
    assert 0 <= hamming(a, b) <= 64
    assert (hamming(a, b) == 0) == (a == b)


@given(hashes, st.sets(st.integers(0, 63), max_size=4 * (RADIUS + 1) - 1))
def test_hashes_within_eleven_bits_share_a_band_within_the_radius(value, flipped):
    other = value
    for bit in flipped:
        other ^= 1 << bit
    assert any(b in band_neighbours(a, RADIUS) for a, b in zip(bands(value), bands(other))), (
        "pigeonhole: some band differs in at most RADIUS bits"
    )
    assert is_near(value, other)


@given(hashes, st.sets(st.integers(0, 63), min_size=THRESHOLD + 1, max_size=64))
def test_hashes_further_apart_than_the_threshold_are_never_near(value, flipped):
    other = value
    for bit in flipped:
        other ^= 1 << bit
    assert not is_near(value, other)


@given(st.integers(0, (1 << BAND_BITS) - 1), st.integers(0, 2))
def test_band_neighbours_are_exactly_the_values_within_the_radius(band, radius):
    found = band_neighbours(band, radius)
    assert found[0] == band and len(found) == len(set(found))
    assert len(found) == {0: 1, 1: 17, 2: 137}[radius]
    assert all((band ^ value).bit_count() <= radius for value in found)
