"""Deployment settings, read from the environment (and a ``.env`` file when present)."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialogs.campaign import CAMPAIGNS_DIR, DEFAULT_CAMPAIGN


class Settings(BaseSettings):
    """``INTAKE_*`` variables configure storage and the campaign; ``TELEGRAM_*`` the Telegram channel;
    ``WECOM_*`` the 企业微信 / 政务微信 channel (a self-built app: its callback is ``/wecom/callback``);
    ``WECHAT_MP_*`` the 公众号 channel (its callback is ``/mp/callback``)."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    campaign_file: Path = DEFAULT_CAMPAIGN
    # The notices' folder (each *.toml, each */campaign.toml with its forms/, and roster.toml, the
    # city's units): read by ``intake notices``. INTAKE_CAMPAIGN_FILE, when set, wins: one notice.
    campaigns_dir: Path = CAMPAIGNS_DIR
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
    # The reverse proxies (nginx) whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses
    # or networks, comma-separated ("127.0.0.1", "10.0.0.0/8"). Empty: none, the peer's own address
    # counts (invite guesses are limited per address; a client must not choose its own).
    trusted_proxies: str = ""
    # 企业微信 (or 政务微信, whose API is served from the deployment's own host: WECOM_API_BASE_URL).
    # Every call — token, messages, media — goes to the base URL; tests point it at a local fake.
    wecom_corp_id: str = Field(default="", validation_alias="WECOM_CORP_ID")
    wecom_agent_id: int = Field(default=0, validation_alias="WECOM_AGENT_ID")
    wecom_secret: str = Field(default="", validation_alias="WECOM_SECRET")
    wecom_token: str = Field(default="", validation_alias="WECOM_TOKEN")
    wecom_aes_key: str = Field(default="", validation_alias="WECOM_AES_KEY", pattern=r"^([A-Za-z0-9]{43})?$")
    wecom_api_base_url: str = Field(
        default="https://qyapi.weixin.qq.com", validation_alias="WECOM_API_BASE_URL"
    )
    # Where a member's WeCom opens the sign-in for the web chat (OAuth2 snsapi_base); 政务微信: its host.
    wecom_oauth_base_url: str = Field(
        default="https://open.weixin.qq.com", validation_alias="WECOM_OAUTH_BASE_URL"
    )
    # Sending pace per member: WeCom drops what goes beyond 30 a minute and 1,000 an hour, so the
    # defaults keep under both (bot.wecom). Tests against the fake, which drops nothing, may raise them.
    wecom_member_rate: float = Field(default=0.26, gt=0)
    wecom_member_burst: float = Field(default=3.0, ge=1)
    # The federation's 公众号 (a 服务号, bot.mp): its AppID and AppSecret (基本配置), the 服务器配置's
    # Token and EncodingAESKey (安全模式); every call goes to the base URL (tests: a local fake). A plain
    # (明文) callback is refused unless allowed. Outside the 48 hours after a follower's last message a
    # notice goes as the template message named here (its data keys: a short line, then the time).
    wechat_mp_app_id: str = Field(default="", validation_alias="WECHAT_MP_APP_ID")
    wechat_mp_app_secret: str = Field(default="", validation_alias="WECHAT_MP_APP_SECRET")
    wechat_mp_token: str = Field(default="", validation_alias="WECHAT_MP_TOKEN")
    wechat_mp_aes_key: str = Field(
        default="", validation_alias="WECHAT_MP_AES_KEY", pattern=r"^([A-Za-z0-9]{43})?$"
    )
    wechat_mp_api_base_url: str = Field(
        default="https://api.weixin.qq.com", validation_alias="WECHAT_MP_API_BASE_URL"
    )
    # Where a QR code's picture is fetched by its ticket (tests: the local fake).
    wechat_mp_qrcode_url: str = Field(
        default="https://mp.weixin.qq.com/cgi-bin/showqrcode", validation_alias="WECHAT_MP_QRCODE_URL"
    )
    wechat_mp_allow_plain: bool = Field(default=False, validation_alias="WECHAT_MP_ALLOW_PLAIN")
    wechat_mp_notice_template_id: str = Field(default="", validation_alias="WECHAT_MP_NOTICE_TEMPLATE_ID")
    wechat_mp_notice_template_keys: str = Field(
        default="thing1,time2", validation_alias="WECHAT_MP_NOTICE_TEMPLATE_KEYS"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for entry in filter(None, (part.strip() for part in value.split(","))):
            ip_network(entry, strict=False)  # ValueError: not an address nor a network
        return value

    @property
    def wecom_enabled(self) -> bool:
        """Whether the 企业微信 channel is configured (all five of its settings given)."""
        return bool(
            self.wecom_corp_id
            and self.wecom_agent_id
            and self.wecom_secret
            and self.wecom_token
            and self.wecom_aes_key
        )

    @property
    def wechat_mp_enabled(self) -> bool:
        """Whether the 公众号 channel is configured (its AppID, AppSecret, Token and EncodingAESKey)."""
        return bool(
            self.wechat_mp_app_id
            and self.wechat_mp_app_secret
            and self.wechat_mp_token
            and self.wechat_mp_aes_key
        )

    def with_database(self, url: str | None) -> Settings:
        """These settings with another database (a command's ``--db``), or unchanged."""
        return self.model_copy(update={"database_url": url}) if url else self

    def resolved_database_url(self) -> str:
        """The database URL; by default an SQLite file inside the data folder."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'intake.db').resolve()}"
