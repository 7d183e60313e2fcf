"""Time as convbot reads and writes it: aware UTC, at Infobip's millisecond precision.

`Timestamp` is the pydantic type of every time field (Infobip's `+0000` offsets accepted,
written back as Infobip writes them); `utcnow` is the default clock of the services and stores.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_timestamp(value: object) -> object:
    """Accept Infobip's `2025-04-24T11:25:41.058+0000` as well as `+00:00`/`Z`; always aware UTC."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        text = _OFFSET_WITHOUT_COLON.sub(r"\1:\2", text)
        value = datetime.fromisoformat(text)
    if isinstance(value, datetime):
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            # Year 1 or 9999 with an offset has no UTC equivalent. A ValueError is what pydantic
            # reports as invalid; an OverflowError escaped validation (from a button's value).
            raise ValueError("the date is out of range") from None
    return value


def format_timestamp(value: datetime) -> str:
    """Infobip's wire format: millisecond precision, `+0000` offset."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_timestamp),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
]


def utcnow() -> datetime:
    """Now, truncated to Infobip's millisecond precision so values round-trip exactly."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
