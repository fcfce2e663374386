"""Additions to the generated OpenAPI schema (drf-spectacular postprocessing hooks).

- The error answers every endpoint can give: drf-spectacular documents the success
  responses views declare; the errors come from DRF itself (validation, authentication,
  not found, parsing), so they are added here from what each operation accepts.
- Patterns written with JSON and YAML's printable characters only: a control character
  in a pattern (U+007F is one JSON may carry raw) makes the YAML form unreadable and is
  refused by validators, so each becomes the regular expression's ``\\uXXXX`` escape.
- OpenAPI links from what an operation creates to the operations on it, for clients and
  for stateful testing (schemathesis).
"""

from __future__ import annotations

import re
from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": (
        '{"detail": "..."} with a sentence saying what went wrong, or on 400 the fields '
        "with their errors."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    "400": "The request is malformed or a field is invalid.",
    "401": "No valid token or session.",
    "404": "No such object, or it belongs to someone else.",
    "413": "Over a size limit.",
    "415": "The body is not of a type the operation accepts.",
    "429": "Too many attempts; see Retry-After.",
}


def _errors_of(path: str, operation: dict[str, Any]) -> list[str]:
    codes = []
    body = operation.get("requestBody", {}).get("content", {})
    parameters = operation.get("parameters", [])
    if body or any(parameter["in"] == "query" for parameter in parameters):
        codes.append("400")
    if operation.get("security") != [{}] and operation.get("security") != []:
        codes.append("401")
    if "{" in path or any(parameter["name"] == "page" for parameter in parameters):
        codes.append("404")
    if "multipart/form-data" in body:
        codes.append("413")
    if body:
        codes.append("415")
    if path.endswith("/auth/token/"):
        codes.append("429")
    return codes


def _loosen_multi_type_body(operation: dict[str, Any]) -> None:
    """A body offered in several types is marked optional: openapi-python-client (0.29;
    its issue 1451) annotates such a required body ``| Unset`` without importing
    ``Unset``, and the generated module cannot be imported. A request without one is a
    400 all the same, and the description says so."""
    body = operation.get("requestBody")
    if body is not None and len(body.get("content", {})) > 1 and body.get("required"):
        body["required"] = False
        body["description"] = (
            "One of these bodies is required (a request without a body is a 400); "
            "marked optional for generators that mishandle a required choice of types."
        )


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document the error answers, and that request
    bodies refuse fields they do not know (core.serializers.StrictSerializer)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in schemas.items():
        if name.endswith("Request"):
            component["additionalProperties"] = False
    schemas["Error"] = ERROR_SCHEMA
    for path, methods in result.get("paths", {}).items():
        for operation in methods.values():
            _loosen_multi_type_body(operation)
            responses = operation.setdefault("responses", {})
            for code in _errors_of(path, operation):
                responses.setdefault(
                    code,
                    {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
    return result


# A character a pattern writes as its \\uXXXX escape: control characters, and every one
# past ASCII (which drf-spectacular already writes so, except these).
UNPRINTABLE = re.compile(r"(\\*)([\x00-\x1f\x7f-\uffff])")


def _escaped(match: re.Match[str]) -> str:
    backslashes, char = match.groups()
    # An odd run of backslashes escapes the character itself: the \\u escape takes its place.
    if len(backslashes) % 2:
        backslashes = backslashes[:-1]
    return f"{backslashes}\\u{ord(char):04x}"


def printable_pattern(pattern: str) -> str:
    """``pattern`` with every character outside printable ASCII (below U+10000) written
    as ``\\uXXXX``, which Python's ``re`` and ECMA-262 read as that character."""
    return UNPRINTABLE.sub(_escaped, pattern)


def _escape_patterns(node: object) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                node[key] = printable_pattern(value)
            else:
                _escape_patterns(value)
    elif isinstance(node, list):
        for item in node:
            _escape_patterns(item)


def escape_patterns(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: no control character in any pattern."""
    _escape_patterns(result.get("components", {}))
    _escape_patterns(result.get("paths", {}))
    return result


PATH_PARAMETER = re.compile(r"\{(\w+)\}")
SHARE_PREFIX = "/api/shares/{slug}"


def _created_schema(result: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    content = operation.get("responses", {}).get("201", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    name = schema.get("$ref", "").rpartition("/")[2]
    return result.get("components", {}).get("schemas", {}).get(name, {})


def _links_of(
    result: dict[str, Any], path: str, created: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Links from an operation at ``path`` that created ``created`` (a schema with ``id``
    or ``slug``) to every operation on the object made: under ``path{param}`` with the
    new ``id``, and the public share under ``/api/shares/{slug}`` with its ``slug``."""
    properties = created.get("properties", {})
    links: dict[str, dict[str, Any]] = {}
    for target, methods in result.get("paths", {}).items():
        if "id" in properties and target.startswith(path) and target != path:
            match = PATH_PARAMETER.match(target, len(path))
            if match is None:
                continue
            parameters = {name: f"$request.path.{name}" for name in PATH_PARAMETER.findall(path)}
            parameters[match.group(1)] = "$response.body#/id"
        elif "slug" in properties and target.startswith(SHARE_PREFIX):
            parameters = {"slug": "$response.body#/slug"}
        else:
            continue
        for method, operation in methods.items():
            links[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": dict(parameters),
                "description": f"{method.upper()} {target} of what this call created.",
            }
    return links


def add_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: OpenAPI links from each creation (201) to the
    operations on what it created, and from registering to asking for a token with the
    same credentials."""
    paths = result.get("paths", {})
    for path, methods in paths.items():
        operation = methods.get("post")
        if operation is None or "201" not in operation.get("responses", {}):
            continue
        links = _links_of(result, path, _created_schema(result, operation))
        if links:
            operation["responses"]["201"]["links"] = links
    register = paths.get("/api/auth/register/", {}).get("post")
    token = paths.get("/api/auth/token/", {}).get("post")
    if register is not None and token is not None:
        register["responses"]["201"]["links"] = {
            token["operationId"]: {
                "operationId": token["operationId"],
                "requestBody": {
                    "username": "$request.body#/username",
                    "password": "$request.body#/password",
                },
                "description": "A token for the account just registered.",
            }
        }
    return result
