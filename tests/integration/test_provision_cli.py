"""`buergeramt provision card`: the folder it writes, and what it refuses (nothing written then)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hub.cli.provision import provision

TOKEN = "enr_batch7_Zx9kQ2mB4vT8wL1n"
FILES = ["README.txt", "firstrun.sh", "meta-data", "network-config", "user-data"]


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


def run(*args: object, input: str | None = None):
    return CliRunner().invoke(provision, ["card", *map(str, args)], input=input)


def test_writes_the_card_folder_without_showing_secrets(tmp_path: Path, token_file: Path):
    password = tmp_path / "wifi"
    password.write_text("Rathaus-2026!\n")
    out = tmp_path / "card"
    result = run(
        "--hub-url", "https://hub.stadt.example", "--token-file", token_file,
        "--wifi-ssid", "Rathaus", "--wifi-password-file", password, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == FILES
    assert TOKEN not in result.output and "Rathaus-2026!" not in result.output
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = yaml.safe_load((out / "user-data").read_text())
    env = next(f for f in config["write_files"] if f["path"] == "/etc/buergeramt/appliance.env")
    assert f"BUERGERAMT_APPLIANCE_ENROLMENT_TOKEN={TOKEN}" in env["content"]
    network = yaml.safe_load((out / "network-config").read_text())["network"]
    assert network["wifis"]["wlan0"]["access-points"] == {"Rathaus": {"password": "Rathaus-2026!"}}
    assert "systemd.run=/boot/firmware/firstrun.sh" in (out / "README.txt").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".card.")]  # no leftovers


def test_asks_for_the_token_and_password_without_echo(tmp_path: Path):
    out = tmp_path / "card"
    result = run(
        "--hub-url", "https://hub.stadt.example", "--wifi-ssid", "Rathaus", "--out", out,
        input=f"{TOKEN}\nRathaus-2026!\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Enrolment token" in result.output
    assert TOKEN not in result.output and "Rathaus-2026!" not in result.output
    assert TOKEN in (out / "user-data").read_text()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--hub-url", "hub.stadt.example"], "is not an http(s) address"),
        (["--hub-url", "http://hub.stadt.example"], "not https"),
        (["--hub-url", "https://hub", "--ca-file", "/nonexistent/ca.pem"], "cannot read the CA"),
        (["--hub-url", "https://hub", "--pin", "sha256:1234"], "64 hexadecimal digits"),
        (["--hub-url", "https://hub", "--hostname-prefix", "A B"], "hostname prefix"),
    ],
)
def test_bad_options_are_refused_in_one_line_and_nothing_is_written(
    tmp_path: Path, token_file: Path, options: list[str], message: str
):
    out = tmp_path / "card"
    result = run(*options, "--token-file", token_file, "--out", out)
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [token_file]


def test_a_bad_token_is_refused(tmp_path: Path):
    out = tmp_path / "card"
    result = run("--hub-url", "https://hub", "--out", out, input="no\n")
    assert result.exit_code == 1
    assert "enrolment token" in result.output
    assert not out.exists()


def test_http_needs_insecure_http(tmp_path: Path, token_file: Path):
    out = tmp_path / "card"
    result = run(
        "--hub-url", "http://127.0.0.1:5000", "--insecure-http",
        "--token-file", token_file, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_folder_with_files_is_replaced_only_with_force(tmp_path: Path, token_file: Path):
    out = tmp_path / "card"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    args = ["--hub-url", "https://hub.stadt.example", "--token-file", token_file, "--out", out]
    refused = run(*args)
    assert refused.exit_code == 1
    assert "not empty" in refused.output
    assert [path.name for path in out.iterdir()] == ["old.txt"]
    forced = run(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert sorted(path.name for path in out.iterdir()) == FILES


def test_an_empty_folder_is_filled(tmp_path: Path, token_file: Path):
    out = tmp_path / "card"
    out.mkdir()
    result = run("--hub-url", "https://hub", "--token-file", token_file, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == FILES


def test_buergeramt_offers_provision_card(tmp_path: Path, token_file: Path):
    from hub.cli import cli

    out = tmp_path / "card"
    args = ["provision", "card", "--hub-url", "https://hub", "--token-file", str(token_file)]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "user-data").exists()
