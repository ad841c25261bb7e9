"""Settings from BUERGERAMT_* environment variables and an optional TOML config file."""

from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hub.booking.rules import BookingPolicy


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


def is_loopback(host: str) -> bool:
    """True for `localhost` and addresses in 127.0.0.0/8 or ::1 (no name is looked up)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _config_file() -> Path | None:
    path = os.environ.get("BUERGERAMT_CONFIG_FILE")
    return Path(path) if path else None


class Settings(BaseSettings):
    """Every setting of the hub. Environment beats config file beats default."""

    model_config = SettingsConfigDict(env_prefix="BUERGERAMT_", extra="forbid")

    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:5000"
    secret_key: str = ""

    booking_lead_minutes: int = Field(15, ge=0, le=7 * 24 * 60)
    booking_horizon_days: int = Field(56, ge=1, le=366)
    slot_step_minutes: int = Field(15, ge=5, le=240)

    rate_limit_enabled: bool = True
    rate_limit_booking: str = "10/minute;60/hour"
    rate_limit_read: str = "120/minute"
    rate_limit_per_email: str = "5/hour;20/day"
    rate_limit_key_prefix: str = "buergeramt"  # separates deployments sharing one Redis
    # Enrolment (docs/enrolment.md): requests per client address (a batch behind one NAT), and
    # challenge/token requests per appliance key (a pending appliance polls every few seconds).
    rate_limit_enrolment: str = "120/minute"
    rate_limit_device: str = "60/minute"
    max_open_per_email: int = Field(2, ge=0, le=100)  # 0: no limit
    # Minutes a new booking is held until confirmed from the e-mail; 0 books at once.
    hold_minutes: int = Field(0, ge=0, le=24 * 60)
    trusted_proxies: int = Field(0, ge=0, le=5)

    mail_from: str = "Bürgeramt Virtuell <buergeramt@localhost>"
    smtp_host: str | None = None  # unset: mails go to the outbox folder instead
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_ca_file: str | None = None  # CA bundle for the mail server's certificate
    outbox_dir: Path | None = None  # default: <data_dir>/outbox
    reminder_leads_minutes: list[int] = Field(default_factory=lambda: [24 * 60, 60])
    mail_poll_seconds: float = Field(10.0, gt=0, le=3600)
    outbox_page: bool = False  # demo only: /outbox shows the outbox folder to this machine

    # Name and e-mail of past appointments are blanked this many days after them.
    retention_days: int = Field(30, ge=1, le=3650)

    # Documents of appointments (docs/operations.md "Documents"): where they are kept
    # (encrypted), how large they may be, how long they are kept after the appointment, and
    # clamd's socket (a path or host:port) for a virus scan of every file (none when unset).
    documents_storage: Literal["database", "folder"] = "database"
    documents_folder: Path | None = None  # default: <data_dir>/documents
    documents_max_file_mb: int = Field(20, ge=1, le=1024)
    documents_max_appointment_mb: int = Field(50, ge=1, le=100 * 1024)
    documents_retention_days: int = Field(7, ge=0, le=3650)
    documents_upload_hours: int = Field(24, ge=1, le=24 * 30)  # an unfinished upload's life
    clamd_socket: str | None = None

    # Plain text (paragraphs separated by blank lines) for the privacy notice and imprint pages.
    privacy_text: str = ""
    imprint_text: str = ""

    # Realtime: when citizens may enter the lobby, and how long a dropped call waits for a party.
    join_before_minutes: int = Field(15, ge=0, le=24 * 60)
    join_grace_minutes: int = Field(15, ge=0, le=24 * 60)
    reconnect_grace_seconds: int = Field(120, ge=5, le=3600)
    # Each hub process marks its connections alive this often; 3 misses count as gone.
    presence_seconds: float = Field(10.0, gt=0, le=300)
    # Browser origins allowed to open the Socket.IO connection (default: public_url only).
    allowed_origins: list[str] = Field(default_factory=list)
    # Long-polling needs sticky sessions when several hub processes serve one address.
    realtime_polling: bool = True
    # Engine.IO sessions without a connected namespace (docs/operations.md "Limits"): per
    # client address, in total, and how long one may stay so before it is closed.
    realtime_pending_per_address: int = Field(20, ge=1, le=100_000)
    realtime_pending_total: int = Field(2000, ge=1, le=1_000_000)
    realtime_handshake_seconds: float = Field(10.0, gt=0, le=300)
    # Engine.IO's heartbeat: the hub pings every interval and drops a client whose answer is
    # later than the timeout; clients drop the hub when no ping comes for both together. A hub
    # that became unreachable without closing anything (a dead route, a firewall) is noticed
    # within their sum: both screens say so, instead of Engine.IO's default 45 s.
    realtime_ping_interval_seconds: float = Field(5.0, ge=1, le=60)
    realtime_ping_timeout_seconds: float = Field(5.0, ge=1, le=60)
    # A connection that sends no complete request head for this long, or idles between
    # keep-alive requests, is closed; upgraded WebSockets are exempt.
    header_timeout_seconds: float = Field(15.0, gt=0, le=600)
    signal_rate_per_second: float = Field(20.0, gt=0, le=10_000)
    signal_burst: int = Field(100, ge=1, le=100_000)
    stun_urls: list[str] = Field(default_factory=list)
    turn_urls: list[str] = Field(default_factory=list)
    turn_secret: str | None = None  # coturn's static-auth-secret (use-auth-secret)
    turn_ttl_minutes: int = Field(180, ge=5, le=24 * 60)
    clerk_session_hours: int = Field(12, ge=1, le=24 * 7)
    device_token_minutes: int = Field(15, ge=1, le=24 * 60)  # an appliance's access token

    # Fees paid online (hub/payments): the city's XBezahldienste platform, or the payment
    # sandbox. Unset payment_url: no online payment. The ids are given by the platform.
    payment_url: str | None = None
    payment_originator_id: str = "buergeramt"
    payment_endpoint_id: str = "default"
    payment_user: str | None = None
    payment_password: str | None = None
    payment_timeout_seconds: float = Field(10.0, gt=0, le=120)
    # A payment request nobody finished by then expires; the `payments` job follows open ones.
    payment_expiry_minutes: int = Field(30, ge=1, le=7 * 24 * 60)
    payment_poll_seconds: float = Field(1.0, gt=0, le=3600)
    # A pay-later link sent by e-mail (the clerk's choice when a card fails in the call) works
    # this many days.
    payment_mail_days: int = Field(7, ge=1, le=60)
    # Who issues the receipts (hub/payments/receipt.py): the office's name as printed at the
    # top, and its postal address (lines separated by ", " or newlines; none when empty).
    office_name: str = Field("Bürgeramt", min_length=1, max_length=200)
    office_address: str = Field("", max_length=500)

    # The appliance's wheels, served to counters at /appliance/simple/ (hub/web/wheels.py).
    wheel_dir: Path | None = None  # default: <data_dir>/wheels

    # Who may read /metrics: these addresses or networks (direct requests, or through proxies
    # the hub trusts), or anyone with `Authorization: Bearer <metrics_token>`.
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    metrics_token: str | None = None

    # Testing and demos only: the hub's clock reads this instant at start and runs on from it.
    clock_start: datetime | None = None

    @field_validator("clock_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("clock_start needs a UTC offset, e.g. 2026-03-02T07:30:00+01:00")
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {entry!r}") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _plain_smtp_on_loopback_only(self) -> Settings:
        if self.smtp_security == "none" and self.smtp_host and not is_loopback(self.smtp_host):
            raise ValueError(
                f"smtp_security = 'none' (unencrypted) is allowed only when smtp_host is a"
                f" loopback address (127.0.0.0/8, ::1, localhost), not {self.smtp_host!r};"
                " use 'starttls' or 'tls'"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then environment, then the TOML file named by BUERGERAMT_CONFIG_FILE."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file in the data folder."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'buergeramt.sqlite3').resolve()}"

    @property
    def effective_outbox_dir(self) -> Path:
        """Where mails are written when no SMTP server is configured."""
        return self.outbox_dir or self.data_dir / "outbox"

    @property
    def effective_documents_folder(self) -> Path:
        """Where documents lie with `documents_storage = "folder"`."""
        return self.documents_folder or self.data_dir / "documents"

    @property
    def effective_wheel_dir(self) -> Path:
        """Where the operator puts the appliance's wheels (`pip download`, `pip wheel`)."""
        return self.wheel_dir or self.data_dir / "wheels"

    def effective_secret_key(self) -> str:
        """The configured secret key, or one generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            # Several hub processes may start at once: write aside, then link into place, so
            # every process reads the one complete key that won.
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".secret_key.")
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        return path.read_text().strip()

    @property
    def origins(self) -> list[str]:
        """Browser origins allowed on the realtime channel."""
        return [o.rstrip("/") for o in self.allowed_origins] or [self.public_url]

    @property
    def hold(self) -> timedelta | None:
        """How long new bookings wait for confirmation, or None when they need none."""
        return timedelta(minutes=self.hold_minutes) if self.hold_minutes else None

    @property
    def booking_policy(self) -> BookingPolicy:
        """The booking rules these settings describe."""
        return BookingPolicy(
            lead=timedelta(minutes=self.booking_lead_minutes),
            horizon=timedelta(days=self.booking_horizon_days),
            step=timedelta(minutes=self.slot_step_minutes),
        )


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning every problem into one readable ConfigError."""
    path = _config_file()
    if path is not None and not path.is_file():
        raise ConfigError(f"BUERGERAMT_CONFIG_FILE: no such file: {path}")
    try:
        settings = Settings(**overrides)
        settings.booking_policy  # noqa: B018 - validates the combination of booking settings
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
    return settings
