"""Block Kit's rules, checked the way Slack checks them before it accepts a message or a view.

Slack refuses the whole call when one block breaks a rule, so the fake does too: a test then sees
the refusal the bot would meet in production instead of a message that could never have been
posted. A message is refused with `invalid_blocks` and an `errors` list, a view with
`invalid_arguments`; each error names the broken rule and where it is, as Slack's own do
(`"must be less than 151 characters [json-pointer:/blocks/0/text/text]"`).

Sources, per rule:
- Slack's Block Kit reference (docs.slack.dev/reference/block-kit): blocks (section, header,
  context, actions, input, divider, image), block elements (button, static select,
  plain-text input), composition objects (text, option, confirmation dialog) and the view object
  (docs.slack.dev/reference/views): the numbers below, "must be plain_text", and `submit`
  "required when an input block is within the blocks array";
- `block_id` "should be unique for each message or view"; `action_id` "should be unique among all
  other action_ids in the containing block" (the block and block element references);
- 50 blocks in a message, 100 in a modal or Home tab (the `blocks` argument of chat.postMessage,
  and the view object);
- about 12,000 characters of text in all a message's blocks: `msg_blocks_too_long`, which Slack
  does not document; recorded in slackapi/bolt-js#2509 (refused at ~13,200) and #2867 (a Slack
  engineer: "12,000 text characters with a buffer for block containers"; one app was refused at
  11,341). The fake refuses above 12,000; the bot keeps its own budget well below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

JsonDict = dict[str, Any]

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
MESSAGE_BLOCK_TEXT = 12_000  # msg_blocks_too_long (see above)
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
BUTTON_STYLES = ("primary", "danger")


class BlockKitError(ValueError):
    """Every broken rule, each as Slack words it: `"<what> [json-pointer:<where>]"`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class BlocksTooLong(ValueError):
    """A message whose blocks carry more text than Slack takes (`msg_blocks_too_long`)."""


def check_message_blocks(blocks: Iterable[JsonDict], *, at: str = "/blocks") -> None:
    listed = list(blocks)
    rules = _Rules()
    rules.at_most(len(listed), MESSAGE_BLOCKS, at, "blocks in a message")
    rules.blocks(listed, at)
    rules.raise_if_broken()


def check_message_text_budget(blocks: Iterable[JsonDict]) -> None:
    """chat.postMessage and chat.update only: slackapi/bolt-js#2867 found response_url posts
    exempt from this limit."""
    total = sum(len(text) for text in block_texts(blocks))
    if total > MESSAGE_BLOCK_TEXT:
        raise BlocksTooLong(f"{total} characters of text in blocks; Slack takes ~12,000")


def block_texts(node: Any) -> Iterator[str]:
    """Every text a person reads in blocks: each text object's `text`, at any depth."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            if isinstance(value, dict | list):
                yield from block_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from block_texts(item)


def check_view(view: JsonDict) -> None:
    """A modal or Home view: its blocks and, for a modal, the title, buttons and metadata."""
    rules = _Rules()
    blocks = list(view.get("blocks") or [])
    rules.at_most(len(blocks), VIEW_BLOCKS, "/view/blocks", "blocks in a view")
    rules.blocks(blocks, "/view/blocks")
    for key in ("title", "submit", "close"):
        if view.get(key) is not None:
            rules.text(view[key], VIEW_TITLE, f"/view/{key}", plain_only=True)
    if view.get("type") == "modal":
        if view.get("title") is None:
            rules.broken("/view/title", "a modal needs a title")
        if view.get("submit") is None and any(b.get("type") == "input" for b in blocks):
            rules.broken("/view/submit", "a modal with input blocks needs a submit button")
    metadata = str(view.get("private_metadata") or "")
    rules.at_most(len(metadata), PRIVATE_METADATA, "/view/private_metadata", "private_metadata")
    rules.at_most(len(str(view.get("callback_id") or "")), ID_MAX, "/view/callback_id", "id")
    rules.raise_if_broken()


class _Rules:
    """Walks blocks, collecting each broken rule with its JSON pointer."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def raise_if_broken(self) -> None:
        if self.errors:
            raise BlockKitError(self.errors)

    def broken(self, at: str, what: str) -> None:
        self.errors.append(f"{what} [json-pointer:{at}]")

    def blocks(self, blocks: list[JsonDict], at: str) -> None:
        seen: set[str] = set()
        for index, block in enumerate(blocks):
            where = f"{at}/{index}"
            if not isinstance(block, dict):
                self.broken(where, "a block must be an object")
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                self.at_most(len(str(block_id)), ID_MAX, f"{where}/block_id", "block_id")
                if str(block_id) in seen:
                    self.broken(f"{where}/block_id", f"block_id {block_id!r} is not unique")
                seen.add(str(block_id))
            check = _BLOCKS.get(str(block.get("type")))
            if check is None:
                self.broken(f"{where}/type", f"unknown block type {block.get('type')!r}")
            else:
                check(self, block, where)

    def elements_of_one_block(self, elements: list[JsonDict], at: str) -> None:
        action_ids: set[str] = set()
        for index, element in enumerate(elements):
            where = f"{at}/{index}"
            action_id = element.get("action_id")
            if action_id is not None:
                if str(action_id) in action_ids:
                    self.broken(f"{where}/action_id", f"action_id {action_id!r} is not unique")
                action_ids.add(str(action_id))
            self.element(element, where)

    def element(self, element: JsonDict, at: str) -> None:
        self.at_most(len(str(element.get("action_id") or "")), ID_MAX, f"{at}/action_id", "id")
        if element.get("placeholder") is not None:
            self.text(element["placeholder"], PLACEHOLDER_TEXT, f"{at}/placeholder", True)
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{at}/confirm")
        check = _ELEMENTS.get(str(element.get("type")))
        if check is not None:
            check(self, element, at)

    def confirm(self, confirm: JsonDict, at: str) -> None:
        self.text(confirm.get("title"), CONFIRM_TITLE, f"{at}/title", plain_only=True)
        self.text(confirm.get("text"), CONFIRM_TEXT, f"{at}/text")
        self.text(confirm.get("confirm"), CONFIRM_BUTTON, f"{at}/confirm", plain_only=True)
        self.text(confirm.get("deny"), CONFIRM_BUTTON, f"{at}/deny", plain_only=True)

    def text(self, obj: Any, limit: int, at: str, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self.broken(at, "must be a text object")
            return
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.broken(f"{at}/type", f"must be {' or '.join(allowed)}")
        self.between(len(str(obj.get("text") or "")), 1, limit, f"{at}/text", "characters")

    def at_most(self, size: int, limit: int, at: str, what: str) -> None:
        if size > limit:
            self.broken(at, f"{what}: must be at most {limit}, is {size}")

    def between(self, size: int, low: int, high: int, at: str, what: str) -> None:
        if not low <= size <= high:
            self.broken(at, f"{what}: must be {low}-{high}, is {size}")


def _section(rules: _Rules, block: JsonDict, at: str) -> None:
    if block.get("text") is None and not block.get("fields"):
        rules.broken(at, "a section needs text or fields")
    if block.get("text") is not None:
        rules.text(block["text"], SECTION_TEXT, f"{at}/text")
    fields = block.get("fields") or []
    rules.at_most(len(fields), SECTION_FIELDS, f"{at}/fields", "fields")
    for index, field in enumerate(fields):
        rules.text(field, FIELD_TEXT, f"{at}/fields/{index}")
    if block.get("accessory") is not None:
        rules.element(block["accessory"], f"{at}/accessory")


def _header(rules: _Rules, block: JsonDict, at: str) -> None:
    rules.text(block.get("text"), HEADER_TEXT, f"{at}/text", plain_only=True)


def _context(rules: _Rules, block: JsonDict, at: str) -> None:
    elements = block.get("elements") or []
    rules.between(len(elements), 1, CONTEXT_ELEMENTS, f"{at}/elements", "elements")
    for index, element in enumerate(elements):
        if element.get("type") != "image":
            rules.text(element, SECTION_TEXT, f"{at}/elements/{index}")


def _actions(rules: _Rules, block: JsonDict, at: str) -> None:
    elements = block.get("elements") or []
    rules.between(len(elements), 1, ACTIONS_ELEMENTS, f"{at}/elements", "elements")
    rules.elements_of_one_block(elements, f"{at}/elements")


def _input(rules: _Rules, block: JsonDict, at: str) -> None:
    rules.text(block.get("label"), LABEL_TEXT, f"{at}/label", plain_only=True)
    if block.get("hint") is not None:
        rules.text(block["hint"], HINT_TEXT, f"{at}/hint", plain_only=True)
    rules.element(block.get("element") or {}, f"{at}/element")


def _nothing(_rules: _Rules, _block: JsonDict, _at: str) -> None:
    return None


_BLOCKS: dict[str, Callable[[_Rules, JsonDict, str], None]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "input": _input,
    "divider": _nothing,
    "image": _nothing,
    "rich_text": _nothing,
}


def _button(rules: _Rules, element: JsonDict, at: str) -> None:
    rules.text(element.get("text"), BUTTON_TEXT, f"{at}/text", plain_only=True)
    rules.at_most(len(str(element.get("value") or "")), BUTTON_VALUE, f"{at}/value", "value")
    rules.at_most(len(str(element.get("url") or "")), URL_MAX, f"{at}/url", "url")
    style = element.get("style")
    if style is not None and style not in BUTTON_STYLES:
        rules.broken(f"{at}/style", "must be primary or danger")


def _select(rules: _Rules, element: JsonDict, at: str) -> None:
    options = element.get("options") or []
    rules.between(len(options), 1, OPTIONS_MAX, f"{at}/options", "options")
    values = []
    for index, option in enumerate(options):
        where = f"{at}/options/{index}"
        rules.text(option.get("text"), OPTION_TEXT, f"{where}/text", plain_only=True)
        value = str(option.get("value") or "")
        rules.between(len(value), 1, OPTION_VALUE, f"{where}/value", "characters")
        values.append(value)
    initial = element.get("initial_option")
    if initial is not None and initial.get("value") not in values:
        rules.broken(f"{at}/initial_option", "must be one of the options")


def _text_input(rules: _Rules, element: JsonDict, at: str) -> None:
    max_length = element.get("max_length")
    if max_length is not None:
        rules.between(int(max_length), 1, INPUT_MAX_LENGTH, f"{at}/max_length", "max_length")
    initial = str(element.get("initial_value") or "")
    limit = int(max_length or INPUT_MAX_LENGTH)
    rules.at_most(len(initial), limit, f"{at}/initial_value", "characters")


_ELEMENTS: dict[str, Callable[[_Rules, JsonDict, str], None]] = {
    "button": _button,
    "static_select": _select,
    "plain_text_input": _text_input,
}
