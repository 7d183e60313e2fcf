"""The embedded backend's store (LocalBackend): the conversations, tags, agents, queues, routing
rules, messages, notes and metadata that Infobip keeps for a real account.

Kept apart from the bot's own tables (tables.py): only bot/backends/local*.py reads them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

from bot.state.schema import UTCDateTime, metadata

local_conversations = Table(
    "local_conversations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("topic", Text),
    Column("summary", Text),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    # Rank (URGENT=4 … LOW=1) so "priority:desc" sorts by meaning, not alphabetically.
    Column("priority_rank", SmallInteger, nullable=False),
    Column("queue_id", String(255)),
    Column("agent_id", String(255)),
    Column("channel", String(32), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    # The shapes digests and lists ask for: status+priority filtered, newest or oldest first.
    Index(None, "status", "priority_rank", "created_at"),
    Index(None, "priority_rank", "created_at"),
    Index(None, "created_at"),
    Index(None, "updated_at"),
    Index(None, "queue_id", "status", "created_at"),
    Index(None, "agent_id", "status", "created_at"),
    # "Unassigned, high priority": agent IS NULL with a few priorities and statuses.
    Index(None, "agent_id", "priority_rank", "status"),
)

local_tags = Table(
    "local_tags",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

local_conversation_tags = Table(
    "local_conversation_tags",
    metadata,
    Column(
        "conversation_id",
        String(64),
        ForeignKey("local_conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag_name", String(100), ForeignKey("local_tags.name"), primary_key=True),
    Index(None, "tag_name", "conversation_id"),
)

local_agents = Table(
    "local_agents",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("display_name", String(255), nullable=False),
    Column("email", String(320)),
    Column("status", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

local_queues = Table(
    "local_queues",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("auto_assignment", Boolean, nullable=False),
    Column("algorithm", String(32)),
    # ROUND_ROBIN's cursor: the agent who got the previous conversation.
    Column("last_assigned_agent_id", String(255)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

local_queue_agents = Table(
    "local_queue_agents",
    metadata,
    Column(
        "queue_id", String(255), ForeignKey("local_queues.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "agent_id", String(255), ForeignKey("local_agents.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("position", Integer, nullable=False),
)

local_routing_rules = Table(
    "local_routing_rules",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("position", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("queue_id", String(255), ForeignKey("local_queues.id"), nullable=False),
    Column("priority", String(16)),
    Column("match", JSON, nullable=False),
)

# A conversation's messages and notes (issue 18). `seq` is the order they were stored in: it
# breaks ties of `created_at` (many in one millisecond), so that a transcript's order is total.
local_messages = Table(
    "local_messages",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(64), nullable=False, unique=True),
    Column(
        "conversation_id",
        String(64),
        ForeignKey("local_conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("direction", String(16), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("from_address", String(255), nullable=False),
    Column("to_address", String(255), nullable=False),
    Column("author_id", String(255)),
    Column("author_type", String(16)),
    Column("content_type", String(64), nullable=False),
    Column("content", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "conversation_id", "created_at", "seq"),
)

local_notes = Table(
    "local_notes",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(64), nullable=False, unique=True),
    Column(
        "conversation_id",
        String(64),
        ForeignKey("local_conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("agent_id", String(255)),
    Column("type", String(32), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "conversation_id", "created_at", "seq"),
)

# A conversation's metadata (Infobip's free key/value map), one JSON object per conversation: it
# is read and written whole (GET, PUT) or merged (PATCH), never searched by key.
local_conversation_metadata = Table(
    "local_conversation_metadata",
    metadata,
    Column(
        "conversation_id",
        String(64),
        ForeignKey("local_conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("content", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
