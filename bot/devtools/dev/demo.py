"""The demo that `convbot dev` starts with: a Slack workspace, an operations file, conversations.

Four people (three of them agents), two channels (threads open on a press in #support, at once
in #incidents, and look for new messages every 2 s), three queues with routing rules, an
on-call rotation and an escalation policy, a digest of open URGENT and HIGH conversations every
minute (one message in #support, edited in place), about 40 conversations across priorities,
statuses and queues, and a welcome in #support saying what to try.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.commands.executor import execute
from bot.commands.parser import parse
from bot.devtools.dev.customers import Customers
from bot.devtools.fakeslack import FakeSlack
from bot.errors import ConvbotError
from bot.models import Actor, ConversationFilter
from bot.service.conversations import ConversationService

SUPPORT, INCIDENTS = "CSUPPORT01", "CINCIDENT1"
# (Slack user id, handle, real name, agent id or None): Dave is no agent, to show the refusal.
PEOPLE = [
    ("UANA00001", "ana", "Ana Horvat", "agent-ana"),
    ("UBEN00002", "ben", "Ben Kovac", "agent-ben"),
    ("UCLEO0003", "cleo", "Cleo Marin", "agent-cleo"),
    ("UDAVE0004", "dave", "Dave Observer", None),
]
ONCALL_GROUP = "S0ONCALL01"


def workspace(fake: FakeSlack) -> None:
    """The people and channels of the demo workspace."""
    for user_id, handle, real_name, _agent in PEOPLE:
        fake.add_user(user_id, handle, f"{handle}@example.com", real_name=real_name)
    fake.add_channel(SUPPORT, "support")
    fake.add_channel(INCIDENTS, "incidents")
    fake.add_usergroup(ONCALL_GROUP, [PEOPLE[0][0], PEOPLE[1][0]], handle="oncall")


def operations() -> dict[str, Any]:
    """convbot.yml for the demo: agents, queues, routing, a digest a minute, on call."""
    agents = [person for person in PEOPLE if person[3] is not None]
    return {
        "agents": {user_id: agent for user_id, _h, _n, agent in agents},
        "local": {
            "agents": [
                {"id": agent, "name": name, "email": f"{handle}@example.com"}
                for _u, handle, name, agent in agents
            ],
            "queues": [
                {
                    "id": "q-billing",
                    "name": "Billing",
                    "agents": ["agent-ana", "agent-ben"],
                    "auto_assignment": "LOAD_BALANCING",
                },
                {
                    "id": "q-vip",
                    "name": "VIP",
                    "agents": ["agent-ana", "agent-cleo"],
                    "auto_assignment": "ROUND_ROBIN",
                },
                {"id": "q-general", "name": "General", "agents": ["agent-ben", "agent-cleo"]},
            ],
            "routing": [
                {"name": "VIP", "queue": "q-vip", "priority": "HIGH", "match": {"tags": ["vip"]}},
                {
                    "name": "Money",
                    "queue": "q-billing",
                    "match": {"keywords": ["invoice", "refund", "payment"]},
                },
            ],
        },
        "digests": [
            {
                "name": "urgent-and-high",
                "channel": SUPPORT,
                "every": "1m",
                "filter": {"status": ["OPEN", "WAITING"], "priority": ["URGENT", "HIGH"]},
                "max_items": 10,
                "mention": ONCALL_GROUP,
                # A new post every minute would push everything people do in #support out of
                # sight within minutes; one message redrawn each tick stays where it was.
                "edit_in_place": True,
            }
        ],
        "oncall": {
            "schedules": [
                {
                    "name": "primary",
                    "rotation": {
                        "users": [PEOPLE[0][0], PEOPLE[1][0]],
                        "shift": "1d",
                        "start": "2026-01-05T09:00",
                    },
                },
                {
                    "name": "secondary",
                    "rotation": {
                        "users": [PEOPLE[2][0]],
                        "shift": "7d",
                        "start": "2026-01-05T09:00",
                    },
                },
            ],
            "policies": [
                {
                    "name": "default",
                    "steps": [
                        {"notify": ["schedule:primary"], "wait": "2m"},
                        {"notify": ["schedule:secondary", f"channel:{INCIDENTS}"], "wait": "5m"},
                    ],
                }
            ],
        },
        "scheduler": {"escalation_sweep": "10s"},
        "threads": {
            # Short, so what a customer writes shows in its thread about two seconds later.
            "poll_interval": "2s",
            # #support opens a thread when someone presses Thread on a card (the welcome says
            # so), and what a person writes in it goes to the customer (the bot reacts with
            # whether it went out); in #incidents every card opens its own at once.
            "channels": {SUPPORT: {"thread_replies": "customer"}, INCIDENTS: {"auto": True}},
        },
    }


WELCOME_EVENT = "convbot_dev_welcome"  # the metadata that marks the welcome, to post it once
WELCOME_TEXT = (
    "Welcome to the convbot demo: try /conv list, /conv create, Take, Thread, Reply, the App Home."
)
WELCOME_STEPS = (
    "Things to try in this local Slack:\n"
    "• `/conv list`: the open conversations, most urgent first\n"
    "• `/conv create Wifi down in the lobby priority:high`: a new conversation and its card\n"
    "• press *Take* on a card to make the conversation yours\n"
    "• press *Thread* on a card: the conversation's messages open in a thread under it, and"
    " its customer's new ones arrive there by themselves\n"
    "• *Reply* on a card (or in its thread) answers the customer; *Note* saves a note for"
    " colleagues\n"
    "• in an open thread, *Write as the customer* plays the customer: watch it arrive; what"
    " you write in a #support thread goes to the customer (the bot's ✅ says it went out)\n"
    "• open the *App Home* (under Apps, on the left): what is assigned to you\n"
    "• `/conv help`: every command in a line; `/conv help list` explains one, with examples"
)
WELCOME_NOTE = (
    "Pick who you are at the top. The digest of URGENT and HIGH conversations in this channel"
    " is redrawn in place every minute; a page for whoever is on call arrives in their DM."
)


def welcome(fake: FakeSlack) -> bool:
    """Post the bot's welcome at the top of #support unless it is there; whether it was posted.

    The local Slack keeps its messages in memory, so each start of `convbot dev` begins with an
    empty #support: the welcome is posted once per start and never again by a reload."""
    if any(
        (message.metadata or {}).get("event_type") == WELCOME_EVENT
        for message in fake.messages_in(SUPPORT)
    ):
        return False
    blocks = [
        HeaderBlock(text="Welcome to the convbot demo"),
        SectionBlock(text=MarkdownTextObject(text=WELCOME_STEPS)),
        ContextBlock(elements=[MarkdownTextObject(text=WELCOME_NOTE)]),
    ]
    fake.store_message(
        SUPPORT,
        text=WELCOME_TEXT,
        blocks=[block.to_dict() for block in blocks],
        metadata={"event_type": WELCOME_EVENT, "event_payload": {}},
    )
    return True


TOPICS = [
    ("Refund for invoice {n} not received", "EMAIL"),
    ("Card payment declined at checkout", "WHATSAPP"),
    ("Delivery {n} stuck in customs", "EMAIL"),
    ("Cannot log in after password reset", "LIVE_CHAT"),
    ("Wrong size shipped, order {n}", "SMS"),
    ("Subscription charged twice", "EMAIL"),
    ("App crashes when opening the basket", "LIVE_CHAT"),
    ("Change of delivery address for {n}", "WHATSAPP"),
    ("Loyalty points missing", "SMS"),
    ("Invoice {n} shows the wrong VAT number", "EMAIL"),
]
MIX = [("urgent", 5), ("high", 9), ("normal", 18), ("low", 8)]


async def conversations(
    service: ConversationService, customers: Customers | None = None, count: int = 40
) -> int:
    """Create the demo's conversations unless the store has some; how many were created.

    Through the command grammar, as a person would, so routing rules, auto-assignment and the
    audit log all take part; each customer writes first (before any is closed)."""
    existing = await service.find(ConversationFilter(limit=1))
    if existing.totalItems:
        return 0
    picker = random.Random(7)  # the same demo every time
    priorities = [name for name, weight in MIX for _ in range(weight)]
    actor = Actor(id="cli:demo", surface="cli")
    created = 0
    for n in range(count):
        topic, channel = TOPICS[n % len(TOPICS)]
        words = [
            "create",
            f'"{topic.format(n=4400 + n)}"',
            f"priority:{priorities[n % len(priorities)]}",
            f"channel:{channel.lower()}",
        ]
        if picker.random() < 0.2:
            words.append("#vip")
        result = await execute(parse(" ".join(words)), service, actor)
        conversation = result.conversation
        created += 1
        if conversation is None:
            continue
        if customers is not None:
            await customers.opening(conversation, n)
        if picker.random() < 0.6:
            # By the routing rules: into a queue, and to an agent where the queue auto-assigns;
            # where no rule matches it stays unqueued, as in Infobip.
            with contextlib.suppress(ConvbotError):
                await execute(parse(f"route {conversation.id}"), service, actor)
        if picker.random() < 0.25:
            await execute(parse(f"close {conversation.id}"), service, actor)
    return created
