"""The request models refuse any JSON body they do not describe with a 400 naming the field at fault."""

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.api.spec import problem_of
from app.domain import inputs

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
BODIES = {
    inputs.ImageUpdate: ["altText", "decorative", "focalPoint", "name", "alt"],
    inputs.UploadUrlRequest: ["projectId", "maxBytes", "expiresIn", "metadata"],
    inputs.WebhookEndpointCreate: ["url", "events", "description"],
    inputs.WebhookEndpointPatch: ["url", "events", "description", "enabled", "rotateSecret", "secret"],
}


@settings(max_examples=300, deadline=None)
@given(
    model=st.sampled_from(list(BODIES)),
    data=st.data(),
)
def test_any_body_is_taken_or_refused_naming_the_field_at_fault(model, data):
    body = data.draw(st.dictionaries(st.sampled_from(BODIES[model]), JSON, max_size=4))
    try:
        taken = model.model_validate(body)
    except ValidationError as refused:
        problem = problem_of(refused)
        assert problem.status == 400 and problem.code and problem.detail
        named = problem.extra.get("parameter")
        required = {field.alias or name for name, field in model.model_fields.items() if field.is_required()}
        # a field sent, a required one missing, or (None) the body as a whole: an empty PATCH
        assert named in body or (named in required and named not in body) or (named is None and not body)
        return
    assert set(taken.changes()) <= set(body)
