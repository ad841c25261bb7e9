"""`buergeramt payments`: the cash office's day — the export for its Kassenverfahren, the
reconciliation against the payment platform (exit 1 on differences, for cron) and the list.

Exit codes: 0 fine, 1 differences found, 2 bad input or no platform configured, 3 no
differences but the platform did not answer for some requests.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hub.cli.common import current_settings, open_store

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.operations.cash_office import Reconciliation

DIFFERENCES_FOUND = 1
UNKNOWN_ONLY = 3


class BadInput(click.ClickException):
    """A refused argument: one line on stderr, exit 2, nothing written."""

    exit_code = 2


def _day(value: str | None, settings: Settings) -> date:
    """--date as a date, or today in Berlin by the configured clock."""
    from hub.booking.timezone import in_calendar, local_date
    from hub.clock import configured_clock

    if value is None:
        return local_date(configured_clock(settings.clock_start)())
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--date: {value!r} is no date of the form YYYY-MM-DD") from None
    if len(value) != 10 or not in_calendar(day):
        raise BadInput(f"--date: {value!r} is no date of the form YYYY-MM-DD (2000 to 2999)")
    return day


def _euros(cents: int | None) -> str:
    from hub.operations.cash_office import german_amount

    return "" if cents is None else german_amount(cents)


DATE_OPTION = click.option(
    "--date", "when", metavar="YYYY-MM-DD", help="The Berlin calendar day (default: today)."
)


@click.group()
def payments() -> None:
    """Fees paid online: the cash office's export, reconciliation and list."""


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in its folder: readers see the old file
    or the whole new one, never a part; on failure nothing is left behind."""
    folder = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@payments.command("export")
@DATE_OPTION
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CSV to this file (replaced whole); default: standard output.",
)
def export(when: str | None, out: Path | None) -> None:
    """The day's paid positions as CSV for the cash office (docs/operations.md, Kasse)."""
    from hub.operations.cash_office import daily_export, export_csv

    settings = current_settings()
    day = _day(when, settings)
    if out is not None and not out.parent.is_dir():
        raise BadInput(f"--out: folder {str(out.parent)!r} does not exist")
    rows = daily_export(open_store(settings), day)
    data = export_csv(rows).encode("utf-8")
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        write_atomically(out, data)
    except OSError as exc:
        raise BadInput(f"--out: cannot write {str(out)!r}: {exc.strerror or exc}") from None
    total = sum(row.amount_cents for row in rows)
    click.echo(
        f"{len(rows)} positions, {_euros(total)} EUR, paid {day:%d.%m.%Y} -> {out}", err=True
    )


def _print(result: Reconciliation) -> None:
    header = (
        f"{'ref':8}  {'request id':32}  {'transaction':32}  {'ours':9} {'amount':>9}  "
        f"{'platform':9} {'amount':>9}  difference"
    )
    click.echo(header)
    for p in result.payments:
        theirs = p.provider_state or "unknown"
        notes = "; ".join(f"{d.code}: {d.en}" for d in p.differences)
        if p.unknown:
            notes = f"(not a difference: {p.error})"
        click.echo(
            f"{p.appointment_ref:8}  {p.request_id:32}  {p.transaction_id:32}  {p.state:9} "
            f"{_euros(p.total_cents):>9}  {theirs:9} {_euros(p.provider_total_cents):>9}  {notes}"
        )
    click.echo(
        f"paid here {_euros(result.our_paid_cents)} EUR, paid at the platform "
        f"{_euros(result.provider_paid_cents)} EUR; {len(result.payments)} requests, "
        f"{len(result.differing)} with differences, {len(result.unknown)} unknown"
    )


@payments.command("reconcile")
@DATE_OPTION
@click.option("--days", default="1", metavar="N", help="The N days ending with --date.")
def reconcile(when: str | None, days: str) -> None:
    """Our payment requests against the platform's status read now; exit 1 on differences.
    Changes nothing."""
    from hub.clock import configured_clock
    from hub.operations import cash_office
    from hub.payments.xbezahldienste import XBezahldienste

    settings = current_settings()
    day = _day(when, settings)
    if not days.isdigit() or int(days) < 1 or int(days) > 366:
        raise BadInput(f"--days: {days!r} is not a whole number from 1 to 366")
    provider = XBezahldienste.from_settings(settings)
    if provider is None:
        raise BadInput("no payment platform configured (payment_url): nothing to reconcile with")
    start, end = cash_office.day_span(day, int(days))
    try:
        result = cash_office.reconcile(
            open_store(settings), provider, start, end, configured_clock(settings.clock_start)()
        )
    finally:
        provider.close()
    _print(result)
    if result.differing:
        raise SystemExit(DIFFERENCES_FOUND)
    if result.unknown:
        raise SystemExit(UNKNOWN_ONLY)


@payments.command("list")
@DATE_OPTION
def list_day(when: str | None) -> None:
    """The day's payment requests (made, ended or found paid late that day), oldest first."""
    from hub.booking.timezone import to_local_iso
    from hub.operations.cash_office import day_requests

    settings = current_settings()
    for r in day_requests(open_store(settings), _day(when, settings)):
        late = "  paid after its end" if r.paid_after_final_at else ""
        click.echo(
            f"{to_local_iso(r.created_at)}  {r.appointment_ref:8}  {r.request_id:32}  "
            f"{r.state:9} {_euros(r.total_cents):>9} EUR  {r.transaction_id or '-'}{late}"
        )
