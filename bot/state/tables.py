"""The bot's own tables: audit, claims, ticks, snoozes, digests, escalations, Slack threads and
the Slack event ids taken in.

The embedded backend's store is in local_tables.py; both add to the one `metadata` of schema.py.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

from bot.state.schema import UTCDateTime, metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("surface", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("conversation_id", String(255)),
    Column("before", JSON),
    Column("after", JSON),
    Index(None, "conversation_id", "at"),
    Index(None, "at"),
)

# One row per (conversation, version) a button press acted on: the first press wins, across
# replicas, so two quick presses on one card apply once.
card_action_claims = Table(
    "card_action_claims",
    metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("action", String(32), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
    Index(None, "claimed_at"),
)

# Events API deliveries already taken in (bot/state/slack_events.py): Slack redelivers an event
# it got no timely 2xx for, with the same `event_id`, to whichever replica; that one finds the row
# and does not run it again. Rows older than Slack's retry window are pruned.
slack_events = Table(
    "slack_events",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Index(None, "received_at"),
)

# One row per scheduled tick of a job (a digest): the replica whose insert succeeds runs it, so
# a tick is done once however many replicas run the same schedule, and a restart never redoes it.
job_ticks = Table(
    "job_ticks",
    metadata,
    Column("job_id", String(255), primary_key=True),
    Column("scheduled_at", UTCDateTime(), primary_key=True),
    Column("claimed_by", String(255), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
    # Set just before the claimant asks Slack to post: from then on nobody may take the tick
    # over, since Slack may have the post (bot/state/ticks.py).
    Column("posting_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("error", Text),
    Index(None, "job_id", "claimed_at"),
)

# A snoozed conversation is left out of digests until `until` (one row per conversation; a
# newer snooze replaces the older one, an expired row is as good as none).
conversation_snoozes = Table(
    "conversation_snoozes",
    metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("until", UTCDateTime(), nullable=False),
    Column("snoozed_by", String(255), nullable=False),
    Column("snoozed_at", UTCDateTime(), nullable=False),
    Index(None, "until"),
)

# A conversation's transcript in a Slack thread (bot/state/threads.py): one per (conversation,
# channel), so two presses, or two replicas, open one thread. `cursor_at` and `cursor_ids` are
# how far the mirror posted: the newest message's createdAt, and the ids posted at that instant
# (`createdAfter` includes it, so they come back and are skipped). A retired thread (its
# conversation closed) is dropped by retention.
slack_threads = Table(
    "slack_threads",
    metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("channel_id", String(64), primary_key=True),
    Column("root_ts", String(32), nullable=False),
    Column("permalink", Text),
    Column("opened_by", String(255), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("cursor_at", UTCDateTime()),
    Column("cursor_ids", JSON, nullable=False),
    # One more at every move of the cursor: a move names the version it read (ThreadStore.advance).
    Column("cursor_version", Integer, nullable=False, default=0, server_default=text("0")),
    # The message being posted: set before chat.postMessage, cleared with the cursor. Still set
    # on the next pass, the post's fate is unknown (a stop between the two) and is read back
    # from the thread (its replies carry the message id in their metadata).
    Column("posting_id", String(255)),
    # The conversation was seen closed: one last poll, a closing line, then retired.
    Column("closed_at", UTCDateTime()),
    # Infobip throttled or failed this thread's poll: not asked again before `backoff_until`.
    Column("failures", SmallInteger, nullable=False, default=0),
    Column("backoff_until", UTCDateTime()),
    Column("retired_at", UTCDateTime()),
    # What the thread's first post said people's messages in it become (`thread_replies` when
    # it opened): a later, bolder setting never applies to a thread that announced less.
    Column("thread_replies", String(16)),
    Index(None, "channel_id", "retired_at"),
    Index(None, "retired_at"),
    # A person's message in a thread names its root (bot/slack/thread_replies.py).
    Index(None, "channel_id", "root_ts"),
)

# Which replica mirrors a channel's threads (bot/state/threads.py ChannelLeases): the holder
# posts that channel's new messages one at a time, so Slack's one message per second per
# channel is paced in one place, and the lease passes on when its holder stops renewing it.
thread_channel_leases = Table(
    "thread_channel_leases",
    metadata,
    Column("channel_id", String(64), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("until", UTCDateTime(), nullable=False),
)

# The message an `edit_in_place` digest edits at each tick: one per (digest, channel).
digest_messages = Table(
    "digest_messages",
    metadata,
    Column("digest", String(255), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("ts", String(32), nullable=False),
    Column("posted_at", UTCDateTime(), nullable=False),
)

# Every digest message the bot posted (or redrew at a tick), with what it drew: a press on a
# digest item redraws only a message recorded here, from these blocks, never from what the
# press's payload says the message held (bot/state/digest_posts.py). Pruned by retention.
digest_posts = Table(
    "digest_posts",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("digest", String(255), nullable=False),
    Column("text", Text, nullable=False),
    Column("blocks", JSON, nullable=False),
    Column("posted_at", UTCDateTime(), nullable=False),
    Index(None, "posted_at"),
)

# An escalation runs a policy's steps for one conversation until someone acknowledges it. The
# sweep picks rows whose `next_at` is due; `active_conversation_id` is the conversation id while
# the escalation is active (NULL after), so a unique index allows one active escalation each.
escalations = Table(
    "escalations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("conversation_id", String(255), nullable=False),
    Column("active_conversation_id", String(255), unique=True),
    Column("policy", String(255), nullable=False),
    Column("rule", String(255)),  # the auto-escalation rule that started it, if one did
    Column("reason", Text),
    Column("started_by", String(255), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # active · acknowledged · resolved · exhausted
    Column("step", Integer, nullable=False),  # the index of the next step to run
    Column("round", Integer, nullable=False),  # 0 for the first pass over the steps
    Column("next_at", UTCDateTime()),  # when the next step is due; NULL once not active
    Column("ended_by", String(255)),
    Column("ended_at", UTCDateTime()),
    Index(None, "status", "next_at"),
    Index(None, "conversation_id", "started_at"),
)

# Every page of an escalation. A step first claims its pages (status `sending`) in the same
# transaction that moves the escalation on; each is then delivered while the escalation's row is
# held and marked `sent` with where it is (so an acknowledgement can redraw it), or `cancelled`
# when the escalation ended first, or `failed`. A page left `sending` by a process that died is
# delivered by the next sweep.
escalation_pages = Table(
    "escalation_pages",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("escalation_id", String(36), ForeignKey("escalations.id"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("target", String(255), nullable=False),  # user:U… (a DM) or channel:C…
    Column("status", String(16), nullable=False),  # sending · sent · cancelled · failed
    Column("claimed_at", UTCDateTime(), nullable=False),
    Column("channel", String(64)),
    Column("ts", String(32)),
    Column("sent_at", UTCDateTime()),
    Index(None, "escalation_id"),
    Index(None, "status", "claimed_at"),
)

# The channel messages that announced an escalation ("@ana escalated … Paging @ben now"), so
# they are redrawn with its outcome when it ends, from whichever replica ends it.
escalation_notices = Table(
    "escalation_notices",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("escalation_id", String(36), ForeignKey("escalations.id"), nullable=False),
    Column("text", Text, nullable=False),  # the announcement's first line, kept when redrawn
    Column("posted_at", UTCDateTime(), nullable=False),
    Index(None, "escalation_id"),
)

# What the bot did with each person's message in a thread under `thread_replies`
# (bot/state/thread_replies.py): claimed before the reply is sent, so a message is sent at most
# once whatever Slack delivers; the Infobip message id the reply got, so the thread mirror does
# not post it back into the thread; and the edits already answered, each once.
slack_thread_replies = Table(
    "slack_thread_replies",
    metadata,
    Column("channel_id", String(64), primary_key=True),
    Column("message_ts", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),  # "message", "edit"
    Column("conversation_id", String(255), nullable=False),
    Column("state", String(16), nullable=False),  # sending, sent, saved, failed, told
    Column("message_id", String(255)),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "channel_id", "conversation_id", "created_at"),
    Index(None, "created_at"),
)
