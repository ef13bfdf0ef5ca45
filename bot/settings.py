"""Deployment settings, read from the environment (and a ``.env`` file when present)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialogs.campaign import DEFAULT_CAMPAIGN


class Settings(BaseSettings):
    """``INTAKE_*`` variables configure storage and the campaign; ``TELEGRAM_*`` the Telegram channel."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    campaign_file: Path = DEFAULT_CAMPAIGN
    host: str = "127.0.0.1"
    port: int = 8080
    telegram_bot_token: str = Field(default="", validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_bot_username: str = Field(default="", validation_alias="TELEGRAM_BOT_USERNAME")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", validation_alias="TELEGRAM_API_BASE_URL"
    )
    telegram_file_base_url: str = Field(
        default="https://api.telegram.org/file/bot", validation_alias="TELEGRAM_FILE_BASE_URL"
    )
    telegram_webhook_url: str = Field(default="", validation_alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: str = Field(default="", validation_alias="TELEGRAM_WEBHOOK_SECRET")
    # Sending pace: Telegram's limits (about 30/s overall, about 1/s per chat). Tests against an
    # emulator, which has no limits, may raise them.
    telegram_rate: float = Field(default=30.0, gt=0)
    telegram_chat_rate: float = Field(default=1.0, gt=0)
    # The web chat: its public address (for the same-origin check, Secure cookies and invite links),
    # the key that signs its session cookies (empty: a random key kept in the data folder), how long a
    # browser stays signed in. (The largest photo is the photo rule's, dialogs.validators.PHOTO_MAX_BYTES.)
    web_url: str = ""
    web_session_secret: str = ""
    web_session_days: int = Field(default=180, ge=1)

    def resolved_database_url(self) -> str:
        """The database URL; by default an SQLite file inside the data folder."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'intake.db').resolve()}"
