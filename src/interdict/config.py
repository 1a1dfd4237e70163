"""Settings, read from the environment (prefix ``INTERDICT_``). No module-level instances."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from interdict.core.egress import Network, parse_networks


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
    login_second_factor_failures: int = Field(
        default=5,
        ge=1,
        description="Wrong two-factor or recovery codes that lock an account (a right password does not reset them).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies (addresses or CIDR networks, comma-separated or a JSON list) whose "
        "X-Forwarded-For and X-Forwarded-Proto headers are believed; default: none (the direct peer is the client).",
    )
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
    # Every CSV/XLSX read (imports, targeting loads, the targeting model's files) is bounded: core/spreadsheet/reader.py.
    spreadsheet_max_uncompressed_bytes: int = Field(
        default=200 * 1024 * 1024,
        ge=1024,
        description="Largest total unpacked size of an XLSX workbook (checked before it is parsed).",
    )
    spreadsheet_max_compression_ratio: float = Field(
        default=200.0,
        ge=2,
        description="Highest compression ratio of an XLSX member over 1 MB unpacked (a zip bomb is refused).",
    )
    spreadsheet_max_columns: int = Field(default=1000, ge=10, description="Most cells in one row of a CSV/XLSX file.")
    spreadsheet_max_cell_chars: int = Field(
        default=32767, ge=100, description="Longest cell of a CSV/XLSX file, in characters (Excel's own limit)."
    )
    spreadsheet_max_row_chars: int = Field(
        default=1_000_000, ge=1000, description="Longest row (or CSV line) of a CSV/XLSX file, in characters."
    )
    import_max_rows: int = Field(
        default=1_000_000, ge=1, description="Most rows of an incident import file (web, API and command line)."
    )
    jobs_worker: Literal["process", "thread", "off"] = Field(
        default="process",
        description="Who runs queued imports and targeting loads: a child process of each server (process), a "
        "thread of the server (thread), or nothing (off: run `interdict jobs run` as a separate service). "
        "true/false mean process/off.",
    )
    jobs_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    jobs_lease_minutes: float = Field(
        default=30.0,
        gt=0,
        description="A running job of another host whose progress has not moved for this long is marked failed.",
    )
    default_locale: str = Field(default="en", pattern="^(en|vi)$")
    demo: bool = Field(
        default=False,
        description="Running as the demo (set by `interdict demo`): every page says its data is synthetic, and the "
        "login page and dashboard list the demo users and what to try first.",
    )
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

    @field_validator("webhook_allowed_networks", "trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> list[str]:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.replace(",", " ").split()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("give networks in CIDR notation, e.g. 10.20.0.0/16,fd12:3456::/48")
        parse_networks(value)  # ValueError names the bad entry
        return [v.strip() for v in value if v.strip()]

    @property
    def webhook_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.webhook_allowed_networks)

    @field_validator("jobs_worker", mode="before")
    @classmethod
    def _jobs_worker(cls, value: object) -> object:
        if value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on")):
            return "process"
        if value is False or (isinstance(value, str) and value.strip().lower() in ("false", "0", "no")):
            return "off"
        return value

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
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks (CIDR, comma-separated or a JSON list, e.g. 10.20.0.0/16,fd12:3456::/48) that webhooks "
        "may reach although they are not public: an agency's own internal receivers. Loopback, private, link-local "
        "and other non-public addresses are refused otherwise.",
    )
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
        description="Directory of a fitted targeting model (interdict targeting fit/retrain); unset: the model in "
        "DATA_DIR/targeting-model if one was fitted there (interdict targeting retrain, the demo), else profiles and "
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
    targeting_max_upload_rows: int = Field(
        default=100_000,
        ge=1,
        description="Most rows of a load file (pages, API and `interdict targeting load`); a load holds about 18 KB a "
        "row in memory while it runs.",
    )
    targeting_max_file_rows: int = Field(
        default=5_000_000,
        ge=1,
        description="Most rows of a file the targeting model reads on the command line (fit, score, evaluate).",
    )
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
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

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
    def default_targeting_model(self) -> Path:
        """Where `interdict targeting retrain` (and the demo) write the model when no other place is given."""
        return self.data_dir / "targeting-model"

    @property
    def effective_targeting_model(self) -> Path | None:
        """The model the risk engine uses: TARGETING_MODEL, else a model fitted into the data directory."""
        if self.targeting_model is not None:
            return self.targeting_model
        default = self.default_targeting_model
        return default if (default / "model.json").is_file() else None

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def jobs_dir(self) -> Path:
        """Uploaded files waiting for their background job (deleted when the job ends)."""
        return self.data_dir / "jobs"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.attachments_dir.mkdir(parents=True, exist_ok=True)
        self.jobs_dir.mkdir(parents=True, exist_ok=True)

    def as_environment(self) -> dict[str, str]:
        """These settings as INTERDICT_* environment variables (for a child process that must run with them)."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, dict | list):
                text = json.dumps(value)
            else:
                text = str(value)
            env[f"INTERDICT_{name.upper()}"] = text
        return env

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
