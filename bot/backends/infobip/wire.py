"""Infobip's JSON bodies read into our models. A body we cannot read is BackendUnavailable, raised
outside any `except` so that no parser error (which quotes the body) rides along as context."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot.backends.infobip.errors import unreadable
from bot.models import Conversation, RoutingRule

Json = Any
M = TypeVar("M", bound=BaseModel)


def decoded(response: httpx.Response) -> Json:
    """The JSON of a successful answer; None for an empty body."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        pass
    raise unreadable(f"the answer to {response.request.method}")


def dig(data: Json, *keys: str) -> Json:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def parse(model: type[M], data: Json, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError:
        pass
    raise unreadable(what)


def conversation(data: Json) -> Conversation:
    # Infobip's conversation bodies carry no tags; `tags=None` means "not loaded". Nor, by the
    # contract (ConversationApiModel), a channel: absent is "not reported" (None), not
    # NO_CHANNEL, so that nobody is told a WhatsApp conversation has no channel.
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != "tags"}
        data.setdefault("channel", None)
    return parse(Conversation, data, "a conversation")


def routed(data: Json, conversation_id: str) -> Conversation:
    """The contract's schema says a ConversationResultPage; its example and the API give the
    conversation. Read either."""
    page = dig(data, "conversations")
    if isinstance(page, list):
        matching = [c for c in page if dig(c, "id") == conversation_id] or page
        if len(matching) != 1:
            raise unreadable("a routing result")
        data = matching[0]
    return conversation(data)


def rule(entry: Json, position: int) -> RoutingRule:
    if not isinstance(entry, dict):
        raise unreadable("a routing rule")
    data = dict(entry)  # unknown fields (expression, queueName, ...) are kept as extras
    data.setdefault("order", position)
    data.setdefault("name", str(data.get("id", f"rule {position}")))
    if not isinstance(data.get("match"), dict):
        data.pop("match", None)  # Infobip's rules carry `expression`; `match` is ours
    return parse(RoutingRule, data, "a routing rule")
