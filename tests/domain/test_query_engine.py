"""Hypothesis over the one query engine's signed cursor: it round-trips, any change to it is refused, and a cursor
of another query or workspace is refused; list parameters parse or are refused naming the field."""

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.domain import queries
from app.domain.errors import DomainError
from app.domain.queries import SORTS, ListQuery

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
IDS = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)
FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "project_id": IDS,
        "q": st.text(min_size=1, max_size=20).filter(str.strip),
        "status": st.sampled_from(queries.FILE_STATUSES),
        "is_image": st.booleans(),
        "image_state": st.sampled_from(queries.IMAGE_STATES),
        "format": st.sampled_from(["jpeg", "png", "webp"]),
        "has_alt_text": st.booleans(),
        "subject": st.sampled_from(["files", "images"]),
        "scope": st.sampled_from(["live", "trash"]),
    },
)


MOMENTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC))


def key_for(sort: str, name: str, size: int, taken: datetime = datetime(2008, 5, 30, 15, 56, 1, tzinfo=UTC)):
    return size if "size" in sort else name if "name" in sort else taken if "taken" in sort else None


@FAST
@given(
    sort=st.sampled_from(SORTS),
    filters=FILTERS,
    workspace=IDS,
    last=IDS,
    name=st.text(max_size=40),
    size=st.integers(0, 2**63 - 1),
    taken=MOMENTS,
)
def test_a_cursor_round_trips_for_its_own_query_only(ctx, sort, filters, workspace, last, name, size, taken):
    query = ListQuery(workspace_id=workspace, sort=sort, **filters)
    key = key_for(sort, name, size, taken)
    cursor = queries.sign_cursor(query, key, last)
    again = query.model_copy(update={"cursor": cursor, "limit": 7, "count": True})  # page size and count are free
    assert queries.read_cursor(again) == (key, last)
    others = [
        query.model_copy(update={"workspace_id": workspace + "x", "cursor": cursor}),  # another workspace
        query.model_copy(update={"sort": next(s for s in SORTS if s != sort), "cursor": cursor}),
        query.model_copy(update={"q": (query.q or "") + "z", "cursor": cursor}),
        query.model_copy(update={"scope": "trash" if query.scope == "live" else "live", "cursor": cursor}),
        query.model_copy(update={"is_image": not query.is_image, "cursor": cursor}),
    ]
    for other in others:
        with pytest.raises(DomainError) as refused:
            queries.read_cursor(other)
        assert refused.value.code == "invalid_cursor" and refused.value.status == 400


@FAST
@given(
    sort=st.sampled_from(SORTS), last=IDS, at=st.integers(0, 10_000), char=st.characters(codec="ascii"), data=st.data()
)
def test_any_change_to_a_cursor_is_refused(ctx, sort, last, at, char, data):
    query = ListQuery(workspace_id="ws_a", sort=sort)
    cursor = queries.sign_cursor(query, key_for(sort, "a.png", 3), last)
    at %= len(cursor) + 1
    mutated = data.draw(
        st.sampled_from(
            [
                cursor[:at] + char + cursor[at:],  # a character added
                cursor[:at] + cursor[at + 1 :],  # one taken away
                cursor[:at] + char + cursor[at + 1 :],  # one replaced
            ]
        )
    )
    if mutated == cursor:
        return
    with pytest.raises(DomainError) as refused:
        queries.read_cursor(query.model_copy(update={"cursor": mutated}))
    assert refused.value.code == "invalid_cursor"


@FAST
@given(st.text(max_size=300), st.sampled_from(SORTS))
def test_a_made_up_cursor_is_refused_clearly(ctx, cursor, sort):
    query = ListQuery(workspace_id="ws_a", sort=sort, cursor=cursor or None)
    try:
        found = queries.read_cursor(query)
    except DomainError as error:
        assert error.code == "invalid_cursor" and error.status == 400
    else:
        assert found is None and not cursor


@FAST
@given(st.dictionaries(st.sampled_from(queries.PARAMETERS["files"] + ("format", "has_alt_text")), st.text(max_size=30)))
def test_raw_parameters_parse_or_are_refused_naming_the_field(values):
    try:
        query = queries.parse(values, workspace_id="ws_a")
    except DomainError as refused:
        assert refused.status in (400, 404)
        assert refused.status == 404 or refused.extra["parameter"] in values
        return
    assert query.sort in SORTS and 1 <= query.limit <= 100
    assert query.q is None or (len(query.q) <= queries.MAX_Q and query.q == query.q.strip())


def test_search_longer_than_255_characters_is_refused_not_cut():
    with pytest.raises(DomainError) as refused:
        queries.parse({"q": "a" * 256}, workspace_id="ws_a")
    assert refused.value.code == "invalid_q"
    assert queries.parse({"q": "a" * 255}, workspace_id="ws_a").q == "a" * 255


@pytest.mark.parametrize("kind", sorted(queries.PARAMETERS))
def test_each_lists_parameters_are_a_model_made_from_the_description(kind):
    model = queries.parameters_model(kind)
    schema = model.model_json_schema()
    assert set(schema["properties"]) == {"workspace_id", *queries.PARAMETERS[kind]}
    assert schema["properties"]["limit"]["maximum"] == 100 and schema["additionalProperties"] is False
    assert "description" in schema["properties"]["sort"]
    parsed = model(sort="name", q=" sun ", limit="7", count="true")
    assert (parsed.sort, parsed.q, parsed.limit, parsed.count) == ("name", "sun", 7, True)


def test_a_counter_put_before_the_scan_answers_for_every_list(ctx, tenant):
    """The count hook issue 22 plugs counters or estimates into: the first counter that answers wins."""
    query = ListQuery(workspace_id=tenant.workspace_id, project_id=tenant.project_id, count=True)
    assert queries.count(query) == 0 and queries.run(query).total == 0

    def estimate(asked, known):
        return 1_000_000 if asked.project_id == tenant.project_id else None

    queries.COUNTERS.insert(0, estimate)
    try:
        assert queries.count(query) == 1_000_000 and queries.run(query).total == 1_000_000
        assert queries.count(query.model_copy(update={"project_id": None})) == 0  # not its list: the scan answers
    finally:
        queries.COUNTERS.remove(estimate)


@FAST
@given(
    sort=st.sampled_from(["taken", "-taken"]),
    key=st.one_of(
        st.text(max_size=40),
        st.integers(),
        st.none(),
        MOMENTS.map(lambda moment: moment.isoformat()),  # no microseconds: not the spelling a cursor carries
        MOMENTS.map(lambda moment: moment.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="microseconds")),
        MOMENTS.map(lambda moment: moment.replace(tzinfo=None).isoformat(timespec="microseconds")),
    ),
)
def test_a_signed_cursor_whose_date_taken_is_not_one_is_refused(ctx, sort, key):
    """A cursor signed with the right secret but a key no page hands out (another type, another spelling of an
    instant, a time without its zone) is refused, never read as a date."""
    assume(not (isinstance(key, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", key)))
    query = ListQuery(workspace_id="ws_a", sort=sort)
    cursor = queries._serializer().dumps([query.fingerprint(), key, "fil_a"])
    with pytest.raises(DomainError) as refused:
        queries.read_cursor(query.model_copy(update={"cursor": cursor}))
    assert refused.value.code == "invalid_cursor"
