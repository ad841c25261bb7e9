"""Commands that other packages register: every entry point of the group `buergeramt.commands`.

The counter appliance registers `buergeramt appliance` this way (pyproject.toml), so the hub's
command line offers it without importing the appliance. A command that cannot be loaded does not
take the others down: it is replaced by one that says why.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import click

GROUP = "buergeramt.commands"


def registered() -> dict[str, EntryPoint]:
    """The registered commands by name, as the installed packages declare them."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(entry_point: EntryPoint) -> click.Command:
    """The command behind `entry_point`, or a stand-in that explains why it cannot run."""
    try:
        command = entry_point.load()
    except Exception as exc:  # a missing module, or any error importing it: keep the others
        return _unavailable(entry_point, _reason(exc))
    if not isinstance(command, click.Command):
        return _unavailable(entry_point, f"{entry_point.value} is not a click command")
    return command


def _reason(exc: Exception) -> str:
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return f"the module {exc.name!r} is not installed"
    return f"{type(exc).__name__}: {exc}"


def _unavailable(entry_point: EntryPoint, reason: str) -> click.Command:
    origin = entry_point.value + (f" in {entry_point.dist.name}" if entry_point.dist else "")
    message = f"the {entry_point.name!r} command ({origin}) cannot be loaded: {reason}"

    def fail(args: tuple[str, ...]) -> None:
        raise click.ClickException(message)

    return click.Command(
        entry_point.name,
        callback=fail,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        help=message,
        short_help=f"(not available: {reason})",
        context_settings={"ignore_unknown_options": True},
        add_help_option=False,
    )
