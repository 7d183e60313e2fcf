"""What a person sees and does in the local Slack of `convbot dev`, on top of the fake Slack.

The fake Slack (bot/devtools/fakeslack) is the workspace: it records what the bot posts, opens and
publishes through the Web API and its response_urls. This adds the person's side: the state of
one user's view of one channel, and their slash commands, clicks and form submissions, sent to
the bot's /slack/events as Slack sends them — signed with the app's signing secret, with fresh
response_urls and trigger_ids — so the bot runs unchanged.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import httpx

from bot.devtools.dev import threads
from bot.devtools.fakeslack import (
    FakeSlack,
    SlackSigner,
    StoredView,
    app_home_opened,
    block_actions,
    event_callback,
    slash_command,
    view_submission,
)
from bot.devtools.fakeslack.views import apply_submission_ack

Json = dict[str, Any]
LONG_POLL = 25.0  # seconds a state request with `since` waits for a change
EVENTS_KEPT = 50


class BotRefused(Exception):
    """The bot did not take a request (an HTTP error instead of Slack's 200)."""


class LocalSlack:
    def __init__(self, fake: FakeSlack, signing_secret: str) -> None:
        self.fake = fake
        self.signer = SlackSigner(signing_secret)
        self.bot_url = ""  # set when served: where /slack/events is
        self.http: httpx.AsyncClient | None = None
        self._changes = 0  # changes made here, not through the bot's calls
        self._home_opened: set[str] = set()
        # (user, channel) → the ts of the newest message the person has had on screen there:
        # what the sidebar's unread counts start from. A person's view, not the workspace's.
        self._read: dict[tuple[str, str], float] = {}
        self.stopping = False  # the server is shutting down: answer long-polls at once
        # The events the page delivered to the bot and its HTTP status, newest last: the page
        # shows no answer to an event (Slack shows none), so this is where one is seen.
        self.events: deque[tuple[Json, int]] = deque(maxlen=EVENTS_KEPT)

    @property
    def version(self) -> int:
        """Grows with every change to the workspace: each of the bot's Web API calls and
        response_url posts, and each change made here."""
        return len(self.fake.calls) + len(self.fake.responses) + self._changes

    def stop(self) -> None:
        """Answer every waiting long-poll now and none later: on Ctrl-C the server waits for
        open requests, and a page's 25 s poll cancelled by its grace timeout logs a traceback."""
        self.stopping = True
        self.fake.changed()

    # --- what a person sees ---------------------------------------------------------------------

    async def state(
        self,
        user: str,
        channel: str,
        since: int | None = None,
        *,
        reading: bool = True,
        thread_ts: str | None = None,
    ) -> Json:
        """`user`'s view of `channel` (and their DM, modals and App Home); with `since`, waits
        up to LONG_POLL seconds for the workspace to change from that version first.

        `reading`: the channel is on screen (not the App Home), so its messages count as read.
        `thread_ts`: the thread open in the pane beside the channel (`thread`: None if the
        message is not there).
        """
        if user in self.fake.users and user not in self._home_opened:
            self._home_opened.add(user)
            await self.open_home(user)
        if since is not None and since == self.version and not self.stopping:
            await self.fake.wait_for_change(LONG_POLL)
        fake = self.fake
        home = fake.home_view(user)
        modals = self.open_modals(user)
        messages = self._messages(user, channel)
        read_up_to = self._read.get((user, channel), 0.0)
        if reading and messages:
            self.mark_read(user, channel, float(messages[-1]["ts"]))
        return {
            "version": self.version,
            "bot_user": fake.bot_user_id,
            "users": [
                {"id": u.id, "name": u.name, "real_name": u.real_name}
                for u in fake.users.values()
                if not u.is_bot and not u.deleted
            ],
            "usergroups": dict(fake.usergroup_handles),
            "channels": self._channels(user),
            "messages": messages,
            # Where the page opens the channel: at the first message not read before, as Slack.
            "read_up_to": f"{read_up_to:.6f}",
            "views": [{"id": view.id, "view": view.view} for view in modals],
            "home": home.view if home is not None else None,
            "thread": threads.thread(fake, user, channel, thread_ts) if thread_ts else None,
        }

    def open_modals(self, user: str) -> list[StoredView]:
        """The user's modal stack, bottom first."""
        closed = self.fake.closed_views
        return [
            view
            for view in self.fake.views.values()
            if view.type == "modal" and view.user_id == user and view.id not in closed
        ]

    def _channels(self, user: str) -> list[Json]:
        dm, _ = self.fake.dm_with(user)
        listed = [
            (c.id, c.name, False)
            for c in self.fake.channels.values()
            if not c.is_im and not c.is_archived
        ]
        listed.append((dm.id, self.fake.bot_name, True))
        return [
            {"id": id, "name": name, "is_im": is_im, "unread": self.unread(user, id)}
            for id, name, is_im in listed
        ]

    def unread(self, user: str, channel: str) -> int:
        """How many messages in `channel` arrived since `user` last had it on screen: new
        top-level messages by others and ephemeral ones for them (an edit is not new, as in
        Slack, so a card redrawn or a digest edited in place does not count again; a reply is
        the thread's news, not the channel's)."""
        seen = self._read.get((user, channel), 0.0)
        posted = sum(
            1
            for m in self.fake.messages_in(channel)
            if (m.thread_ts is None or m.thread_ts == m.ts)
            and m.user != user
            and float(m.ts) > seen
        )
        # One shown in a thread (Older messages, a refusal) is news in the thread, not here.
        ephemeral = self.fake.ephemeral_for(user, channel)
        return posted + sum(1 for m in ephemeral if m.thread_ts is None and float(m.ts) > seen)

    def mark_read(self, user: str, channel: str, ts: float) -> None:
        """`user` has had `channel` on screen up to the message at `ts`."""
        key = (user, channel)
        self._read[key] = max(self._read.get(key, 0.0), ts)

    def _messages(self, user: str, channel: str) -> list[Json]:
        shown = threads.channel_messages(self.fake, channel)
        shown += [
            {
                "channel": m.channel,
                "ts": m.ts,
                "thread_ts": None,
                "text": m.text,
                "blocks": m.blocks,
                "user": self.fake.bot_user_id,
                "bot": True,
                "edited": False,
                "ephemeral": True,
                "reactions": [],
            }
            for m in self.fake.ephemeral_for(user, channel)
            if m.thread_ts is None  # one shown in a thread is drawn in its pane
        ]
        return sorted(shown, key=lambda message: float(message["ts"]))

    # --- what a person does ---------------------------------------------------------------------

    async def command(self, user: str, channel: str, text: str) -> httpx.Response:
        """`/conv <text>` typed in `channel`. The bot's immediate answer, if its ack carries
        one, is shown as Slack shows it: an ephemeral message."""
        response_url = self.fake.new_response_url(channel, user)
        trigger = self.fake.new_trigger_id(user)
        body = slash_command(
            text, user_id=user, channel_id=channel, response_url=response_url, trigger_id=trigger
        )
        ack = await self._send(body)
        self._show_ack(ack, user, channel)
        return ack

    async def action(self, user: str, channel: str, container: Json, action: Json) -> None:
        """A click (button, select, overflow) on a message, in a modal or on the App Home."""
        action = {**action, "action_ts": f"{time.time():.6f}"}
        trigger = self.fake.new_trigger_id(user)
        kind = container.get("type")
        if kind == "view":
            stored = self.fake.views.get(str(container.get("view_id")))
            if stored is None:
                return
            body = block_actions(action, user_id=user, trigger_id=trigger, view=stored.view)
        elif kind == "home":
            home = self.fake.home_view(user)
            if home is None:
                return
            body = block_actions(action, user_id=user, trigger_id=trigger, view=home.view)
        else:
            ts = str(container.get("message_ts"))
            url = self.fake.new_response_url(channel, user, message_ts=ts)
            message = self.fake.message(channel, ts)
            if message is not None:
                body = block_actions(
                    action,
                    user_id=user,
                    trigger_id=trigger,
                    channel_id=channel,
                    message=message.as_slack(),
                    response_url=url,
                )
            else:  # an ephemeral message: Slack sends only its container
                body = block_actions(
                    action,
                    user_id=user,
                    trigger_id=trigger,
                    channel_id=channel,
                    container={
                        "type": "message",
                        "message_ts": ts,
                        "channel_id": channel,
                        "is_ephemeral": True,
                    },
                    response_url=url,
                )
        await self._send(body)

    async def submit(self, user: str, view_id: str, values: Json) -> dict[str, str]:
        """Submit a modal; the inline errors the bot answered with (none: it was accepted);
        BotRefused when the bot did not take it.

        The ack's `response_action` is applied as Slack applies it: `errors` keeps the modal
        open with the messages beside the inputs, `update` replaces it, `push` stacks a new one,
        `clear` closes them all, and an empty ack closes this one."""
        stored = self.fake.views.get(view_id)
        if stored is None or stored.user_id != user:
            return {}
        trigger = self.fake.new_trigger_id(user)
        ack = await self._send(
            view_submission(stored, user_id=user, trigger_id=trigger, values=values)
        )
        if ack.status_code != 200:
            # Slack keeps the form open and says it could not reach the app.
            raise BotRefused(f"The bot answered HTTP {ack.status_code}; the form stays open.")
        self._changed()
        # The errors go back to the page that submitted, and only there: they answer what was
        # typed into that page, which a reload forgets, so they are not part of the state.
        return apply_submission_ack(self.fake, stored, _json(ack))

    async def write_in_thread(
        self, user: str, channel: str, thread_ts: str, text: str
    ) -> httpx.Response:
        """`user` writes `text` in the thread under `thread_ts`: stored as their message, then
        delivered to the bot as Slack's `message` event (the bot's answer, whatever it is, is
        not the person's business: Slack shows the message either way)."""
        message = threads.write(self.fake, user, channel, thread_ts, text)
        self.mark_read(user, channel, float(message.ts))
        self._changed()
        event = threads.message_event(self.fake, message)
        answer = await self._send(event_callback(event))
        self.events.append((event, answer.status_code))
        return answer

    def close(self, user: str, view_id: str) -> None:
        stored = self.fake.views.get(view_id)
        if stored is not None and stored.user_id == user:
            self.fake.close_view(view_id)
            self._changed()

    async def open_home(self, user: str) -> None:
        """The person opened the App Home tab: the bot publishes it."""
        home = self.fake.home_view(user)
        event = app_home_opened(user, view=home.view if home is not None else None)
        await self._send(event_callback(event))

    def _changed(self) -> None:
        self._changes += 1
        self.fake.changed()

    # --- to the bot -----------------------------------------------------------------------------

    async def _send(self, body: str) -> httpx.Response:
        if self.http is None:
            raise RuntimeError("the local Slack is not serving yet")
        headers = self.signer.headers_for(body)
        return await self.http.post(f"{self.bot_url}/slack/events", content=body, headers=headers)

    def _show_ack(self, ack: httpx.Response, user: str, channel: str) -> None:
        if ack.status_code != 200:
            text = f"The bot answered HTTP {ack.status_code}."
        else:
            found = _json(ack)
            text = str(found.get("text") or "") if found else ack.text.strip()
        if text:
            self.fake.store_ephemeral(channel, user, text=text)
            self._changed()


def _json(response: httpx.Response) -> Json:
    if not response.content or not response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        return {}
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
