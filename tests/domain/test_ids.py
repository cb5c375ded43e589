"""File ids sort in creation order, even many within one millisecond and across threads (monotonic ULIDs)."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.common import _ALPHABET, encode_ulid, new_id


def test_ten_thousand_ids_in_a_tight_loop_sort_in_creation_order():
    ids = [new_id("fil") for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == len("fil_") + 26 and set(i[4:]) <= set(_ALPHABET) for i in ids)


def test_ids_made_by_many_threads_are_unique_and_each_threads_are_ordered():
    made: dict[int, list[str]] = {}

    def make(n: int) -> None:
        made[n] = [new_id("fil") for _ in range(2_000)]

    threads = [threading.Thread(target=make, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for ids in made.values() for i in ids]
    assert len(set(everything)) == len(everything)
    assert all(ids == sorted(ids) for ids in made.values())


@settings(max_examples=300)
@given(
    st.tuples(st.integers(0, 2**48 - 1), st.integers(0, 2**80 - 1)),
    st.tuples(st.integers(0, 2**48 - 1), st.integers(0, 2**80 - 1)),
)
def test_the_encoding_sorts_as_the_numbers_do(a, b):
    ea, eb = encode_ulid(*a), encode_ulid(*b)
    assert len(ea) == len(eb) == 26
    assert (ea < eb) == (a < b) and (ea == eb) == (a == b)
