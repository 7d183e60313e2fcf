"""Block Kit's limits, checked the way Slack checks them before it accepts a message or a view.

Slack refuses the whole call when one block breaks a limit (`invalid_blocks` for messages,
`invalid_arguments` for views), so the fake does too: a test then sees the refusal the bot would
meet in production instead of a message that could never have been posted. The numbers are
those of Slack's Block Kit reference (blocks, block elements, composition objects, views).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

JsonDict = dict[str, Any]

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
ID_MAX = 255  # block_id, action_id, callback_id
SECTION_TEXT, SECTION_FIELDS, FIELD_TEXT = 3000, 10, 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS, ACTIONS_ELEMENTS = 10, 25
BUTTON_TEXT, BUTTON_VALUE, URL_MAX = 75, 2000, 3000
OPTION_TEXT, OPTION_VALUE, OPTIONS_MAX = 75, 150, 100
PLACEHOLDER_TEXT, LABEL_TEXT, HINT_TEXT = 150, 2000, 2000
INPUT_MAX_LENGTH = 3000  # plain_text_input: min_length and max_length are within 0/1…3000
CONFIRM_TITLE, CONFIRM_TEXT, CONFIRM_BUTTON = 100, 300, 30
VIEW_TITLE, PRIVATE_METADATA = 24, 3000


class BlockKitError(ValueError):
    """Names the first broken limit, for the fake's log and for test failure messages."""


def check_message_blocks(blocks: Iterable[JsonDict]) -> None:
    listed = list(blocks)
    _at_most(len(listed), MESSAGE_BLOCKS, "blocks in a message")
    _check_blocks(listed)


def check_view(view: JsonDict) -> None:
    """A modal or Home view: its blocks and, for a modal, the title, buttons and metadata."""
    blocks = list(view.get("blocks") or [])
    _at_most(len(blocks), VIEW_BLOCKS, "blocks in a view")
    _check_blocks(blocks)
    for key in ("title", "submit", "close"):
        if view.get(key) is not None:
            _text(view[key], VIEW_TITLE, f"view {key}", plain_only=True)
    _at_most(len(str(view.get("private_metadata") or "")), PRIVATE_METADATA, "private_metadata")
    _at_most(len(str(view.get("callback_id") or "")), ID_MAX, "callback_id")


def _check_blocks(blocks: list[JsonDict]) -> None:
    seen: set[str] = set()
    for block in blocks:
        block_id = block.get("block_id")
        if block_id is not None:
            _at_most(len(str(block_id)), ID_MAX, "block_id")
            if block_id in seen:
                raise BlockKitError(f"block_id {block_id!r} appears twice")
            seen.add(str(block_id))
        check = _BLOCKS.get(str(block.get("type")))
        if check is None:
            raise BlockKitError(f"unknown block type {block.get('type')!r}")
        check(block)


def _section(block: JsonDict) -> None:
    if block.get("text") is None and not block.get("fields"):
        raise BlockKitError("a section needs text or fields")
    if block.get("text") is not None:
        _text(block["text"], SECTION_TEXT, "section text")
    fields = block.get("fields") or []
    _at_most(len(fields), SECTION_FIELDS, "section fields")
    for field in fields:
        _text(field, FIELD_TEXT, "section field")
    if block.get("accessory") is not None:
        _element(block["accessory"])


def _header(block: JsonDict) -> None:
    _text(block.get("text"), HEADER_TEXT, "header", plain_only=True)


def _context(block: JsonDict) -> None:
    elements = block.get("elements") or []
    _between(len(elements), 1, CONTEXT_ELEMENTS, "context elements")
    for element in elements:
        if element.get("type") != "image":
            _text(element, SECTION_TEXT, "context element")


def _actions(block: JsonDict) -> None:
    elements = block.get("elements") or []
    _between(len(elements), 1, ACTIONS_ELEMENTS, "actions elements")
    for element in elements:
        _element(element)


def _input(block: JsonDict) -> None:
    _text(block.get("label"), LABEL_TEXT, "input label", plain_only=True)
    if block.get("hint") is not None:
        _text(block["hint"], HINT_TEXT, "input hint", plain_only=True)
    _element(block.get("element") or {})


def _nothing(_block: JsonDict) -> None:
    return None


_BLOCKS: dict[str, Callable[[JsonDict], None]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "input": _input,
    "divider": _nothing,
    "image": _nothing,
}


def _element(element: JsonDict) -> None:
    _at_most(len(str(element.get("action_id") or "")), ID_MAX, "action_id")
    if element.get("placeholder") is not None:
        _text(element["placeholder"], PLACEHOLDER_TEXT, "placeholder", plain_only=True)
    if element.get("confirm") is not None:
        _confirm(element["confirm"])
    kind = element.get("type")
    if kind == "button":
        _button(element)
    elif kind == "static_select":
        _select(element)
    elif kind == "plain_text_input":
        _text_input(element)


def _button(element: JsonDict) -> None:
    _text(element.get("text"), BUTTON_TEXT, "button text", plain_only=True)
    _at_most(len(str(element.get("value") or "")), BUTTON_VALUE, "button value")
    _at_most(len(str(element.get("url") or "")), URL_MAX, "button url")


def _select(element: JsonDict) -> None:
    options = element.get("options") or []
    _between(len(options), 1, OPTIONS_MAX, "select options")
    values = []
    for option in options:
        _text(option.get("text"), OPTION_TEXT, "option text", plain_only=True)
        value = str(option.get("value") or "")
        _between(len(value), 1, OPTION_VALUE, "option value")
        values.append(value)
    initial = element.get("initial_option")
    if initial is not None and initial.get("value") not in values:
        raise BlockKitError("initial_option is not one of the options")


def _text_input(element: JsonDict) -> None:
    max_length = element.get("max_length")
    if max_length is not None:
        _between(int(max_length), 1, INPUT_MAX_LENGTH, "plain_text_input max_length")
    initial = str(element.get("initial_value") or "")
    _at_most(len(initial), int(max_length or INPUT_MAX_LENGTH), "initial_value")


def _confirm(confirm: JsonDict) -> None:
    _text(confirm.get("title"), CONFIRM_TITLE, "confirm title", plain_only=True)
    _text(confirm.get("text"), CONFIRM_TEXT, "confirm text")
    _text(confirm.get("confirm"), CONFIRM_BUTTON, "confirm button", plain_only=True)
    _text(confirm.get("deny"), CONFIRM_BUTTON, "deny button", plain_only=True)


def _text(obj: Any, limit: int, what: str, *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict):
        raise BlockKitError(f"{what} must be a text object")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        raise BlockKitError(f"{what} must be of type {' or '.join(allowed)}")
    _between(len(str(obj.get("text") or "")), 1, limit, what)


def _at_most(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise BlockKitError(f"{what} is {size} long; the limit is {limit}")


def _between(size: int, low: int, high: int, what: str) -> None:
    if not low <= size <= high:
        raise BlockKitError(f"{what} is {size}; it must be {low}-{high}")
