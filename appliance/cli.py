"""`buergeramt appliance`: run a counter appliance.

Registered in pyproject.toml under the entry-point group `buergeramt.commands`; the hub's command
line loads it from there and never imports the appliance. The daemon and its media libraries
(the `appliance` extra) are imported only when the command runs.
"""

from __future__ import annotations

import click

from appliance.config import ApplianceSettings

PACKAGE = "buergeramt-virtuell"


@click.command("appliance")
def command() -> None:
    """Run a counter appliance (settings: BUERGERAMT_APPLIANCE_* environment variables)."""
    from pydantic import ValidationError

    from appliance.errors import DeviceMissing, KioskPortUnavailable

    try:
        settings = ApplianceSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"BUERGERAMT_APPLIANCE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise click.ClickException(f"invalid appliance configuration: {problems}") from None
    from appliance.enrolment.keys import KeyFileRefused, NoIdentity, identity

    try:
        identity(settings)  # an enrolment token, an enrolled key or a device credential
    except NoIdentity as exc:
        raise click.ClickException(str(exc)) from None
    try:
        from appliance.daemon import main as run_appliance
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if not missing or missing == "appliance":
            raise  # our own module missing is a bug, not an install to complete
        raise click.ClickException(
            f"the appliance needs the module {missing!r}, which is not installed:"
            f" pip install '{PACKAGE}[appliance]'"
        ) from None
    try:
        run_appliance(settings)
    except (DeviceMissing, KeyFileRefused) as exc:
        raise click.ClickException(str(exc)) from None
    except KioskPortUnavailable as exc:
        raise click.ClickException(
            f"{exc}: choose another with BUERGERAMT_APPLIANCE_KIOSK_PORT"
        ) from None
