"""PermissionPolicy: a press is decided once; a refusal names whom to ask as data, drawn by
each surface (mentions in Slack, plain `@id` elsewhere)."""

from __future__ import annotations

import asyncio
from typing import get_args

import pytest

from bot.config import Action, Permission
from bot.errors import Forbidden
from bot.models import Actor
from bot.service.permissions import _VERBS, NotAllowed, PermissionPolicy, decided
from bot.slack.blocks.messages import error_mrkdwn, sentence_for

ANA = Actor(id="UANA00001", surface="slack")
RULE = Permission(users=["UBOSS0001"], usergroups=["SLEADS001"])


class _Groups:
    def __init__(self, members: set[str]) -> None:
        self.members_of = members
        self.asked = 0

    async def members(self, group_id: str) -> set[str]:
        self.asked += 1
        return self.members_of


def test_every_permission_has_the_verb_its_refusal_says() -> None:
    # A permission added to the config without one would fail only when someone is refused.
    assert set(_VERBS) == set(get_args(Action))


def test_a_refusal_names_whom_to_ask_without_slack_markup() -> None:
    refusal = NotAllowed("close", RULE)
    assert str(refusal) == "You can't close conversations here — ask @UBOSS0001, @SLEADS001."
    assert (refusal.users, refusal.usergroups) == (["UBOSS0001"], ["SLEADS001"])


def test_slack_draws_whom_to_ask_as_mentions() -> None:
    refusal = NotAllowed("close", RULE)
    expected = "You can't close conversations here — ask <@UBOSS0001>, <!subteam^SLEADS001>."
    assert error_mrkdwn(refusal) == expected
    assert sentence_for(refusal) == expected  # a form's inline error says the same


def test_a_decided_press_does_not_ask_the_policy_again() -> None:
    groups = _Groups({ANA.id})
    policy = PermissionPolicy({"close": RULE, "route": RULE}, groups)

    async def press() -> None:
        await policy.check(ANA, "close")
        with decided(ANA, "close"):
            await policy.check(ANA, "close")  # the service call the press makes
            await policy.check(ANA, "route")  # another action is asked about as ever
        await policy.check(ANA, "close")  # after the press: asked again

    asyncio.run(press())
    assert groups.asked == 3


def test_a_decision_is_for_that_person_only() -> None:
    policy = PermissionPolicy({"close": RULE}, _Groups(set()))
    ben = Actor(id="UBEN00002", surface="slack")

    async def press() -> None:
        with decided(ANA, "close"):
            await policy.check(ben, "close")

    with pytest.raises(Forbidden):
        asyncio.run(press())
