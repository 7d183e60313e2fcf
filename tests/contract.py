"""Check HTTP traffic against the Infobip Conversations OpenAPI contract.

`ContractValidator` answers, for one request or one response, the list of ways it departs from
`contracts/infobip-conversations-openapi.json` (empty: it conforms). `ContractCheckingTransport`
runs every exchange of an httpx client through it and collects the problems in `violations`.

Quirks of the contract, handled here on purpose:
- 400 answers are documented with the StatusCodeResponse schema while every example is an
  ApiException envelope. Both are checked: the documented schema, then the envelope shape that
  every 4xx/5xx must have (requestError.serviceException with messageId and text).
- POST /conversations/{id}/route documents a ConversationResultPage, but its example (and the
  API) answer the conversation itself: the body is also checked as a ConversationApiModel.
- Dates are documented as `date-time` but the API writes `2025-04-24T11:25:41.058+0000`
  (no colon in the offset), so `date-time` accepts both offset forms.
- The examples carry `null` for unset optional fields that the schemas type as plain strings.
  Strict by default (the emulator leaves them out); `allow_null_fields=True` tolerates them,
  for checking recordings of the real API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACT = Path(__file__).parents[1] / "contracts" / "infobip-conversations-openapi.json"
_URI = "urn:convbot:infobip-contract"
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")
_CONVERSATION = "#/components/schemas/" + (
    "e89661b226e518f36a162935afcdf1132c95b0e63e9c86c5ef5f31c5a8d865a2.ConversationApiModel"
)
# Extra schemas a response must also satisfy, where the contract's schema and example disagree.
_ALSO = {("post", "/ccaas/1/conversations/{conversationId}/route", "200"): _CONVERSATION}
_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["requestError"],
    "properties": {
        "requestError": {
            "type": "object",
            "required": ["serviceException"],
            "properties": {
                "serviceException": {
                    "$ref": "#/components/schemas/ApiRequestErrorDetails",
                    "required": ["messageId", "text"],
                    "properties": {"messageId": {"type": "string"}, "text": {"type": "string"}},
                }
            },
        }
    },
}


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    return checker


class ContractValidator:
    """Validates requests and responses against the contract's operations and schemas."""

    def __init__(self, path: Path = CONTRACT, *, allow_null_fields: bool = False) -> None:
        self.spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.allow_null_fields = allow_null_fields
        resource = Resource.from_contents(self.spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_URI, resource)
        self._formats = _format_checker()
        # Literal templates first, so /agents/{agentId} never shadows a fixed path.
        self._templates = sorted(
            ((template, _template_regex(template)) for template in self.spec["paths"]),
            key=lambda pair: pair[0].count("{"),
        )

    # --- requests -------------------------------------------------------------------------

    def check_request(self, request: httpx.Request) -> list[str]:
        found = self._operation(request)
        if isinstance(found, str):
            return [found]
        _, operation, path_values = found
        problems = self._check_security(request, operation)
        problems += self._check_parameters(request, operation, path_values)
        problems += self._check_request_body(request, operation)
        return problems

    def _check_security(self, request: httpx.Request, operation: Mapping[str, Any]) -> list[str]:
        if operation.get("security") and "authorization" not in request.headers:
            return ["no Authorization header, but the operation requires one"]
        return []

    def _check_parameters(
        self,
        request: httpx.Request,
        operation: Mapping[str, Any],
        path_values: Mapping[str, str],
    ) -> list[str]:
        declared = {
            (p["in"], p["name"]): p for p in map(self._deref, operation.get("parameters", []))
        }
        query: dict[str, list[str]] = {}
        for name, value in request.url.params.multi_items():
            query.setdefault(name, []).append(value)
        problems = [
            f"query parameter '{name}' is not in the contract"
            for name in query
            if ("query", name) not in declared
        ]
        for (where, name), parameter in declared.items():
            if where == "path":
                given: list[str] | None = [path_values[name]] if name in path_values else None
            elif where == "query":
                given = query.get(name)
            else:
                continue
            problems += self._check_parameter(parameter, given)
        return problems

    def _check_parameter(self, parameter: Mapping[str, Any], given: list[str] | None) -> list[str]:
        name = parameter["name"]
        if given is None:
            return [f"required parameter '{name}' is missing"] if parameter.get("required") else []
        schema = self._deref(parameter.get("schema", {}))
        if schema.get("type") == "array":
            item_schema = self._deref(schema.get("items", {}))
            value: Any = [_coerce(text, item_schema) for text in given]
        elif len(given) > 1:
            return [f"parameter '{name}' takes one value, got {len(given)}: {given}"]
        else:
            value = _coerce(given[0], schema)
        return self._validate(value, schema, f"parameter '{name}'")

    def _check_request_body(
        self, request: httpx.Request, operation: Mapping[str, Any]
    ) -> list[str]:
        spec = self._deref(operation.get("requestBody", {}))
        content = request.content
        if not spec:
            return ["the operation takes no body, but one was sent"] if content else []
        if not content:
            return ["the request body is required but missing"] if spec.get("required") else []
        media = spec.get("content", {}).get("application/json")
        if media is None:
            return []
        if not request.headers.get("content-type", "").startswith("application/json"):
            return [f"body sent as {request.headers.get('content-type')!r}, not application/json"]
        try:
            body = json.loads(content)
        except ValueError:
            return ["the request body is not JSON"]
        schema = media.get("schema", {})
        return self._validate(body, schema, "request body") + self._read_only(body, schema)

    def _read_only(self, body: Any, schema: Mapping[str, Any]) -> list[str]:
        properties = self._deref(schema).get("properties", {})
        if not isinstance(body, dict):
            return []
        return [
            f"request body sends read-only property '{name}'"
            for name in body
            if self._deref(properties.get(name, {})).get("readOnly")
        ]

    # --- responses ------------------------------------------------------------------------

    def check_response(self, request: httpx.Request, response: httpx.Response) -> list[str]:
        found = self._operation(request)
        if isinstance(found, str):
            return []  # check_request already says the request itself is not in the contract
        template, operation, _ = found
        status = str(response.status_code)
        responses = operation.get("responses", {})
        documented = responses.get(status) or responses.get("default")
        if documented is None:
            return [f"HTTP {status} is not documented (documented: {', '.join(responses)})"]
        spec = self._deref(documented)
        problems: list[str] = []
        media = spec.get("content", {}).get("application/json")
        if media is None:
            return []
        if not response.headers.get("content-type", "").startswith("application/json"):
            return [f"HTTP {status} body is {response.headers.get('content-type')!r}, not JSON"]
        try:
            body = json.loads(response.content)
        except ValueError:
            return [f"HTTP {status} body is not JSON"]
        if self.allow_null_fields:
            body = _without_nulls(body)
        problems += self._validate(body, media.get("schema", {}), f"HTTP {status} body")
        also = _ALSO.get((request.method.lower(), template, status))
        if also:
            problems += self._validate(body, {"$ref": also}, f"HTTP {status} body (example shape)")
        if response.status_code >= 400:
            problems += self._validate(body, _ENVELOPE, f"HTTP {status} error envelope")
        return problems

    # --- internals ------------------------------------------------------------------------

    def _operation(
        self, request: httpx.Request
    ) -> tuple[str, Mapping[str, Any], dict[str, str]] | str:
        raw_path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        for template, regex in self._templates:
            match = regex.match(raw_path)
            if match is None:
                continue
            operation = self.spec["paths"][template].get(request.method.lower())
            if operation is None:
                return f"{request.method} is not an operation of {template}"
            values = {name: unquote(value) for name, value in match.groupdict().items()}
            return template, operation, values
        return f"no path of the contract matches {request.method} {raw_path}"

    def _deref(self, node: Any) -> Any:
        """Follow local `$ref`s at the top of a node (parameters, responses, bodies)."""
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            if not ref.startswith("#/"):
                break
            node = self.spec
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _validate(self, value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
        validator = Draft202012Validator(
            _anchored(schema), registry=self._registry, format_checker=self._formats
        )
        return [
            f"{where}: {error.json_path}: {error.message[:300]}"
            for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        ]


def _anchored(schema: Any) -> Any:
    """The schema with its local refs ("#/components/...") pointing into the contract document,
    so that they resolve there and not in the fragment being validated."""
    if isinstance(schema, Mapping):
        return {
            key: f"{_URI}{value}"
            if key == "$ref" and isinstance(value, str) and value.startswith("#")
            else _anchored(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_anchored(item) for item in schema]
    return schema


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(f"^{pattern}$")


def _coerce(text: str, schema: Mapping[str, Any]) -> Any:
    """A query string value as the type its schema names (left as text when it is not one)."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class ContractCheckingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that checks every exchange and records what departs from the
    contract in `violations` (it never fails a request itself)."""

    def __init__(
        self,
        validator: ContractValidator | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.validator = validator or ContractValidator()
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.violations: list[str] = []
        self.exchanges = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        label = f"{request.method} {request.url.path}"
        self._record(label, self.validator.check_request(request))
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self._record(
            f"{label} -> {response.status_code}", self.validator.check_response(request, response)
        )
        self.exchanges += 1
        return response

    def _record(self, label: str, problems: Iterable[str]) -> None:
        self.violations.extend(f"{label}: {problem}" for problem in problems)

    async def aclose(self) -> None:
        await self.inner.aclose()
