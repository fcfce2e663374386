"""Additions to the generated OpenAPI schema: the error answers every endpoint can give.

drf-spectacular documents the success responses views declare; the errors come from DRF
itself (validation, authentication, not found, parsing), so they are added here from
what each operation accepts.
"""

from __future__ import annotations

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
