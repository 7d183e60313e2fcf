"""`note <id> [text …]` and `messages <id>` parsed (issue 18): a note is its text as typed."""

from __future__ import annotations

import pytest

from bot.commands.parser import parse, parse_tokens
from bot.commands.registry import help_text
from bot.commands.spec import MessagesCommand, NoteCommand
from bot.errors import InvalidInput
from bot.messages import NOTE_MAX


def test_everything_after_the_id_is_the_note_as_typed() -> None:
    assert parse("note abc Called them back") == NoteCommand(id="abc", text="Called them back")
    # A `key:value` word is just a word; quotes, spacing and lines stay as typed.
    assert parse('note  abc   courier:DHL  "at 5 pm"\n- ring twice ') == NoteCommand(
        id="abc", text='courier:DHL  "at 5 pm"\n- ring twice'
    )
    # From a shell the words arrive split: they are joined with one space.
    assert parse_tokens(["note", "abc", "courier:DHL", "at 5 pm"]) == NoteCommand(
        id="abc", text="courier:DHL at 5 pm"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("note", "needs a conversation id"),
        ("note ../x hello", "is not a conversation id"),
        (f"note abc {'x' * (NOTE_MAX + 1)}", f"the limit is {NOTE_MAX}"),
    ],
)
def test_a_note_without_its_parts_is_refused(text: str, said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        parse(text)


def test_help_explains_the_note() -> None:
    page = help_text("note")
    assert "`note <id> [text …]`" in page and "customer never does" in page
    assert "note <id> [text …]" in help_text()
    # Without a text: the id alone (Slack opens a form; the shell says the text is needed).
    assert parse("note abc") == NoteCommand(id="abc")


def test_messages_takes_an_id_and_a_limit() -> None:
    assert parse("messages abc") == MessagesCommand(id="abc")
    assert parse("messages abc limit:50") == MessagesCommand(id="abc", limit=50)
    for text, said in (
        ("messages", "needs a conversation id"),
        ("messages abc limit:51", "50"),
        ("messages abc please", "Unexpected 'please'"),
    ):
        with pytest.raises(InvalidInput, match=said):
            parse(text)
