"""Slack's Block Kit limits, in one place, so every builder clips to the same numbers.

slack_sdk raises SlackObjectFormationError at `to_dict()` when one is broken, and Slack itself
answers `invalid_blocks`; either way the user sees nothing, so we clip before building.
"""

from __future__ import annotations

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
