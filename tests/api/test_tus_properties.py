"""Hypothesis on the tus ranges: any split of a file into pieces (empty ones included) stores the same bytes; any
offset but the upload's own is refused and changes nothing; Upload-Metadata round-trips any keys and text."""

from __future__ import annotations

import base64
import hashlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.resumable import parse_metadata

TUS = {"Tus-Resumable": "1.0.0"}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _create(client, tenant, length: int) -> str:
    meta = "project_id " + base64.b64encode(tenant.project_id.encode()).decode()
    answer = client.post(
        "/api/tus", headers={**tenant.auth(), **TUS, "Upload-Length": str(length), "Upload-Metadata": meta}
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.headers["Location"]


def _patch(client, tenant, url: str, offset: int, body: bytes):
    headers = {**tenant.auth(), **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
    return client.patch(url, data=body, headers=headers)


@FAST
@given(data=st.binary(min_size=1, max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=6))
def test_any_split_into_pieces_stores_the_same_bytes(client, tenant, data, cuts):
    url = _create(client, tenant, len(data))
    bounds = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    for start, end in zip(bounds, bounds[1:]):
        answer = _patch(client, tenant, url, start, data[start:end])
        assert answer.status_code == 204, answer.get_data(as_text=True)
        assert int(answer.headers["Upload-Offset"]) == end
    file_url = client.head(url, headers={**tenant.auth(), **TUS}).headers["Content-Location"]
    assert client.get(file_url, headers=tenant.auth()).json["sha256"] == hashlib.sha256(data).hexdigest()


@FAST
@given(sent=st.integers(0, 50), wrong=st.integers(0, 10**12))
def test_any_other_offset_is_409_and_changes_nothing(client, tenant, sent, wrong):
    url = _create(client, tenant, 100)
    if sent:
        assert _patch(client, tenant, url, 0, b"x" * sent).status_code == 204
    if wrong == sent:
        wrong += 1
    refused = _patch(client, tenant, url, wrong, b"y")
    assert refused.status_code == 409 and refused.json["offset"] == sent
    assert client.head(url, headers={**tenant.auth(), **TUS}).headers["Upload-Offset"] == str(sent)


keys = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=", "), min_size=1, max_size=20)


@given(st.dictionaries(keys, st.text(max_size=40), max_size=5))
def test_upload_metadata_round_trips(values):
    header = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key for key, value in values.items()
    )
    assert parse_metadata(header) == values


@given(field=st.sampled_from(["resumable_chunk_bytes", "resumable_upload_seconds"]), value=st.integers(-10, 0))
def test_the_resumable_settings_must_be_positive(field, value):
    from dataclasses import replace

    import pytest

    from app.config import Settings

    with pytest.raises(ValueError, match="must be positive"):
        replace(Settings(), **{field: value}).validate()
