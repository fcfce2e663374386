"""The OpenAPI schema and its interactive docs: valid in both forms, exact about body
types, printable patterns, errors and links."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from core.schema import printable_pattern

if TYPE_CHECKING:
    from pathlib import Path

    from django.test import Client
    from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _schema(client: Client | APIClient) -> dict[str, Any]:
    return client.get("/api/schema/", {"format": "json"}).json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_schema_and_docs_are_served_without_a_cdn(client: Client) -> None:
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/archives/" in schema.content
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


@pytest.mark.parametrize(("form", "suffix"), [("yaml", "yaml"), ("json", "json")])
def test_both_forms_pass_the_openapi_validator(
    client: Client, tmp_path: Path, form: str, suffix: str
) -> None:
    # Read as the validator's command reads a file: with a YAML loader, for JSON too
    # (which is where a raw U+007F in a pattern was refused).
    text = client.get("/api/schema/", {"format": form}).content
    path = tmp_path / f"schema.{suffix}"
    path.write_bytes(text)
    spec, _ = read_from_filename(str(path))

    validate(spec)
    assert not CONTROL_CHARACTER.search(text.decode())


def test_patterns_write_unprintable_characters_as_escapes() -> None:
    assert printable_pattern("[^\x00-\x1f\x7f]") == "[^\\u0000-\\u001f\\u007f]"
    assert printable_pattern("a\\\x7f") == "a\\u007f"  # an escaped DEL is DEL
    assert printable_pattern("a\\\\\x7f") == "a\\\\\\u007f"  # a backslash, then DEL
    assert printable_pattern("^[\\w.@+-]+$") == "^[\\w.@+-]+$"
    assert re.fullmatch(printable_pattern("[\x7f-\x9f]+"), "\x7f\x80\x9f")


def test_each_operation_offers_only_the_bodies_it_accepts(client: Client) -> None:
    schema = _schema(client)
    bodies = {
        (path, method): tuple(sorted(operation.get("requestBody", {}).get("content", {})))
        for path, method, operation in _operations(schema)
    }

    assert bodies.pop(("/api/archives/", "post")) == ("application/json", "multipart/form-data")
    submissions = ("/api/requests/public/{slug}/submissions/", "post")
    assert bodies.pop(submissions) == ("application/json", "multipart/form-data")
    assert {types for types in bodies.values() if types} == {("application/json",)}
    for path, method in [
        ("/api/archives/{id}/", "patch"),
        ("/api/archives/{archive_id}/links/", "post"),
        ("/api/auth/token/", "post"),
        ("/api/auth/register/", "post"),
    ]:
        assert bodies[(path, method)] == ("application/json",)
    content = schema["paths"]["/api/archives/"]["post"]["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"]["$ref"].endswith("/ArchiveCreateRequest")
    assert content["application/json"]["schema"]["$ref"].endswith("/ArchiveFromUploadsRequest")


def test_every_operation_with_a_body_documents_415(client: Client) -> None:
    for path, method, operation in _operations(_schema(client)):
        if "requestBody" in operation:
            answer = operation["responses"].get("415")
            assert answer is not None, (path, method)
            assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body"),
    [
        ("patch", "/api/archives/{id}/", "multipart/form-data; boundary=x", b"--x--\r\n"),
        ("post", "/api/archives/{id}/links/", "application/x-www-form-urlencoded", b"label=a"),
        ("post", "/api/archives/", "application/x-www-form-urlencoded", b"name=a"),
        ("post", "/api/auth/token/", "application/x-www-form-urlencoded", b"username=a"),
        ("post", "/api/auth/register/", "text/plain", b"{}"),
    ],
)
def test_a_body_of_another_type_is_415_with_a_detail(
    api: APIClient, make_archive: Any, method: str, path: str, content_type: str, body: bytes
) -> None:
    archive = make_archive(build=False)
    response = getattr(api, method)(
        path.format(id=archive.id), data=body, content_type=content_type
    )

    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]


def test_the_download_is_a_zip_with_its_refusals(client: Client) -> None:
    download = _schema(client)["paths"]["/api/shares/{slug}/download"]["get"]
    responses = download["responses"]

    for code in ("200", "206"):
        assert responses[code]["content"] == {
            "application/zip": {"schema": {"type": "string", "format": "binary"}}
        }
    assert {"401", "403", "404", "409", "410", "416", "429", "503"} <= set(responses)
    # A refusal names its reason, the grant's byte budget among them.
    ref = responses["410"]["content"]["application/json"]["schema"]["$ref"]
    refusal = _schema(client)["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert refusal["required"] == ["detail", "reason"]
    reasons = _schema(client)["components"]["schemas"]["ReasonEnum"]["enum"]
    assert {"limit_reached", "grant_used_up", "expired", "prefetch"} <= set(reasons)


def test_creations_link_to_the_operations_on_what_they_made(client: Client) -> None:
    schema = _schema(client)
    created = schema["paths"]["/api/archives/"]["post"]["responses"]["201"]["links"]
    link_made = schema["paths"]["/api/archives/{archive_id}/links/"]["post"]["responses"]
    registered = schema["paths"]["/api/auth/register/"]["post"]["responses"]["201"]["links"]

    assert created["archives_retrieve"]["parameters"] == {"id": "$response.body#/id"}
    assert created["archives_partial_update"]["operationId"] == "archives_partial_update"
    assert created["archives_links_create"]["parameters"] == {"archive_id": "$response.body#/id"}
    assert created["shares_download_retrieve"]["parameters"] == {"slug": "$response.body#/slug"}
    assert link_made["201"]["links"]["archives_links_destroy"]["parameters"] == {
        "archive_id": "$request.path.archive_id",
        "id": "$response.body#/id",
    }
    assert registered["auth_token_create"]["requestBody"] == {
        "username": "$request.body#/username",
        "password": "$request.body#/password",
    }
    operation_ids = {operation["operationId"] for _, _, operation in _operations(schema)}
    for path, method, operation in _operations(schema):
        for link in operation["responses"].get("201", {}).get("links", {}).values():
            assert link["operationId"] in operation_ids, (path, method)


def test_request_limits_are_those_of_what_is_stored(client: Client) -> None:
    components = _schema(client)["components"]["schemas"]
    name = components["PatchedArchiveUpdateRequest"]["properties"]["name"]
    username = components["CredentialsRequest"]["properties"]["username"]
    password = components["CredentialsRequest"]["properties"]["password"]

    assert "maxLength" not in name
    assert "At most 200 characters once trimmed." in name["description"]
    assert "maxLength" not in username
    assert "at most 150 characters" in username["description"]
    assert password["maxLength"] == 128
