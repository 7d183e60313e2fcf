"""Check HTTP traffic against the Infobip Conversations OpenAPI contract.

`ContractValidator` answers, for one request or one response, the list of ways it departs from
`contracts/infobip-conversations-openapi.json` (empty: it conforms). `ContractCheckingTransport`
runs every exchange of an httpx client through it and collects the problems in `violations`;
`ServedAnswersCheck` does the same, server side, for every answer of every emulator a test
serves in-process (tests/conftest.py registers one for each test).

Quirks of the contract, handled here on purpose:
- 400 answers are documented with the StatusCodeResponse schema while every example is an
  ApiException envelope; 401, 403, 404 and 500 document no body. Every 4xx/5xx is checked as
  the envelope the examples show (requestError.serviceException with messageId and text).
- POST /conversations/{id}/route documents a ConversationResultPage, but its example (and the
  API) answer the conversation itself: the body is checked as a ConversationApiModel instead.
  POST /tags documents CreateTagApiRequest (`name`) while its example adds `createdAt`: the
  body is checked as a TagApiResponse.
- GET /conversations/{id}/metadata documents its answer as a `string`, while its example (and
  the API, Infobip's docs) answer the key/value map itself: the body is checked as an object.
- POST /conversations/{id}/notes documents `content` as NoteContent (an object), while its
  "Text note." example, and the NoteApiResponse it answers, carry the text as a string: a request
  body's `content` may be either.
- Dates are documented as `date-time` but the API writes `2025-04-24T11:25:41.058+0000`
  (no colon in the offset), so `date-time` accepts both offset forms.
- The examples carry `null` for unset optional fields that the schemas type as plain strings.
  Strict by default (the emulator leaves them out); `allow_null_fields=True` tolerates them,
  for checking recordings of the real API.
- No schema says `additionalProperties: false`, so the contract as written lets an answer carry
  anything beyond what it declares. Answers are checked closed instead: every object schema that
  declares `properties` accepts only those, unless the contract itself gives it
  `additionalProperties` (the free maps: RuleApiResponse.expression, validationErrors). So a
  property the emulator adds to an answer (an `email` in GET /agents, whose items are
  AgentResponse) is a violation, as a client leaning on it would break against Infobip.
  Requests are checked as the contract is written: it does not say Infobip refuses extras.
- Answers with statuses the contract does not document but the API's gateway gives (429, 502,
  503, 504) are held to the error envelope when `gateway_statuses=True` (for checking what a
  server sends under fault injection); otherwise an undocumented status is a violation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.devtools.emulator.observe import Exchange

CONTRACT = Path(__file__).parents[1] / "contracts" / "infobip-conversations-openapi.json"
_URI = "urn:convbot:infobip-contract"
# The same document with its answer schemas closed (see the module docstring).
_CLOSED_URI = "urn:convbot:infobip-contract-closed"
# Throttling and gateway failures: real answers of the API, documented in its docs, not the spec.
GATEWAY_STATUSES = frozenset({429, 502, 503, 504})
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")
_SCHEMAS = "#/components/schemas/e89661b226e518f36a162935afcdf1132c95b0e63e9c86c5ef5f31c5a8d865a2."
_CONVERSATION = _SCHEMAS + "ConversationApiModel"
# The schema an answer is checked against instead of the documented one, where the contract's
# schema and its example disagree (the example is what the API answers).
_EXAMPLE_SHAPE = {
    ("post", "/ccaas/1/conversations/{conversationId}/route", "200"): _CONVERSATION,
    # Documented as CreateTagApiRequest ({name}); the example adds createdAt: a TagApiResponse.
    ("post", "/ccaas/1/tags", "200"): _SCHEMAS + "TagApiResponse",
}
# Answers documented as a schema that cannot be the API's, checked as their example's shape.
_EXAMPLE_SCHEMA: dict[tuple[str, str, str], dict[str, Any]] = {
    # GET …/metadata: documented as a `string`; its example is the key/value map itself.
    ("get", "/ccaas/1/conversations/{conversationId}/metadata", "200"): {"type": "object"},
}
# The request schema a body is checked against instead of the documented one (the quirks above).
_REQUEST_SHAPE: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/ccaas/1/conversations/{conversationId}/notes"): {
        "type": "object",
        "required": ["content"],
        "properties": {
            "type": {"type": "string", "enum": ["INTERNAL", "ATTACHMENT"]},
            "content": {"type": ["string", "object"]},
            "agentId": {"type": "string", "maxLength": 255, "minLength": 0},
        },
    },
}
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


@dataclass(frozen=True)
class _Body:
    """A decoded JSON body (told apart from a list of problems)."""

    value: Any


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    return checker


class ContractValidator:
    """Validates requests and responses against the contract's operations and schemas."""

    def __init__(
        self,
        path: Path = CONTRACT,
        *,
        allow_null_fields: bool = False,
        gateway_statuses: bool = False,
    ) -> None:
        self.spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.allow_null_fields = allow_null_fields
        self.gateway_statuses = gateway_statuses
        closed = _closed_document(self.spec)
        self._registry: Registry[Any] = Registry().with_resources(
            [
                (_URI, Resource.from_contents(self.spec, default_specification=DRAFT202012)),
                (_CLOSED_URI, Resource.from_contents(closed, default_specification=DRAFT202012)),
            ]
        )
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
        template, operation, path_values = found
        problems = self._check_security(request, operation)
        problems += self._check_parameters(request, operation, path_values)
        problems += self._check_request_body(
            request, operation, _REQUEST_SHAPE.get((request.method.lower(), template))
        )
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
        self,
        request: httpx.Request,
        operation: Mapping[str, Any],
        instead: Mapping[str, Any] | None = None,
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
        schema = instead or media.get("schema", {})
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
        if documented is None and not (
            self.gateway_statuses and response.status_code in GATEWAY_STATUSES
        ):
            return [f"HTTP {status} is not documented (documented: {', '.join(responses)})"]
        if response.status_code >= 400:
            # Every error answer is the envelope, documented with a body (400: its examples) or
            # without one (401, 403, 404, 500). The 400s' documented StatusCodeResponse schema
            # disagrees with all their examples, and closed, the two exclude each other.
            return self._check_envelope(response, status)
        media = self._deref(documented).get("content", {}).get("application/json")
        if media is None:
            return []
        body = self._json_body(response, status)
        if isinstance(body, list):
            return body
        schema = media.get("schema", {})
        where = f"HTTP {status} body"
        key = (request.method.lower(), template, status)
        instead = _EXAMPLE_SHAPE.get(key)
        if instead:
            schema, where = {"$ref": instead}, f"{where} (example shape)"
        elif key in _EXAMPLE_SCHEMA:
            schema, where = _EXAMPLE_SCHEMA[key], f"{where} (example shape)"
        return self._validate(body.value, schema, where, closed=True)

    def _json_body(self, response: httpx.Response, status: str) -> _Body | list[str]:
        if not response.headers.get("content-type", "").startswith("application/json"):
            return [f"HTTP {status} body is {response.headers.get('content-type')!r}, not JSON"]
        try:
            body = json.loads(response.content)
        except ValueError:
            return [f"HTTP {status} body is not JSON"]
        return _Body(_without_nulls(body) if self.allow_null_fields else body)

    def _check_envelope(self, response: httpx.Response, status: str) -> list[str]:
        body = self._json_body(response, status)
        if isinstance(body, list):
            return body
        return self._validate(body.value, _ENVELOPE, f"HTTP {status} error envelope", closed=True)

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

    def _validate(
        self, value: Any, schema: Mapping[str, Any], where: str, *, closed: bool = False
    ) -> list[str]:
        """Problems of `value` against `schema`; `closed`: extra properties are problems too."""
        if closed:
            anchored = _anchored(_closed_schema(schema), _CLOSED_URI)
        else:
            anchored = _anchored(schema, _URI)
        validator = Draft202012Validator(
            anchored, registry=self._registry, format_checker=self._formats
        )
        return [
            f"{where}: {error.json_path}: {error.message[:300]}"
            for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        ]


def _anchored(schema: Any, uri: str) -> Any:
    """The schema with its local refs ("#/components/...") pointing into the contract document
    at `uri`, so that they resolve there and not in the fragment being validated."""
    if isinstance(schema, Mapping):
        return {
            key: f"{uri}{value}"
            if key == "$ref" and isinstance(value, str) and value.startswith("#")
            else _anchored(value, uri)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_anchored(item, uri) for item in schema]
    return schema


# Keywords whose value is one schema, or a map or list of schemas (JSON Schema 2020-12).
_SUBSCHEMA = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


def _closed_schema(schema: Any) -> Any:
    """`schema` with every object schema that declares `properties` and says nothing of
    `additionalProperties` closed to those properties. Free maps (an object schema with
    `additionalProperties` of its own, or with no `properties`) stay open. The contract uses no
    allOf/anyOf/oneOf (closing the parts of a composition would refuse the other parts'
    properties), so nothing here needs `unevaluatedProperties`; a composition, or a schema that
    adds to a `$ref` (whose properties it cannot see), is left open: what it refers to is
    closed on its own."""
    if not isinstance(schema, Mapping):
        return schema
    closed: dict[str, Any] = dict(schema)
    for key in _SUBSCHEMA:
        if isinstance(closed.get(key), Mapping):
            closed[key] = _closed_schema(closed[key])
    for key in _SUBSCHEMA_MAPS:
        if isinstance(closed.get(key), Mapping):
            closed[key] = {name: _closed_schema(sub) for name, sub in closed[key].items()}
    composed = "$ref" in closed or any(key in closed for key in _SUBSCHEMA_LISTS)
    for key in _SUBSCHEMA_LISTS:
        if isinstance(closed.get(key), list):
            closed[key] = [_closed_schema(sub) for sub in closed[key]]
    if "properties" in closed and "additionalProperties" not in closed and not composed:
        closed["additionalProperties"] = False
    return closed


def _closed_document(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The contract with its component schemas closed; refs from answer schemas resolve here."""
    document = dict(spec)
    components = dict(spec.get("components", {}))
    components["schemas"] = {
        name: _closed_schema(schema) for name, schema in components.get("schemas", {}).items()
    }
    document["components"] = components
    return document


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


class ServedAnswersCheck:
    """An observer for `bot.devtools.emulator.observe`: checks every answer an emulator sends
    against the contract (closed), whoever the client is, and collects what departs in
    `violations`. Only answers are checked: tests send requests outside the contract on purpose."""

    def __init__(self, validator: ContractValidator | None = None) -> None:
        # Faults injected into the emulator answer 429 and 503 as Infobip's gateway does.
        self.validator = validator or ContractValidator(gateway_statuses=True)
        self.violations: list[str] = []
        self.answers = 0

    def __call__(self, exchange: Exchange) -> None:
        self.answers += 1
        if exchange.method == "HEAD":
            return  # a GET's answer without its body: nothing here to hold to a schema
        url = f"http://emulator{exchange.path}" + (f"?{exchange.query}" if exchange.query else "")
        request = httpx.Request(exchange.method, url)
        response = httpx.Response(
            exchange.status, headers=exchange.headers, content=exchange.body, request=request
        )
        label = f"{exchange.method} {exchange.path} -> {exchange.status}"
        problems = self.validator.check_response(request, response)
        self.violations.extend(f"{label}: {problem}" for problem in problems)
