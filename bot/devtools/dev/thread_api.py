"""The page's thread pane, server side: a person writes in a thread, and the person at the page
plays a conversation's customer.

    POST /dev/api/thread     {user, channel, thread_ts, text}: the person's message in the
                             thread, delivered to the bot as Slack's `message` event
    POST /dev/api/customer   {channel, thread_ts, text}: the customer of the thread's
                             conversation writes, into the embedded store, as Infobip would
                             receive it; the bot's mirror brings it into the thread
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.backends.local import LocalBackend
from bot.devtools.dev import threads
from bot.devtools.dev.customers import Customers
from bot.devtools.dev.local_slack import LocalSlack
from bot.errors import ConvbotError


class ThreadApi:
    def __init__(self, local: LocalSlack) -> None:
        self.local = local
        # The bot's state database and the embedded store; set once the bot is up.
        self.engine: AsyncEngine | None = None

    def routes(self) -> list[Route]:
        return [
            Route("/dev/api/thread", self.write, methods=["POST"]),
            Route("/dev/api/customer", self.customer, methods=["POST"]),
        ]

    async def conversation_of(self, channel: str, thread_ts: str) -> str | None:
        """The conversation whose thread this is (None: a thread of no conversation)."""
        if self.engine is None:
            return None
        return await threads.conversation_of(self.engine, channel, thread_ts)

    async def write(self, request: Request) -> Response:
        body = await json_body(request)
        user, channel = body.get("user"), body.get("channel")
        fake = self.local.fake
        if user not in fake.users or channel not in fake.channels:
            return refused("writing in a thread needs a known user and channel")
        found = _thread_and_text(body)
        if isinstance(found, str):
            return refused(found)
        thread_ts, text = found
        root = fake.message(channel, thread_ts)
        if root is None or threads.is_reply(root):
            return refused("that thread is not in this channel")
        await self.local.write_in_thread(user, channel, thread_ts, text)
        return JSONResponse({"ok": True})

    async def customer(self, request: Request) -> Response:
        body = await json_body(request)
        channel = body.get("channel")
        found = _thread_and_text(body)
        if isinstance(found, str):
            return refused(found)
        thread_ts, text = found
        conversation = await self.conversation_of(str(channel), thread_ts)
        if conversation is None or self.engine is None:
            return refused("this thread belongs to no conversation, so it has no customer")
        try:
            message = await Customers(LocalBackend(self.engine)).write_as(conversation, text)
        except ConvbotError as error:
            return refused(str(error))
        return JSONResponse({"ok": True, "conversation": conversation, "message": message.id})


def _thread_and_text(body: dict[str, Any]) -> tuple[str, str] | str:
    """(thread_ts, text) from a posted body, or what is wrong with it."""
    thread_ts, text = body.get("thread_ts"), body.get("text")
    if not isinstance(thread_ts, str) or not thread_ts:
        return "name the thread (its thread_ts)"
    if not isinstance(text, str) or not text.strip():
        return "write something first"
    if len(text) > threads.THREAD_TEXT_MAX:
        return f"that is {len(text)} characters; at most {threads.THREAD_TEXT_MAX} here"
    return thread_ts, text.strip()


async def json_body(request: Request) -> dict[str, Any]:
    """The posted JSON object; {} for anything else. Only `application/json` is read: a page
    on another site can send a form or text/plain here without asking, but not JSON."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return {}
    try:
        found = await request.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def refused(problem: str) -> Response:
    return JSONResponse({"ok": False, "error": problem}, status_code=400)
