"""Process settings from the environment and `.env`; secrets stay `SecretStr`, never printed."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    infobip_base_url: str | None = None
    infobip_api_key: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///convbot.db"
    convbot_config: str = "convbot.yml"
    host: str = "0.0.0.0"
    # A larger one would be taken modulo 65536 by the OS: logged as one port, listening on another.
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("slack_api_url")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        # Slack is called with the bot token; aiohttp refuses a URL that carries credentials
        # too, with a traceback at the first call. (The value is not repeated: it holds them.)
        if "@" in urlsplit(value).netloc:
            raise ValueError(
                "must not carry a user or password (user:password@); Slack takes the bot token"
            )
        return value

    @property
    def uses_infobip(self) -> bool:
        """Infobip when both its variables are set; otherwise the embedded backend."""
        return bool(self.infobip_base_url and self.infobip_api_key)
