"""Pydantic's validation errors as sentences: one line per problem, with its YAML path (or its
environment variable), what is wrong, and what to write instead.

A misspelt key is the commonest mistake in a hand-written convbot.yml, and every section forbids
unknown keys (a typo must not be ignored and silently change behaviour), so an unknown key is
answered with the closest key that section takes: "unknown key 'permisions' — did you mean
'permissions'?". The keys a section takes are found by walking the error's location through the
model's annotations, so this works for every section, nested ones included, with no list to keep.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

# Where pydantic puts an error about a mapping's key rather than its value.
_KEY = "[key]"
# How close a typo must be to be suggested (difflib's ratio; its default).
_CUTOFF = 0.6

_BOUNDS = {
    "greater_than_equal": "too small; use {limit} or more",
    "greater_than": "too small; use more than {limit}",
    "less_than_equal": "too large; use {limit} or less",
    "less_than": "too large; use less than {limit}",
}


def describe_errors(
    error: ValidationError, *, model: type[BaseModel] | None = None, environment: bool = False
) -> str:
    """One line per problem. `model`: what was validated, whose keys an unknown key is compared
    with; `environment`: the paths are environment variables (upper case)."""
    lines = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        path = _yaml_path(loc)
        if environment:
            path = path.upper()
        lines.append(f"  {path or '(top level)'}: {_message(problem, loc, model)}")
    return "\n".join(lines)


def _message(problem: Any, loc: tuple[int | str, ...], model: type[BaseModel] | None) -> str:
    kind = problem["type"]
    if kind == "extra_forbidden" and loc:
        known = _keys(_models_at(model, loc[:-1])) if model is not None else {}
        return _unknown("key", str(loc[-1]), known)
    if kind in ("literal_error", "enum") and isinstance(problem["input"], str):
        allowed = re.findall(r"'([^']*)'", problem.get("ctx", {}).get("expected", ""))
        choices = {choice: choice for choice in allowed}
        if loc and loc[-1] == _KEY:  # a mapping whose keys are fixed, such as permissions:
            return _unknown("key", problem["input"], choices)
        if _closest(problem["input"], choices):
            return _unknown("value", problem["input"], choices)
    if kind == "missing":
        return "required; add it"
    if kind in _BOUNDS:
        limit = next(iter(problem.get("ctx", {}).values()), "?")
        return f"{problem['input']!r} is {_BOUNDS[kind].format(limit=limit)}"
    return str(problem["msg"]).removeprefix("Value error, ")


def _unknown(what: str, given: str, known: dict[str, str]) -> str:
    """`known`: each spelling that would be accepted → the one to suggest (an alias, not the
    Python name behind it)."""
    shown = given[:40]
    close = _closest(given, known)
    if close is not None:
        return f"unknown {what} '{shown}' — did you mean '{close}'?"
    if known:
        return f"unknown {what} '{shown}'; use one of {', '.join(dict.fromkeys(known.values()))}"
    return f"unknown {what} '{shown}'; remove it or check its spelling"


def _closest(given: str, known: dict[str, str]) -> str | None:
    folded = {spelling.casefold(): shown for spelling, shown in known.items()}
    if given.casefold() in folded:  # `Permissions:`, `ASSIGN:`: only the case is wrong
        return folded[given.casefold()]
    close = difflib.get_close_matches(given.casefold(), list(folded), n=1, cutoff=_CUTOFF)
    return folded[close[0]] if close else None


def _keys(models: list[type[BaseModel]]) -> dict[str, str]:
    """The keys these models take: each field's name and alias → the spelling to suggest."""
    keys: dict[str, str] = {}
    for model in models:
        for name, field in model.model_fields.items():
            shown = field.alias or name
            keys[shown] = shown
            keys.setdefault(name, shown)
    return keys


def _models_at(root: type[BaseModel], loc: Sequence[int | str]) -> list[type[BaseModel]]:
    """The models that may sit at `loc` (a pydantic error location) under `root`: follows fields
    (by name or alias), list items and mapping values, through Annotated and unions."""
    found: list[Any] = [root]
    for part in loc:
        found = [step for kind in _plain(found) for step in _step(kind, part)]
    return [kind for kind in _plain(found) if _is_model(kind)]


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _plain(kinds: list[Any]) -> list[Any]:
    """Annotated unwrapped, unions (`X | None`) split into their members."""
    plain: list[Any] = []
    for kind in kinds:
        while get_origin(kind) is Annotated:
            kind = get_args(kind)[0]
        if get_origin(kind) in (Union, types.UnionType):
            plain.extend(_plain(list(get_args(kind))))
        else:
            plain.append(kind)
    return plain


def _step(kind: Any, part: int | str) -> list[Any]:
    if _is_model(kind):
        for name, field in kind.model_fields.items():
            if part in (name, field.alias):
                return [field.annotation]
        return []
    origin, args = get_origin(kind), get_args(kind)
    if origin in (list, tuple, set, frozenset) and isinstance(part, int) and args:
        return [args[0]]
    if origin is dict and len(args) == 2:
        return [args[0] if part == _KEY else args[1]]
    return []


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if part == _KEY:  # the key itself is the last part already
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
