"""`DirectRoute`: an authenticated route answered without FastAPI's general dependency solver.

FastAPI's solver and its handler around it took about 40% of the application's CPU per POST
/api/payments (bench/api_app_bench.py; cProfile: the bearer scheme's sub-dependency, the path,
query and cookie parameters the route does not have, cache keys, a parse of the Content-Type
through `email.message`; docs/performance.md has the figures). A DirectRoute keeps what
FastAPI gives the route (the OpenAPI document from the endpoint's signature, the `ModelField`
of each parameter and their validation, `RequestValidationError` and its handler) and does
only the steps this route's parameters need, in the solver's order:

1. authenticate (`auth.authenticate`), before the body is read, as `AuthenticatedRoute` does;
2. read the body as FastAPI does (JSON when the Content-Type says JSON, through the strict
   parser; a JSON error is one `json_invalid` entry at `("body", position)`; any other
   failure to read it a 400);
3. validate the header parameters (looked up by their alias), then the body (with
   `request_body_to_args`, the function FastAPI's solver calls for it), with the route's own
   fields, the errors in FastAPI's shape, all of them in one `RequestValidationError`;
4. call the endpoint, which must return a `Response`.

It takes only routes of that shape, and says so when built: an endpoint with path, query or
cookie parameters, a dependency other than the bearer scheme (which only declares itself in
OpenAPI), a header parameter other than a required `str` with an explicit alias, or a body
other than one JSON model is refused at start-up.
tests/test_direct_route.py sends the same requests (generated: headers, content types and
bodies of every kind) to the route and to FastAPI's own handler for it, and compares answers.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi._compat import get_missing_field_error
from fastapi.dependencies.utils import request_body_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.params import Body
from pydantic_core import PydanticUndefined

from payments_api.auth import BEARER_SCHEME, AuthenticatedRoute, authenticate
from payments_api.request_guards import StrictJsonRequest

# FastAPI's answer when reading the body fails otherwise than as JSON (a client gone, say).
BODY_ERROR_DETAIL = "There was an error parsing the body"


def _is_json(content_type: str) -> bool:
    """FastAPI's test of a Content-Type (routing.get_request_handler): `application/json` or
    `application/<anything>+json`, parameters and case aside, as `email.message` parses it."""
    if content_type == "application/json":  # what clients send: no parse needed
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


async def _body(request: Request) -> Any:
    """The body as FastAPI hands it to validation: nothing (empty), the parsed JSON when the
    Content-Type is JSON, else the bytes. A request without a Content-Type is not parsed as
    JSON (FastAPI's strict content type, its default)."""
    try:
        raw = await request.body()
        if not raw:
            return PydanticUndefined
        content_type = request.headers.get("content-type")
        if content_type and _is_json(content_type):
            return await request.json()
        return raw
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", error.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": error.msg},
                }
            ],
            body=error.doc,
        ) from error
    except HTTPException:
        raise
    except Exception as error:
        raise HTTPException(status_code=400, detail=BODY_ERROR_DETAIL) from error


class DirectRoute(AuthenticatedRoute):
    """See the module. An `AuthenticatedRoute` (it authenticates the same way, first) whose
    handler is its own; give it to one route with `route_class_override`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        refused = [
            what
            for what, present in (
                ("path parameters", dependant.path_params),
                ("query parameters", dependant.query_params),
                ("cookie parameters", dependant.cookie_params),
                ("no `request: Request` parameter", dependant.request_param_name is None),
                (
                    "a dependency other than the bearer scheme",
                    [d for d in dependant.dependencies if d.call is not BEARER_SCHEME.dependency],
                ),
                (
                    "a header other than a required str with an explicit alias",
                    [
                        f
                        for f in dependant.header_params
                        if f.field_info.annotation is not str
                        or not f.field_info.is_required()
                        or f.alias == f.name
                        or f.field_info.validation_alias not in (None, f.alias)
                    ],
                ),
                (
                    "a body other than one JSON model, not embedded",
                    self.body_field is not None
                    and (
                        len(dependant.body_params) != 1
                        or type(self.body_field.field_info) is not Body
                        or self.body_field.field_info.embed
                    ),
                ),
            )
            if present
        ]
        if refused:
            raise TypeError(f"DirectRoute {self.path}: cannot answer {', '.join(refused)}")
        endpoint = self.endpoint
        headers = [(field, ("header", field.alias)) for field in dependant.header_params]
        body_fields = [self.body_field] if self.body_field is not None else []
        request_name: str = dependant.request_param_name  # type: ignore[assignment]

        async def direct_handler(request: Request) -> Response:
            request = StrictJsonRequest(request.scope, request.receive)
            await authenticate(request)
            body = await _body(request) if body_fields else PydanticUndefined
            values: dict[str, Any] = {}
            errors: list[Any] = []
            for field, loc in headers:
                value = request.headers.get(field.alias)
                if value is None:
                    # FastAPI's own error (from a private module: FastAPI is pinned, and
                    # tests/test_direct_route.py compares the answers)
                    errors.append(get_missing_field_error(loc))
                    continue
                values[field.name], field_errors = field.validate(value, values, loc=loc)
                errors.extend(field_errors)
            if body_fields:
                body_values, body_errors = await request_body_to_args(
                    body_fields, body, embed_body_fields=False
                )
                values.update(body_values)
                errors.extend(body_errors)
            if errors:
                raise RequestValidationError(errors, body=body)
            response = await endpoint(**values, **{request_name: request})
            if not isinstance(response, Response):
                raise TypeError(f"{self.path}: a DirectRoute's endpoint must return a Response")
            return response

        return direct_handler
