"""Settings, read from the environment (prefix ``INTERDICT_``). No module-level instances."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTERDICT_", extra="ignore")

    data_dir: Path = Field(
        default=Path("interdict-data"),
        description="Directory for the embedded database, attachments and indexes.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: a SQLite file interdict.db under the data directory.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Server secret (token hashing pepper). Default: generated once into DATA_DIR/secret_key.",
    )
    session_idle_minutes: int = Field(default=60, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_account_failures: int = Field(default=5, ge=1, description="Failed sign-ins that lock an account name.")
    login_address_failures: int = Field(default=20, ge=1, description="Failed sign-ins that lock a client address.")
    login_window_minutes: int = Field(default=15, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    cookie_secure: bool | None = Field(
        default=None, description="Force the Secure cookie flag; default: set when the request is HTTPS."
    )
    # OpenID Connect sign-in (optional): set the issuer, client id and secret registered at the agency's provider.
    oidc_issuer: str | None = Field(
        default=None, description="Issuer URL of the agency's OpenID Connect provider; sign-in is off when unset."
    )
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid email profile"
    oidc_label: str = Field(default="agency identity provider", max_length=80, description="Shown on the button.")
    oidc_redirect_uri: str | None = Field(
        default=None,
        description="Callback URL registered at the provider; default: /login/oidc/callback on the requested host.",
    )
    oidc_match_claim: str = Field(
        default="email",
        pattern="^(email|preferred_username)$",
        description="Claim that links a first OpenID Connect sign-in to an existing account (email: verified only).",
    )
    oidc_trust_provider_mfa: bool = Field(
        default=False, description="Skip Interdict's own two-factor step after a provider sign-in."
    )
    oidc_timeout_seconds: float = Field(default=10.0, gt=0)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_import_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    default_locale: str = Field(default="en", pattern="^(en|vi)$")
    page_size_max: int = Field(default=200, ge=10)
    sql_echo: bool = False
    linkage_worker: bool = Field(
        default=True, description="Link new and changed incidents in a background thread of the server."
    )
    linkage_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    watch_worker: bool = Field(
        default=True, description="Fire watch rules and watch lists in a background thread of the server."
    )
    watch_interval_seconds: float = Field(default=0.25, gt=0, le=60)
    notices_worker: bool = Field(
        default=True,
        description="Send warning notices' deadline reminders and overdue notices from a background thread.",
    )
    notices_interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    notice_remind_days: int = Field(
        default=2, ge=0, le=60, description="Days before a notice's report deadline when units are reminded."
    )
    alerts_worker: bool = Field(
        default=True,
        description="Send rapid-alert reminders and escalations from a background thread of the server.",
    )
    alerts_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    alert_remind_minutes: dict[str, int] = Field(
        default_factory=lambda: {"urgent": 60, "immediate": 15},
        description="Minutes after issue before unacknowledging units are reminded, per urgency (JSON; "
        "an urgency left out is never reminded).",
    )
    alert_escalate_minutes: dict[str, int] = Field(
        default_factory=lambda: {"urgent": 120, "immediate": 30},
        description="Minutes after issue before an unacknowledged alert escalates to the unit's head, per urgency.",
    )

    @field_validator("alert_remind_minutes", "alert_escalate_minutes")
    @classmethod
    def _per_urgency(cls, value: dict[str, int]) -> dict[str, int]:
        for urgency, minutes in value.items():
            if urgency not in ("routine", "urgent", "immediate"):
                raise ValueError(f"'{urgency}' is not an urgency (routine, urgent, immediate)")
            if minutes < 1:
                raise ValueError(f"minutes for '{urgency}' must be at least 1 (leave it out for never)")
        return value

    # Notification delivery (e-mail, webhooks) from the durable outbox.
    delivery_worker: bool = Field(
        default=True, description="Send planned e-mails and webhooks in a background thread of the server."
    )
    delivery_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    delivery_give_up_hours: float = Field(
        default=72.0, gt=0, description="A delivery still failing this long after it was planned is marked dead."
    )
    delivery_max_backoff_seconds: float = Field(
        default=300.0, ge=1, description="Longest wait between two attempts (exponential backoff up to this)."
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="Base URL of this Interdict as users reach it, for links in e-mails and webhook payloads.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server; e-mail is off when unset.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="SMTP over TLS from the start (usually port 465).")
    smtp_from: str = Field(default="interdict@localhost", description="Sender address of notification e-mails.")
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    email_mode: str = Field(
        default="full",
        pattern="^(full|metadata)$",
        description="full: the notification's title, text and facts; metadata: only its kind, urgency and a link.",
    )
    email_max_per_hour: int = Field(
        default=20, ge=1, description="Immediate e-mails per user and hour; beyond that, one summary message."
    )
    email_summary_minutes: int = Field(
        default=15, ge=1, description="How long throttled items wait before their 'N more notifications' message."
    )
    digest_hour: int = Field(default=1, ge=0, le=23, description="Default hour (UTC) of the daily digest.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    stream_poll_seconds: float = Field(
        default=0.25, gt=0, le=10, description="How often the live stream looks for new notifications."
    )

    # Audit trail checkpoints (docs/operations.md "Audit checkpoints"): kept outside the system, they show a
    # trail cut at the end or rewritten.
    audit_checkpoint_dir: Path | None = Field(
        default=None,
        description="Directory (ideally on another system: a write-once share) where the server writes a signed "
        "checkpoint of the audit trail at start and every AUDIT_CHECKPOINT_HOURS; unset: no periodic checkpoints.",
    )
    audit_checkpoint_hours: float = Field(default=24.0, gt=0, le=24 * 31)

    # Container targeting (PCU workflow): see README "Container targeting".
    targeting_model: Path | None = Field(
        default=None,
        description="Directory of a fitted targeting model (interdict targeting fit/retrain); unset: profiles and "
        "intelligence only.",
    )
    targeting_random_share: float = Field(
        default=0.005,
        ge=0,
        le=0.5,
        description="Share of each load selected for inspection at random (seeded per load).",
    )
    targeting_capacity: int = Field(
        default=20, ge=1, le=10000, description="Containers a unit may select for inspection per load (risk-based)."
    )
    targeting_red_threshold: float = Field(default=0.5, gt=0, le=1, description="Score from which a record is red.")
    targeting_yellow_threshold: float = Field(
        default=0.2, gt=0, le=1, description="Score from which a record is yellow (below: green)."
    )
    targeting_review_min_inspected: int = Field(
        default=10, ge=1, description="Inspected hits after which a profile's hit rate is judged."
    )
    targeting_review_hit_rate: float = Field(
        default=0.05, ge=0, le=1, description="A judged profile whose hit rate is below this is flagged for review."
    )
    targeting_max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, description="Largest load file.")
    targeting_retrain_hours: float | None = Field(
        default=None,
        gt=0,
        description="Refit the targeting model on all recorded outcomes every this many hours (needs "
        "TARGETING_MODEL and TARGETING_RETRAIN_MAPPING); unset: off.",
    )
    targeting_retrain_mapping: str | None = Field(
        default=None, description="Mapping (file or shipped name) the scheduled retrain fits with."
    )

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'interdict.db').as_posix()}"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.attachments_dir.mkdir(parents=True, exist_ok=True)

    def effective_secret_key(self) -> str:
        """The configured secret, or one generated once and kept (mode 0600) in the data directory."""
        if self.secret_key:
            return self.secret_key
        self.ensure_dirs()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
