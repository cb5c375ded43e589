"""The webhook tests judge their API answers by the OpenAPI document, as tests/api does."""

from tests.api.conftest import api_document, conforms  # noqa: F401 - fixtures shared with the API tests
