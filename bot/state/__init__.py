"""The bot's own records (audit log, and the embedded backend's store) in one SQL database."""
