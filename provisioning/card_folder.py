"""The folder `buergeramt provision card` writes: the card's files and a README, all or nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from provisioning.card import Card, CardError, firstrun_sh, meta_data, network_config, user_data

CMDLINE_ADDITION = (
    " systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot"
    " systemd.unit=kernel-command-line.target"
)


def card_files(card: Card) -> dict[str, str]:
    """Every file of the folder by name (the card must have passed `check`)."""
    user = user_data(card)
    return {
        "user-data": user,
        "network-config": network_config(card),
        "meta-data": meta_data(user),
        "firstrun.sh": firstrun_sh(card),
        "README.txt": readme(card),
    }


def readme(card: Card) -> str:
    """What goes where on the card's boot partition, for the person holding the card."""
    trust = (
        "the CA certificate given (hub-ca.pem)"
        if card.ca_pem
        else f"the hub certificate with {card.pin}"
        if card.pin
        else "the CAs Raspberry Pi OS trusts"
    )
    network = "Ethernet, static " + card.static.address if card.static else "Ethernet (DHCP)"
    if card.wifi:
        network += f", Wi-Fi {card.wifi.ssid!r} ({card.wifi.country})"
    return f"""Bürgeramt Virtuell: files for a counter appliance's SD card
===========================================================

Hub:      {card.hub_url} (trusted through {trust})
Network:  {network}
Hostname: {card.hostname_prefix}-<the last 8 characters of the Pi's serial number>

These files hold the enrolment token (and the Wi-Fi password): keep them and the cards like a
key. One set serves every counter of the batch. Full steps: docs/operations.md, "Provisioning
an appliance".

1. Write Raspberry Pi OS (64-bit, with desktop) with Raspberry Pi Imager, choosing
   "no customisation" (the settings come from these files). Re-insert the card: its boot
   partition ("bootfs") appears as a drive.

2a. Raspberry Pi OS Trixie (October 2025 and later; cloud-init): copy
      user-data  network-config  meta-data
    onto the boot partition, replacing the files of the same name there.

2b. Raspberry Pi OS Bookworm (no cloud-init): copy
      firstrun.sh
    onto the boot partition, and add this to the end of the single line in cmdline.txt
    there (a space before it, no line break):
     {CMDLINE_ADDITION.strip()}

3. Eject the card, put it in the Pi, connect the network and switch on. The first boot
   installs the Debian packages and the appliance from the hub (several minutes; Bookworm
   reboots once first), then the screen shows a claim code. IT approves it:
      buergeramt devices approve CLAIM-CODE --counter N --name NAME
"""


def write_card_folder(card: Card, out: Path, *, force: bool = False) -> list[Path]:
    """Write the folder `out` whole or not at all; refuse a non-empty `out` unless `force`."""
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise CardError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise CardError(f"{out} is not empty (--force replaces it)")
    files = card_files(card)  # every error is raised before anything is written
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))  # mode 0700
    try:
        for name, text in files.items():
            descriptor = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
                file.write(text)
        if out.is_dir() and any(out.iterdir()):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old)  # onto the empty folder just made: one rename each way
            os.replace(staging, out)
            shutil.rmtree(old)
        else:
            os.replace(staging, out)  # a missing or empty folder is replaced in one rename
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / name for name in files]
