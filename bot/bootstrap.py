"""The composition root: every part of the bot, built from the settings in one place.

`convbot serve` (bot/server.py), `convbot dev`, the CLI and the tests all build through
`build_runtime`. It is the one module that picks adapters (Infobip or the embedded store; Slack
behind the jobs' publisher and the escalations' pager) and connects services to each other, so
a rule such as "closing a conversation ends its escalation" holds whichever surface closed it.
It sits above every layer; nothing imports it but the entry points and the tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.backends.base import ConversationBackend
from bot.backends.local import LocalBackend
from bot.config import OpsConfig
from bot.config_file import load_settings_config
from bot.digests.service import DigestService
from bot.jobs.digests import DigestJobs
from bot.jobs.handoffs import HandoffNotices
from bot.jobs.publishing import DigestPublisher
from bot.jobs.scheduler import Jobs, replica_name
from bot.metrics import Metrics, metered
from bot.service.conversations import ConversationService
from bot.service.escalations import EscalationService
from bot.service.page_answers import PageAnswers
from bot.service.paging import Pager
from bot.service.permissions import PermissionPolicy
from bot.service.presses import Presses
from bot.settings import Settings
from bot.slack.app import build_slack_app
from bot.slack.client import slack_client
from bot.slack.context import SlackContext
from bot.slack.drawing import CardDrawing
from bot.slack.identity import SlackIdentity
from bot.slack.message_updates import MessageUpdates
from bot.slack.pager import SlackPager
from bot.slack.publisher import SlackDigestPublisher
from bot.slack.thread_mirror import ThreadMirror
from bot.slack.thread_replies import ThreadReplyBox
from bot.slack.threads import SlackThreads
from bot.slack.usergroups import SlackUserGroups
from bot.state.audit import AuditLog
from bot.state.claims import CardClaims
from bot.state.db import create_engine, migrate
from bot.state.digest_messages import DigestMessages
from bot.state.digest_posts import DigestPosts
from bot.state.escalation_notices import EscalationNotices
from bot.state.escalations import EscalationStore
from bot.state.retention import Retention
from bot.state.slack_events import SlackEvents
from bot.state.snoozes import SnoozeStore
from bot.state.thread_replies import ThreadReplyRecords
from bot.state.threads import ChannelLeases, ThreadStore
from bot.state.ticks import TickClaims
from bot.timestamps import utcnow


@dataclass
class Runtime:
    settings: Settings
    config: OpsConfig
    engine: AsyncEngine
    backend: ConversationBackend
    audit: AuditLog
    conversations: ConversationService
    escalations: EscalationService
    slack: SlackContext  # what the Slack listeners are given
    jobs: Jobs  # what the scheduler runs (bot/jobs/scheduler.py starts them)
    mirror: ThreadMirror  # its workers started by jobs.threads; a pass run by hand: run_pass
    # What `aclose` closes: what was built here, not what the caller passed in.
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)

    def slack_app(self) -> AsyncApp:
        """A Bolt app over these parts, built anew: a process that serves Slack (built with
        `for_slack`) calls it once."""
        return build_slack_app(self.slack)

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            await close()


def build_backend(settings: Settings, engine: AsyncEngine) -> ConversationBackend:
    """Infobip when its URL and key are set, otherwise the embedded store in the state database."""
    if settings.infobip_base_url and settings.infobip_api_key:  # == settings.uses_infobip
        from bot.backends.infobip import InfobipBackend

        return InfobipBackend(
            settings.infobip_base_url, settings.infobip_api_key.get_secret_value()
        )
    return LocalBackend(engine)


async def build_runtime(
    settings: Settings | None = None,
    config: OpsConfig | None = None,
    *,
    client: AsyncWebClient | None = None,
    metrics: Metrics | None = None,
    for_slack: bool = False,
    engine: AsyncEngine | None = None,
    backend: ConversationBackend | None = None,
    pager: Pager | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Runtime:
    """Open and migrate the state database, pick the backend (seeding the embedded one), and
    build the services, escalations, jobs and the Slack parts over them.

    `client`: the Slack Web API client (a server passes its pooled one; else one without a
    pool, enough for a CLI command). `metrics` meters backend calls. `for_slack`: this process
    serves Slack, so permissions and pages resolve user groups through Slack, and a mention in
    a command (`assign <id> <@U…>`) names the person's agent. Tests may pass their own state
    `engine` (migrated here, not disposed), `backend` (not seeded, not closed), `pager` or
    `clock`.
    """
    settings = settings or Settings()
    config = config or load_settings_config(settings)
    engine, backend, closers = await _open(settings, config, engine, backend)
    if metrics is not None:
        backend = metered(backend, metrics)
    client = client or slack_client(settings)
    groups = SlackUserGroups(client) if for_slack else None
    audit = AuditLog(engine)
    conversations = ConversationService(
        backend,
        audit,
        PermissionPolicy(config.permissions, groups),
        SnoozeStore(engine, clock=clock),
        clock=clock,
    )
    identity = SlackIdentity(config.agents, client, conversations)
    drawing = CardDrawing(conversations, identity)
    notices = EscalationNotices(engine, clock=clock)
    escalations = EscalationService(
        conversations,
        EscalationStore(engine, clock=clock),
        audit,
        config.oncall,
        pager or SlackPager(client, lambda: drawing.context(None), notices),
        groups=groups,
        clock=clock,
    )
    # Whichever surface closes a conversation (Slack, the CLI), its escalation ends with it and
    # its pages are redrawn. Without a way to redraw them (a CLI with no Slack token), the
    # serving replicas' sweep ends it instead, as it does a close made in Infobip itself.
    if pager is not None or settings.slack_bot_token is not None:
        conversations.when_closed(escalations.resolve)
    if for_slack:
        conversations.directory.link_mentions(identity.agent_for)
    updates = MessageUpdates(client)
    posts = DigestPosts(engine, clock=clock)
    publisher = SlackDigestPublisher(client, lambda: drawing.context(None), posts, updates)
    jobs = _jobs(config, engine, conversations, escalations, publisher, clock)
    threads = SlackThreads(
        client, conversations, ThreadStore(engine, clock=clock), drawing, config.threads
    )
    thread_replies = ThreadReplyRecords(engine, clock=clock)
    mirror = ThreadMirror(
        client,
        conversations,
        threads,
        ChannelLeases(engine, replica_name(), _channel_lease(config)),
        config.threads.poll_interval,
        clock=clock,
        replies=thread_replies,
    )
    # Whichever surface closes a conversation, its threads get a last poll and retire.
    conversations.when_closed(mirror.conversation_closed)
    jobs.threads = mirror.keep_up
    closers.append(mirror.release)
    claims = CardClaims(engine, clock=clock)
    slack = SlackContext(
        settings=settings,
        config=config,
        service=conversations,
        audit=audit,
        escalations=escalations,
        presses=Presses(conversations, escalations, claims),
        page_answers=PageAnswers(conversations, escalations),
        client=client,
        identity=identity,
        drawing=drawing,
        claims=claims,
        metrics=metrics or Metrics(),
        updates=updates,
        digest_posts=posts,
        digests=jobs.digests,
        escalation_notices=notices,
        slack_events=SlackEvents(engine, clock=clock),
        threads=threads,
        thread_replies=ThreadReplyBox(client, conversations, threads, identity, thread_replies),
    )
    return Runtime(
        settings=settings,
        config=config,
        engine=engine,
        backend=backend,
        audit=audit,
        conversations=conversations,
        escalations=escalations,
        slack=slack,
        jobs=jobs,
        mirror=mirror,
        closers=closers,
    )


async def _open(
    settings: Settings,
    config: OpsConfig,
    engine: AsyncEngine | None,
    backend: ConversationBackend | None,
) -> tuple[AsyncEngine, ConversationBackend, list[Callable[[], Awaitable[None]]]]:
    """The state database (migrated) and the backend (the embedded one seeded), and how to
    close what was opened here; on a failure, what was opened is closed again."""
    closers: list[Callable[[], Awaitable[None]]] = []
    if engine is None:
        engine = create_engine(settings.database_url)
        closers.append(engine.dispose)
    try:
        await migrate(engine)
        if backend is None:
            backend = build_backend(settings, engine)
            closers.append(backend.aclose)
            if isinstance(backend, LocalBackend):
                await backend.seed(config.local)
    except BaseException:
        for close in reversed(closers):
            await close()
        raise
    return engine, backend, closers


def _channel_lease(config: OpsConfig) -> timedelta:
    """How long a replica holds a channel's threads without renewing (it renews before each
    post): a stopped replica's channels pass to another this much later."""
    return max(config.threads.poll_interval * 3, timedelta(seconds=15))


def _jobs(
    config: OpsConfig,
    engine: AsyncEngine,
    conversations: ConversationService,
    escalations: EscalationService,
    publisher: DigestPublisher,
    clock: Callable[[], datetime],
) -> Jobs:
    digests = DigestService(conversations)
    return Jobs(
        digests=DigestJobs(
            schedules=list(config.digests),
            digests=digests,
            conversations=conversations,
            ticks=TickClaims(engine, replica_name(), clock=clock),
            publisher=publisher,
            grace=config.scheduler.misfire_grace,
            messages=DigestMessages(engine),
            clock=clock,
            lease=config.scheduler.tick_lease,
        ),
        handoffs=HandoffNotices(
            schedules=list(config.oncall.schedules),
            ticks=TickClaims(engine, replica_name(), clock=clock),
            digests=digests,
            publisher=publisher,
            grace=config.scheduler.misfire_grace,
            lease=config.scheduler.tick_lease,
            clock=clock,
        ),
        escalations=escalations,
        # Card claims only matter while a card version is fresh; Slack stops redelivering an
        # event minutes after its first try (bot/state/slack_events.py); expired snoozes are as
        # good as none; the rest is kept as long as `retention:` says (bot/state/retention.py).
        housekeeping={
            "housekeeping:card-claims": CardClaims(engine, clock=clock).forget_old,
            "housekeeping:slack-events": SlackEvents(engine, clock=clock).forget_old,
            "housekeeping:thread-replies": ThreadReplyRecords(engine, clock=clock).forget_old,
            "housekeeping:snoozes": SnoozeStore(engine, clock=clock).forget_expired,
            "housekeeping:retention": Retention(
                engine,
                config.retention,
                tick_horizon=config.scheduler.misfire_grace + config.scheduler.tick_lease,
            ).prune,
        },
    )
