"""What the emulator reads from a request: JSON bodies into models, query strings into a
ConversationFilter, paging and filter parameters, each refused with the contract's 400 envelope
when it is not what the contract allows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.datastructures import QueryParams
from starlette.requests import Request

from bot.devtools.emulator.answers import BAD_BODY, bad
from bot.field_rules import LIMIT_MAX, SUMMARY_MAX, TOPIC_MAX
from bot.models import Channel, ConversationCreate, ConversationFilter, OrderBy, Priority, Status
from bot.timestamps import parse_timestamp

DEFAULT_LIMIT = 10  # the contract's default page size
DEFAULT_ORDER = "id:ASC"  # "If an order is not given, the default order id:asc will be applied."
ID_MAX = 255  # the contract's maxLength for queueId and agentId
PAGE_SIZE_NEGATIVE = "Page size has to be bigger or equal to zero!"  # the contract's example
# The contract shows no text for these; they follow the pattern of the one above.
PAGE_SIZE_ZERO = "Page size has to be bigger than zero!"
PAGE_SIZE_TOO_BIG = f"Page size has to be smaller or equal to {LIMIT_MAX}!"
PAGE_NEGATIVE = "Page number has to be bigger or equal to zero!"
DATE_FILTERS = (
    "createdAfter",
    "createdBefore",
    "updatedAfter",
    "updatedBefore",
    "closedAfter",
    "closedBefore",
)

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=Enum)
T = TypeVar("T", bound=BaseModel)


class NewConversation(BaseModel):
    """The body of POST /conversations. The contract's ConversationApiModel requires nothing:
    `{}` makes an OPEN, NORMAL conversation without a topic."""

    topic: str | None = Field(default=None, max_length=TOPIC_MAX)
    summary: str | None = Field(default=None, max_length=SUMMARY_MAX)
    status: Status = Status.OPEN
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.NO_CHANNEL
    queueId: str | None = Field(default=None, max_length=ID_MAX)
    agentId: str | None = Field(default=None, max_length=ID_MAX)

    @field_validator("status")
    @classmethod
    def _not_closed(cls, value: Status) -> Status:
        # The backend would store it without a closedAt; ConversationCreate refuses it too.
        if value is Status.CLOSED:
            raise ValueError("a new conversation cannot start CLOSED")
        return value

    def create(self) -> ConversationCreate:
        """What the backend needs, validated above. ConversationCreate requires a topic (the
        service's rule for people typing commands, not the API's), so it is built without
        re-validation: a topic-less create stays possible, as the contract allows."""
        return ConversationCreate.model_construct(
            _fields_set=self.model_fields_set, **self.model_dump(), tags=[]
        )


async def body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:  # empty, not JSON, not UTF-8
        raise bad(BAD_BODY) from None
    if not isinstance(data, dict):
        raise bad(BAD_BODY)
    return data


def known(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields our model has. Others (read-only ones like id, ones we do not model) are
    ignored, as the API ignores what it does not take."""
    return {key: value for key, value in data.items() if key in model.model_fields}


def model(kind: type[M], data: Mapping[str, Any]) -> M:
    try:
        return kind.model_validate(known(kind, data))
    except ValidationError as error:
        raise bad(BAD_BODY, validation_errors(error)) from None


def validation_errors(error: ValidationError) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        found.setdefault(where, []).append(problem["msg"])
    return found


def conversation_filter(params: QueryParams) -> ConversationFilter:
    limit, page = paging(params)
    try:
        return ConversationFilter(
            conversationIds=params.getlist("conversationIds"),
            statuses=enum_values(params, "status", Status),
            priorities=enum_values(params, "priority", Priority),
            queueIds=params.getlist("queueIds"),
            tags=params.getlist("tagNames"),
            agentId=params.get("agentId"),
            orderBy=_order_by(params.get("orderBy")),
            page=page,
            limit=limit,
            **_dates(params),
        )
    except ValidationError as error:
        raise bad("Invalid request parameters.", validation_errors(error)) from None


def _dates(params: QueryParams) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for name in DATE_FILTERS:
        found.update(_date(params, name))
    return found


def timestamp(params: QueryParams, name: str) -> datetime | None:
    """A date parameter (Infobip's `+0000` offsets too), or None when it is not given."""
    return _date(params, name).get(name)


def _date(params: QueryParams, name: str) -> dict[str, datetime]:
    if name not in params:
        return {}
    try:
        value = parse_timestamp(params[name])
    except ValueError:
        value = None
    if not isinstance(value, datetime):
        raise bad(f"Invalid value '{params[name]}' for '{name}'.")
    return {name: value}


def enum_values(params: QueryParams, name: str, kind: type[E]) -> list[E]:
    """The contract's enum parameters take one value each."""
    values = params.getlist(name)
    if len(values) > 1:
        raise bad(f"Parameter '{name}' takes one value.")
    try:
        return [kind(value) for value in values]
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise bad(f"Invalid value '{values[0]}' for '{name}'; use one of {allowed}.") from None


def _order_by(text: str | None) -> OrderBy:
    if not text:
        return OrderBy(field="id", direction="asc")
    try:
        return OrderBy.parse(text)
    except ValidationError:
        raise bad(f"Invalid orderBy '{text}'.") from None


def paging(params: QueryParams) -> tuple[int, int]:
    limit = _integer(params, "limit", DEFAULT_LIMIT)
    page = _integer(params, "page", 0)
    if limit < 0:
        raise bad(PAGE_SIZE_NEGATIVE)
    if limit == 0:
        raise bad(PAGE_SIZE_ZERO)
    if limit > LIMIT_MAX:
        raise bad(PAGE_SIZE_TOO_BIG)
    if page < 0:
        raise bad(PAGE_NEGATIVE)
    return limit, page


def _integer(params: QueryParams, name: str, default: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise bad(f"Invalid value '{text}' for '{name}'.") from None


def unsupported(params: QueryParams, *names: str) -> None:
    """Filters the backend protocol cannot express: refuse them rather than ignore them."""
    for name in names:
        if name in params:
            raise bad(f"The emulator does not support the '{name}' filter.")


def boolean(params: QueryParams, name: str) -> None:
    """The contract types these parameters `boolean`: `true` or `false`, nothing else (an
    unknown word would otherwise match nothing, silently)."""
    for value in params.getlist(name):
        if value not in ("true", "false"):
            raise bad(f"Invalid value '{value}' for '{name}'; use true or false.")


def dates(
    items: Iterable[T], params: QueryParams, fields: Mapping[str, tuple[str, str]]
) -> list[T]:
    """Keep items whose date field is after (or before) the date given: `fields` maps a
    parameter (createdAfter, ...) to the item's field and "after" or "before"."""
    bounds: list[tuple[str, str, datetime]] = []
    for name, (field, side) in fields.items():
        for value in _date(params, name).values():
            bounds.append((field, side, value))
    return [item for item in items if all(_within(item, *bound) for bound in bounds)]


def _within(item: object, field: str, side: str, bound: datetime) -> bool:
    value = getattr(item, field)
    if not isinstance(value, datetime):
        return False
    return value > bound if side == "after" else value < bound


def ordered(
    items: Iterable[T], params: QueryParams, properties: Iterable[str]
) -> tuple[list[T], str]:
    """The items in the `orderBy` the query gives, and that order as the pagination shows it.
    The contract: "If an order is not given, the default order id:asc will be applied. Possible
    ordering fields are properties." (of the items' schema, `properties`)."""
    text = params.get("orderBy") or DEFAULT_ORDER
    field, _, direction = text.partition(":")
    direction = (direction or "asc").lower()
    if field not in properties or direction not in ("asc", "desc"):
        raise bad(f"Invalid orderBy '{text}'.")
    listed = list(items)
    present = [item for item in listed if getattr(item, field, None) is not None]
    absent = [item for item in listed if getattr(item, field, None) is None]
    present.sort(key=lambda item: _sort_key(getattr(item, field)), reverse=direction == "desc")
    return present + absent, f"{field}:{direction.upper()}"


def _sort_key(value: object) -> Any:
    if isinstance(value, Enum):
        return str(value.value)
    return value


def filtered(items: Iterable[T], params: QueryParams, fields: Mapping[str, str]) -> list[T]:
    """Keep items whose field equals one of the values given for its parameter."""
    wanted = {fields[name]: set(params.getlist(name)) for name in fields if name in params}
    return [
        item
        for item in items
        if all(_text(getattr(item, field)) in values for field, values in wanted.items())
    ]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)
