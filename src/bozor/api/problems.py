"""Errors as RFC 9457 problem details, mapped in one place."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from bozor.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from bozor.i18n import Translator

PROBLEM_JSON = "application/problem+json"
_STATUS_OF: list[tuple[type[DomainError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (ForbiddenError, 403),
    (InvalidInputError, 422),
]
_english = Translator("en")


class FieldError(BaseModel):
    location: str = Field(examples=["body.user_id"])
    message: str


class Problem(BaseModel):
    """Every error the API answers with: RFC 9457 problem details, as application/problem+json."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(description="For people; may change.")
    code: str | None = Field(
        default=None,
        description="Stable, for programs: what went wrong.",
        examples=["referral.unknown"],
    )
    errors: list[FieldError] | None = Field(
        default=None, description="With request.invalid: each invalid part of the request."
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error statuses a route answers with, for its `responses=`; shown as problems."""
    return {status: {"description": HTTPStatus(status).phrase} for status in statuses}


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if code:
        body["code"] = code
    body.update(extra)
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
    )


def status_of(exc: DomainError) -> int:
    return next((status for kind, status in _STATUS_OF if isinstance(exc, kind)), 400)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return problem(status_of(exc), _english(exc.code, **exc.params), code=exc.code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": ".".join(str(p) for p in error["loc"]), "message": error["msg"]}
            for error in exc.errors()
        ]
        return problem(422, "The request is not valid.", code="request.invalid", errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document, telling what the handlers above do: every error response (4xx and
    5xx, FastAPI's own 422 included) is a Problem in application/problem+json."""
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                _without_null(parameter)
            if "requestBody" in operation:  # FastAPI's answer to a body it cannot decode
                operation["responses"].setdefault("400", {"description": "Bad Request"})
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = dict(content)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in str(spec):
            schemas.pop(unused, None)
    return spec


def _without_null(parameter: dict[str, Any]) -> None:
    """An optional parameter in a path, query or header is either sent or not: it has no null.
    Pydantic writes `str | None` as `anyOf: [string, null]`; say just `string`."""
    schema = parameter.get("schema", {})
    branches = schema.get("anyOf")
    if not branches or parameter.get("required"):
        return
    kept = [branch for branch in branches if branch.get("type") != "null"]
    if len(kept) == 1 and len(kept) < len(branches):
        del schema["anyOf"]
        schema.update(kept[0])
