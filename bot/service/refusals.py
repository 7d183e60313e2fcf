"""Which refusals the audit log records: the first of each person and action, then at most one
a minute, so refusals asked for in a loop cannot fill the state database."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

# Identical refusals (a person, an action) audited at most once per this many seconds.
REFUSAL_QUIET = 60.0
REFUSALS_REMEMBERED = 10_000


class Refusals:
    """Which refusals to audit. Every refusal was a row: 200 refused closes by one person were
    200 rows in 1.3 s, and nothing bounded how fast refusals are asked for. The audit log still
    says who tried what (the first refusal of a person and action), and then at most one row
    per REFUSAL_QUIET per replica for as long as they keep trying, whatever conversation ids
    they name (unknown ids are refused before anything is looked up, so ids vary for free).
    Kept in memory, at most REFUSALS_REMEMBERED pairs, the least recent forgotten first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: OrderedDict[tuple[str, str], float] = OrderedDict()

    def first(self, actor: str, action: str) -> bool:
        """Whether this refusal is the first of its kind within REFUSAL_QUIET (and note it)."""
        now, key = self._clock(), (actor, action)
        last = self._last.get(key)
        if last is not None and now - last < REFUSAL_QUIET:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > REFUSALS_REMEMBERED:
            self._last.popitem(last=False)
        return True
