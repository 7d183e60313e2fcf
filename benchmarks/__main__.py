"""Run every benchmark in turn and print their tables.

    python -m benchmarks

1. local_list: filtered `list` p50/p95 on the embedded backend over 1,000,000 conversations (the
   database is built once, about a minute, and reused from /tmp afterwards);
2. list_requests: HTTP requests per `list` through the Infobip client, as the backlog grows;
3. digest_cost: backend requests and time per digest at backlogs of 100 to 1,000,000;
4. ack_latency: time to the HTTP ack of `/conv create …`, convbot against a bare Bolt app;
5. throughput: completed `/conv create` per second with the emulator at 50 ms, beside the
   emulator alone, and convbot's memory over 10,000 commands.

Each runs in a process of its own, with its default options (local_list with --rows 1000000).
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = [
    ("local_list", ["--rows", "1000000"]),
    ("list_requests", []),
    ("digest_cost", []),
    ("ack_latency", []),
    ("throughput", []),
]


def main() -> int:
    failed = []
    for name, options in BENCHMARKS:
        print(f"\n=== benchmarks.{name} {' '.join(options)}".rstrip(), flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *options], check=False)
        took = time.perf_counter() - started
        print(f"=== benchmarks.{name}: exit code {done.returncode}, {took:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
