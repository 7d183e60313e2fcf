"""Reading convbot.yml: bounded in size, depth and values, repeated keys refused, every problem
a sentence that names the file and the line; then validated as `OpsConfig` (bot/config.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.config import OpsConfig
from bot.config_errors import describe_errors
from bot.errors import InvalidInput
from bot.settings import Settings

# Bounds on reading the file: a config is a few kilobytes, so anything far larger (or deeper, or
# expanding through YAML aliases into more than this many values) is a mistake such as
# CONVBOT_CONFIG=/dev/zero, and must end in a sentence rather than in memory exhaustion or a
# RecursionError deep inside the YAML library.
CONFIG_MAX_BYTES = 1 << 20
CONFIG_MAX_DEPTH = 50
CONFIG_MAX_VALUES = 100_000


# What running without a convbot.yml means, for the sentences that mention it.
DEFAULTS = "anyone may run every command, no digests, no on-call"


def load_settings_config(settings: Settings) -> OpsConfig:
    """The operations file the settings point at. A file named explicitly (CONVBOT_CONFIG, in
    the environment, .env or code) must exist: a typo in its path would otherwise start the bot
    with no permissions at all. Only the default `convbot.yml` may be absent (no config)."""
    path, named = config_path(settings)
    return load_config(path, required=named)


def config_path(settings: Settings) -> tuple[Path, bool]:
    """Where convbot.yml is, and whether CONVBOT_CONFIG named it. `CONVBOT_CONFIG=` (empty) is
    taken as unset, as people write it to unset it, not as the working directory."""
    named = settings.convbot_config.strip()
    if "convbot_config" in settings.model_fields_set and named:
        return Path(named), True
    return Path(Settings.model_fields["convbot_config"].default), False


def load_config(path: str | Path, *, required: bool = False) -> OpsConfig:
    """Read and validate the file; a missing file means the defaults unless `required`."""
    file = Path(path)
    text = _read_text(file, required)
    if text is None:
        return OpsConfig()
    raw = _parse_yaml(file, text)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"{file} must be a mapping of sections (agents:, local:, …).")
    try:
        return OpsConfig.model_validate(raw)
    except ValidationError as error:
        raise InvalidInput(
            f"{file} has errors:\n" + describe_errors(error, model=OpsConfig)
        ) from error


def _read_text(file: Path, required: bool) -> str | None:
    """The file's text, at most CONFIG_MAX_BYTES of UTF-8; None for an absent optional file."""
    try:
        info = file.stat()
    except FileNotFoundError:
        if not required:
            return None
        shown = file if file.is_absolute() else f"{file} (in {Path.cwd()})"
        raise InvalidInput(
            f"{shown} does not exist, and CONVBOT_CONFIG names it; create it (or fix the path),"
            f" or unset CONVBOT_CONFIG to run on the defaults: {DEFAULTS}."
        ) from None
    except OSError as error:
        raise InvalidInput(f"{file} cannot be read ({error.strerror}); check the path.") from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInput(
            f"{file} is a directory; point CONVBOT_CONFIG at the YAML file in it,"
            f" e.g. {file / 'convbot.yml'}."
        )
    if not stat.S_ISREG(info.st_mode):  # a device or a pipe: reading it may never end
        raise InvalidInput(f"{file} is not a regular file; point CONVBOT_CONFIG at a YAML file.")
    too_large = InvalidInput(
        f"{file} is larger than {CONFIG_MAX_BYTES // 1024} KiB, far beyond any convbot.yml;"
        " check that CONVBOT_CONFIG names the right file."
    )
    if info.st_size > CONFIG_MAX_BYTES:
        raise too_large
    try:
        with file.open("rb") as handle:
            data = handle.read(CONFIG_MAX_BYTES + 1)  # it may have grown since stat()
    except OSError as error:
        raise InvalidInput(f"{file} cannot be read ({error.strerror}); check the path.") from None
    if len(data) > CONFIG_MAX_BYTES:
        raise too_large
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidInput(
            f"{file} is not UTF-8 text (line {line}, byte {error.start}); save it as UTF-8."
        ) from None


def _parse_yaml(file: Path, text: str) -> object:
    """The YAML document, after checking its depth, its size once aliases are expanded, and that
    no mapping gives a key twice (YAML would keep the last one without a word: a second
    `permissions:` silently replacing the first)."""
    try:
        _check_depth(file, text)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_node(file, node)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise InvalidInput(f"{file} is not valid YAML: {_yaml_problem(error)}") from None


class _Loader(yaml.SafeLoader):
    pass


def _check_depth(file: Path, text: str) -> None:
    # On events, which PyYAML produces without recursion; composing nodes recurses per level.
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > CONFIG_MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise InvalidInput(
                    f"{file} nests deeper than {CONFIG_MAX_DEPTH} levels (line {line});"
                    " convbot.yml needs a handful, so check that this is the right file."
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_node(file: Path, root: yaml.Node) -> None:
    """Duplicate keys (with their path and line) and the expanded size, in one walk.

    Aliases point at nodes already seen, so each node is walked once and its expanded size
    remembered: a "billion laughs" document is measured, not expanded."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()  # a recursive alias (`&a [*a]`) reaches a node inside itself
    # (node, its YAML path, whether its children are done)
    stack: list[tuple[yaml.Node, str, bool]] = [(root, "", False)]
    while stack:
        node, path, done = stack.pop()
        if id(node) in entered and not done:
            continue
        entered.add(id(node))
        children = _children(file, node, path) if isinstance(node, yaml.CollectionNode) else []
        if not done:
            stack.append((node, path, True))
            stack.extend((child, child_path, False) for child, child_path in children)
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(child), 0) for child, _ in children)
        if sizes[id(node)] > CONFIG_MAX_VALUES:
            raise InvalidInput(
                f"{file} expands to more than {CONFIG_MAX_VALUES:,} values (through its"
                " aliases: *name); write the sections out instead."
            )


def _children(file: Path, node: yaml.Node, path: str) -> list[tuple[yaml.Node, str]]:
    if isinstance(node, yaml.SequenceNode):
        return [(item, f"{path}[{index}]") for index, item in enumerate(node.value)]
    found: list[tuple[yaml.Node, str]] = []
    seen: dict[object, int] = {}
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` merges, it is not a key
            found.append((value, path))
            continue
        name = key.value if isinstance(key, yaml.ScalarNode) else f"(a {key.id} key)"
        child = f"{path}.{name}" if path else str(name)
        line = key.start_mark.line + 1
        if isinstance(key, yaml.ScalarNode):
            same = (key.tag, key.value)  # `1` and `"1"` are different keys
            if same in seen:
                raise InvalidInput(
                    f"{file} line {line}: {child} is given twice (first on line"
                    f" {seen[same]}); YAML would keep only the last, so remove one."
                )
            seen[same] = line
        found.extend([(key, child), (value, child)])
    return found


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line: where, then what."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        what = "; ".join(part for part in (error.context, error.problem) if part)
        return f"line {mark.line + 1}, column {mark.column + 1}: {what}"
    return " ".join(str(error).split())
