"""Buttons on pages: Acknowledge stops the escalation; Take acknowledges and assigns to me.

The service redraws every page of the escalation once it ends, so a press answers only the
presser, and only when there is something to say (a second acknowledgement, a failure).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.blocks import ids
from bot.slack.blocks.mrkdwn import escape, mention
from bot.slack.context import SlackContext
from bot.slack.handovers import tell_previous_agent
from bot.slack.listeners.actions import first_action, user_of
from bot.slack.listeners.outcome import observed, tell


def register(app: AsyncApp, deps: SlackContext) -> None:
    @app.action(ids.PAGE_ACK)
    async def acknowledge(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await _press(deps, body, respond, take=False)

    @app.action(ids.PAGE_TAKE)
    async def take(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await _press(deps, body, respond, take=True)


async def _press(
    deps: SlackContext, body: dict[str, Any], respond: AsyncRespond, *, take: bool
) -> None:
    try:
        async with observed(deps.metrics, "action", "page-take" if take else "page-ack"):
            ref = ids.EscalationRef.decode(first_action(body).get("value"))
            actor = await deps.identity.actor(user_of(body))
            done = await deps.escalations.acknowledge(actor, ref.e)
            conversation_id = done.escalation.conversation_id
            took = False
            holder: str | None = None
            if take:
                holder = (await deps.service.get(conversation_id)).agentId
            if take and (done.first or holder is None):
                # Only the one who stopped the chain (or anyone, while nobody has it) takes it.
                agent_id = await deps.service.resolve_agent(actor, "me")
                change = await deps.service.assign(actor, conversation_id, agent_id)
                took = change.changed
                await deps.escalations.redraw(done.escalation)  # the pages show who has it
                if took and holder is not None:
                    await tell_previous_agent(deps, deps.client, holder, actor, change.conversation)
    except Exception as error:
        await tell(respond, error)
        return
    if not done.first:
        record = done.escalation
        who = mention(record.ended_by) if record.ended_by else "someone"
        state = escape(record.status.value)
        if took:
            note = f"It is yours now (the page was already {state} by {who})."
        else:
            note = f"Nothing to do: this escalation is already {state} (by {who})."
            if take and holder is not None:
                whose = (
                    "yours"
                    if holder == actor.agent_id
                    else f"assigned to {escape(await deps.service.agent_name(holder))}"
                )
                note += f" The conversation is already {whose}."
        await respond(text=note, response_type="ephemeral", replace_original=False)
