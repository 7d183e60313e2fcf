"""The create and edit modals, the placeholder shown while they load, and reading them back.

Every input's block_id and action_id are the same `FIELD_*` name, so `view.state.values`
reads as `values[field][field]` and an error for a field is keyed by that same name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    InputInteractiveElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.errors import InvalidInput
from bot.field_rules import SUMMARY_MAX, TOPIC_MAX
from bot.models import Channel, Conversation, Priority, Queue, Status
from bot.slack.blocks import limits
from bot.slack.blocks.card import label, priority_select
from bot.slack.blocks.mrkdwn import clip, md, plain, user_text

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=StrEnum)

TAGS_HINT = "space- or comma-separated, e.g. billing vip"
LOADING = ":hourglass_flowing_sand: Loading…"
# Slack's plain_text_input takes at most 3000 characters; the model allows longer summaries.
SUMMARY_INPUT_MAX = min(SUMMARY_MAX, limits.TEXT_INPUT)
ERROR_MAX = 300  # an inline error under an input: a sentence, not an essay
_TAG_SEPARATORS = re.compile(r"[\s,]+")

# The modals' callback_ids (what bot/slack/listeners/views.py answers) and their inputs.
CREATE_MODAL = "conv.create_modal"
EDIT_MODAL = "conv.edit_modal"
FIELD_TOPIC = "topic"
FIELD_SUMMARY = "summary"
FIELD_PRIORITY = "priority"
FIELD_STATUS = "status"
FIELD_CHANNEL = "channel"
FIELD_QUEUE = "queue"
FIELD_TAGS = "tags"


def loading_modal(title: str, callback_id: str) -> View:
    """Opened at once with the trigger_id (valid 3 s); the listener then calls views.update."""
    return View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, limits.VIEW_TITLE),
        close=plain("Cancel", limits.VIEW_TITLE),
        blocks=[SectionBlock(text=md(LOADING))],
    )


def problem_modal(title: str, problem: str) -> View:
    """What a modal shows instead of its form when it could not be filled in."""
    warning = ":warning: " + user_text(problem, limits.SECTION_TEXT - 20)
    return View(
        type="modal",
        title=plain(title, limits.VIEW_TITLE),
        close=plain("Close", limits.VIEW_TITLE),
        blocks=[SectionBlock(text=md(warning))],
    )


def create_modal(
    queues: Sequence[Queue] | None,
    *,
    private_metadata: str = "",
    topic: str | None = None,
    summary: str | None = None,
) -> View:
    """Topic, summary, priority, channel, queue and tags; `queues=None` while still loading.
    `topic` and `summary` prefill it (a message shortcut's message)."""
    blocks: list[Block] = [
        text_input(FIELD_TOPIC, "Topic", TOPIC_MAX, placeholder="What is it about?", initial=topic),
        text_input(
            FIELD_SUMMARY,
            "Summary",
            SUMMARY_INPUT_MAX,
            multiline=True,
            optional=True,
            initial=summary,
        ),
        _priority_input(Priority.NORMAL),
        _enum_input(FIELD_CHANNEL, "Channel", list(Channel), Channel.NO_CHANNEL),
        *_queue_blocks(queues, None),
        text_input(FIELD_TAGS, "Tags", None, optional=True, hint=TAGS_HINT),
    ]
    return View(
        type="modal",
        callback_id=CREATE_MODAL,
        title=plain("New conversation", limits.VIEW_TITLE),
        submit=plain("Create", limits.VIEW_TITLE),
        close=plain("Cancel", limits.VIEW_TITLE),
        blocks=blocks,
        private_metadata=private_metadata,
    )


def edit_modal(
    conversation: Conversation, queues: Sequence[Queue] | None, *, private_metadata: str
) -> View:
    """The editable fields, prefilled; `private_metadata` is the listener's EditRef JSON."""
    blocks: list[Block] = [
        ContextBlock(elements=[md(f"`{user_text(conversation.id, 255)}`")]),
        text_input(FIELD_TOPIC, "Topic", TOPIC_MAX, initial=conversation.topic),
        _summary_block(conversation),
        _enum_input(FIELD_STATUS, "Status", list(Status), conversation.status),
        _priority_input(conversation.priority),
        *_queue_blocks(queues, conversation.queueId),
    ]
    return View(
        type="modal",
        callback_id=EDIT_MODAL,
        title=plain("Edit conversation", limits.VIEW_TITLE),
        submit=plain("Save", limits.VIEW_TITLE),
        close=plain("Cancel", limits.VIEW_TITLE),
        blocks=blocks,
        private_metadata=private_metadata,
    )


def _summary_block(conversation: Conversation) -> Block:
    """The summary input; a summary longer than a Slack input holds is shown as a note instead.

    Prefilling a clipped copy would silently cut the summary when anything else is saved; a
    missing input is "no change" to `read_edit`, so the summary stays whole.
    """
    summary = conversation.summary or ""
    if len(summary) <= SUMMARY_INPUT_MAX:
        return text_input(
            FIELD_SUMMARY,
            "Summary",
            SUMMARY_INPUT_MAX,
            multiline=True,
            optional=True,
            initial=summary or None,
        )
    command = f'/conv update {user_text(conversation.id, 255)} summary:"…"'
    note = (
        f"*Summary*\nIt is {len(summary)} characters, more than a Slack form holds "
        f"({SUMMARY_INPUT_MAX}), so it is not editable here; change it with `{command}`."
    )
    return SectionBlock(text=md(note))


def _queue_blocks(queues: Sequence[Queue] | None, current: str | None) -> list[Block]:
    if queues is None:
        return [SectionBlock(text=md("*Queue*\n:hourglass_flowing_sand: Loading queues…"))]
    # An option value holds at most 150 characters; a longer id could not be sent back.
    usable = sorted((q for q in queues if len(q.id) <= limits.OPTION_VALUE), key=_by_name)
    if not usable:
        none = "*Queue*\nNo queues are configured, so there is none to choose."
        return [SectionBlock(text=md(none))]
    shown = usable[: limits.SELECT_OPTIONS]
    hint = None
    if len(usable) > len(shown):
        hint = f"Showing {len(shown)} of {len(usable)}; /conv update <id> queue:NAME sets any."
    options = [_option(queue.id, queue.name) for queue in shown]
    element = _select(FIELD_QUEUE, options, current)
    return [_input(FIELD_QUEUE, "Queue", element, optional=True, hint=hint)]


def _by_name(queue: Queue) -> str:
    return queue.name.casefold()


def _option(value: str, text: str) -> Option:
    return Option(value=value, text=plain(text, limits.OPTION_TEXT))


def _select(action_id: str, options: list[Option], initial: str | None) -> StaticSelectElement:
    # Slack rejects an initial_option that is not one of the options, so match by value.
    chosen = next((option for option in options if option.value == initial), None)
    placeholder = plain("Choose…", 150)
    return StaticSelectElement(
        action_id=action_id, placeholder=placeholder, options=options, initial_option=chosen
    )


def _priority_input(current: Priority) -> InputBlock:
    return _input(FIELD_PRIORITY, "Priority", priority_select(current, action_id=FIELD_PRIORITY))


def _enum_input(field: str, text: str, members: list[E], current: E) -> InputBlock:
    """A select over an enum (Channel has 32 members, within Slack's 100 options)."""
    options = [_option(member.value, label(member.value)) for member in members]
    return _input(field, text, _select(field, options, current.value))


def text_input(
    field: str,
    text: str,
    max_length: int | None,
    *,
    multiline: bool = False,
    optional: bool = False,
    initial: str | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
) -> InputBlock:
    element = PlainTextInputElement(
        action_id=field,
        multiline=multiline,
        max_length=max_length,
        initial_value=clip(initial, max_length or limits.TEXT_INPUT) if initial else None,
        placeholder=plain(placeholder, 150) if placeholder else None,
    )
    return _input(field, text, element, optional=optional, hint=hint)


def _input(
    field: str,
    text: str,
    element: InputInteractiveElement,
    *,
    optional: bool = False,
    hint: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=field,
        label=plain(text, 2000),
        element=element,
        optional=optional,
        hint=plain(hint, 2000) if hint else None,
    )


# --- reading a view_submission ------------------------------------------------------------------

_FIELD_OF_NAME = {  # model field → the input block that shows its error
    "topic": FIELD_TOPIC,
    "summary": FIELD_SUMMARY,
    "priority": FIELD_PRIORITY,
    "status": FIELD_STATUS,
    "channel": FIELD_CHANNEL,
    "queueId": FIELD_QUEUE,
    "tags": FIELD_TAGS,
}


def read_create(values: Mapping[str, Mapping[str, Any]] | None) -> dict[str, object]:
    """`view.state.values` of the create modal as ConversationCreate fields; empty ones left out."""
    state = _state(values)
    fields: dict[str, object] = {}
    for field, name in ((FIELD_TOPIC, "topic"), (FIELD_SUMMARY, "summary")):
        if text := _text(state, field):
            fields[name] = text
    _read_selects(state, fields, FIELD_PRIORITY, FIELD_CHANNEL, FIELD_QUEUE)
    if tags := _text(state, FIELD_TAGS):
        fields["tags"] = split_tags(tags)
    return fields


def read_edit(values: Mapping[str, Mapping[str, Any]] | None) -> dict[str, object]:
    """The edit modal as ConversationPatch fields; an input missing from the payload is no change.

    An input present but empty means "cleared": a cleared summary is removed (None), a cleared
    topic is kept as "" so validation says that a topic is required.
    """
    state = _state(values)
    fields: dict[str, object] = {}
    if _element(state, FIELD_TOPIC) is not None:
        fields["topic"] = _text(state, FIELD_TOPIC) or ""
    if _element(state, FIELD_SUMMARY) is not None:
        fields["summary"] = _text(state, FIELD_SUMMARY)
    _read_selects(state, fields, FIELD_STATUS, FIELD_PRIORITY, FIELD_QUEUE)
    return fields


def split_tags(text: str) -> list[str]:
    """`billing, #vip  billing` → `["billing", "vip"]`: order kept, duplicates and `#` dropped."""
    names = (word.removeprefix("#") for word in _TAG_SEPARATORS.split(text))
    return list(dict.fromkeys(name for name in names if name))


def _read_selects(state: Mapping[str, Any], fields: dict[str, object], *blocks: str) -> None:
    names = {block: name for name, block in _FIELD_OF_NAME.items()}
    for block in blocks:
        chosen = _selected(state, block)
        if chosen is not None:
            fields[names[block]] = chosen


def _broken() -> InvalidInput:
    return InvalidInput("That form arrived incomplete; open it again and resubmit.")


def _state(values: object) -> Mapping[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise _broken()
    return values


def _element(state: Mapping[str, Any], field: str) -> Mapping[str, Any] | None:
    """`state[field][field]`, or None when the payload lacks it."""
    block = state.get(field)
    if block is None:
        return None
    if not isinstance(block, Mapping):
        raise _broken()
    element = block.get(field)
    if element is None or isinstance(element, Mapping):
        return element
    raise _broken()


def _text(state: Mapping[str, Any], field: str) -> str | None:
    element = _element(state, field)
    value = None if element is None else element.get("value")
    if value is None:
        return None
    if not isinstance(value, str):
        raise _broken()
    return value.strip() or None


def _selected(state: Mapping[str, Any], field: str) -> str | None:
    element = _element(state, field)
    option = None if element is None else element.get("selected_option")
    if option is None:
        return None
    value = option.get("value") if isinstance(option, Mapping) else None
    if not isinstance(value, str):
        raise _broken()
    return value


def field_errors(model: type[M], fields: dict[str, object]) -> tuple[M | None, dict[str, str]]:
    """Validate; on failure, one sentence per input block for `response_action: "errors"`.

    An error for a field no input shows lands on the topic, which every modal has: Slack
    rejects errors keyed by a block_id the view does not contain.
    """
    try:
        return model.model_validate(fields), {}
    except ValidationError as error:
        sentences: dict[str, list[str]] = {}
        for problem in error.errors():
            loc = problem["loc"]
            name = str(loc[0]) if loc else ""
            block = _FIELD_OF_NAME.get(name, FIELD_TOPIC)
            sentences.setdefault(block, []).append(_sentence(name, problem))
        errors = {
            block: clip(" ".join(dict.fromkeys(found)), ERROR_MAX)
            for block, found in sentences.items()
        }
        return None, errors


def _sentence(name: str, problem: Mapping[str, Any]) -> str:
    kind = problem["type"]
    noun = "tags" if name == "tags" else name.removesuffix("Id")
    if name == "topic" and kind in ("missing", "string_too_short"):
        return "Give the conversation a topic."
    if kind == "string_too_long":
        length = len(str(problem.get("input", "")))
        limit = problem.get("ctx", {}).get("max_length")
        return f"The {noun} is {length} characters; the limit is {limit}."
    if kind == "value_error":  # our validators' sentences name their subject already
        text = str(problem["msg"]).removeprefix("Value error, ")
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
    if kind == "string_unicode":  # a lone surrogate, which JSON can carry and UTF-8 cannot
        return f"The {noun} contains a character that is not text; remove it."
    if kind == "enum":
        return f"Choose one of {problem.get('ctx', {}).get('expected', 'the options')}."
    if kind == "missing":
        return f"The {noun} is required."
    return f"The {noun}: {problem['msg']}."
