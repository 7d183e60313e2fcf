"""Slack's Block Kit limits, in one place, so every builder clips to the same numbers.

slack_sdk raises SlackObjectFormationError at `to_dict()` when one is broken, and Slack itself
answers `invalid_blocks`; either way the user sees nothing, so we clip before building.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block

MESSAGE_BLOCKS = 50  # blocks in one chat message
VIEW_BLOCKS = 100  # blocks in a modal or the Home tab
SECTION_TEXT = 3000
FIELD_TEXT = 2000
SECTION_FIELDS = 10
CONTEXT_ELEMENTS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
BLOCK_ID = 255
CONFIRM_TEXT = 300
VIEW_TITLE = 24
TEXT_INPUT = 3000  # plain_text_input max_length (and so its initial_value)
# Slack refuses a message whose blocks carry more than about 12,000 characters of text in all
# (`msg_blocks_too_long`; undocumented, recorded in slackapi/bolt-js#2509 and #2867, where one
# message was refused at 11,341). Messages that list many things stop adding well below it.
MESSAGE_TEXT_BUDGET = 10_000


def text_length(block: Block) -> int:
    """The characters of text a block carries, as Slack counts them for the message budget."""
    return sum(len(text) for text in _texts(block.to_dict()))


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)
