"""Block Kit drawing: every Slack message, modal and Home tab convbot shows is built here."""
