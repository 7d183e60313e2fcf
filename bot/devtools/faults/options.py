"""The `convbot emulator` options for fault injection, and the plan they ask for."""

from __future__ import annotations

import argparse

from bot.devtools.faults.plan import FAULT_KINDS, FaultPlan, parse_kinds, plan_from_options


def add_fault_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "fault injection",
        "Make a share of the requests fail, to see what a client does about it. 429, 500, 503 "
        "and timeout (no answer for 30 s, then 503) are answered by the emulator instead of "
        "the request, which is then not carried out. drop-before and drop-after close the "
        "connection, before the request reaches the emulator or after it was carried out; for "
        "those the emulator listens behind a TCP proxy on --port (for tests and demos: expect "
        "the client to see connection errors).",
    )
    group.add_argument(
        "--faults",
        type=_kinds,
        metavar="KINDS",
        help=f"comma-separated fault kinds to inject, from: {','.join(FAULT_KINDS)}",
    )
    group.add_argument(
        "--fault-rate",
        type=_rate,
        metavar="RATE",
        help="the share of requests that meet a fault, 0 to 1 (e.g. 0.2); needs --faults",
    )
    group.add_argument(
        "--fault-seed",
        type=int,
        metavar="N",
        help="seed for the fault dice: the same seed and requests give the same faults",
    )
    group.add_argument(
        "--retry-after",
        type=_retry_after,
        metavar="SECONDS",
        help="the Retry-After of injected 429 answers (default 1)",
    )


def fault_plan(args: argparse.Namespace) -> FaultPlan | None:
    """The plan the parsed options ask for; None without --faults. ValueError when the options
    do not fit together."""
    kinds = args.faults
    return plan_from_options(
        None if kinds is None else ",".join(kinds),
        args.fault_rate,
        seed=args.fault_seed,
        retry_after=args.retry_after,
    )


def _kinds(text: str) -> list[str]:
    try:
        return list(parse_kinds(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= rate <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return rate


def _retry_after(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= seconds < 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds, not {text}")
    return seconds
