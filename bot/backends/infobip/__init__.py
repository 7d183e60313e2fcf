"""The Infobip Conversations API over HTTP, as a `ConversationBackend`.

`backend.py` holds the resource methods; `http.py` the client and its retry policy; `errors.py`
the mapping of Infobip's answers onto `bot.errors`; `listing.py` the fan-out and merge of list
queries; `wire.py` the reading of JSON bodies into our models.
"""

from bot.backends.infobip.backend import InfobipBackend
from bot.backends.infobip.listing import CLIENT_SIDE_PAGE_CAP

__all__ = ["CLIENT_SIDE_PAGE_CAP", "InfobipBackend"]
