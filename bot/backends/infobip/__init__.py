"""The Infobip Conversations API over HTTP, as a `ConversationBackend`.

`backend.py` holds the resource methods; `api.py` one call, sent and its answer read; `http.py`
the client and its retry policy; `errors.py` the mapping of Infobip's answers onto `bot.errors`;
`paths.py` ids as path segments; `lost_creates.py` the search for a create whose answer was lost;
`listing.py` the fan-out and merge of list queries; `transcripts.py` messages, notes and
metadata; `wire.py` the reading of JSON bodies into our models.
"""

from bot.backends.infobip.backend import InfobipBackend
from bot.backends.infobip.listing import CLIENT_SIDE_PAGE_CAP

__all__ = ["CLIENT_SIDE_PAGE_CAP", "InfobipBackend"]
