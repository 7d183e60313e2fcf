"""Fault injection for the Infobip emulator: throttling, errors, timeouts, dropped connections.

- `plan`: `FaultPlan` (what, how often, seed) and `FaultDice` (the seeded decisions, and the
  count of faults carried out);
- `asgi`: `FaultMiddleware`, answering 429 / 500 / 503 / a timeout instead of the app;
- `proxy`: `fault_proxy`, a loopback TCP proxy that drops connections before or after the
  server handled a request;
- `options`: the `convbot emulator` options that build a plan.
"""

from bot.devtools.faults.asgi import FaultMiddleware, fault_response
from bot.devtools.faults.plan import (
    CONNECTION_KINDS,
    FAULT_KINDS,
    HTTP_KINDS,
    FaultDice,
    FaultKind,
    FaultPlan,
    parse_kinds,
    plan_from_options,
)
from bot.devtools.faults.proxy import fault_proxy

__all__ = [
    "CONNECTION_KINDS",
    "FAULT_KINDS",
    "HTTP_KINDS",
    "FaultDice",
    "FaultKind",
    "FaultMiddleware",
    "FaultPlan",
    "fault_proxy",
    "fault_response",
    "parse_kinds",
    "plan_from_options",
]
