"""p50/p95 of filtered `list` queries on the embedded backend over 1,000,000 conversations.

    python -m benchmarks.local_list [--rows 1000000] [--runs 50] [--db /tmp/convbot-bench.db]

The database is built once (about a minute) and reused while its row count matches.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import figures
from bot.backends.local import LocalBackend
from bot.models import ConversationFilter, OrderBy, Priority, Status
from bot.state.db import create_engine, migrate

STATUSES = [("OPEN", 20), ("WAITING", 10), ("SOLVED", 20), ("CLOSED", 50)]
PRIORITIES = [("URGENT", 5), ("HIGH", 15), ("NORMAL", 60), ("LOW", 20)]
RANK = {"URGENT": 4, "HIGH": 3, "NORMAL": 2, "LOW": 1}
CHANNELS = ["EMAIL", "WHATSAPP", "SMS", "LIVE_CHAT", "NO_CHANNEL"]
QUEUES = [f"q-{n}" for n in range(10)]
AGENTS = [f"agent-{n}" for n in range(50)]
TAGS = [f"tag-{n}" for n in range(20)]
NOW = datetime(2026, 11, 25, tzinfo=UTC)

FILTERS: dict[str, ConversationFilter] = {
    "open+waiting, high+urgent, newest": ConversationFilter(
        statuses=[Status.OPEN, Status.WAITING], priorities=[Priority.HIGH, Priority.URGENT]
    ),
    "open+waiting, high+urgent, oldest": ConversationFilter(
        statuses=[Status.OPEN, Status.WAITING],
        priorities=[Priority.HIGH, Priority.URGENT],
        orderBy=OrderBy(field="createdAt", direction="asc"),
    ),
    "open, one queue": ConversationFilter(statuses=[Status.OPEN], queueIds=["q-3"]),
    "open+waiting, one agent": ConversationFilter(
        statuses=[Status.OPEN, Status.WAITING], agentId="agent-7"
    ),
    "open+waiting, one tag": ConversationFilter(
        statuses=[Status.OPEN, Status.WAITING], tags=["tag-4"]
    ),
    "urgent, unassigned": ConversationFilter(priorities=[Priority.URGENT], unassigned=True),
    "open, since 2 days": ConversationFilter(
        statuses=[Status.OPEN], createdAfter=NOW - timedelta(days=2)
    ),
    "open, page 50": ConversationFilter(statuses=[Status.OPEN], page=50),
    "open+waiting, by priority": ConversationFilter(
        statuses=[Status.OPEN, Status.WAITING], orderBy=OrderBy(field="priority", direction="desc")
    ),
}


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def build(path: Path, rows: int) -> None:
    """Fill the migrated database with `rows` synthetic conversations, in bulk."""
    rng = random.Random(7)
    db = sqlite3.connect(path)
    stamp = NOW.replace(tzinfo=None)
    db.executemany(
        "INSERT INTO local_tags (name, id, created_at, updated_at) VALUES (?, ?, ?, ?)",
        [(t, t, stamp, stamp) for t in TAGS],
    )
    batch: list[tuple[object, ...]] = []
    links: list[tuple[str, str]] = []
    for n in range(rows):
        status, priority = _pick(rng, STATUSES), _pick(rng, PRIORITIES)
        created = stamp - timedelta(seconds=rng.randrange(365 * 86400))
        cid = f"c{n:08d}"
        batch.append((
            cid, f"Conversation {n}", None, status, priority, RANK[priority],
            rng.choice(QUEUES), rng.choice(AGENTS) if rng.random() < 0.7 else None,
            rng.choice(CHANNELS), created, created + timedelta(hours=rng.randrange(48)),
            created + timedelta(days=2) if status == "CLOSED" else None,
        ))  # fmt: skip
        if rng.random() < 0.1:
            links.append((cid, rng.choice(TAGS)))
        if len(batch) == 50_000:
            _flush(db, batch, links)
    _flush(db, batch, links)
    db.execute("ANALYZE")
    db.commit()
    db.close()


def _flush(
    db: sqlite3.Connection, batch: list[tuple[object, ...]], links: list[tuple[str, str]]
) -> None:
    db.executemany("INSERT INTO local_conversations VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", batch)
    db.executemany("INSERT OR IGNORE INTO local_conversation_tags VALUES (?, ?)", links)
    batch.clear()
    links.clear()


async def measure(path: Path, runs: int) -> list[tuple[str, float, float, int]]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    backend = LocalBackend(engine)
    results = []
    for name, query in FILTERS.items():
        await backend.list(query)  # warm the page cache, as a running bot would be
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            page = await backend.list(query)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results.append(
            (name, statistics.median(timings), timings[int(0.95 * (runs - 1))], page.totalItems)
        )
    await engine.dispose()
    return results


def prepare(path: Path, rows: int) -> None:
    if path.exists():
        with sqlite3.connect(path) as db:
            if db.execute("SELECT count(*) FROM local_conversations").fetchone()[0] == rows:
                return
        path.unlink()
    asyncio.run(_migrate(path))
    started = time.perf_counter()
    build(path, rows)
    print(f"built {rows:,} conversations in {time.perf_counter() - started:.0f} s")


async def _migrate(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--db", type=Path, default=Path("/tmp/convbot-bench.db"))
    args = parser.parse_args()
    prepare(args.db, args.rows)
    results = asyncio.run(measure(args.db, args.runs))
    print(
        f"\nFiltered list on the embedded backend (SQLite), {args.rows:,} conversations, "
        f"{args.runs} runs each, page of 20 + total count"
    )
    print(f"{'filter':<40} {'p50 ms':>8} {'p95 ms':>8} {'matches':>9}")
    for name, p50, p95, total in results:
        print(f"{name:<40} {p50:8.1f} {p95:8.1f} {total:9,}")
    worst = max(p95 for _, _, p95, _ in results)
    print(f"{'worst p95':<40} {'':>8} {worst:8.1f}   (target < 50 ms)")
    figures.save("local_list", {"rows": args.rows, "worst_p95_ms": worst})


if __name__ == "__main__":
    main()
