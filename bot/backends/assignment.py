"""Queue auto-assignment: which active agent of a queue gets the next conversation."""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import AutoAssignment


def pick_agent(
    algorithm: AutoAssignment,
    candidates: Sequence[tuple[str, int]],
    last_assigned: str | None,
) -> str | None:
    """Choose from `(agent id, open conversations)` pairs in the queue's agent order.

    LOAD_BALANCING: the fewest open conversations, ties to the earlier agent. ROUND_ROBIN: the
    agent after the one who got the previous conversation. PERFORMANCE_BASED needs ratings the
    embedded store does not have, so it balances load.
    """
    if not candidates:
        return None
    if algorithm is AutoAssignment.ROUND_ROBIN:
        ids = [agent_id for agent_id, _ in candidates]
        if last_assigned in ids:
            return ids[(ids.index(last_assigned) + 1) % len(ids)]
        return ids[0]
    return min(candidates, key=lambda candidate: candidate[1])[0]
