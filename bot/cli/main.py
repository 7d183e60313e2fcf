"""`convbot`: run one command against the configured backend, serve the emulator, check config."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from bot.bootstrap import Runtime
from bot.cli.checks import check_config
from bot.cli.render import render_json, render_text
from bot.cli.terminal_text import plain
from bot.commands.executor import execute
from bot.commands.parser import parse_tokens, split
from bot.config_errors import describe_errors
from bot.devtools.dev import EXPOSE_FLAG
from bot.devtools.faults.options import add_fault_options, fault_plan
from bot.errors import ConvbotError
from bot.logs import configure_logging
from bot.models import Actor
from bot.settings import Settings

log = logging.getLogger("convbot")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(
            "The environment has errors:\n" + describe_errors(error, environment=True),
            file=sys.stderr,
        )
        return 1
    # A one-shot command stays quiet unless LOG_LEVEL asks otherwise; servers log at INFO, but
    # for `dev` the page is the output (the scheduler's start-up chatter would bury its URL).
    quiet = (
        args.command in ("conv", "check-config", "dev")
        and "log_level" not in settings.model_fields_set
    )
    configure_logging("WARNING" if quiet else settings.log_level, settings.log_format)
    if args.command == "conv":
        return asyncio.run(_conv(settings, args.words, args.json))
    if args.command == "emulator":
        from bot.cli.emulator import serve_emulator

        try:
            faults = fault_plan(args)
        except ValueError as error:
            print(f"convbot emulator: {error}", file=sys.stderr)
            return 2
        return serve_emulator(
            settings, args.host, args.port, args.api_key, args.database_url, args.latency, faults
        )
    if args.command == "check-config":
        return asyncio.run(check_config(settings))
    if args.command == "digest":
        from bot.cli.digest import run_digest

        return asyncio.run(run_digest(settings, args.name, args.dry_run))
    if args.command == "serve":
        from bot.cli.serve import serve

        return serve(settings)
    if args.command == "dev":
        from bot.devtools.dev.server import serve_dev

        return serve_dev(Path(args.folder), args.host, args.port, unsafe_expose=args.unsafe_expose)
    _parser().print_help()
    return 1


class _Parser(argparse.ArgumentParser):
    """argparse, with its complaint in one line (its usage text is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}; see {self.prog} --help\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="convbot", description="Run Infobip conversations from Slack and the shell."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    conv = commands.add_parser(
        "conv",
        help="run one /conv command, e.g. convbot conv list priority:high",
        description="Run one command of the /conv grammar, as words or as one quoted argument"
        ' pasted from Slack (convbot conv "create Printer on fire priority:high");'
        " convbot conv help lists the commands.",
    )
    conv.add_argument("--json", action="store_true", help="print the result as Infobip JSON")
    conv.add_argument(
        "words",
        nargs=argparse.REMAINDER,
        help="the command, e.g. show <id>, or all of it in quotes",
    )
    emulator = commands.add_parser("emulator", help="serve the Infobip API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=_port, default=8089, help="default 8089; 0: any free port")
    emulator.add_argument("--api-key", default="emulator-key", help="the key clients must send")
    emulator.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:///convbot-emulator.db",
        help="where the emulated account keeps its conversations",
    )
    emulator.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="add this delay before every answer, to emulate a slow API (e.g. 0.3)",
    )
    add_fault_options(emulator)
    commands.add_parser("check-config", help="validate the environment and convbot.yml")
    digest = commands.add_parser("digest", help="build one configured digest now and post it")
    digest.add_argument("name", help="the digest's name in convbot.yml")
    digest.add_argument("--dry-run", action="store_true", help="print it instead of posting")
    commands.add_parser(
        "serve", help="run the Slack bot (HTTP on HOST:PORT, or Socket Mode with SLACK_APP_TOKEN)"
    )
    dev = commands.add_parser(
        "dev",
        help="the bot and a local Slack in your browser, with demo data (no Slack app needed)",
    )
    dev.add_argument(
        "--host",
        default="127.0.0.1",
        help=f"default 127.0.0.1; an address other machines reach needs {EXPOSE_FLAG}",
    )
    dev.add_argument("--port", type=_port, default=3000, help="default 3000; 0: any free port")
    dev.add_argument(
        EXPOSE_FLAG,
        action="store_true",
        help="listen on a --host other machines can reach, although the page has no sign-in:"
        " anyone who reaches it can act as any person in it",
    )
    dev.add_argument(
        "--folder",
        default="convbot-dev",
        help="where the demo keeps its database and convbot.yml (default ./convbot-dev)",
    )
    return parser


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    # The OS would refuse a larger one with an OverflowError, or silently use it modulo 65536.
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a port; use 1-65535, or 0 for any free one"
        )
    return port


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 <= seconds < 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds, not {value}")
    return seconds


async def _conv(settings: Settings, words: list[str], as_json: bool) -> int:
    from bot.bootstrap import build_runtime

    runtime: Runtime | None = None
    try:
        words, json_among_words = command_words(words)
        as_json = as_json or json_among_words
        command = parse_tokens(words)
        runtime = await build_runtime(settings)
        actor = _cli_actor(runtime.config.agents)
        result = await execute(command, runtime.conversations, actor)
        if as_json:
            print(render_json(result))
        else:
            # On Infobip a short id may not be found again (no id search): show whole ones.
            names = await _queue_names(runtime)
            print(render_text(result, names, short_ids=not settings.uses_infobip))
        sys.stdout.flush()
        return 0
    except BrokenPipeError:
        # `convbot conv list | head` closed the pipe: the reader has what it wanted. Python
        # would report the pipe again when it flushes stdout at exit, so point it at devnull.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConvbotError as error:
        print(plain(str(error)), file=sys.stderr)
        return error.exit_code
    except Exception as error:  # a bug: say so briefly, keep the trace for the log
        log.debug("unexpected error", exc_info=True)
        print(
            f"convbot hit an unexpected error ({type(error).__name__}); "
            "run with LOG_LEVEL=DEBUG for details.",
            file=sys.stderr,
        )
        return 1
    finally:
        if runtime is not None:
            await runtime.aclose()


_SLASH_COMMAND = re.compile(r"^\s*/conv(?:\s+|$)", re.IGNORECASE)


def command_words(words: list[str]) -> tuple[list[str], bool]:
    """The command's words, and whether `--json` was among them.

    The command may be the shell's words or one argument holding all of it as pasted from Slack
    (`"create Printer on fire priority:high"`, maybe after `/conv `), which the tokenizer Slack's
    text goes through splits, quotes and all. `--json` may follow the command, where argparse
    leaves it among the words.
    """
    shell = [word for word in words if word != "--json"]
    if len(shell) == 1:
        shell = split(_SLASH_COMMAND.sub("", shell[0], count=1))
    elif shell and shell[0].lower() == "/conv":
        shell = shell[1:]
    as_json = "--json" in words or "--json" in shell
    return [word for word in shell if word != "--json"], as_json


async def _queue_names(runtime: Runtime) -> dict[str, str]:
    """Names to draw instead of queue ids; only cosmetic, so a failure must not fail a command
    that has already happened (a "failed" create would be retried into a duplicate)."""
    try:
        return {queue.id: queue.name for queue in await runtime.conversations.directory.queues()}
    except ConvbotError:
        log.debug("queue names unavailable", exc_info=True)
        return {}


def _cli_actor(agents: dict[str, str]) -> Actor:
    actor_id = f"cli:{getpass.getuser()}"
    return Actor(id=actor_id, surface="cli", agent_id=agents.get(actor_id))


if __name__ == "__main__":
    raise SystemExit(main())
