"""Buttons on pages: Acknowledge stops the escalation; Take acknowledges and assigns to me
(who may take it is the service's rule: bot/service/page_answers.py).

The service redraws every page of the escalation once it ends, so a press answers only the
presser, and only when there is something to say (a second acknowledgement, a failure).
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext

from bot.service import effects
from bot.service.page_answers import PageAnswer, PageAnswers
from bot.slack.blocks.mrkdwn import escape, mention
from bot.slack.blocks.refs import EscalationRef
from bot.slack.context import SlackContext
from bot.slack.handovers import tell_previous_agent
from bot.slack.listeners.answering import observed, tell
from bot.slack.listeners.press_context import Listener, press_of


def page_press(deps: SlackContext, answers: PageAnswers) -> Listener:
    async def pressed(ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        await ack()
        press = press_of(context)
        take = press.button.effect is effects.TAKE_PAGE
        try:
            async with observed(deps.metrics, "action", press.button.metric):
                ref = press.reference(EscalationRef)
                actor = await press.actor()
                if take:
                    answer = await answers.take(actor, ref.e)
                else:
                    answer = await answers.acknowledge(actor, ref.e)
                if answer.took and answer.holder is not None and answer.conversation:
                    await tell_previous_agent(
                        deps, deps.client, answer.holder, actor, answer.conversation
                    )
        except Exception as error:
            await tell(respond, error)
            return
        if not answer.acknowledged.first:
            note = await _already_answered(deps, answer, actor.agent_id, take=take)
            await respond(text=note, response_type="ephemeral", replace_original=False)

    return pressed


async def _already_answered(
    deps: SlackContext, answer: PageAnswer, agent_id: str | None, *, take: bool
) -> str:
    """What a press on a page someone already answered says, and who has the conversation."""
    record = answer.acknowledged.escalation
    who = mention(record.ended_by) if record.ended_by else "someone"
    state = escape(record.status.value)
    if answer.took:
        return f"It is yours now (the page was already {state} by {who})."
    note = f"Nothing to do: this escalation is already {state} (by {who})."
    holder = answer.holder
    if take and holder is not None:
        whose = (
            "yours"
            if holder == agent_id
            else f"assigned to {escape(await deps.service.directory.agent_name(holder))}"
        )
        note += f" The conversation is already {whose}."
    return note
