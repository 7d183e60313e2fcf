"""convbot: run Infobip conversations from Slack."""

__version__ = "0.1.0"
