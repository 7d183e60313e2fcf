"""Run every benchmark in turn, then print one table of their figures against the targets.

    python -m benchmarks

1. local_list: filtered `list` p50/p95 on the embedded backend over 1,000,000 conversations (the
   database is built once, about a minute, and reused from /tmp afterwards);
2. list_requests: HTTP requests per `list` through the Infobip client, as the backlog grows;
3. digest_cost: backend requests and time per digest at backlogs of 100 to 1,000,000;
4. ack_latency: time to the HTTP ack of `/conv create …`, convbot against a bare Bolt app;
5. throughput: completed `/conv create` per second with the emulator at 50 ms, beside the
   emulator alone, and convbot's memory over 10,000 commands;
6. degraded: 50 commands at once on a stalled Infobip and on one where half the requests time
   out, each answered within its deadline (15 s), and `/conv help` meanwhile;
7. transcript: requests and time to the first screen (the latest 20) of a 1,000-message
   conversation, against reading it from the start;
8. thread_mirror: 500 customer messages over 150 s into 50 open threads in 5 channels: delay
   to the Slack post, Slack's pace per channel, losses and repeats, Infobip requests per
   thread per minute.

Each runs in a process of its own, with its default options (local_list with --rows 1000000),
and prints its own report as it goes; the summary table comes last.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import ack_latency, degraded, throughput
from benchmarks.figures import FOLDER, load

BENCHMARKS = [
    ("local_list", ["--rows", "1000000"]),
    ("list_requests", []),
    ("digest_cost", []),
    ("ack_latency", []),
    ("throughput", []),
    ("degraded", []),
    ("transcript", []),
    ("thread_mirror", []),
]
LIST_TARGET_MS = 50.0
Row = tuple[str, str, str, str]  # measure, value, target, verdict


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def ack_rows(found: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for run in found["rates"]:
        rate = run["rate"]
        (c50, c99), (b50, b99) = run["convbot"], run["bare"]
        ratio = c99 / b99
        rows.append(
            (
                f"{rate}/s: p50 / p99 ms (bare Bolt)",
                f"{c50:.1f} / {c99:.1f} ({b50:.1f} / {b99:.1f})",
                "",
                "",
            )
        )
        if rate == ack_latency.TARGET_RATE:
            target = ack_latency.TARGET_P99_MS
            rows.append((f"{rate}/s: p99 ms", f"{c99:.1f}", f"< {target:g}", verdict(c99 < target)))
        rows.append(
            (
                f"{rate}/s: p99 ratio to bare Bolt",
                f"{ratio:.2f}",
                f"< {ack_latency.TARGET_RATIO:g}",
                verdict(ratio < ack_latency.TARGET_RATIO),
            )
        )
        if run["errors"]:
            rows.append((f"{rate}/s: failed requests", str(run["errors"]), "0", "MISSED"))
    return rows


def throughput_rows(found: dict[str, Any]) -> list[Row]:
    rate, base = found["rate"], found["baseline"]
    return [
        (
            f"completed creates/s, {found['concurrency']} at a time",
            f"{rate:.0f}",
            f">= {throughput.TARGET_RATE:g}",
            verdict(rate >= throughput.TARGET_RATE),
        ),
        ("emulator alone, creates/s (convbot's share)", f"{base:.0f} ({rate / base:.2f})", "", ""),
        ("convbot CPU per create, ms", f"{found['cpu_ms']:.1f}", "", ""),
    ]


def memory_rows(found: dict[str, Any]) -> list[Row]:
    peak, growth, count = found["peak"], found["growth"], found["count"]
    return [
        (
            f"peak RSS after {count:,} commands, MB",
            f"{peak:.0f}",
            f"< {throughput.TARGET_PEAK_MB:g}",
            verdict(peak < throughput.TARGET_PEAK_MB),
        ),
        (
            f"RSS growth over the second {count - count // 2:,}",
            f"{found['growth'] * 100:.1f} %",
            f"< {throughput.TARGET_GROWTH:.0%}",
            verdict(growth < throughput.TARGET_GROWTH),
        ),
    ]


def digest_rows(found: dict[str, Any]) -> list[Row]:
    by_backlog: dict[int, list[str]] = {}
    for row in found["rows"]:
        figure = f"{row['requests']} req, {row['ms']:.1f} ms"
        by_backlog.setdefault(row["backlog"], []).append(figure)
    return [
        (f"backlog {backlog:,}: embedded | via emulator", " | ".join(figures), "flat", "")
        for backlog, figures in by_backlog.items()
    ]


def degraded_rows(found: dict[str, Any], mode: dict[str, Any]) -> list[Row]:
    deadline, count = found["deadline"], found["commands"]
    (c50, c99), (h50, h99) = mode["answered_s"], mode["help_ms"]
    rows: list[Row] = [
        (
            f"{count} at once, deadline {deadline:g} s: answered p50/p99 s",
            f"{c50:.2f} / {c99:.2f}",
            f"<= {deadline + degraded.TARGET_MARGIN_S:g}",
            verdict(degraded.commands_met(mode, deadline)),
        ),
        (
            "/conv help meanwhile: answered p50/p99 ms",
            f"{h50:.1f} / {h99:.1f}",
            f"< {degraded.TARGET_HELP_P99_MS:g}",
            verdict(degraded.help_met(mode)),
        ),
        ("answered with a result | a failure", f"{mode['results']} | {mode['failures']}", "", ""),
    ]
    if mode["unanswered"] or mode["help_unanswered"]:
        missing = f"{mode['unanswered']} | {mode['help_unanswered']}"
        rows.append(("unanswered commands | helps", missing, "0", "MISSED"))
    return rows


def transcript_rows(found: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for name in ("embedded", "via emulator"):
        (f50, _f95, freq), (b50, _b95, breq) = (
            found[name]["first_screen"],
            found[name]["from_the_start"],
        )
        requests = "" if freq is None else f", {freq} req (baseline {breq})"
        rows.append(
            (
                f"{name}: latest {found['shown']} of {found['messages']:,}, p50 ms",
                f"{f50:.1f} (baseline {b50:.0f}){requests}",
                "1 req" if freq is not None else "",
                verdict(freq == 1) if freq is not None else "",
            )
        )
    return rows


def mirror_rows(found: dict[str, Any]) -> list[Row]:
    from benchmarks.thread_mirror import TARGET_P99_S
    from bot.slack.thread_mirror import STATUS_EVERY

    p50, p99 = found["delay_p50"], found["delay_p99"]
    busiest, lost, twice = found["most_posts_in_a_second"], found["lost"], found["duplicated"]
    cost, poll = found["requests_per_thread_minute"], found["poll"]
    most = 60 / poll * (1 + 1 / STATUS_EVERY)
    return [
        (
            "delay to the Slack post p50 / p99 s",
            "none posted" if p99 is None else f"{p50:.2f} / {p99:.2f}",
            f"< {TARGET_P99_S:g}",
            verdict(p99 is not None and p99 < TARGET_P99_S),
        ),
        ("most posts per channel in 1 s", str(busiest), "<= 1", verdict(busiest <= 1)),
        ("lost | posted twice", f"{lost} | {twice}", "0 | 0", verdict(lost == twice == 0)),
        (
            # One a poll, and the close check: one per channel (<= 50 threads) a STATUS_EVERY.
            "Infobip requests / thread / minute",
            f"{cost:.1f}",
            f"<= {most:.3g}",
            verdict(cost <= most),
        ),
    ]


def list_rows(local: dict[str, Any] | None, requests: dict[str, Any] | None) -> list[Row]:
    rows: list[Row] = []
    if local is not None:
        worst = local["worst_p95_ms"]
        rows.append(
            (
                f"embedded, {local['rows']:,} rows: worst p95 ms",
                f"{worst:.1f}",
                f"< {LIST_TARGET_MS:g}",
                verdict(worst < LIST_TARGET_MS),
            )
        )
    if requests is not None:
        most = requests["most_requests"]
        backlogs = " | ".join(f"{int(backlog):,}" for backlog in most)
        rows.append(
            (
                f"HTTP requests per list, backlog {backlogs}",
                " | ".join(map(str, most.values())),
                "flat",
                verdict(len(set(most.values())) == 1),
            )
        )
    return rows


def summary(folder: Path) -> str:
    sections: list[tuple[str, list[Row]]] = []
    ack = load(folder, "ack_latency")
    if ack is not None:
        title = f"ack latency (backend {ack['backend_ms']:g} ms)"
        sections.append((title, ack_rows(ack)))
    found = load(folder, "throughput")
    if found is not None:
        sections.append(("throughput (emulator 50 ms)", throughput_rows(found)))
    digest = load(folder, "digest_cost")
    if digest is not None:
        sections.append(("digest cost", digest_rows(digest)))
    if found is not None:
        sections.append(("memory", memory_rows(found)))
    stalled = load(folder, "degraded")
    for mode in stalled["modes"] if stalled is not None else []:
        sections.append((mode["title"], degraded_rows(stalled, mode)))
    mirrored = load(folder, "thread_mirror")
    if mirrored is not None:
        sections.append(("thread mirror", mirror_rows(mirrored)))
    transcript = load(folder, "transcript")
    if transcript is not None:
        sections.append(("transcript", transcript_rows(transcript)))
    listed = list_rows(load(folder, "local_list"), load(folder, "list_requests"))
    if listed:
        sections.append(("list", listed))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"convbot benchmarks: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {when}",
        f"{'benchmark':<28} {'measure':<46} {'value':<26} {'target':<8} verdict",
    ]
    for name, rows in sections:
        for n, (measure, value, target, met) in enumerate(rows):
            label = name if n == 0 else ""
            lines.append(f"{label:<28} {measure:<46} {value:<26} {target:<8} {met}".rstrip())
    return "\n".join(lines)


def main() -> int:
    failed = []
    with tempfile.TemporaryDirectory(prefix="convbot-bench-figures-") as folder:
        environment = os.environ | {FOLDER: folder}
        for name, options in BENCHMARKS:
            print(f"\n=== benchmarks.{name} {' '.join(options)}".rstrip(), flush=True)
            started = time.perf_counter()
            command = [sys.executable, "-m", f"benchmarks.{name}", *options]
            done = subprocess.run(command, check=False, env=environment)
            took = time.perf_counter() - started
            print(f"=== benchmarks.{name}: exit code {done.returncode}, {took:.0f} s", flush=True)
            if done.returncode != 0:
                failed.append(name)
        print("\n" + summary(Path(folder)))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
