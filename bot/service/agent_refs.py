"""Agents as people name them in `assign`: an id, a name, a first name, `@ben`, an e-mail or a
Slack mention. Pure matching over one listing of the agents; the service does the requests."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.identifiers import USER_ID_SHAPE
from bot.models import Agent

# `<@U123>` or `<@U123|ben>`, as Slack sends a mention (user ids start U, or W on Enterprise).
MENTION = re.compile(rf"<@({USER_ID_SHAPE})(?:\|([^>]{{0,80}}))?>")
SUGGESTED = 3
LISTED = 10


@dataclass(frozen=True)
class Mention:
    user_id: str
    label: str | None  # the name Slack put after `|`, if any


def mention_in(text: str) -> Mention | None:
    found = MENTION.fullmatch(text.strip())
    return Mention(found[1], found[2] or None) if found else None


def by_name(agents: Sequence[Agent], text: str) -> list[Agent]:
    """The agents `text` names, best kind of match first: the whole name, else one word of it
    (a first name), the name without spaces (`benkovac`) or the e-mail's local part (`ben` for
    ben@example.com, when the listing carries e-mails). `@` in front is ignored: `@ben` is how
    people type someone in Slack."""
    wanted = _key(text.strip().removeprefix("@"))
    if not wanted:
        return []
    whole = [a for a in agents if _key(a.displayName) == wanted]
    if whole:
        return whole
    return [a for a in agents if wanted in _short_names(a)]


def closest(agents: Sequence[Agent], text: str) -> list[Agent]:
    """At most SUGGESTED agents whose names (or ids) are closest to `text`, for "did you mean"."""
    wanted = _key(text.strip().removeprefix("@"))
    names: dict[str, Agent] = {}
    for agent in agents:
        for name in (_key(agent.displayName), *_short_names(agent), agent.id.casefold()):
            names.setdefault(name, agent)
    picked: list[Agent] = []
    for name in difflib.get_close_matches(wanted[:80], list(names), n=SUGGESTED * 3, cutoff=0.6):
        if names[name] not in picked:
            picked.append(names[name])
    return picked[:SUGGESTED]


def named(agent: Agent) -> str:
    """How an answer names an agent: "Ben Kovac (agent-ben)"."""
    return f"{agent.displayName} ({agent.id})" if agent.displayName != agent.id else agent.id


def listing(agents: Sequence[Agent], joiner: str = ", ", last: str = " or ") -> str:
    shown = [named(a) for a in agents]
    if len(shown) < 2:
        return "".join(shown)
    return joiner.join(shown[:-1]) + last + shown[-1]


def unknown_agent(agents: Sequence[Agent], text: str) -> str:
    """A miss: the closest agents, or (when none is close) the first few."""
    shown = text.strip()[:80]
    near = closest(agents, text)
    if near:
        return f"No agent called '{shown}'. Did you mean {listing(near)}?"
    known = ", ".join(named(a) for a in agents[:LISTED]) or "none exist"
    return (
        f"No agent called '{shown}'. Give an agent's name, e-mail or id, a Slack mention or `me`."
        f" Agents: {known}."
    )


def ambiguous_agent(matches: Sequence[Agent], text: str) -> str:
    return (
        f"'{text.strip()[:80]}' could be {listing(matches[:LISTED])}; give the whole name, the"
        " e-mail or the id."
    )


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


def _short_names(agent: Agent) -> set[str]:
    name = _key(agent.displayName)
    short = {*name.split(), name.replace(" ", "")}
    if agent.email and "@" in agent.email:
        short.add(agent.email.split("@", 1)[0].casefold())
    return short
