"""The OpenAPI schema documents the Bearer scheme and the scope of each operation."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_bearer_scheme_is_documented(schema: dict[str, Any]) -> None:
    scheme = schema["components"]["securitySchemes"]["apiKey"]

    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "403" in scheme["description"]


@pytest.mark.parametrize(
    ("path", "method", "scope"),
    [
        ("/api/archives/", "get", "archives:read"),
        ("/api/archives/", "post", "archives:write"),
        ("/api/archives/{id}/", "delete", "archives:write"),
        ("/api/archives/{archive_id}/links/", "get", "archives:read"),
        ("/api/webhooks/", "get", "webhooks:write"),
        ("/api/notifications/email/", "patch", "webhooks:write"),
    ],
)
def test_each_operation_names_its_scope(
    schema: dict[str, Any], path: str, method: str, scope: str
) -> None:
    operation = schema["paths"][path][method]

    assert operation["x-api-key-scope"] == scope
    assert f"API keys need the scope `{scope}`." in operation["description"]
    assert {"apiKey": []} in operation["security"]


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/keys/", "post"), ("/api/keys/", "get"), ("/api/keys/{id}/", "delete")],
)
def test_operations_that_take_no_keys_do_not_list_the_scheme(
    schema: dict[str, Any], path: str, method: str
) -> None:
    operation = schema["paths"][path][method]

    assert "x-api-key-scope" not in operation
    assert {"apiKey": []} not in operation["security"]
    assert {"tokenAuth": []} in operation["security"]


def test_the_token_request_documents_otp_and_its_refusals(schema: dict[str, Any]) -> None:
    request = schema["components"]["schemas"]["TokenCredentialsRequest"]
    operation = schema["paths"]["/api/auth/token/"]["post"]

    assert sorted(request["required"]) == ["password", "username"]
    assert request["properties"]["otp"]["maxLength"] == 64
    assert "recovery codes" in request["properties"]["otp"]["description"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "415", "429"}
    assert "otp is missing, wrong or already used" in operation["responses"]["401"]["description"]
    assert operation["responses"]["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
