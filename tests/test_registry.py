"""The registry of `/conv` subcommands: each entry whole, and every surface it runs on served."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from bot.commands.parser import parse
from bot.commands.registry import REGISTRY, subcommand_of
from bot.commands.spec import Command, NoteCommand, ReplyCommand
from bot.commands.subcommand import Subcommand, Surface
from bot.slack.listeners.commands import SLACK_HANDLERS, unhandled

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda entry: entry.name)
def test_each_entry_has_usage_help_and_examples_that_parse_back(entry: Subcommand[Command]) -> None:
    assert entry.usage.startswith(entry.name)
    assert entry.summary.endswith(".") and entry.explanation.endswith(".")
    assert entry.examples
    for example in entry.examples:
        command = parse(example, now=NOW)
        assert type(command) is entry.model
        assert subcommand_of(command) is entry


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda entry: entry.name)
def test_each_entry_has_a_handler_on_each_of_its_surfaces(entry: Subcommand[Command]) -> None:
    assert entry.surfaces
    if Surface.CLI in entry.surfaces:
        assert entry.run is not None
    if Surface.SLACK in entry.surfaces:
        assert entry.run is not None or entry.model in SLACK_HANDLERS
    assert unhandled() == []


def test_the_registry_and_the_command_union_name_the_same_models() -> None:
    members = get_args(get_args(Command)[0])
    assert sorted(model.__name__ for model in members) == sorted(
        entry.model.__name__ for entry in REGISTRY
    )
    assert [entry.name for entry in REGISTRY] == [
        entry.model.model_fields["kind"].default for entry in REGISTRY
    ]


def test_slack_handlers_are_for_slack_only_entries_and_the_talking_forms() -> None:
    slack_only = {entry.model for entry in REGISTRY if entry.run is None}
    # `reply` and `note` run everywhere, but in Slack they open a form (always for a reply,
    # which the customer receives; for a note when its text is not given).
    assert set(SLACK_HANDLERS) == slack_only | {ReplyCommand, NoteCommand}
