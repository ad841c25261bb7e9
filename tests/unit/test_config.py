"""Configuration: environment, TOML file, and clear errors for bad values."""

import pytest

from hub.config import ConfigError, load_settings


def test_defaults_use_a_sqlite_file_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("BUERGERAMT_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'buergeramt.sqlite3'}"
    assert settings.redis_url is None
    assert settings.booking_policy.lead.total_seconds() == 15 * 60


def test_environment_beats_config_file(monkeypatch, tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text('slot_step_minutes = 30\npublic_url = "https://termine.example.org/"\n')
    monkeypatch.setenv("BUERGERAMT_CONFIG_FILE", str(config))
    monkeypatch.setenv("BUERGERAMT_SLOT_STEP_MINUTES", "20")
    settings = load_settings()
    assert settings.slot_step_minutes == 20
    assert settings.public_url == "https://termine.example.org"


@pytest.mark.parametrize(
    ("env", "content", "needle"),
    [
        ({"BUERGERAMT_SLOT_STEP_MINUTES": "abc"}, None, "slot_step_minutes"),
        ({"BUERGERAMT_SLOT_STEP_MINUTES": "7"}, None, "multiple of 5"),
        ({"BUERGERAMT_PUBLIC_URL": "ftp://x"}, None, "public_url"),
        ({"BUERGERAMT_CLOCK_START": "2026-03-02T08:00:00"}, None, "clock_start"),
        ({}, "slot_step_minutes = [", "invalid configuration"),
        ({}, "no_such_setting = 1", "no_such_setting"),
    ],
)
def test_bad_settings_give_one_clear_error(monkeypatch, tmp_path, env, content, needle):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if content is not None:
        path = tmp_path / "bad.toml"
        path.write_text(content)
        monkeypatch.setenv("BUERGERAMT_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_missing_config_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("BUERGERAMT_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings()


def test_generated_secret_key_is_kept_and_shared(tmp_path):
    first = load_settings(data_dir=tmp_path).effective_secret_key()
    second = load_settings(data_dir=tmp_path).effective_secret_key()
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    assert load_settings(data_dir=tmp_path, secret_key="set").effective_secret_key() == "set"


@pytest.mark.parametrize("host", ["mail.internal", "10.0.0.5", "fe80::1", "localhost.evil.example"])
def test_unencrypted_smtp_is_refused_off_loopback(monkeypatch, tmp_path, host):
    monkeypatch.setenv("BUERGERAMT_SMTP_HOST", host)
    monkeypatch.setenv("BUERGERAMT_SMTP_SECURITY", "none")
    with pytest.raises(ConfigError, match=r"smtp_security = 'none'.*smtp_host.*loopback"):
        load_settings(data_dir=tmp_path)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "localhost", "LOCALHOST"])
def test_unencrypted_smtp_is_allowed_on_loopback(tmp_path, host):
    settings = load_settings(data_dir=tmp_path, smtp_host=host, smtp_security="none")
    assert settings.smtp_security == "none" and settings.smtp_host == host


def test_encrypted_smtp_may_go_anywhere(tmp_path):
    settings = load_settings(data_dir=tmp_path, smtp_host="mail.internal", smtp_security="tls")
    assert settings.smtp_host == "mail.internal"
