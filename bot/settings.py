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

    def half_set_infobip(self) -> str | None:
        """The sentence for one of Infobip's two variables set without the other, else None.

        Half a setting is a mistake, never a choice of the embedded backend: a bot that
        quietly ran on an empty local store would look like Infobip had lost everything."""
        from bot.redact import hide_url_password

        if self.infobip_base_url and not self.infobip_api_key:
            url = hide_url_password(str(self.infobip_base_url))
            return (
                f"INFOBIP_BASE_URL is set ({url}) but INFOBIP_API_KEY is not: set INFOBIP_API_KEY"
                " to use Infobip, or unset INFOBIP_BASE_URL to use the embedded backend."
            )
        if self.infobip_api_key and not self.infobip_base_url:
            return (
                "INFOBIP_API_KEY is set but INFOBIP_BASE_URL is not: set INFOBIP_BASE_URL to your"
                " account's base URL (e.g. https://xxxxx.api.infobip.com) to use Infobip, or"
                " unset INFOBIP_API_KEY to use the embedded backend."
            )
        return None
