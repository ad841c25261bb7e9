"""The statistics page (`/admin/statistics`, area "statistics"; docs/admin-guide.md): every
figure of hub.operations.statistics as a plot with its table beside it, and each as CSV
(`/admin/statistics/<figure>.csv`) with the same filters, whose rows are the table's cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from flask import Response, abort, g, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext

from hub.booking.timezone import local_date
from hub.context import now, store
from hub.i18n import current_language
from hub.operations import statistics as stats
from hub.operations.accounts import Staff
from hub.web.admin.blueprint import bp
from hub.web.admin.plots import Series, plot
from hub.web.admin.session import require
from hub.web.admin.views import render


@dataclass(frozen=True)
class Shown:
    """One figure as the page shows it: the plot, and the table the CSV repeats."""

    key: str
    title: str
    about: str
    header: list[str]
    rows: list[list[str]]
    chart: str
    csv: str


class Words:
    """Numbers and names in the page's language (the CSV writes the same strings)."""

    def __init__(self, lang: str, services: list[stats.ServiceName]) -> None:
        self.lang = lang
        self.names = {s.id: s.name_de if lang == "de" else s.name_en for s in services}

    def number(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "–"
        text = f"{value:.{digits}f}"
        return text.replace(".", ",") if self.lang == "de" else text

    def share(self, part: float, whole: float) -> str:
        return self.number(100 * part / whole) if whole else "–"

    def service(self, key: str | None) -> str:
        return _("All services") if key is None else self.names.get(key, key)


def _service_names() -> list[stats.ServiceName]:
    """Every service, read once per request."""
    if "statistics_services" not in g:
        g.statistics_services = stats.services(store())
    return list(g.statistics_services)


def weekdays() -> list[str]:
    return [
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    ]


def outcome_names() -> dict[str, str]:
    return {
        "done": pgettext("outcome", "Done"),
        "follow_up": _("Needs follow-up"),
        "no_show": _("Did not come"),
        "dropped": _("Connection gave up"),
        "cancelled": _("Cancelled while waiting"),
        "open": _("No outcome recorded"),
    }


def check_names() -> dict[str, str]:
    return {
        "ready": _("Ready"),
        "audio_only": _("Sound only"),
        "needs_help": _("Needs help"),
        "none": _("No check made"),
        "forgotten": _("Forgotten (retention)"),
    }


Made = tuple[list[str], list[list[str]], Callable[[], str]]  # header, rows, the plot to draw


def _spread_figure(table: stats.Table, w: Words, unit: float, unit_name: str, counted: str) -> Made:
    """Count, median and 90th percentile per service (in `unit` seconds)."""
    extra = "booked_minutes" in table.columns
    header = [_("Service")]
    if extra:
        header.append(_("Booked length (min)"))
    header += [
        counted,
        _("Median (%(unit)s)", unit=unit_name),
        _("90th percentile (%(unit)s)", unit=unit_name),
    ]
    rows, labels, medians, p90s = [], [], [], []
    for row in table.rows:
        service, *more = row
        n, p50, p90 = more[-3:]
        median = None if p50 is None else p50 / unit
        high = None if p90 is None else p90 / unit
        cells = [w.service(service)]
        if extra:
            cells.append(w.number(more[0], 0) if more[0] is not None else "–")
        cells += [str(n), w.number(median), w.number(high)]
        rows.append(cells)
        labels.append(w.service(service))
        medians.append(median)
        p90s.append(high)
    series = [Series(_("Median"), medians), Series(_("90th percentile"), p90s)]
    if extra:
        booked = [float(r[1]) if r[1] is not None else None for r in table.rows]
        series.append(Series(_("Booked length"), booked))
    return header, rows, partial(plot, "hbar", labels, series, unit_name)


def _services(t: stats.Table, w: Words) -> Made:
    rows = [[w.service(s), str(b), str(c)] for s, b, c in t.rows]
    chart = partial(
        plot,
        "hbar",
        [r[0] for r in rows],
        [
            Series(_("Booked"), [b for _s, b, _c in t.rows]),
            Series(_("Cancelled"), [c for _s, _b, c in t.rows]),
        ],
    )
    return [_("Service"), _("Booked"), _("Cancelled")], rows, chart


def _weekdays(t: stats.Table, w: Words) -> Made:
    names = weekdays()
    rows = [[names[d], str(n)] for d, n in t.rows]
    chart = partial(
        plot, "bar", [r[0][:2] for r in rows], [Series(_("Appointments"), [n for _d, n in t.rows])]
    )
    return [_("Weekday"), _("Appointments")], rows, chart


def _hours(t: stats.Table, w: Words) -> Made:
    rows = [[f"{h:02d}:00–{h:02d}:59", str(n)] for h, n in t.rows]
    chart = partial(
        plot,
        "bar",
        [f"{h:02d}" for h, _n in t.rows],
        [Series(_("Appointments"), [n for _h, n in t.rows])],
    )
    return [_("Start (hour)"), _("Appointments")], rows, chart


def _capacity(t: stats.Table, w: Words) -> Made:
    rows = [[m, w.number(o / 60), w.number(b / 60), w.share(b, o)] for m, o, b in t.rows]
    chart = partial(
        plot,
        "bar",
        [m for m, _o, _b in t.rows],
        [
            Series(_("Offered"), [o / 60 for _m, o, _b in t.rows]),
            Series(_("Booked"), [b / 60 for _m, _o, b in t.rows]),
        ],
        _("hours"),
    )
    header = [_("Month"), _("Offered (hours)"), _("Booked (hours)"), _("Booked (%)")]
    return header, rows, chart


def _monthly_share(total: Any, part: Any, share: Any) -> Callable[[stats.Table, Words], Made]:
    """A figure of (month, total, part) rows: the counts, and the part's share as a line. The
    words are lazy: they are put in the request's language when the figure is made."""

    def made(t: stats.Table, w: Words) -> Made:
        rows = [[m, str(n), str(k), w.share(k, n)] for m, n, k in t.rows]
        points = [100 * k / n if n else None for _m, n, k in t.rows]
        line = [Series(str(share), points)]
        chart = partial(plot, "line", [m for m, _n, _k in t.rows], line, "%")
        return [_("Month"), str(total), str(part), str(share)], rows, chart

    return made


_no_show = _monthly_share(_l("Appointments due"), _l("Did not come"), _l("Did not come (%)"))
_relayed = _monthly_share(
    _l("Path known"), _l("Through the relay server"), _l("Through the relay server (%)")
)


def _outcomes(t: stats.Table, w: Words) -> Made:
    names = outcome_names()
    rows = [[w.service(r[0]), *(str(n) for n in r[1:])] for r in t.rows]
    series = [Series(names[o], [r[1 + i] for r in t.rows]) for i, o in enumerate(stats.OUTCOMES)]
    chart = partial(plot, "hstacked", [r[0] for r in rows], series)
    return [_("Service"), *(names[o] for o in stats.OUTCOMES)], rows, chart


def _setup(t: stats.Table, w: Words) -> Made:
    rows = [[m, str(a), str(c), w.number(p50), w.number(p90)] for m, a, c, p50, p90 in t.rows]
    chart = partial(
        plot,
        "line",
        [r[0] for r in t.rows],
        [
            Series(_("Median"), [r[3] for r in t.rows]),
            Series(_("90th percentile"), [r[4] for r in t.rows]),
        ],
        _("seconds"),
    )
    header = [_("Month"), _("Admitted"), _("Connected"), _("Median (s)"), _("90th percentile (s)")]
    return header, rows, chart


def _drops(t: stats.Table, w: Words) -> Made:
    rows = [
        [m, str(a), str(i), str(n), str(d), w.share(i, a), w.share(d, a)]
        for m, a, i, n, d in t.rows
    ]
    chart = partial(
        plot,
        "line",
        [r[0] for r in t.rows],
        [
            Series(
                _("Interrupted (%)"), [100 * i / a if a else None for _m, a, i, _n, _d in t.rows]
            ),
            Series(_("Gave up (%)"), [100 * d / a if a else None for _m, a, _i, _n, d in t.rows]),
        ],
        "%",
    )
    header = [
        _("Month"),
        _("Admitted"),
        _("Interrupted"),
        _("Interruptions"),
        _("Gave up"),
        _("Interrupted (%)"),
        _("Gave up (%)"),
    ]
    return header, rows, chart


def _device_check(t: stats.Table, w: Words) -> Made:
    names = check_names()
    total = sum(n for _k, n in t.rows)
    rows = [[names[k], str(n), w.share(n, total)] for k, n in t.rows]
    chart = partial(
        plot, "hbar", [r[0] for r in rows], [Series(_("Appointments"), [n for _k, n in t.rows])]
    )
    return [_("Result"), _("Appointments"), _("Share (%)")], rows, chart


def _fees(t: stats.Table, w: Words) -> Made:
    months = list(dict.fromkeys(m for m, _s, _n, _c in t.rows))
    services = list(dict.fromkeys(s for _m, s, _n, _c in t.rows))
    cents = {(m, s): c for m, s, _n, c in t.rows}
    rows = []
    for m in months:
        each = [cents.get((m, s), 0) for s in services]
        rows.append([m, *(w.number(c / 100, 2) for c in each), w.number(sum(each) / 100, 2)])
    series = [Series(w.service(s), [cents.get((m, s), 0) / 100 for m in months]) for s in services]
    chart = partial(plot, "stacked", months, series, "€")
    header = [_("Month"), *(f"{w.service(s)} (€)" for s in services), _("Total (€)")]
    return header, rows, chart


def figure_texts() -> dict[str, tuple[str, str]]:
    """Each figure's title and what it counts (docs/admin-guide.md says more)."""
    return {
        "services": (
            _("Appointments per service"),
            _(
                "Appointments that begin in the period: booked (still standing) and cancelled "
                "by the "
                "citizen or the office."
            ),
        ),
        "weekdays": (
            _("Appointments per weekday"),
            _("Booked appointments by the weekday of their start (Berlin time)."),
        ),
        "hours": (
            _("Appointments per hour"),
            _("Booked appointments by the hour they begin (Berlin time)."),
        ),
        "capacity": (
            _("Offered and booked counter time"),
            _(
                "Hours the counters taking bookings are open by their hours as they are today "
                "(closures and public holidays taken off), against the length of the appointments "
                "booked."
            ),
        ),
        "lead_time": (
            _("Lead time from booking to appointment"),
            _(
                "Days from the first booking to the appointment's start (a move keeps the "
                "booking's date): the median, and the 90th percentile (nine in ten were "
                "booked at most that far ahead)."
            ),
        ),
        "no_show": (
            _("Did not come"),
            _(
                "Booked appointments whose time has come, and how many of them were closed as 'did "
                "not come' (by the clerk, or by the hub after the join window)."
            ),
        ),
        "outcomes": (
            _("Outcomes"),
            _(
                "How the calls of booked appointments whose time has come ended; 'no outcome "
                "recorded' when nobody closed the appointment."
            ),
        ),
        "wait": (
            _("Wait in the waiting room"),
            _(
                "Minutes from entering the waiting room (the last time, after a reload or a "
                "return) "
                "to being let in by the clerk."
            ),
        ),
        "duration": (
            _("Call length per service"),
            _(
                "Minutes from being let in to the end of the call, beside the length booked for"
                " the "
                "service."
            ),
        ),
        "setup": (
            _("Connection set-up"),
            _(
                "Seconds from being let in until picture and sound first flowed; calls let in and "
                "calls that connected at all."
            ),
        ),
        "drops": (
            _("Interruptions and calls that gave up"),
            _(
                "Calls let in, those whose connection was lost at least once (and how often), and "
                "those that gave up after a loss."
            ),
        ),
        "relayed": (
            _("Calls through the relay server"),
            _(
                "Calls let in whose path of picture and sound is known (a party reports it "
                "once they flow), and those of them that went through the relay (TURN) server "
                "at some time, because a direct connection was not possible. Calls without "
                "such a report are not counted."
            ),
        ),
        "device_check": (
            _("Citizens' device check"),
            _(
                "The last result of the camera and microphone check on the call page. It is "
                "forgotten"
                " with the name 30 days after the appointment (retention), so older appointments "
                "count as forgotten."
            ),
        ),
        "fees": (
            _("Fees paid per month and service"),
            _("Payments the payment platform confirmed, by the month they were paid, in euros."),
        ),
    }


MAKERS: dict[str, Callable[[stats.Table, Words], Made]] = {
    "services": _services,
    "weekdays": _weekdays,
    "hours": _hours,
    "capacity": _capacity,
    "lead_time": lambda t, w: _spread_figure(t, w, 86400, _("days"), _("Appointments")),
    "no_show": _no_show,
    "outcomes": _outcomes,
    "wait": lambda t, w: _spread_figure(t, w, 60, _("min"), _("Calls")),
    "duration": lambda t, w: _spread_figure(t, w, 60, _("min"), _("Calls")),
    "setup": _setup,
    "drops": _drops,
    "relayed": _relayed,
    "device_check": _device_check,
    "fees": _fees,
}


def default_period(today: date) -> tuple[date, date]:
    """The months from a year ago to today."""
    first = date(today.year - 1, today.month, 1) + timedelta(days=31)
    return first.replace(day=1), today


def _filters() -> tuple[stats.Period | None, dict[str, str], str | None]:
    """The period and service asked for (defaults: the last twelve months, every service), the
    form's values, and an error to show."""
    first_default, last_default = default_period(local_date(now()))
    form = {
        "from": request.args.get("from", "").strip()[:10] or first_default.isoformat(),
        "to": request.args.get("to", "").strip()[:10] or last_default.isoformat(),
        "service": request.args.get("service", "").strip()[:64],
    }
    try:
        first, last = date.fromisoformat(form["from"]), date.fromisoformat(form["to"])
    except ValueError:
        return None, form, _("Give the days as YYYY-MM-DD.")
    known = {s.id for s in _service_names()}
    if form["service"] and form["service"] not in known:
        return None, form, _("There is no such service.")
    try:
        period = stats.Period(first, last, form["service"] or None)
    except stats.PeriodError as exc:
        if "ends before" in str(exc):
            return None, form, _("The last day lies before the first.")
        return None, form, _("Choose a period of at most three years.")
    return period, form, None


def _shown(
    period: stats.Period, form: dict[str, str], figures: Sequence[str], plots: bool = True
) -> list[Shown]:
    tables = stats.compute(store(), period, now(), tuple(figures))
    words = Words(current_language(), _service_names())
    texts = figure_texts()
    shown = []
    for key in figures:
        header, rows, chart = MAKERS[key](tables[key], words)
        title, about = texts[key]
        query = {k: v for k, v in form.items() if v}
        csv_url = url_for("admin.statistics_csv", figure=key, lang=current_language(), **query)  # type: ignore[arg-type]
        shown.append(Shown(key, title, about, header, rows, chart() if plots else "", csv_url))
    return shown


@bp.get("/statistics")
@require("statistics")
def statistics(staff: Staff) -> ResponseReturnValue:
    """Every figure for the period and service chosen (GET form, so a view can be bookmarked)."""
    period, form, error = _filters()
    figures = _shown(period, form, stats.FIGURES) if period is not None else []
    return render(
        "admin/statistics.html",
        staff,
        422 if error else 200,
        form=form,
        error=error,
        services=[(s.id, Words(current_language(), [s]).service(s.id)) for s in _service_names()],
        figures=figures,
    )


def as_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """The table as CSV the way the cash office's export writes it: `;` between cells, CRLF,
    a UTF-8 byte order mark first (so Excel reads the umlauts)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@bp.get("/statistics/<figure>.csv")
@require("statistics")
def statistics_csv(staff: Staff, figure: str) -> ResponseReturnValue:
    """One figure's table as CSV, with the page's filters."""
    if figure not in stats.FIGURES:
        abort(404)
    period, form, error = _filters()
    if period is None:
        return Response((error or "") + "\n", 422, mimetype="text/plain")
    (shown,) = _shown(period, form, [figure], plots=False)
    answer = Response(as_csv(shown.header, shown.rows), mimetype="text/csv")
    answer.headers["Content-Type"] = "text/csv; charset=utf-8"
    name = f"statistik-{figure}-{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    answer.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return answer
