"""The command grammar shared by Slack `/conv` and the CLI."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from bot.commands import registry
from bot.commands.parser import parse, parse_tokens
from bot.commands.registry import (
    HELP_SECTIONS,
    SLACK_ONLY,
    SUBCOMMANDS,
    USAGE,
    help_text,
    synopsis,
)
from bot.commands.spec import (
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
from bot.commands.tokens import tokenize
from bot.errors import InvalidInput
from bot.field_rules import SUMMARY_MAX, TOPIC_MAX
from bot.models import Channel, OrderBy, Priority, Status

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def assert_readable(error: InvalidInput) -> None:
    message = error.message
    assert message, "empty message"
    assert "\n" not in message
    assert message.endswith((".", "?")), message
    assert "pydantic" not in message.lower()
    assert "validation error" not in message.lower()
    assert len(message) < 600


def fails(text: str, usage_of: str | None = None) -> InvalidInput:
    """Parse text that must be refused; check the message is readable and usage is attached."""
    with pytest.raises(InvalidInput) as info:
        parse(text, now=NOW)
    error = info.value
    assert_readable(error)
    name = usage_of if usage_of is not None else text.split()[0].lower()
    assert error.usage == USAGE[name]
    return error


def ok(text: str) -> Command:
    return parse(text, now=NOW)


# --- tokenizer ---------------------------------------------------------------------------------


def test_tokenize_splits_on_any_whitespace() -> None:
    assert tokenize("  create\tfoo \n bar\u00a0baz ") == ["create", "foo", "bar", "baz"]


def test_tokenize_groups_quoted_words() -> None:
    assert tokenize('create "two  words" x') == ["create", "two  words", "x"]


def test_tokenize_quote_after_key_gives_one_token() -> None:
    assert tokenize('summary:"two words" next') == ["summary:two words", "next"]


def test_tokenize_smart_quotes_are_normalised() -> None:
    assert tokenize("summary:\u201ctwo words\u201d") == ["summary:two words"]


def test_tokenize_apostrophes_are_not_quotes() -> None:
    assert tokenize("Customer can't log in") == ["Customer", "can't", "log", "in"]
    assert tokenize("it\u2019s broken") == ["it\u2019s", "broken"]


def test_tokenize_quote_inside_a_word_is_a_character() -> None:
    assert tokenize('5" screen') == ['5"', "screen"]
    assert tokenize('a"b c"d') == ['a"b', 'c"d']


def test_tokenize_hash_is_not_a_comment() -> None:
    assert tokenize("create foo # bar #baz") == ["create", "foo", "#", "bar", "#baz"]


def test_tokenize_keeps_newlines_inside_quotes() -> None:
    assert tokenize('summary:"line one\nline two"') == ["summary:line one\nline two"]


def test_tokenize_drops_zero_width_characters() -> None:
    assert tokenize("\u200bcreate foo") == ["create", "foo"]


def test_tokenize_unclosed_quote_is_invalid() -> None:
    with pytest.raises(InvalidInput) as info:
        tokenize('create "oops')
    assert_readable(info.value)


def test_parse_unclosed_quote_carries_usage() -> None:
    error = fails('create summary:"oops')
    assert "quote" in error.message


def test_tokenize_empty() -> None:
    assert tokenize("") == []
    assert tokenize(" \t\n ") == []


# --- create ------------------------------------------------------------------------------------


def test_create_with_every_option() -> None:
    command = ok(
        'create Printer on fire summary:"Third floor, again" priority:urgent status:waiting'
        " channel:whatsapp queue:facilities agent:U42 #hardware #urgent-ish"
    )
    assert command == CreateCommand(
        topic="Printer on fire",
        summary="Third floor, again",
        priority=Priority.URGENT,
        status=Status.WAITING,
        channel=Channel.WHATSAPP,
        queue="facilities",
        agent="U42",
        tags=["hardware", "urgent-ish"],
    )


def test_create_unknown_keys_are_topic_words() -> None:
    command = ok("create Error: disk full priority:high")
    assert isinstance(command, CreateCommand)
    assert command.topic == "Error: disk full"
    assert command.priority is Priority.HIGH


def test_create_topic_keeps_order_around_options() -> None:
    command = ok("create Login priority:low fails on #android Android")
    assert isinstance(command, CreateCommand)
    assert command.topic == "Login fails on Android"
    assert command.tags == ["android"]


def test_create_with_apostrophes() -> None:
    command = ok("create Customer can't log in")
    assert isinstance(command, CreateCommand)
    assert command.topic == "Customer can't log in"


def test_create_quoted_topic_words_keep_their_spacing() -> None:
    command = ok('create "priority:high" is a word here')
    # A quoted key:value is still an option: quotes group, they do not escape.
    assert isinstance(command, CreateCommand)
    assert command.priority is Priority.HIGH
    assert command.topic == "is a word here"


def test_create_is_case_insensitive() -> None:
    command = ok("CREATE Broken PRIORITY:High Status:OPEN Channel:Live-Chat AGENT:Me")
    assert isinstance(command, CreateCommand)
    assert command.topic == "Broken"
    assert command.priority is Priority.HIGH
    assert command.status is Status.OPEN
    assert command.channel is Channel.LIVE_CHAT
    assert command.agent == "me"


def test_create_tags_are_deduplicated_in_order() -> None:
    command = ok("create x #b #a #b")
    assert isinstance(command, CreateCommand)
    assert command.tags == ["b", "a"]


def test_create_lone_hash_is_a_topic_word() -> None:
    command = ok("create Printer # 3 jammed")
    assert isinstance(command, CreateCommand)
    assert command.topic == "Printer # 3 jammed"
    assert command.tags == []


def test_create_smart_quoted_summary() -> None:
    command = ok("create x summary:\u201cslack quoted this\u201d")
    assert isinstance(command, CreateCommand)
    assert command.summary == "slack quoted this"


def test_create_defaults_are_none() -> None:
    command = ok("create x")
    assert command == CreateCommand(topic="x")


@pytest.mark.parametrize(
    "text", ["create", "create   ", "create #only #tags", "create priority:low"]
)
def test_create_needs_a_topic(text: str) -> None:
    assert "needs a topic" in fails(text).message


def test_create_topic_too_long() -> None:
    error = fails("create " + "a" * (TOPIC_MAX + 1))
    assert str(TOPIC_MAX) in error.message
    assert str(TOPIC_MAX + 1) in error.message


def test_create_topic_at_the_limit() -> None:
    command = ok("create " + "a" * TOPIC_MAX)
    assert isinstance(command, CreateCommand)
    assert len(command.topic) == TOPIC_MAX


def test_create_summary_too_long() -> None:
    error = fails(f'create x summary:"{"s" * (SUMMARY_MAX + 5)}"')
    assert str(SUMMARY_MAX) in error.message
    assert str(SUMMARY_MAX + 5) in error.message


def test_create_invalid_priority_lists_the_values() -> None:
    error = fails("create x priority:hgih")
    assert error.message == "Unknown priority 'hgih'. Use one of: URGENT, HIGH, NORMAL, LOW."


def test_create_invalid_status_and_channel() -> None:
    assert "OPEN, WAITING, SOLVED, CLOSED" in fails("create x status:gone").message
    assert "WHATSAPP" in fails("create x channel:pigeon").message


def test_create_cannot_start_closed() -> None:
    assert "CLOSED" in fails("create x status:closed").message


@pytest.mark.parametrize("tag", ["#bad!tag", "#" + "t" * 101, "#ünïcode", "##double"])
def test_create_invalid_tag(tag: str) -> None:
    assert "Tag" in fails(f"create x {tag}").message


def test_create_repeated_option() -> None:
    assert "twice" in fails("create x priority:high priority:low").message


@pytest.mark.parametrize("text", ["create x priority:", 'create x summary:""', "create x queue:"])
def test_create_empty_value(text: str) -> None:
    assert "needs a value" in fails(text).message


def test_create_rejects_control_characters() -> None:
    assert "control character" in fails("create bell\x07 rings").message
    assert "control character" in fails("create x summary:nul\x00").message


@pytest.mark.parametrize("agent", ["agent:two\x00words", "agent:" + "a" * 256])
def test_create_invalid_agent(agent: str) -> None:
    assert "agent" in fails(f"create x {agent}").message


# --- list --------------------------------------------------------------------------------------


def test_list_without_filters() -> None:
    assert ok("list") == ListCommand()


def test_list_with_every_option() -> None:
    command = ok(
        "list status:open,waiting priority:high,urgent queue:q1,q2 agent:U7 tag:vip,billing"
        " channel:sms since:2h sort:priority limit:50 page:3"
    )
    assert command == ListCommand(
        statuses=[Status.OPEN, Status.WAITING],
        priorities=[Priority.HIGH, Priority.URGENT],
        queues=["q1", "q2"],
        agent="U7",
        tags=["vip", "billing"],
        channel=Channel.SMS,
        since=NOW - timedelta(hours=2),
        sort=OrderBy(field="priority", direction="desc"),
        limit=50,
        page=3,
    )


def test_list_comma_lists_drop_duplicates_keep_order() -> None:
    command = ok("list priority:low,HIGH,low,high status:Solved,open")
    assert isinstance(command, ListCommand)
    assert command.priorities == [Priority.LOW, Priority.HIGH]
    assert command.statuses == [Status.SOLVED, Status.OPEN]


def test_list_tag_filter_tolerates_hash() -> None:
    command = ok("list tag:#vip,vip,#b")
    assert isinstance(command, ListCommand)
    assert command.tags == ["vip", "b"]


@pytest.mark.parametrize(("value", "expected"), [("me", "me"), ("ME", "me"), ("None", "none")])
def test_list_agent_keywords(value: str, expected: str) -> None:
    command = ok(f"list agent:{value}")
    assert isinstance(command, ListCommand)
    assert command.agent == expected


def test_list_agent_id_kept_as_given() -> None:
    command = ok("list agent:Agent-7")
    assert isinstance(command, ListCommand)
    assert command.agent == "Agent-7"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("3D", NOW - timedelta(days=3)),
        ("1w", NOW - timedelta(weeks=1)),
        ("3650d", NOW - timedelta(days=3650)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T10:30", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
        ("2026-11-01T10:30Z", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
        ("2026-11-01T12:30+02:00", datetime(2026, 11, 1, 10, 30, tzinfo=UTC)),
    ],
)
def test_list_since(value: str, expected: datetime) -> None:
    command = ok(f"list since:{value}")
    assert isinstance(command, ListCommand)
    assert command.since == expected
    assert command.since is not None and command.since.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value", ["0h", "3651d", "600w", "99999999d", "yesterday", "2h30m", "2030-01-01", "-1d", "h"]
)
def test_list_since_invalid(value: str) -> None:
    assert "since" in fails(f"list since:{value}").message


def test_list_since_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC)
    command = parse("list since:1h")
    assert isinstance(command, ListCommand)
    assert command.since is not None
    assert before - timedelta(hours=1, seconds=5) <= command.since <= datetime.now(UTC)


def test_list_since_accepts_a_naive_now_as_utc() -> None:
    command = parse("list since:1h", now=datetime(2026, 11, 20, 12, 0))
    assert isinstance(command, ListCommand)
    assert command.since == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "field", "direction"),
    [
        ("created", "createdAt", "desc"),
        ("createdAt", "createdAt", "desc"),
        ("UPDATED", "updatedAt", "desc"),
        ("closedat", "closedAt", "desc"),
        ("priority", "priority", "desc"),
        ("status", "status", "asc"),
        ("topic", "topic", "asc"),
        ("id", "id", "asc"),
        ("queue", "queueId", "asc"),
        ("queueId", "queueId", "asc"),
        ("agent", "agentId", "asc"),
        ("agentid", "agentId", "asc"),
        ("created:asc", "createdAt", "asc"),
        ("topic:DESC", "topic", "desc"),
    ],
)
def test_list_sort(value: str, field: str, direction: str) -> None:
    command = ok(f"list sort:{value}")
    assert isinstance(command, ListCommand)
    assert command.sort == OrderBy.model_validate({"field": field, "direction": direction})


@pytest.mark.parametrize("value", ["bogus", "created:up", "created:asc:x"])
def test_list_sort_invalid(value: str) -> None:
    assert "sort" in fails(f"list sort:{value}").message.lower()


@pytest.mark.parametrize("value", ["0", "101", "-1", "ten", "1.5", "9" * 50, "\u0663"])
def test_list_limit_invalid(value: str) -> None:
    assert "limit" in fails(f"list limit:{value}").message


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("100", 100), ("007", 7)])
def test_list_limit_bounds(value: str, expected: int) -> None:
    command = ok(f"list limit:{value}")
    assert isinstance(command, ListCommand)
    assert command.limit == expected


def test_list_page_is_one_based() -> None:
    command = ok("list page:1")
    assert isinstance(command, ListCommand)
    assert command.page == 1
    assert "page" in fails("list page:0").message


def test_list_stray_word_lists_the_options() -> None:
    message = fails("list open").message
    assert "'open'" in message
    assert "status:" in message and "page:" in message


def test_list_unknown_key_suggests_the_closest() -> None:
    message = fails("list stauts:open").message
    assert "Did you mean `status:`?" in message


def test_list_repeated_option() -> None:
    assert "twice" in fails("list status:open status:closed").message


@pytest.mark.parametrize("text", ["list priority:", "list priority:,", "list tag:,,"])
def test_list_empty_values(text: str) -> None:
    fails(text)


def test_list_invalid_tag_filter() -> None:
    assert "Tag" in fails('list tag:"a,b c"').message


# --- commands on one conversation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("show", ShowCommand),
        ("take", TakeCommand),
        ("unassign", UnassignCommand),
        ("route", RouteCommand),
        ("close", CloseCommand),
    ],
)
def test_id_commands(name: str, model: type[Command]) -> None:
    command = ok(f"{name.upper()} conv-1.a_b:c")
    assert isinstance(command, model)
    assert command.kind == name
    assert command.id == "conv-1.a_b:c"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["show", "take", "unassign", "route", "close", "update", "tag"])
def test_missing_id(name: str) -> None:
    assert fails(name).message == f"`{name}` needs a conversation id."


@pytest.mark.parametrize("bad", ["-abc", ".x", "a/b", "a b", "ab\u00e9", "x" * 256, "a\x00"])
def test_malformed_id(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_tokens(["show", bad])
    assert_readable(info.value)
    assert "conversation id" in info.value.message
    assert info.value.usage == USAGE["show"]


def test_id_with_trailing_newline_is_malformed() -> None:
    with pytest.raises(InvalidInput):
        parse_tokens(["close", "abc\n"])


def test_id_of_maximum_length() -> None:
    command = parse_tokens(["show", "a" * 255])
    assert isinstance(command, ShowCommand)


@pytest.mark.parametrize("text", ["show abc def", "close abc now", "route abc priority:high"])
def test_extra_words_after_id(text: str) -> None:
    message = fails(text).message
    assert "Unexpected" in message and "only a conversation id" in message


# --- update ------------------------------------------------------------------------------------


def test_update_with_every_option() -> None:
    command = ok(
        'update abc topic:"New topic" summary:"Longer text" status:SOLVED priority:low queue:q9'
    )
    assert command == UpdateCommand(
        id="abc",
        topic="New topic",
        summary="Longer text",
        status=Status.SOLVED,
        priority=Priority.LOW,
        queue="q9",
    )


def test_update_one_option() -> None:
    assert ok("update abc Priority:High") == UpdateCommand(id="abc", priority=Priority.HIGH)


def test_update_allows_options_before_the_id() -> None:
    assert ok("update priority:high abc") == UpdateCommand(id="abc", priority=Priority.HIGH)


def test_update_needs_an_option() -> None:
    message = fails("update abc").message
    assert "at least one" in message and "priority:" in message


def test_update_unknown_option() -> None:
    message = fails("update abc prioirty:high").message
    assert "'prioirty:high'" in message
    assert "Did you mean `priority:`?" in message
    assert "topic:, summary:, status:, priority:, queue:" in message


def test_update_stray_word() -> None:
    assert "'urgent'" in fails("update abc urgent").message


def test_update_repeated_and_empty() -> None:
    assert "twice" in fails("update abc status:open status:waiting").message
    assert "needs a value" in fails("update abc priority:").message
    assert "needs a value" in fails('update abc topic:"   "').message


def test_update_topic_too_long() -> None:
    message = fails(f'update abc topic:"{"t" * (TOPIC_MAX + 1)}"').message
    assert str(TOPIC_MAX) in message


# --- assign ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "expected"),
    [("me", "me"), ("ME", "me"), ("agent-7", "agent-7"), ("<@U123ABC>", "<@U123ABC>")],
)
def test_assign(agent: str, expected: str) -> None:
    assert ok(f"assign abc {agent}") == AssignCommand(id="abc", agent=expected)


def test_assign_needs_an_agent() -> None:
    assert "agent" in fails("assign abc").message


def test_assign_takes_a_name_of_several_words_without_quotes() -> None:
    assert ok("assign abc Ben  Kovac") == AssignCommand(id="abc", agent="Ben Kovac")
    assert ok('assign abc "Ben Kovac"') == AssignCommand(id="abc", agent="Ben Kovac")


def test_assign_agent_with_space_from_the_cli() -> None:
    command = parse_tokens(["assign", "abc", "John Smith"])
    assert command == AssignCommand(id="abc", agent="John Smith")


def test_assign_takes_mentions_and_emails_as_typed() -> None:
    assert ok("assign abc @ben").agent == "@ben"  # type: ignore[union-attr]
    assert ok("assign abc <@U123|ben>").agent == "<@U123|ben>"  # type: ignore[union-attr]
    assert ok("assign abc ben@example.com").agent == "ben@example.com"  # type: ignore[union-attr]


# --- tag / untag -------------------------------------------------------------------------------


def test_tag_and_untag() -> None:
    assert ok("tag abc #vip billing vip") == TagCommand(id="abc", tags=["vip", "billing"])
    assert ok("untag abc a.b_c-d") == UntagCommand(id="abc", tags=["a.b_c-d"])


@pytest.mark.parametrize("name", ["tag", "untag"])
def test_tag_needs_a_tag(name: str) -> None:
    assert "at least one tag" in fails(f"{name} abc").message


@pytest.mark.parametrize("name", ["tag", "untag"])
def test_tag_invalid_name(name: str) -> None:
    assert "Tag 'no!'" in fails(f"{name} abc no!").message


# --- digest / schedules ------------------------------------------------------------------------


def test_digest_and_schedules() -> None:
    assert ok("digest") == DigestCommand(name=None)
    assert ok("DIGEST support-high") == DigestCommand(name="support-high")
    assert ok("digest all_open_2") == DigestCommand(name="all_open_2")
    assert ok("schedules") == SchedulesCommand()
    assert parse_tokens(["digest", "support-high"]) == DigestCommand(name="support-high")


@pytest.mark.parametrize("name", ["no!", "a.b", "x" * 65, "<@U1>"])
def test_digest_invalid_name(name: str) -> None:
    assert "is not a digest name" in fails(f"digest {name}").message


def test_digest_and_schedules_extra_words() -> None:
    assert "one digest name" in fails("digest a b").message
    assert "takes nothing more" in fails("schedules now").message


# --- escalate / oncall / escalations -----------------------------------------------------------


def test_escalate() -> None:
    assert ok("escalate abc") == EscalateCommand(id="abc", policy=None, reason=None)
    assert ok("ESCALATE abc-1 Checkout is  down") == EscalateCommand(
        id="abc-1", reason="Checkout is down"
    )
    assert ok('escalate abc "Checkout  down" for everyone') == EscalateCommand(
        id="abc", reason="Checkout  down for everyone"
    )
    # The reason is free text: a `key:value` word that is not `policy:` is part of it.
    assert ok("escalate abc customer said: urgent priority:high") == EscalateCommand(
        id="abc", reason="customer said: urgent priority:high"
    )
    assert ok("escalate abc \u201cfancy quotes\u201d") == EscalateCommand(
        id="abc", reason="fancy quotes"
    )
    assert parse_tokens(["escalate", "abc", "two words", "policy:sev1"]) == EscalateCommand(
        id="abc", policy="sev1", reason="two words"
    )


@pytest.mark.parametrize(
    "text",
    [
        'escalate abc policy:sev-1 "Checkout down"',
        'escalate abc "Checkout down" policy:sev-1',
        "escalate abc Checkout POLICY:sev-1 down",
        'escalate policy:sev-1 abc "Checkout down"',
    ],
)
def test_escalate_policy_anywhere(text: str) -> None:
    assert ok(text) == EscalateCommand(id="abc", policy="sev-1", reason="Checkout down")


def test_escalate_reason_limit() -> None:
    reason = "x" * 500
    assert ok(f"escalate abc {reason}") == EscalateCommand(id="abc", reason=reason)
    message = fails(f"escalate abc {reason} y").message
    assert message == "The reason is 502 characters long; the limit is 500."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("escalate", "`escalate` needs a conversation id."),
        ("escalate policy:sev1", "`escalate` needs a conversation id."),
        ("escalate -bad", "'-bad' is not a conversation id"),
        ("escalate abc policy:a policy:b", "Option `policy:` is given twice; give it once."),
        ("escalate abc policy:", "Option `policy:` needs a value, e.g. `policy:sev1`."),
        ("escalate abc policy:no!", "'no!' is not a policy name: names are 1-64 letters"),
        ("escalate abc policy:" + "p" * 65, "is not a policy name"),
        ("escalate abc bad\x01reason", "The reason contains a control character"),
    ],
)
def test_escalate_invalid(text: str, expected: str) -> None:
    assert expected in fails(text).message


def test_oncall() -> None:
    assert ok("oncall") == OncallCommand(schedule=None, at=None)
    assert ok("ONCALL primary") == OncallCommand(schedule="primary")
    assert ok("oncall at:now") == OncallCommand(at=None)
    assert ok("oncall AT:NOW support_2") == OncallCommand(schedule="support_2")
    assert parse_tokens(["oncall", "at:2026-12-25 03:00"]) == OncallCommand(
        at=datetime(2026, 12, 25, 3, 0)
    )


@pytest.mark.parametrize(
    "text",
    [
        'oncall primary at:"2026-12-25 03:00"',
        'oncall at:"2026-12-25 03:00" primary',
        "oncall primary at:2026-12-25T03:00",
        "oncall primary at:2026-12-25t03:00",
        "oncall primary at:\u201c2026-12-25 03:00\u201d",
    ],
)
def test_oncall_at_formats(text: str) -> None:
    command = ok(text)
    assert command == OncallCommand(schedule="primary", at=datetime(2026, 12, 25, 3, 0))
    # Read later in the viewer's time zone, which the grammar does not know.
    assert isinstance(command, OncallCommand) and command.at is not None
    assert command.at.tzinfo is None


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow",
        "2026-12-25T3:00",
        "2026-12-25 03:00:00",
        "2026-13-01T00:00",
        "2026-02-30T00:00",
        "2026-12-25T24:00",
        "2026-12-25T03:00Z",
        "2026-12-25T03:00+01:00",
        "12/25/2026 03:00",
    ],
)
def test_oncall_bad_at(value: str) -> None:
    message = fails(f'oncall at:"{value}"').message
    assert message.startswith("`at:` takes a local time as YYYY-MM-DD HH:MM, e.g.")
    assert '`at:"2026-12-25 03:00"`' in message
    assert f"not '{value}'" in message


def test_oncall_at_without_quotes_says_to_quote() -> None:
    message = fails("oncall at:2026-12-25 03:00").message
    assert message == (
        "`at:2026-12-25` needs a time too; put the date and time in quotes:"
        ' `at:"2026-12-25 03:00"`.'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oncall at:0001-01-01T00:00", "`at:` must be a time in the years 1970 to 9998."),
        ("oncall at:", 'Option `at:` needs a value, e.g. `at:"2026-12-25 03:00"`.'),
        ("oncall at:now at:now", "Option `at:` is given twice; give it once."),
        ("oncall no!", "'no!' is not a schedule name: names are 1-64 letters"),
        ("oncall a b", "Unexpected 'b': `oncall` takes one schedule name and `at:`"),
        ("oncall atx:now", "Unexpected 'atx:now' for `oncall`. Did you mean `at:`?"),
    ],
)
def test_oncall_invalid(text: str, expected: str) -> None:
    assert expected in fails(text).message


def test_escalations() -> None:
    assert ok("escalations") == EscalationsCommand()
    assert ok("Escalations") == EscalationsCommand()
    assert "`escalations` takes nothing more" in fails("escalations abc").message


def test_the_oncall_models_refuse_what_the_parser_refuses() -> None:
    with pytest.raises(ValueError):
        EscalateCommand(id="abc", reason="x" * 501)
    with pytest.raises(ValueError):
        EscalateCommand(id="abc", policy="no!")
    with pytest.raises(ValueError):
        OncallCommand(at=datetime(2026, 12, 25, 3, 0, tzinfo=UTC))


# --- help and unknown commands -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_help(text: str) -> None:
    assert parse(text) == HelpCommand(subcommand=None)


def test_help() -> None:
    assert ok("help") == HelpCommand()
    assert ok("HELP Create") == HelpCommand(subcommand="create")


def test_help_unknown_subcommand() -> None:
    error = fails("help craete")
    assert "Did you mean `create`?" in error.message


def test_help_too_many_words() -> None:
    fails("help create list")


def test_unknown_command_suggests_the_closest() -> None:
    with pytest.raises(InvalidInput) as info:
        parse("craete foo")
    error = info.value
    assert_readable(error)
    assert error.message.startswith("Unknown command 'craete'. Did you mean `create`? Commands:")
    assert error.usage is None


def test_unknown_command_without_a_close_match() -> None:
    with pytest.raises(InvalidInput) as info:
        parse("xyzzy")
    assert "Did you mean" not in info.value.message
    assert "create, list, show" in info.value.message


def test_usage_has_one_line_per_subcommand() -> None:
    assert tuple(USAGE) == SUBCOMMANDS
    for name, line in USAGE.items():
        assert line.startswith(name)
        assert "\n" not in line


def test_help_lists_each_command_once_under_a_section_with_a_description() -> None:
    sections = [name for _, names in HELP_SECTIONS for name in names]
    assert sorted(sections) == sorted(SUBCOMMANDS)
    lines = help_text().splitlines()
    for name in SUBCOMMANDS:
        start = f"  `{synopsis(name)}` — "
        (line,) = [line for line in lines if line.startswith(start)]
        description = line.removeprefix(start).removesuffix(" (Slack only)")
        assert description.endswith(".") and len(description) < 70, line


def test_help_headings_name_the_groups_and_mark_slack_only_ones() -> None:
    headings = [line for line in help_text().splitlines() if line.startswith("*")]
    assert headings == [
        "*Work on conversations*",
        "*Talk with the customer*",
        "*On call* (Slack only)",
        "*Digests* (Slack only)",
        "*Help*",
    ]


def test_help_fits_one_slack_message_comfortably() -> None:
    text = help_text()
    assert len(text) < 1500 and len(text.splitlines()) <= 25


def test_help_synopsis_keeps_arguments_and_folds_options() -> None:
    assert synopsis("show") == "show <id>"
    assert synopsis("list") == "list [options]"
    assert synopsis("create") == "create <topic words> [#tag …] [options]"
    assert synopsis("escalate") == "escalate <id> [reason …] [options]"
    assert synopsis("digest") == "digest [name]"


@pytest.mark.parametrize("name", sorted(SLACK_ONLY))
def test_help_for_a_slack_only_command_says_so_with_its_usage(name: str) -> None:
    assert help_text(name).splitlines()[0] == f"`{USAGE[name]}` (Slack only)"


def test_help_for_digest_names_the_shell_command_that_exists() -> None:
    assert "`convbot digest <name>`" in help_text("digest")


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_text_for_each_subcommand(name: str) -> None:
    text = help_text(name.upper())
    assert USAGE[name] in text
    assert "Examples:" in text


def test_help_text_examples_parse() -> None:
    for name in SUBCOMMANDS:
        for line in help_text(name).split("Examples:")[1].splitlines():
            if line.strip():
                assert parse(line.strip().strip("`"), now=NOW).kind == name


def test_help_text_unknown() -> None:
    with pytest.raises(InvalidInput) as info:
        help_text("nope")
    assert info.value.usage == USAGE["help"]


# --- parse_tokens (the CLI path) ---------------------------------------------------------------


def test_parse_tokens_keeps_words_with_spaces() -> None:
    command = parse_tokens(["create", "Disk full", "summary:on two servers", "#ops"])
    assert command == CreateCommand(topic="Disk full", summary="on two servers", tags=["ops"])


def test_parse_tokens_empty_is_help() -> None:
    assert parse_tokens([]) == HelpCommand()
    assert parse_tokens(["", " "]) == HelpCommand()


def test_commands_round_trip_through_the_union() -> None:
    adapter: TypeAdapter[Command] = TypeAdapter(Command)
    for text in [
        "create x #a priority:high",
        "list since:2h sort:id",
        "tag abc a",
        "help list",
        "digest x",
        "digest",
        "schedules",
        'escalate abc policy:sev1 "Checkout down"',
        'oncall primary at:"2026-12-25 03:00"',
        "oncall",
        "escalations",
    ]:
        command = ok(text)
        assert adapter.validate_python(command.model_dump()) == command
        assert adapter.validate_json(command.model_dump_json()) == command


def test_a_validation_error_becomes_invalid_input(monkeypatch: pytest.MonkeyPatch) -> None:
    # The converters refuse bad values first; this is the backstop if one ever slips through.
    def build(words: list[str], now: datetime) -> ShowCommand:
        return ShowCommand.model_validate({"id": "-bad"})

    show = registry.subcommand("show")
    assert show is not None
    monkeypatch.setitem(registry._BY_NAME, "show", replace(show, grammar=build))
    error = fails("show abc")
    assert error.message.startswith("Invalid id:")


# --- hostile input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "create " + "word " * 300_000,
        "show " + "x" * 1_000_000,
        '"' * 100_001,
        "create " + 'ab"' * 200_000,
        "create " + "a" * 300_000 + '"' * 300_000,
        "list " + "status:" + ",".join(["open"] * 100_000),
        "craete" * 100_000,
    ],
    ids=[
        "many-words",
        "long-id",
        "quotes",
        "quotes-mid-word",
        "long-key-quotes",
        "long-list",
        "cmd",
    ],
)
@pytest.mark.slow
def test_huge_input_is_refused_or_parsed_quickly(text: str) -> None:
    try:
        parse(text, now=NOW)
    except InvalidInput as error:
        assert_readable(error)


@pytest.mark.parametrize(
    "text",
    [
        "create \x00\x01\x02",
        "create \u202eevil\u202c topic",
        "create 🙂🔥 on fire #fire",
        "create \u0645\u0631\u062d\u0628\u0627",
        "show \ud800",
        "create \udfff lone surrogate",
        "create x agent:\ud800",
        "list tag:\ud800",
    ],
)
def test_weird_unicode(text: str) -> None:
    try:
        command = parse(text, now=NOW)
    except InvalidInput as error:
        assert_readable(error)
    else:
        assert isinstance(command, CreateCommand)
        assert "\x00" not in command.topic


# --- properties --------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        *SUBCOMMANDS,
        "CREATE",
        "Help",
        "abc-1",
        "x:y",
        "me",
        "none",
        "can't",
        "priority:",
        "priority:high",
        "PRIORITY:hgih",
        "status:open,closed",
        "status:,",
        "channel:live-chat",
        'summary:"',
        'topic:"a b"',
        "queue:q1,q2",
        "agent:<@U1>",
        "tag:a,b",
        "since:2h",
        "since:0d",
        "since:2026-11-01",
        "since:99999999w",
        "sort:created:asc",
        "sort:",
        "limit:5",
        "page:0",
        "policy:sev1",
        "policy:",
        'at:"2026-12-25 03:00"',
        "at:2026-12-25T03:00",
        "at:now",
        "at:2026-02-30T00:00",
        '"',
        "\u201c",
        "\u201d",
        "'",
        "#",
        "#tag",
        "##",
        ",",
        ":",
        " ",
        "\n",
        "\x00",
        "\u200b",
        "\u202e",
        "🙂",
    ]
)
GRAMMARISH = st.lists(FRAGMENTS | st.text(max_size=6), max_size=12).flatmap(
    lambda parts: st.sampled_from([" ".join(parts), "".join(parts)])
)


def check_parse(text: str) -> None:
    try:
        command = parse(text, now=NOW)
    except InvalidInput as error:
        assert_readable(error)
    else:
        assert command.kind in SUBCOMMANDS


@pytest.mark.slow
@settings(max_examples=2000, derandomize=True)
@given(st.text())
def test_any_text_parses_or_is_invalid_input(text: str) -> None:
    check_parse(text)


@pytest.mark.slow
@settings(max_examples=2000, derandomize=True)
@given(GRAMMARISH)
def test_grammarish_text_parses_or_is_invalid_input(text: str) -> None:
    check_parse(text)


@pytest.mark.slow
@settings(max_examples=500, derandomize=True)
@given(st.lists(st.text(), max_size=6))
def test_any_tokens_parse_or_are_invalid_input(tokens: list[str]) -> None:
    try:
        parse_tokens(tokens, now=NOW)
    except InvalidInput as error:
        assert_readable(error)


PLAIN_WORD = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9'.!?,-]{0,11}", fullmatch=True)


@pytest.mark.slow
@settings(max_examples=500, derandomize=True)
@given(st.lists(PLAIN_WORD, min_size=1, max_size=30))
def test_create_topic_round_trips(words: list[str]) -> None:
    topic = " ".join(words)
    command = parse(f"create {topic}", now=NOW)
    assert command == CreateCommand(topic=topic)
    assert parse_tokens(["create", *words], now=NOW) == command
