"""Buttons on pages: Acknowledge stops the escalation; Take acknowledges and assigns to me.

The service redraws every page of the escalation once it ends, so a press answers only the
presser, and only when there is something to say (a second acknowledgement, a failure).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.blocks import ids
from bot.slack.blocks.mrkdwn import escape, mention
from bot.slack.deps import SlackDeps
from bot.slack.listeners.actions import first_action, user_of
from bot.slack.listeners.outcome import observed, tell


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(ids.PAGE_ACK)
    async def acknowledge(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await _press(deps, body, respond, take=False)

    @app.action(ids.PAGE_TAKE)
    async def take(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await _press(deps, body, respond, take=True)


async def _press(
    deps: SlackDeps, body: dict[str, Any], respond: AsyncRespond, *, take: bool
) -> None:
    try:
        async with observed(deps.metrics, "action", "page-take" if take else "page-ack"):
            ref = ids.EscalationRef.decode(first_action(body).get("value"))
            actor = await deps.identity.actor(user_of(body))
            done = await deps.escalations.acknowledge(actor, ref.e)
            conversation_id = done.escalation.conversation_id
            took = False
            if take and (done.first or await _unassigned(deps, conversation_id)):
                # Only the one who stopped the chain (or anyone, while nobody has it) takes it.
                agent_id = await deps.service.resolve_agent(actor, "me")
                took = (await deps.service.assign(actor, conversation_id, agent_id)).changed
                await deps.escalations.redraw(done.escalation)  # the pages show who has it
    except Exception as error:
        await tell(respond, error)
        return
    if not done.first:
        record = done.escalation
        who = mention(record.ended_by) if record.ended_by else "someone"
        state = escape(record.status.value)
        note = f"Nothing to do: this escalation is already {state} (by {who})."
        if took:
            note += " Nobody had the conversation, so it is now assigned to you."
        await respond(text=note, response_type="ephemeral", replace_original=False)


async def _unassigned(deps: SlackDeps, conversation_id: str) -> bool:
    return (await deps.service.get(conversation_id)).agentId is None
