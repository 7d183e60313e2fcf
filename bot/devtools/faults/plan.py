"""What to inject and how often (`FaultPlan`), and the seeded dice that decide it (`FaultDice`).

Two layers carry faults out, each the kinds it can:

- the HTTP layer (`bot.devtools.faults.asgi.FaultMiddleware`, inside the emulator): "429", "500",
  "503", "timeout" — answers given instead of the app's, the request never handled;
- the connection layer (`bot.devtools.faults.proxy.fault_proxy`, a TCP proxy in front of the
  server):
  "drop-before" and "drop-after" — connections closed, which an ASGI app cannot do.

`rate` is the chance that a request meets a fault; the fault's kind is then drawn evenly from
`kinds`, so each kind comes up with probability `rate / len(kinds)` per request. A layer given a
plan with kinds it cannot carry out lets those rolls pass without a fault; `FaultPlan.split()`
makes the two plans for running both layers in front of one server with the rates above.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Collection
from typing import Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal["429", "500", "503", "timeout", "drop-before", "drop-after"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
HTTP_KINDS: frozenset[FaultKind] = frozenset({"429", "500", "503", "timeout"})
CONNECTION_KINDS: frozenset[FaultKind] = frozenset({"drop-before", "drop-after"})


class FaultPlan(BaseModel):
    """The faults to inject. All times are seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """The chance (0..1) that a request meets a fault."""
    kinds: list[FaultKind] = Field(default_factory=list)
    """Which faults; each is drawn as often as the others. Must not be empty when rate > 0."""
    retry_after: float = Field(default=1.0, ge=0.0, lt=3600.0)
    """The `Retry-After` of a "429" (whole seconds are sent as such, others as a decimal)."""
    timeout: float = Field(default=30.0, ge=0.0, lt=3600.0)
    """How long a "timeout" stalls before answering 503: longer than the client waits. The
    stall ends early when the client hangs up."""
    seed: int | None = None
    """Seeds the dice: the same seed and the same requests give the same faults."""
    latency: float = Field(default=0.0, ge=0.0, lt=3600.0)
    """Added before every answer of the emulator (faults included)."""
    max_faults: int | None = Field(default=None, ge=0)
    """Stop after this many faults (per layer): rate 1 with max_faults 1 fails exactly the
    first request, which is what a test of a retry wants."""

    @model_validator(mode="after")
    def _kinds_when_faulting(self) -> Self:
        if self.rate > 0 and not self.kinds:
            raise ValueError("a fault rate above 0 needs at least one fault kind")
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError(f"fault kinds are listed twice: {', '.join(self.kinds)}")
        return self

    @property
    def needs_proxy(self) -> bool:
        """Whether some kinds can only be injected by the connection layer (the proxy)."""
        return self.rate > 0 and any(kind in CONNECTION_KINDS for kind in self.kinds)

    def split(self) -> tuple[FaultPlan, FaultPlan]:
        """(connection plan, HTTP plan): the plans for a proxy and the emulator behind it, so
        that together each kind still comes up with probability `rate / len(kinds)` per
        request (the HTTP layer only sees what the proxy let through, so its rate is raised to
        match), and rate 1 still fails every request. The latency goes with the HTTP plan;
        `max_faults` applies to each layer."""
        drops = [kind for kind in self.kinds if kind in CONNECTION_KINDS]
        answers = [kind for kind in self.kinds if kind in HTTP_KINDS]
        total = len(self.kinds) or 1
        drop_rate = self.rate * len(drops) / total
        answer_rate = self.rate * len(answers) / total
        if answer_rate > 0:
            answer_rate = min(1.0, answer_rate / (1.0 - drop_rate))
        connection = self.model_copy(
            update={"kinds": drops, "rate": drop_rate if drops else 0.0, "latency": 0.0}
        )
        http = self.model_copy(
            update={
                "kinds": answers,
                "rate": answer_rate,
                "seed": None if self.seed is None else self.seed + 1,  # not the proxy's rolls
            }
        )
        return connection, http

    def describe(self) -> str:
        """One line for a person: what is injected, how often, with which seed."""
        parts: list[str] = []
        if self.rate > 0 and self.max_faults != 0:
            parts.append(f"injecting {', '.join(self.kinds)} at rate {self.rate:g}")
            if "429" in self.kinds:
                parts.append(f"Retry-After {self.retry_after:g} s")
            if "timeout" in self.kinds:
                parts.append(f"timeouts stall {self.timeout:g} s")
            if self.max_faults is not None:
                parts.append(f"at most {self.max_faults} faults")
            if self.seed is not None:
                parts.append(f"seed {self.seed}")
        if self.latency > 0:
            parts.append(f"answering {self.latency * 1000:g} ms late")
        return "; ".join(parts) or "no faults"


class FaultDice:
    """Decides, request by request, whether a fault happens and which (`roll`), and counts the
    faults the layers actually carried out (`injected`, by kind; they call `record`).

    Seeded with `plan.seed`: the same sequence of rolls gives the same answers. Rolling does not
    wait, so it is atomic within one event loop; a lock makes it safe across threads too.
    """

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.injected: Counter[FaultKind] = Counter()
        self.rolls = 0
        self._random = random.Random(plan.seed)
        self._faults = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FaultDice({self.plan.describe()}; injected {dict(self.injected)})"

    def roll(self, among: Collection[FaultKind] | None = None) -> FaultKind | None:
        """The fault for the next request, or None. A kind drawn that is not `among` those the
        caller can inject gives None: that request passes this layer without a fault."""
        plan = self.plan
        with self._lock:
            self.rolls += 1
            if plan.rate <= 0 or not plan.kinds:
                return None
            if plan.max_faults is not None and self._faults >= plan.max_faults:
                return None
            # Always two draws, so that one roll's outcome does not shift the next one's.
            chance, pick = self._random.random(), self._random.randrange(len(plan.kinds))
            if chance >= plan.rate:
                return None
            kind = plan.kinds[pick]
            if among is not None and kind not in among:
                return None
            self._faults += 1
            return kind

    def record(self, kind: FaultKind) -> None:
        """Count a fault the caller carried out."""
        with self._lock:
            self.injected[kind] += 1


def parse_kinds(text: str) -> list[FaultKind]:
    """`"429,500,timeout"` (the CLI's form; spaces and empty items are ignored) as kinds."""
    kinds: list[FaultKind] = []
    for item in (part.strip().lower() for part in text.split(",")):
        if not item:
            continue
        kind = _KIND_BY_NAME.get(item)
        if kind is None:
            raise ValueError(f"unknown fault kind {item!r}; use some of {', '.join(FAULT_KINDS)}")
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        raise ValueError(f"no fault kinds given; use some of {', '.join(FAULT_KINDS)}")
    return kinds


def plan_from_options(
    faults: str | None,
    rate: float | None,
    *,
    seed: int | None = None,
    retry_after: float | None = None,
) -> FaultPlan | None:
    """The plan the CLI's `--faults 429,500 --fault-rate 0.2 --fault-seed 7 --retry-after 2`
    asks for; None when no fault option was given. ValueError, with a sentence naming the
    options, when they do not fit together."""
    if faults is None:
        if rate is not None or seed is not None or retry_after is not None:
            raise ValueError(
                "--fault-rate, --fault-seed and --retry-after need --faults (which faults to "
                "inject, e.g. --faults 429,503)"
            )
        return None
    kinds = parse_kinds(faults)
    if rate is None:
        raise ValueError("--faults needs --fault-rate (e.g. 0.2 for one request in five)")
    return FaultPlan(
        rate=rate,
        kinds=kinds,
        seed=seed,
        retry_after=1.0 if retry_after is None else retry_after,
    )


_KIND_BY_NAME: dict[str, FaultKind] = {kind: kind for kind in FAULT_KINDS}
