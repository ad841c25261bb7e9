"""What IT writes onto a counter's SD card: cloud-init `user-data`, `network-config` and
`meta-data` (Raspberry Pi OS Trixie), `firstrun.sh` (Bookworm) and a README.

Nothing device-specific: one card image serves a batch. The card carries the hub's address, how
to trust it, the network, the enrolment token and the first-boot installer
(provisioning/firstboot/); each device takes its hostname from its serial number, makes its own
key and is approved by IT by the claim code on its screen (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from provisioning import yaml_text

HERE = Path(__file__).parent
PACKAGES = ("python3-venv", "python3-picamera2", "sane-utils", "chromium", "curl")
KIOSK_USER = "kiosk"  # the desktop user that shows the counter screen; no password, no sudo
KEY_DIR = "/var/lib/buergeramt/keys"
SYSTEM_UNITS = ("buergeramt-appliance.service",)
USER_UNITS = (
    "buergeramt-kiosk.service",
    "buergeramt-screen-hold.service",
    "buergeramt-screen-hold.timer",
    "buergeramt-screen-release.service",
    "buergeramt-screen-release.timer",
)
KIOSK_SCRIPTS = ("start-kiosk", "screen-blanking")
KIOSK_PAGES = ("starting.html",)  # start-kiosk shows it while the appliance's page is not up yet
TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{8,128}$")  # appliance.config: at most 128
PIN = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
HOSTNAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
HEREDOC_END = "BUERGERAMT_END_OF_FILE"


class CardError(ValueError):
    """The card cannot be made from this input; the message says what is wrong, in one line."""


@dataclass(frozen=True)
class Wifi:
    """A WPA2/WPA3-Personal network the counters join."""

    ssid: str
    password: str
    country: str = "DE"  # the radio stays off on a Raspberry Pi until its country is set


@dataclass(frozen=True)
class StaticAddress:
    """A fixed address on the Ethernet port instead of DHCP (one card: one counter then)."""

    address: str  # with prefix length: 10.20.30.41/24
    gateway: str
    dns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Card:
    """Everything one batch of counters is given."""

    hub_url: str
    token: str
    ca_pem: str | None = None  # the CA that signed the hub's certificate (PEM)
    pin: str | None = None  # sha256:<hex> of the hub's own (self-signed) certificate
    wifi: Wifi | None = None
    static: StaticAddress | None = None
    hostname_prefix: str = "schalter"
    insecure_http: bool = False
    settings: dict[str, str] = field(default_factory=dict)  # more BUERGERAMT_APPLIANCE_* lines


@dataclass(frozen=True)
class DeviceFile:
    """A file the first boot puts onto the device."""

    path: str
    content: str
    mode: str = "0644"


def check(card: Card) -> Card:
    """The card with its hub URL and pin normalised, or CardError naming the first problem."""
    url = urlsplit(card.hub_url.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise CardError(f"hub URL {card.hub_url!r} is not an http(s) address with a host name")
    if url.query or url.fragment or url.username or url.password:
        raise CardError("hub URL must not carry a query, fragment or user name")
    try:
        url.port  # noqa: B018  # raises on a malformed port
    except ValueError as exc:
        raise CardError(f"hub URL {card.hub_url!r}: {exc}") from None
    if url.scheme == "http" and not card.insecure_http:
        raise CardError("hub URL is not https: the token would cross the network in clear text")
    if not TOKEN.match(card.token):
        raise CardError("the enrolment token is not one `buergeramt enrol tokens create` prints")
    if card.ca_pem is not None and card.pin is not None:
        raise CardError("give either a CA file or a pin, not both")
    if card.ca_pem is not None:
        _check_pem(card.ca_pem)
    pin = card.pin
    if pin is not None:
        match = PIN.match(pin.strip())
        if not match:
            raise CardError("the pin must be sha256: followed by 64 hexadecimal digits")
        if url.scheme != "https":
            raise CardError("a pin needs an https hub URL")
        pin = f"sha256:{match.group(1).lower()}"
    if not HOSTNAME_PREFIX.match(card.hostname_prefix):
        raise CardError("the hostname prefix must be lower-case letters, digits and '-'")
    if card.wifi is not None:
        _check_wifi(card.wifi)
    if card.static is not None:
        _check_static(card.static)
    return Card(
        **{**card.__dict__, "hub_url": card.hub_url.strip().rstrip("/"), "pin": pin},
    )


def _check_pem(pem: str) -> None:
    blocks = PEM_BLOCK.findall(pem)
    if not blocks:
        raise CardError("the CA file holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    for block in blocks:
        try:
            ssl.PEM_cert_to_DER_cert(block)
        except ValueError:
            raise CardError("the CA file's certificate is not valid PEM") from None


def _check_wifi(wifi: Wifi) -> None:
    if not 1 <= len(wifi.ssid.encode()) <= 32 or not wifi.ssid.isprintable():
        raise CardError("the Wi-Fi name must be 1 to 32 bytes of printable characters")
    if not 8 <= len(wifi.password) <= 63 or not wifi.password.isprintable():
        raise CardError("the Wi-Fi password must be 8 to 63 printable characters (WPA)")
    if not re.fullmatch(r"[A-Z]{2}", wifi.country):
        raise CardError("the Wi-Fi country must be two capital letters, e.g. DE")


def _check_static(static: StaticAddress) -> None:
    try:
        interface = ipaddress.ip_interface(static.address)
        gateway = ipaddress.ip_address(static.gateway)
        for server in static.dns:
            ipaddress.ip_address(server)
    except ValueError as exc:
        raise CardError(f"static address: {exc}") from None
    if "/" not in static.address or gateway not in interface.network:
        raise CardError("static address: give address/prefix with the gateway in that network")


def environment(card: Card) -> str:
    """/etc/buergeramt/appliance.env: the daemon's settings (root only: it holds the token)."""
    values = {
        "HUB_URL": card.hub_url,
        "ENROLMENT_TOKEN": card.token,
        "KEY_DIR": KEY_DIR,
        "CAMERA": "picamera2",
        "AUDIO": "alsa",
        **card.settings,
    }
    lines = [f"BUERGERAMT_APPLIANCE_{key.upper()}={value}\n" for key, value in values.items()]
    return "# Written by `buergeramt provision card` (docs/operations.md).\n" + "".join(lines)


def firstboot_conf(card: Card) -> str:
    """/etc/buergeramt/firstboot.conf: what the installer needs (no secret), as shell."""
    values = {
        "HUB_URL": card.hub_url,
        "HUB_PIN": card.pin or "",
        "HOSTNAME_PREFIX": card.hostname_prefix,
        "KIOSK_USER": KIOSK_USER,
    }
    return "".join(f"{key}={_quote(value)}\n" for key, value in values.items())


def device_files(card: Card) -> list[DeviceFile]:
    """Every file the first boot writes, the same for cloud-init and firstrun.sh."""
    ours = HERE / "firstboot"
    files = [
        DeviceFile("/etc/buergeramt/appliance.env", environment(card), "0600"),
        DeviceFile("/etc/buergeramt/firstboot.conf", firstboot_conf(card)),
        DeviceFile(
            "/usr/local/sbin/buergeramt-firstboot",
            (ours / "buergeramt-firstboot").read_text(),
            "0755",
        ),
        DeviceFile(
            "/etc/systemd/system/buergeramt-firstboot.service",
            (ours / "buergeramt-firstboot.service").read_text(),
        ),
    ]
    if card.ca_pem is not None:
        pem = "".join(f"{block}\n" for block in PEM_BLOCK.findall(card.ca_pem))
        files.append(DeviceFile("/etc/buergeramt/hub-ca.pem", pem))
    files += [
        DeviceFile(f"/etc/systemd/system/{unit}", (HERE / "systemd" / unit).read_text())
        for unit in SYSTEM_UNITS
    ]
    # The screen's units run in the desktop session of KIOSK_USER: user units for everyone.
    files += [
        DeviceFile(f"/etc/systemd/user/{unit}", (HERE / "systemd" / unit).read_text())
        for unit in USER_UNITS
    ]
    files += [
        DeviceFile(
            f"/opt/buergeramt/provisioning/kiosk/{script}",
            (HERE / "kiosk" / script).read_text(),
            "0755",
        )
        for script in KIOSK_SCRIPTS
    ]
    files += [
        DeviceFile(
            f"/opt/buergeramt/provisioning/kiosk/{page}", (HERE / "kiosk" / page).read_text()
        )
        for page in KIOSK_PAGES
    ]
    return files


def user_data(card: Card) -> str:
    """cloud-init's user-data (#cloud-config) for Raspberry Pi OS Trixie and later."""
    config: dict[str, yaml_text.Value] = {
        # The installer names each device <prefix>-<serial>; cloud-init must not rename it later.
        "preserve_hostname": True,
        "timezone": "Europe/Berlin",
        "locale": "de_DE.UTF-8",
        "keyboard": {"layout": "de"},
        "users": [
            {
                "name": KIOSK_USER,
                "gecos": "Bürgeramt Virtuell counter screen",
                "shell": "/bin/bash",
                "lock_passwd": True,
                "groups": "video,audio,render,input",
            }
        ],
        "disable_root": True,
        "ssh_pwauth": False,
        "package_update": True,
        "packages": list(PACKAGES),
        "write_files": [
            {
                "path": file.path,
                "content": file.content,
                "permissions": file.mode,
                "owner": "root:root",
            }
            for file in device_files(card)
        ],
        # The installer runs as a service: retried until the hub answers, seen in the journal.
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "--no-block", "buergeramt-firstboot.service"],
        ],
    }
    header = (
        "#cloud-config\n"
        "# Bürgeramt Virtuell counter appliance, written by `buergeramt provision card`.\n"
        "# Holds the enrolment token: keep the card like a key until its first boot.\n"
    )
    return header + yaml_text.dump(config)


def network_config(card: Card) -> str:
    """netplan version 2: Ethernet by DHCP (or the static address), Wi-Fi when given."""
    ethernet: dict[str, yaml_text.Value] = {"dhcp4": True, "optional": card.wifi is not None}
    if card.static is not None:
        ethernet = {
            "dhcp4": False,
            "addresses": [card.static.address],
            # 0.0.0.0/0, not `default`: cloud-init before 23 refuses the word.
            "routes": [{"to": _default_route(card.static.gateway), "via": card.static.gateway}],
            "nameservers": {"addresses": list(card.static.dns)},
        }
    network: dict[str, yaml_text.Value] = {"version": 2, "ethernets": {"eth0": ethernet}}
    if card.wifi is not None:
        network["wifis"] = {
            "wlan0": {
                "dhcp4": True,
                "optional": True,
                "regulatory-domain": card.wifi.country,
                "access-points": {card.wifi.ssid: {"password": card.wifi.password}},
            }
        }
    return "# Written by `buergeramt provision card`.\n" + yaml_text.dump({"network": network})


def _default_route(gateway: str) -> str:
    return "0.0.0.0/0" if ipaddress.ip_address(gateway).version == 4 else "::/0"


def meta_data(user_data_text: str) -> str:
    """NoCloud's meta-data: an instance id that changes when the card's user-data does."""
    digest = hashlib.sha256(user_data_text.encode()).hexdigest()[:16]
    return yaml_text.dump({"instance-id": f"buergeramt-{digest}"})


def firstrun_sh(card: Card) -> str:
    """Bookworm's first-run script (cmdline.txt's systemd.run=): the same files and users as
    the cloud-init path, then the installer service on the next boot."""
    out = [(HERE / "firstboot" / "firstrun-head.sh").read_text()]
    for file in device_files(card):
        if HEREDOC_END in file.content:
            raise CardError(f"{file.path} contains {HEREDOC_END}")
        out.append(
            f"mkdir -p {_quote(str(Path(file.path).parent))}\n"
            f"cat >{_quote(file.path)} <<'{HEREDOC_END}'\n{file.content}"
            f"{'' if file.content.endswith(chr(10)) else chr(10)}{HEREDOC_END}\n"
            f"chmod {file.mode} {_quote(file.path)}\n"
        )
    out.append(f"kiosk_user {_quote(KIOSK_USER)}\n")
    if card.wifi is not None:
        out.append(
            f"wifi {_quote(card.wifi.ssid)} {_quote(card.wifi.password)} "
            f"{_quote(card.wifi.country)}\n"
        )
    if card.static is not None:
        dns = ";".join(card.static.dns)
        out.append(
            f"static_ethernet {_quote(card.static.address)} {_quote(card.static.gateway)} "
            f"{_quote(dns)}\n"
        )
    out.append("finish\n")
    return "".join(out)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
