"""Slack's Web API rate limits, so a test that posts faster than Slack allows meets a 429.

Sources: docs.slack.dev/apis/web-api/rate-limits (tiers: Tier 2 "20+ per minute", Tier 3 "50+",
Tier 4 "100+", each per method per workspace, bursts allowed) and each method's page for its
tier; chat.postMessage is special: "1 message per second to a specific channel" with "generous
burst behavior" (the number is not published; the fake allows a burst of `POST_BURST`).
An exceeded limit is HTTP 429 with `Retry-After` (seconds) and `{"ok":false,"error":"ratelimited"}`.

Each limit is a token bucket: `capacity` calls at once, refilled at `per_second`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

TIER_2, TIER_3, TIER_4 = 20, 50, 100  # calls per minute
POST_BURST = 10

TIERS: dict[str, int] = {
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.postEphemeral": TIER_4,
    "chat.getPermalink": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
    "views.publish": TIER_4,
    "conversations.open": TIER_3,
    "conversations.info": TIER_3,
    # Tier 3 for an app a workspace builds for itself; a commercially distributed app outside
    # the Marketplace gets 1 a minute (Slack's changelog, 2025-05-29).
    "conversations.replies": TIER_3,
    "conversations.join": TIER_3,
    "users.info": TIER_4,
    "users.lookupByEmail": TIER_3,
    "usergroups.users.list": TIER_2,
    "team.info": TIER_3,
    "reactions.add": TIER_3,  # docs.slack.dev/reference/methods/reactions.add
}


@dataclass
class _Bucket:
    capacity: float
    per_second: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float | None:
        """Spend one call; None if allowed, else the seconds until one is."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.per_second


@dataclass
class RateLimits:
    """Buckets per method (and per channel for chat.postMessage); `enabled` False turns them off."""

    enabled: bool = True
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)

    def retry_after(self, method: str, channel: str | None) -> int | None:
        """None when the call may go ahead; else the whole seconds Slack's `Retry-After` says."""
        if not self.enabled:
            return None
        if method == "chat.postMessage":
            key, capacity, per_second = (method, channel or ""), POST_BURST, 1.0
        elif method in TIERS:
            key, capacity, per_second = (method, ""), TIERS[method], TIERS[method] / 60
        else:
            return None
        now = self.clock()
        bucket = self._buckets.setdefault(key, _Bucket(capacity, per_second, capacity, now))
        wait = bucket.take(now)
        return None if wait is None else max(1, math.ceil(wait))
