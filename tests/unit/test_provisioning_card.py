"""The card's files (provisioning/card.py) as cloud-init, netplan, bash and shellcheck read them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from provisioning.card import (
    HEREDOC_END,
    PACKAGES,
    Card,
    CardError,
    StaticAddress,
    Wifi,
    check,
    device_files,
    firstrun_sh,
    meta_data,
    network_config,
    user_data,
)
from tests.support.environment import IN_CI

PROVISIONING = Path(__file__).resolve().parents[2] / "provisioning"
TOKEN = "enr_batch7_Zx9kQ2mB4vT8wL1n"

CARDS = {
    "ethernet": Card(hub_url="https://hub.stadt.example/", token=TOKEN),
    "wifi and pin": Card(
        hub_url="https://hub.stadt.example:8443",
        token=TOKEN,
        pin="sha256:" + "AB" * 32,
        wifi=Wifi('Rathaus Gäste "2"', "geh'eim $1 `x`"),
    ),
    "static": Card(
        hub_url="https://10.20.30.1",
        token=TOKEN,
        static=StaticAddress("10.20.30.41/24", "10.20.30.1", ("10.20.30.53", "10.20.30.54")),
    ),
}


def need(command: str, package: str) -> str:
    """The command's path; skipped without it, except under CI=true (.ci/run installs it)."""
    path = shutil.which(command)
    if path is None:
        if IN_CI:
            pytest.fail(f"{command} missing: .ci/run installs {package}", pytrace=False)
        pytest.skip(f"{command} missing (apt-get install {package})")
    return path


def self_signed_pem(tmp_path: Path) -> str:
    need("openssl", "openssl")
    key, cert = tmp_path / "ca.key", tmp_path / "ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=Stadt CA"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert.read_text()


def written(card: Card) -> dict[str, dict]:
    """user-data's write_files by path, as cloud-init reads them."""
    config = yaml.safe_load(user_data(card))
    return {entry["path"]: entry for entry in config["write_files"]}


@pytest.mark.parametrize("name", CARDS)
def test_user_data_passes_cloud_init_schema(name: str, tmp_path: Path):
    cloud_init = need("cloud-init", "cloud-init")
    path = tmp_path / "user-data"
    path.write_text(user_data(check(CARDS[name])))
    result = subprocess.run(
        [cloud_init, "schema", "--config-file", path], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout
    assert path.read_text().startswith("#cloud-config\n")


def test_user_data_with_a_ca_passes_cloud_init_schema(tmp_path: Path):
    cloud_init = need("cloud-init", "cloud-init")
    pem = self_signed_pem(tmp_path)
    card = check(Card(hub_url="https://hub.stadt.example", token=TOKEN, ca_pem=pem))
    path = tmp_path / "user-data"
    path.write_text(user_data(card))
    result = subprocess.run([cloud_init, "schema", "-c", path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert written(card)["/etc/buergeramt/hub-ca.pem"]["content"] == pem


@pytest.mark.parametrize("name", CARDS)
def test_network_config_is_read_by_cloud_init(name: str, tmp_path: Path):
    """cloud-init's own parser (Debian's package, run by the system's Python) takes the file;
    cloud-init 22.4 refused `to: default` in routes, which made this test necessary."""
    need("cloud-init", "cloud-init")
    path = tmp_path / "network-config"
    path.write_text(network_config(check(CARDS[name])))
    script = (
        "import sys, yaml\n"
        "from cloudinit.net.network_state import parse_net_config_data\n"
        "config = yaml.safe_load(open(sys.argv[1]))['network']\n"
        "state = parse_net_config_data(config, skip_broken=False)\n"
        "print(sorted(i['name'] for i in state.iter_interfaces()))\n"
    )
    result = subprocess.run(
        ["/usr/bin/python3", "-c", script, path], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "eth0" in result.stdout


def test_network_config_is_netplan_version_2():
    ethernet = yaml.safe_load(network_config(check(CARDS["ethernet"])))["network"]
    assert ethernet == {"version": 2, "ethernets": {"eth0": {"dhcp4": True, "optional": False}}}
    wifi = yaml.safe_load(network_config(check(CARDS["wifi and pin"])))["network"]
    assert wifi["wifis"]["wlan0"]["access-points"] == {
        'Rathaus Gäste "2"': {"password": "geh'eim $1 `x`"}
    }
    assert wifi["wifis"]["wlan0"]["regulatory-domain"] == "DE"
    static = yaml.safe_load(network_config(check(CARDS["static"])))["network"]["ethernets"]["eth0"]
    assert static["addresses"] == ["10.20.30.41/24"]
    assert static["routes"] == [{"to": "0.0.0.0/0", "via": "10.20.30.1"}]
    assert static["nameservers"] == {"addresses": ["10.20.30.53", "10.20.30.54"]}


def test_the_environment_file_carries_hub_url_and_token_for_root_only():
    files = written(check(CARDS["wifi and pin"]))
    env = files["/etc/buergeramt/appliance.env"]
    assert env["permissions"] == "0600"
    lines = env["content"].splitlines()
    assert "BUERGERAMT_APPLIANCE_HUB_URL=https://hub.stadt.example:8443" in lines
    assert f"BUERGERAMT_APPLIANCE_ENROLMENT_TOKEN={TOKEN}" in lines
    assert "BUERGERAMT_APPLIANCE_KEY_DIR=/var/lib/buergeramt/keys" in lines
    conf = files["/etc/buergeramt/firstboot.conf"]["content"]
    assert f"HUB_PIN='sha256:{'ab' * 32}'" in conf
    assert TOKEN not in conf  # the installer never sees the token


def test_the_environment_file_is_what_the_appliance_reads(monkeypatch):
    from appliance.config import ApplianceSettings

    content = written(check(CARDS["ethernet"]))["/etc/buergeramt/appliance.env"]["content"]
    for line in content.splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            monkeypatch.setenv(key, value)
    settings = ApplianceSettings()
    assert settings.hub_url == "https://hub.stadt.example"
    assert settings.camera == "picamera2"
    assert settings.enrolment_token == TOKEN
    assert str(settings.key_dir) == "/var/lib/buergeramt/keys"


def test_user_data_carries_units_installer_and_kiosk_as_they_are_in_the_tree():
    files = written(check(CARDS["ethernet"]))
    unit = files["/etc/systemd/system/buergeramt-appliance.service"]["content"]
    assert unit == (PROVISIONING / "systemd" / "buergeramt-appliance.service").read_text()
    assert "ExecStart=/usr/bin/python3 -I /opt/buergeramt/supervisor.py /opt/buergeramt" in unit
    assert "/etc/systemd/user/buergeramt-kiosk.service" in files
    assert files["/opt/buergeramt/provisioning/kiosk/start-kiosk"]["permissions"] == "0755"
    # The start-up page start-kiosk opens next to itself: as it is in the tree, not executable.
    page = files["/opt/buergeramt/provisioning/kiosk/starting.html"]
    assert page["content"] == (PROVISIONING / "kiosk" / "starting.html").read_text()
    assert page["permissions"] == "0644"
    assert files["/usr/local/sbin/buergeramt-firstboot"]["permissions"] == "0755"
    config = yaml.safe_load(user_data(check(CARDS["ethernet"])))
    assert config["timezone"] == "Europe/Berlin"
    assert config["locale"] == "de_DE.UTF-8"
    assert {"python3-venv", "python3-picamera2", "sane-utils", "chromium"} <= set(
        config["packages"]
    )
    [user] = config["users"]
    assert user["lock_passwd"] is True and "sudo" not in user
    assert ["systemctl", "enable", "--now", "--no-block", "buergeramt-firstboot.service"] in (
        config["runcmd"]
    )


def test_firstrun_writes_the_same_files_as_cloud_init():
    card = check(CARDS["wifi and pin"])
    script = firstrun_sh(card)
    pattern = rf"cat >'([^']+)' <<'{HEREDOC_END}'\n(.*?)\n{HEREDOC_END}\nchmod (\d+) "
    found = {path: (content + "\n", mode) for path, content, mode in
             re.findall(pattern, script, re.DOTALL)}  # fmt: skip
    assert found == {file.path: (file.content, file.mode) for file in device_files(card)}


@pytest.mark.parametrize("name", CARDS)
def test_firstrun_passes_bash_and_shellcheck(name: str, tmp_path: Path):
    path = tmp_path / "firstrun.sh"
    path.write_text(firstrun_sh(check(CARDS[name])))
    subprocess.run(["bash", "-n", path], check=True)
    shellcheck = need("shellcheck", "shellcheck")
    result = subprocess.run([shellcheck, path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_installer_passes_shellcheck():
    shellcheck = need("shellcheck", "shellcheck")
    for script in ("buergeramt-firstboot", "firstrun-head.sh"):
        result = subprocess.run(
            [shellcheck, PROVISIONING / "firstboot" / script], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout


def test_the_installer_installs_the_cards_packages_unless_firstboot_conf_names_others():
    installer = (PROVISIONING / "firstboot" / "buergeramt-firstboot").read_text()
    default = re.search(r"\$\{PACKAGES:-([^}]*)\}", installer)
    assert default is not None
    assert tuple(default.group(1).split()) == PACKAGES


def test_the_kiosk_scripts_pass_shellcheck():
    shellcheck = need("shellcheck", "shellcheck")
    for script in ("start-kiosk", "screen-blanking"):
        result = subprocess.run(
            [shellcheck, PROVISIONING / "kiosk" / script], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout


def test_meta_data_changes_with_the_user_data():
    first = yaml.safe_load(meta_data(user_data(check(CARDS["ethernet"]))))
    second = yaml.safe_load(meta_data(user_data(check(CARDS["static"]))))
    assert first["instance-id"].startswith("buergeramt-")
    assert first != second


@pytest.mark.parametrize(
    ("card", "message"),
    [
        (Card(hub_url="hub.stadt.example", token=TOKEN), "not an http(s) address"),
        (Card(hub_url="https://", token=TOKEN), "not an http(s) address"),
        (Card(hub_url="https://hub:99999", token=TOKEN), "out of range"),
        (Card(hub_url="http://hub.stadt.example", token=TOKEN), "not https"),
        (Card(hub_url="https://hub?x=1", token=TOKEN), "query"),
        (Card(hub_url="https://hub", token="short"), "enrolment token"),
        (Card(hub_url="https://hub", token=TOKEN, pin="sha256:abc"), "64 hexadecimal"),
        (Card(hub_url="https://hub", token=TOKEN, pin="ab" * 32), "64 hexadecimal"),
        (Card(hub_url="https://hub", token=TOKEN, ca_pem="hello"), "no PEM certificate"),
        (Card(hub_url="https://hub", token=TOKEN, hostname_prefix="Schalter_"), "prefix"),
        (Card(hub_url="https://hub", token=TOKEN, wifi=Wifi("x", "short")), "8 to 63"),
        (
            Card(
                hub_url="https://hub", token=TOKEN, static=StaticAddress("10.0.0.5/24", "10.1.0.1")
            ),
            "gateway in that network",
        ),
    ],
)
def test_bad_input_is_refused_in_one_line(card: Card, message: str):
    with pytest.raises(CardError, match=re.escape(message)) as refused:
        check(card)
    assert "\n" not in str(refused.value)


def test_http_is_allowed_when_asked_for():
    card = check(Card(hub_url="http://127.0.0.1:5000/", token=TOKEN, insecure_http=True))
    assert card.hub_url == "http://127.0.0.1:5000"
