"""The one command grammar: tokenizer, parser and help text for Slack `/conv` and the CLI.

Every failure is an InvalidInput with a sentence a person can act on and, once the subcommand is
known, its usage line. Nothing else may escape, whatever the text: the Slack listener shows
`str(error)` and must never see a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bot.commands.spec import (
    ID_RE,
    LIST_LIMIT_MAX,
    REASON_MAX,
    SLACK_ONLY,
    SUBCOMMANDS,
    AssignCommand,
    CloseCommand,
    Command,
    CreateCommand,
    DigestCommand,
    EscalateCommand,
    EscalationsCommand,
    HelpCommand,
    ListCommand,
    OncallCommand,
    RouteCommand,
    SchedulesCommand,
    ShowCommand,
    TagCommand,
    TakeCommand,
    UnassignCommand,
    UntagCommand,
    UpdateCommand,
)
from bot.errors import InvalidInput
from bot.identifiers import CONFIG_NAME
from bot.models import (
    BAD_CHARACTERS,
    SUMMARY_MAX,
    TAG_MAX,
    TAG_NAME,
    TAGS_PER_COMMAND,
    TOPIC_MAX,
    VALUES_PER_FILTER,
    Channel,
    OrderBy,
    Priority,
    Status,
    too_many_tags,
)

__all__ = [
    "HELP_SECTIONS",
    "USAGE",
    "agent_ref",
    "conversation_id",
    "help_text",
    "parse",
    "parse_tokens",
    "split",
    "synopsis",
    "tag_name",
    "tokenize",
]

USAGE: dict[str, str] = {
    "create": 'create <topic words> [summary:"…"] [priority:P] [status:S] [channel:C] [queue:Q]'
    " [agent:A] [#tag …]",
    "list": "list [status:S[,S]] [priority:P[,P]] [queue:Q[,Q]] [agent:ID|me|none] [tag:T[,T]]"
    " [channel:C] [since:2h|3d|2026-11-01] [sort:FIELD[:asc|desc]] [limit:N] [page:N]",
    "show": "show <id>",
    "update": 'update <id> [topic:"…"] [summary:"…"] [status:S] [priority:P] [queue:Q]',
    "assign": "assign <id> <name|@name|e-mail|agent-id|me>",
    "take": "take <id>",
    "unassign": "unassign <id>",
    "route": "route <id>",
    "tag": "tag <id> <tag> [<tag> …]",
    "untag": "untag <id> <tag> [<tag> …]",
    "close": "close <id>",
    "digest": "digest [name]",
    "schedules": "schedules",
    "escalate": "escalate <id> [policy:NAME] [reason …]",
    "oncall": 'oncall [schedule] [at:"2026-12-25 03:00"]',
    "escalations": "escalations",
    "help": "help [subcommand]",
}

AT_YEARS = (1970, 9998)  # room for any time zone's offset when the surface makes `at:` aware
PAGE_MAX = 100_000  # bounds int() on user digits; 100k pages of 100 is deeper than anyone pages
SINCE_MAX = timedelta(days=3650)
NAME_MAX = 255  # queue and agent references

_M = TypeVar("_M", bound=BaseModel)
_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")
Convert = Callable[[str, datetime], object]
Builder = Callable[[list[str], datetime], Command]

# --- tokenizer ---------------------------------------------------------------------------------

# Slack turns typed quotes into “smart” ones and clients slip in zero-width characters.
_NORMALISE = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u200b": None, "\ufeff": None}
)
_NON_SPACE = re.compile(r"\S")
_BREAK = re.compile(r'[\s"]')
# Bounded so a long token full of quotes cannot make the prefix check quadratic.
_KEY_PREFIX = re.compile(r"[A-Za-z]{1,20}:")


def tokenize(text: str) -> list[str]:
    """Split on whitespace; `"…"` groups words at a token's start or right after `key:`."""
    text = text.translate(_NORMALISE)
    tokens: list[str] = []
    position = 0
    while found := _NON_SPACE.search(text, position):
        token, position = _read_token(text, found.start())
        tokens.append(token)
    return tokens


def _read_token(text: str, start: int) -> tuple[str, int]:
    parts: list[str] = []
    i = start
    while i < len(text) and not text[i].isspace():
        if text[i] == '"' and (i == start or _KEY_PREFIX.fullmatch(text, start, i)):
            end = text.find('"', i + 1)
            if end < 0:
                raise InvalidInput('A double quote (") is not closed; close it or remove it.')
            parts.append(text[i + 1 : end])
            i = end + 1
        else:
            # A quote inside a word (5" screen) is just a character.
            stop = _BREAK.search(text, i + 1)
            end = stop.start() if stop else len(text)
            parts.append(text[i:end])
            i = end
    return "".join(parts), i


# --- entry points ------------------------------------------------------------------------------


def parse(text: str, *, now: datetime | None = None) -> Command:
    """Parse what was typed after `/conv` (or a whole CLI line)."""
    return parse_tokens(split(text), now=now)


def split(text: str) -> list[str]:
    """`tokenize`, whose complaint about an open quote carries the named command's usage."""
    try:
        return tokenize(text)
    except InvalidInput as error:
        words = text.split(None, 1)
        usage = USAGE.get(words[0].lower()) if words else None
        raise InvalidInput(error.message, usage=usage) from None


def parse_tokens(tokens: Sequence[str], *, now: datetime | None = None) -> Command:
    """Parse words already split (by `tokenize` or by the shell; a word may contain spaces)."""
    words = [word for word in tokens if word.strip()]
    if not words:
        return HelpCommand()
    name = words[0].strip().lower()
    if name not in _GRAMMAR:
        raise InvalidInput(_unknown_command(words[0]))
    try:
        return _GRAMMAR[name](words[1:], _clock(now))
    except InvalidInput as error:
        raise InvalidInput(error.message, usage=USAGE[name]) from None
    except ValidationError as error:
        raise InvalidInput(_readable(error), usage=USAGE[name]) from None


def _clock(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _readable(error: ValidationError) -> str:
    # A backstop: the converters should have refused the value first with a better sentence.
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return f"Invalid {where}: {first['msg'].rstrip('.')}."


# --- messages ----------------------------------------------------------------------------------


def _show(word: str, width: int = 40) -> str:
    """A user's word, shortened and with invisible characters made visible, for a message."""
    short = word if len(word) <= width else word[: width - 1] + "…"
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in short)


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    guesses = difflib.get_close_matches(word.lower()[:40], list(choices), n=1)
    return guesses[0] if guesses else None


def _unknown_command(word: str) -> str:
    guess = _suggest(word, SUBCOMMANDS)
    hint = f" Did you mean `{guess}`?" if guess else ""
    return f"Unknown command '{_show(word)}'.{hint} Commands: {', '.join(SUBCOMMANDS)}."


def _unexpected(name: str, word: str, options: dict[str, _Option]) -> InvalidInput:
    if not options:
        return InvalidInput(f"Unexpected '{_show(word)}': `{name}` takes {_TAKES[name]}.")
    key, colon, _ = word.partition(":")
    guess = _suggest(key, options) if colon else None
    hint = f" Did you mean `{guess}:`?" if guess else ""
    listing = ", ".join(f"{option}:" for option in options)
    return InvalidInput(f"Unexpected '{_show(word)}' for `{name}`.{hint} Options: {listing}.")


_TAKES = {
    "show": "only a conversation id",
    "take": "only a conversation id",
    "unassign": "only a conversation id",
    "route": "only a conversation id",
    "close": "only a conversation id",
}

# --- values ------------------------------------------------------------------------------------

# Spaces allowed: a name ("Ben Kovac") may come as several words or in quotes.
_AGENT = re.compile(rf"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{{1,{NAME_MAX}}}")
_DIGITS = re.compile(r"[0-9]{1,9}")


def _dedupe(items: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(items))


def _text(label: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"The {label} cannot be empty.")
    if len(value) > limit:
        raise InvalidInput(f"The {label} is {len(value)} characters long; the limit is {limit}.")
    if BAD_CHARACTERS.search(value):
        raise InvalidInput(f"The {label} contains a control character; remove it.")
    return value


def _enum(enum: type[_E], value: str) -> _E:
    member = enum.__members__.get(value.strip().upper().replace("-", "_").replace(" ", "_"))
    if member is None:
        label, allowed = enum.__name__.lower(), ", ".join(enum.__members__)
        raise InvalidInput(f"Unknown {label} '{_show(value)}'. Use one of: {allowed}.")
    return member


def _items(value: str) -> list[str]:
    items = _dedupe(item.strip() for item in value.split(",") if item.strip())
    if not items:
        raise InvalidInput(f"'{_show(value)}' holds no values; separate values with commas.")
    return items


def conversation_id(value: str) -> str:
    if not ID_RE.fullmatch(value):
        raise InvalidInput(
            f"'{_show(value)}' is not a conversation id: ids are up to 255 letters, digits,"
            " '.', '_', ':' or '-', starting with a letter or digit."
        )
    return value


def tag_name(value: str) -> str:
    name = value.removeprefix("#")
    if not TAG_NAME.fullmatch(name):
        # _show makes invisible characters visible, which the shared rule's message does not.
        raise InvalidInput(
            f"Tag '{_show(name)}' is not valid: use 1-{TAG_MAX} letters, digits, '.', '_' or '-'."
        )
    return name


def agent_ref(value: str) -> str:
    """`me`, or an agent's name, `@name`, e-mail, id or Slack mention (resolved by the service)."""
    value = " ".join(value.split())
    if value.lower() == "me":
        return "me"
    if not _AGENT.fullmatch(value):
        raise InvalidInput(
            f"'{_show(value)}' is not an agent: give `me`, a name, `@name`, an e-mail or an"
            f" agent id (up to {NAME_MAX} characters)."
        )
    return value


# --- option converters: (value, now) -> value for the command model ----------------------------


def _one(enum: type[_E]) -> Convert:
    return lambda value, _now: _enum(enum, value)


def _many(enum: type[_E]) -> Convert:
    return lambda value, _now: _dedupe(_enum(enum, item) for item in _items(value))


def _topic(value: str, _now: datetime) -> str:
    return _text("topic", value, TOPIC_MAX)


def _summary(value: str, _now: datetime) -> str:
    return _text("summary", value, SUMMARY_MAX)


def _queue(value: str, _now: datetime) -> str:
    return _text("queue", value, NAME_MAX)


def _queues(value: str, now: datetime) -> list[str]:
    items = _items(value)
    if len(items) > VALUES_PER_FILTER:
        raise InvalidInput(
            f"{len(items)} queues are more than one list may filter on: the limit is"
            f" {VALUES_PER_FILTER}."
        )
    return [_queue(item, now) for item in items]


def _agent(value: str, _now: datetime) -> str:
    return agent_ref(value)


def _list_agent(value: str, _now: datetime) -> str:
    return "none" if value.lower() == "none" else agent_ref(value)


def _tags(value: str, _now: datetime) -> list[str]:
    return _counted_tags(tag_name(item) for item in _items(value))


def _counted_tags(names: Iterable[str]) -> list[str]:
    """Distinct tags, at most TAGS_PER_COMMAND of them: each costs backend calls."""
    tags = _dedupe(names)
    if len(tags) > TAGS_PER_COMMAND:
        raise InvalidInput(too_many_tags(len(tags)) + ".")
    return tags


def _oncall_name(label: str, section: str, value: str) -> str:
    if not CONFIG_NAME.fullmatch(value):
        raise InvalidInput(
            f"'{_show(value)}' is not a {label} name: names are 1-64 letters, digits, '-' or"
            f" '_', as under `oncall.{section}:` in convbot.yml."
        )
    return value


def _policy(value: str, _now: datetime) -> str:
    return _oncall_name("policy", "policies", value)


def _new_status(value: str, _now: datetime) -> Status:
    status = _enum(Status, value)
    if status is Status.CLOSED:
        raise InvalidInput(
            "A new conversation cannot start CLOSED. Use one of: OPEN, WAITING, SOLVED."
        )
    return status


def _bounded(label: str, high: int) -> Convert:
    def convert(value: str, _now: datetime) -> int:
        number = int(value) if _DIGITS.fullmatch(value) else 0
        if not 1 <= number <= high:
            raise InvalidInput(
                f"`{label}:` must be a whole number from 1 to {high}, not '{_show(value)}'."
            )
        return number

    return convert


# --- since: and sort: --------------------------------------------------------------------------

_RELATIVE = re.compile(r"([0-9]{1,7})([mhdw])", re.IGNORECASE)
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def _since(value: str, now: datetime) -> datetime:
    relative = _RELATIVE.fullmatch(value)
    moment = _ago(int(relative[1]), relative[2].lower(), now) if relative else _absolute(value)
    if moment > now:
        raise InvalidInput(f"`since:{_show(value)}` is in the future.")
    if now - moment > SINCE_MAX:
        raise InvalidInput(f"`since:` can go back at most {SINCE_MAX.days} days.")
    return moment


def _ago(count: int, unit: str, now: datetime) -> datetime:
    if count < 1:
        raise InvalidInput("`since:` must count at least 1, e.g. `since:1h`.")
    age = count * _UNITS[unit]
    # Checked before subtracting: a huge age would overflow datetime rather than fail politely.
    if age > SINCE_MAX:
        raise InvalidInput(f"`since:` can go back at most {SINCE_MAX.days} days.")
    return now - age


def _absolute(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.upper())
        # Without an offset it means UTC: the bot knows no user's time zone.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            "`since:` takes an age like `30m`, `2h`, `3d`, `1w` or a date like `2026-11-01`,"
            f" not '{_show(value)}'."
        ) from None


# --- at: ---------------------------------------------------------------------------------------

_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WALL_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})", re.IGNORECASE)


def _at(value: str, _now: datetime) -> datetime | None:
    """A naive wall time: only the surface knows the viewer's time zone. `now` is None."""
    if value.lower() == "now":
        return None
    found = _WALL_TIME.fullmatch(value)
    if found is None and _DATE_ONLY.fullmatch(value):
        # Most likely `at:2026-12-25 03:00` without quotes: the time became another word.
        raise InvalidInput(
            f"`at:{_show(value)}` needs a time too; put the date and time in quotes:"
            f' `at:"{_show(value)} 03:00"`.'
        )
    try:
        if found is None:
            raise ValueError(value)
        year, month, day, hour, minute = (int(part) for part in found.groups())
        moment = datetime(year, month, day, hour, minute)  # naive on purpose
    except ValueError:
        raise InvalidInput(
            '`at:` takes a local time as YYYY-MM-DD HH:MM, e.g. `at:"2026-12-25 03:00"` or'
            f" `at:2026-12-25T03:00`, or `at:now`; not '{_show(value)}'."
        ) from None
    low, high = AT_YEARS
    if not low <= moment.year <= high:
        raise InvalidInput(f"`at:` must be a time in the years {low} to {high}.")
    return moment


_SORT_FIELDS = {
    "created": "createdAt",
    "createdat": "createdAt",
    "updated": "updatedAt",
    "updatedat": "updatedAt",
    "closed": "closedAt",
    "closedat": "closedAt",
    "priority": "priority",
    "status": "status",
    "topic": "topic",
    "id": "id",
    "queue": "queueId",
    "queueid": "queueId",
    "agent": "agentId",
    "agentid": "agentId",
}
# Newest and most urgent first is what people want from these; alphabetical for the rest.
_DESC_FIRST = {"createdAt", "updatedAt", "closedAt", "priority"}


def _sort(value: str, _now: datetime) -> OrderBy:
    name, _, direction = value.partition(":")
    field = _SORT_FIELDS.get(name.strip().lower())
    if field is None:
        raise InvalidInput(
            f"Unknown sort field '{_show(name)}'. Use one of: created, updated, closed,"
            " priority, status, topic, id, queue, agent."
        )
    direction = direction.strip().lower() or ("desc" if field in _DESC_FIRST else "asc")
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"Sort direction must be asc or desc, not '{_show(direction)}'.")
    return OrderBy.model_validate({"field": field, "direction": direction})


# --- option tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Option:
    field: str  # the command model's field
    convert: Convert
    example: str


_CREATE_OPTIONS = {
    "summary": _Option("summary", _summary, 'summary:"what happened"'),
    "priority": _Option("priority", _one(Priority), "priority:high"),
    "status": _Option("status", _new_status, "status:waiting"),
    "channel": _Option("channel", _one(Channel), "channel:whatsapp"),
    "queue": _Option("queue", _queue, "queue:billing"),
    "agent": _Option("agent", _agent, "agent:me"),
}
_LIST_OPTIONS = {
    "status": _Option("statuses", _many(Status), "status:open,waiting"),
    "priority": _Option("priorities", _many(Priority), "priority:high,urgent"),
    "queue": _Option("queues", _queues, "queue:billing"),
    "agent": _Option("agent", _list_agent, "agent:me"),
    "tag": _Option("tags", _tags, "tag:vip"),
    "channel": _Option("channel", _one(Channel), "channel:sms"),
    "since": _Option("since", _since, "since:3d"),
    "sort": _Option("sort", _sort, "sort:updated:desc"),
    "limit": _Option("limit", _bounded("limit", LIST_LIMIT_MAX), "limit:50"),
    "page": _Option("page", _bounded("page", PAGE_MAX), "page:2"),
}
_UPDATE_OPTIONS = {
    "topic": _Option("topic", _topic, 'topic:"new topic"'),
    "summary": _Option("summary", _summary, 'summary:"what happened"'),
    "status": _Option("status", _one(Status), "status:solved"),
    "priority": _Option("priority", _one(Priority), "priority:urgent"),
    "queue": _Option("queue", _queue, "queue:billing"),
}
_ESCALATE_OPTIONS = {
    "policy": _Option("policy", _policy, "policy:sev1"),
}
_ONCALL_OPTIONS = {
    "at": _Option("at", _at, 'at:"2026-12-25 03:00"'),
}
_NO_OPTIONS: dict[str, _Option] = {}


def _split(
    words: list[str], options: dict[str, _Option], now: datetime
) -> tuple[dict[str, object], list[str]]:
    """Converted options by model field, and the words that are not options, in order."""
    values: dict[str, object] = {}
    rest: list[str] = []
    for word in words:
        key, colon, value = word.partition(":")
        option = options.get(key.lower()) if colon else None
        if option is None:
            rest.append(word)
        elif option.field in values:
            raise InvalidInput(f"Option `{key.lower()}:` is given twice; give it once.")
        elif not value.strip():
            raise InvalidInput(f"Option `{key.lower()}:` needs a value, e.g. `{option.example}`.")
        else:
            values[option.field] = option.convert(value.strip(), now)
    return values, rest


def _take_id(name: str, rest: list[str]) -> tuple[str, list[str]]:
    if not rest:
        raise InvalidInput(f"`{name}` needs a conversation id.")
    return conversation_id(rest[0]), rest[1:]


# --- one builder per subcommand ----------------------------------------------------------------


def _create(words: list[str], now: datetime) -> CreateCommand:
    values, rest = _split(words, _CREATE_OPTIONS, now)
    is_tag = [len(word) > 1 and word.startswith("#") for word in rest]
    tags = _counted_tags(tag_name(word) for word, tag in zip(rest, is_tag, strict=True) if tag)
    topic = " ".join(word for word, tag in zip(rest, is_tag, strict=True) if not tag).strip()
    if not topic:
        raise InvalidInput("`create` needs a topic, e.g. `create Customer can't log in`.")
    return CreateCommand.model_validate({**values, "topic": _topic(topic, now), "tags": tags})


def _list(words: list[str], now: datetime) -> ListCommand:
    values, rest = _split(words, _LIST_OPTIONS, now)
    if rest:
        raise _unexpected("list", rest[0], _LIST_OPTIONS)
    return ListCommand.model_validate(values)


def _update(words: list[str], now: datetime) -> UpdateCommand:
    values, rest = _split(words, _UPDATE_OPTIONS, now)
    conversation, extra = _take_id("update", rest)
    if extra:
        raise _unexpected("update", extra[0], _UPDATE_OPTIONS)
    if not values:
        raise InvalidInput(
            "`update` needs at least one change: topic:, summary:, status:, priority: or queue:."
        )
    return UpdateCommand.model_validate({**values, "id": conversation})


def _assign(words: list[str], now: datetime) -> AssignCommand:
    conversation, extra = _take_id("assign", words)
    if not extra:
        raise InvalidInput(
            "`assign` needs an agent after the conversation id: a name, `@name`, an e-mail,"
            " an agent id or `me`."
        )
    # The rest is the agent: `assign 8f3a2c4e Ben Kovac` needs no quotes.
    return AssignCommand(id=conversation, agent=agent_ref(" ".join(extra)))


def _id_only(name: str, model: type[_M]) -> Callable[[list[str], datetime], _M]:
    def build(words: list[str], now: datetime) -> _M:
        conversation, extra = _take_id(name, words)
        if extra:
            raise _unexpected(name, extra[0], _NO_OPTIONS)
        return model.model_validate({"id": conversation})

    return build


def _tagging(name: str, model: type[_M]) -> Callable[[list[str], datetime], _M]:
    def build(words: list[str], now: datetime) -> _M:
        conversation, names = _take_id(name, words)
        if not names:
            raise InvalidInput(f"`{name}` needs at least one tag name after the conversation id.")
        tags = _counted_tags(tag_name(word) for word in names)
        return model.model_validate({"id": conversation, "tags": tags})

    return build


def _digest(words: list[str], now: datetime) -> DigestCommand:
    if len(words) > 1:
        raise InvalidInput(f"Unexpected '{_show(words[1])}': `digest` takes one digest name.")
    if not words:
        return DigestCommand()
    if not CONFIG_NAME.fullmatch(words[0]):
        raise InvalidInput(
            f"'{_show(words[0])}' is not a digest name: names are 1-64 letters, digits, '-'"
            " or '_', as under `digests:` in convbot.yml."
        )
    return DigestCommand(name=words[0])


def _schedules(words: list[str], now: datetime) -> SchedulesCommand:
    if words:
        raise InvalidInput(f"Unexpected '{_show(words[0])}': `schedules` takes nothing more.")
    return SchedulesCommand()


def _escalate(words: list[str], now: datetime) -> EscalateCommand:
    values, rest = _split(words, _ESCALATE_OPTIONS, now)
    conversation, extra = _take_id("escalate", rest)
    # The reason is free text: a `key:value` word in it is just a word.
    reason = _text("reason", " ".join(extra), REASON_MAX) if extra else None
    return EscalateCommand.model_validate({**values, "id": conversation, "reason": reason})


def _oncall(words: list[str], now: datetime) -> OncallCommand:
    values, rest = _split(words, _ONCALL_OPTIONS, now)
    for word in rest:
        if ":" in word:
            raise _unexpected("oncall", word, _ONCALL_OPTIONS)
    if len(rest) > 1:
        raise InvalidInput(
            f"Unexpected '{_show(rest[1])}': `oncall` takes one schedule name and `at:`,"
            " e.g. `oncall primary at:now`."
        )
    schedule = _oncall_name("schedule", "schedules", rest[0]) if rest else None
    return OncallCommand.model_validate({**values, "schedule": schedule})


def _escalations(words: list[str], now: datetime) -> EscalationsCommand:
    if words:
        raise InvalidInput(f"Unexpected '{_show(words[0])}': `escalations` takes nothing more.")
    return EscalationsCommand()


def _help(words: list[str], now: datetime) -> HelpCommand:
    if len(words) > 1:
        raise InvalidInput(f"Unexpected '{_show(words[1])}': `help` takes one command name.")
    return HelpCommand(subcommand=_subcommand(words[0]) if words else None)


def _subcommand(word: str) -> str:
    name = word.strip().lower()
    if name not in SUBCOMMANDS:
        raise InvalidInput(_unknown_command(word))
    return name


_GRAMMAR: dict[str, Builder] = {
    "create": _create,
    "list": _list,
    "show": _id_only("show", ShowCommand),
    "update": _update,
    "assign": _assign,
    "take": _id_only("take", TakeCommand),
    "unassign": _id_only("unassign", UnassignCommand),
    "route": _id_only("route", RouteCommand),
    "tag": _tagging("tag", TagCommand),
    "untag": _tagging("untag", UntagCommand),
    "close": _id_only("close", CloseCommand),
    "digest": _digest,
    "schedules": _schedules,
    "escalate": _escalate,
    "oncall": _oncall,
    "escalations": _escalations,
    "help": _help,
}

# --- help --------------------------------------------------------------------------------------

# Per command: the one line the overview shows, the explanation and the examples `help <command>`
# shows (with the usage line).
_HELP: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "create": (
        "Open a new conversation.",
        "Opens a new conversation. The free words are its topic (up to 1000 characters);"
        " `key:value` words set options and `#words` add tags. Priority is URGENT, HIGH,"
        " NORMAL or LOW; status is OPEN, WAITING or SOLVED. Put values with spaces in quotes.",
        (
            "create Customer can't log in priority:high #login",
            'create Refund request summary:"Charged twice for order 1234" queue:billing',
        ),
    ),
    "list": (
        "List open and waiting conversations, most urgent first.",
        "Lists the conversations that match every filter given, the most urgent first (URGENT,"
        " HIGH, NORMAL, LOW) and the oldest first within each priority. Separate several values"
        " with commas; `agent:me` is you and `agent:none` is unassigned. `since:` takes an age"
        " (`30m`, `2h`, `3d`, `1w`) or a date; `sort:` orders by created, updated, closed,"
        " priority, status, topic, id, queue or agent instead, optionally followed by `:asc` or"
        " `:desc`."
        f" `limit:` is 1-{LIST_LIMIT_MAX} and `page:` counts from 1.",
        (
            "list status:open,waiting priority:urgent agent:me",
            "list since:3d sort:updated limit:50",
        ),
    ),
    "show": (
        "Show one conversation.",
        "Shows one conversation with its details and tags.",
        ("show 8f3a2c1d",),
    ),
    "update": (
        "Change its topic, summary, status, priority or queue.",
        "Changes a conversation's topic, summary, status, priority or queue; give at least one."
        " Put values with spaces in quotes.",
        ("update 8f3a2c1d priority:urgent status:waiting", 'update 8f3a2c1d topic:"Login fails"'),
    ),
    "assign": (
        "Give a conversation to an agent.",
        "Assigns a conversation to an agent, named the way you would: their name or first name"
        " (case does not matter), `@name` or a Slack mention, their e-mail, their agent id, or"
        " `me` for yourself. An unknown name suggests the closest agents.",
        ("assign 8f3a2c1d me", "assign 8f3a2c1d @ben", "assign 8f3a2c1d Ben Kovac"),
    ),
    "take": (
        "Take a conversation yourself.",
        "Assigns a conversation to you, the same as `assign <id> me`.",
        ("take 8f3a2c1d",),
    ),
    "unassign": (
        "Remove its agent.",
        "Removes the agent from a conversation.",
        ("unassign 8f3a2c1d",),
    ),
    "route": (
        "Let the routing rules pick its queue.",
        "Runs the routing rules on a conversation, which picks its queue.",
        ("route 8f3a2c1d",),
    ),
    "tag": (
        "Add tags.",
        f"Adds tags to a conversation. A tag is 1-{TAG_MAX} letters, digits, `.`, `_` or `-`;"
        f" a leading `#` is ignored; at most {TAGS_PER_COMMAND} tags per command.",
        ("tag 8f3a2c1d billing vip",),
    ),
    "untag": (
        "Remove tags.",
        "Removes tags from a conversation.",
        ("untag 8f3a2c1d vip",),
    ),
    "close": (
        "Close a conversation for good.",
        "Closes a conversation. A closed conversation can no longer be changed.",
        ("close 8f3a2c1d",),
    ),
    "digest": (
        "Post a digest of urgent open work here, now.",
        "Posts a digest of open high-priority conversations in this channel now: the one named"
        " under `digests:` in convbot.yml, else the first configured one (or URGENT and HIGH,"
        " open and waiting, when none is configured). In a shell, `convbot digest <name>` posts"
        " a configured digest to its channel and `--dry-run` prints it instead.",
        ("digest", "digest support-high"),
    ),
    "schedules": (
        "Each configured digest: when it runs, how it last went.",
        "Lists every configured digest: its channel, when it runs, its last and next run and"
        " its last error.",
        ("schedules",),
    ),
    "escalate": (
        "Page whoever is on call until someone acknowledges.",
        "Escalates a conversation: raises it to URGENT, tags it `escalated` and pages whoever"
        " is on call, step by step, until someone acknowledges. `policy:` picks one under"
        " `oncall.policies:` in convbot.yml (else the default one); the other words are the"
        f" reason, up to {REASON_MAX} characters.",
        ("escalate 8f3a2c1d", 'escalate 8f3a2c1d policy:sev1 "Checkout down for everyone"'),
    ),
    "oncall": (
        "Who is on call, now or at a given time.",
        "Shows who is on call for a schedule under `oncall.schedules:` in convbot.yml, or for"
        " every schedule: now, or at the time `at:` gives, a date and time in your time zone"
        " (YYYY-MM-DD HH:MM, in quotes because of the space, or `now`).",
        ("oncall", 'oncall primary at:"2026-12-25 03:00"'),
    ),
    "escalations": (
        "The pages nobody has acknowledged yet.",
        "Lists the escalations still running, that nobody has acknowledged yet.",
        ("escalations",),
    ),
    "help": (
        "This list, or one command's options and examples.",
        "Lists the commands, or explains one of them.",
        ("help", "help list"),
    ),
}

# The overview's sections, in the order a support team reaches for them.
HELP_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Work on conversations",
        (
            "create",
            "list",
            "show",
            "update",
            "assign",
            "take",
            "unassign",
            "route",
            "tag",
            "untag",
            "close",
        ),
    ),
    ("On call", ("escalate", "oncall", "escalations")),
    ("Digests", ("digest", "schedules")),
    ("Help", ("help",)),
)
SLACK_ONLY_MARK = "(Slack only)"

# A `[key:…]` option group in a usage line, with at most one nested `[…]` inside.
_OPTION_GROUP = re.compile(r" ?\[[a-z]+:(?:[^\[\]]|\[[^\[\]]*\])*\]")


def synopsis(name: str) -> str:
    """The usage line without its `key:value` options, which `help <command>` lists."""
    usage = USAGE[name]
    short = _OPTION_GROUP.sub("", usage)
    return short if short == usage else short + " [options]"


def help_text(subcommand: str | None = None) -> str:
    """The commands by section, one line each; or one command's usage, explanation, examples."""
    if subcommand is None:
        return _overview()
    try:
        name = _subcommand(subcommand)
    except InvalidInput as error:
        raise InvalidInput(error.message, usage=USAGE["help"]) from None
    _, explanation, examples = _HELP[name]
    usage = f"`{USAGE[name]}` {SLACK_ONLY_MARK}" if name in SLACK_ONLY else f"`{USAGE[name]}`"
    shown = [f"  `{example}`" for example in examples]
    return "\n".join([usage, explanation, "Examples:", *shown])


def _overview() -> str:
    lines: list[str] = []
    for heading, names in HELP_SECTIONS:
        # A section that works only in Slack says so once, in its heading.
        whole = all(name in SLACK_ONLY for name in names)
        if lines:
            lines.append("")
        lines.append(f"*{heading}* {SLACK_ONLY_MARK}" if whole else f"*{heading}*")
        for name in names:
            mark = f" {SLACK_ONLY_MARK}" if name in SLACK_ONLY and not whole else ""
            lines.append(f"  `{synopsis(name)}` — {_HELP[name][0]}{mark}")
    return "\n".join(lines)
