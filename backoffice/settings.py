"""Settings read from BACKOFFICE_* environment variables, with safe defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BACKOFFICE_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"BACKOFFICE_{name}")
    return int(raw) if raw not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(f"BACKOFFICE_{name}")
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _load_or_create_secret(var_dir: Path) -> str:
    """The signing secret lives in var/secret_key, made once on first run and kept private."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secret_key"
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    os.replace(tmp, path)
    return value


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    secret_key: str
    debug: bool = False
    cookie_secure: bool = False
    session_idle_minutes: int = 30
    lockout_attempts: int = 10
    lockout_minutes: int = 15
    default_language: str = "hu"
    port: int = 8000
    templates_dir: Path = field(default=PROJECT_ROOT / "templates")
    static_dir: Path = field(default=PROJECT_ROOT / "static")
    seller_name: str = "Demo Telekom Zrt."
    # What invoices print about the seller (demo values; set them for a real operator).
    seller_address: str = "1097 Budapest IX., Könyves Kálmán körút 36."
    seller_tax_number: str = "12345676-2-44"
    seller_eu_vat_number: str = "HU12345676"
    seller_bank_account: str = "11773016-11111018-00000000"
    invoice_due_days: int = 15
    # An account billed more than this many times its average invoice is flagged in the preview.
    anomaly_factor: int = 3
    # Where document contents are stored (content-addressed); default var_dir/documents.
    storage_dir: Path | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    # How long a terminated number rests before the pool hands it out again.
    quarantine_days: int = 180
    # Tests that drive one app from several event loops must not share pooled connections.
    database_null_pool: bool = False

    @property
    def documents_dir(self) -> Path:
        return self.storage_dir or self.var_dir / "documents"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = Path(_env("VAR_DIR", str(PROJECT_ROOT / "var"))).resolve()
        var_dir.mkdir(parents=True, exist_ok=True)
        database_url = _env("DATABASE_URL", f"sqlite+aiosqlite:///{var_dir / 'backoffice.sqlite3'}")
        secret = os.environ.get("BACKOFFICE_SECRET_KEY") or _load_or_create_secret(var_dir)
        return cls(
            var_dir=var_dir,
            database_url=database_url,
            secret_key=secret,
            debug=_env_bool("DEBUG", False),
            cookie_secure=_env_bool("COOKIE_SECURE", False),
            session_idle_minutes=_env_int("SESSION_IDLE_MINUTES", 30),
            lockout_attempts=_env_int("LOCKOUT_ATTEMPTS", 10),
            lockout_minutes=_env_int("LOCKOUT_MINUTES", 15),
            default_language=_env("DEFAULT_LANGUAGE", "hu"),
            port=_env_int("PORT", 8000),
            storage_dir=Path(raw_storage).resolve() if (raw_storage := _env("STORAGE_DIR", "")) else None,
            max_upload_bytes=_env_int("MAX_UPLOAD_MB", 20) * 1024 * 1024,
            quarantine_days=_env_int("QUARANTINE_DAYS", 180),
            seller_name=_env("SELLER_NAME", "Demo Telekom Zrt."),
            seller_address=_env("SELLER_ADDRESS", "1097 Budapest IX., Könyves Kálmán körút 36."),
            seller_tax_number=_env("SELLER_TAX_NUMBER", "12345676-2-44"),
            seller_eu_vat_number=_env("SELLER_EU_VAT_NUMBER", "HU12345676"),
            seller_bank_account=_env("SELLER_BANK_ACCOUNT", "11773016-11111018-00000000"),
            invoice_due_days=_env_int("INVOICE_DUE_DAYS", 15),
            anomaly_factor=_env_int("ANOMALY_FACTOR", 3),
        )
