"""appointment_statistics: one narrow row per appointment with what the statistics count of it
and of its call (issue 18, point 5; hub/operations/statistics.py), kept by triggers on
appointments and calls, filled for the appointments so far

A year of appointments is read in several passes per statistics page; reading the wide
appointment rows and joining their calls cost most of the time, so the figures' inputs are kept
here, joined and narrow, whenever either table changes. The triggers are the only writers: every
statement that writes appointments or calls (the hub's, the retention job's, a bulk COPY) keeps
the rows current. PostgreSQL: statement triggers over the changed rows (transition tables);
SQLite: row triggers.

A later migration that rebuilds appointments or calls on SQLite (batch_alter_table copies the
table and drops the old one, and its triggers with it) must create the triggers again
(`create_triggers` below); tests/integration/test_statistics.py checks they follow every write.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

FORGOTTEN_NAME = "—"  # hub.operations.retention.FORGOTTEN_NAME

# Fixed-width columns first (the ones never NULL before those that may be), text last: a row's
# columns are found faster when their offsets are fixed.
COLUMNS = (
    "appointment_id", "start_at", "length_s", "lead_us", "admitted", "connected", "wait_us",
    "duration_us", "setup_us", "local_month", "interruptions", "local_weekday", "local_hour",
    "relayed", "status", "service_id", "device_check", "outcome",
)  # fmt: skip


# What the percentiles per service read besides the service and start (PostgreSQL's index
# carries them, so they come from the index alone).
BY_SERVICE = ("status", "admitted", "lead_us", "wait_us", "duration_us")


def _seconds(dialect: str, later: str, earlier: str) -> str:
    """Seconds between two times, as the statistics computed them before (SQLite: to 1 ms)."""
    if dialect == "postgresql":
        return f"date_part('epoch', {later} - {earlier})"
    return f"round((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


def _micro(dialect: str, later: str, earlier: str) -> str:
    """Whole microseconds between two times (SQLite: to 1 ms), for sorting."""
    if dialect == "postgresql":
        return f"CAST({_seconds(dialect, later, earlier)} * 1000000 AS BIGINT)"
    return (
        f"CAST(round((julianday({later}) - julianday({earlier})) * 86400000.0) AS INTEGER) * 1000"
    )


def select_rows(dialect: str) -> str:
    """The rows of appointment_statistics, computed from appointments and calls (a WHERE on
    `a` follows)."""
    values = (
        "a.id", "a.start_at",
        _seconds(dialect, "a.end_at", "a.start_at"),
        _micro(dialect, "a.start_at", "a.created_at"),
        "c.admitted_at IS NOT NULL", "c.connected_at IS NOT NULL",
        _micro(dialect, "c.admitted_at", "c.waiting_since"),
        _micro(dialect, "c.ended_at", "c.admitted_at"),
        _micro(dialect, "c.connected_at", "c.admitted_at"),
        "a.local_month", "c.interruptions", "a.local_weekday", "a.local_hour", "c.relayed",
        "a.status", "a.service_id",
        "CASE WHEN a.device_check IS NOT NULL THEN a.device_check"
        f" WHEN a.name = '{FORGOTTEN_NAME}' THEN 'forgotten' ELSE 'none' END",
        "c.outcome",
    )  # fmt: skip
    return (
        f"SELECT {', '.join(values)}"
        " FROM appointments a LEFT JOIN calls c ON c.appointment_id = a.id"
    )


def _postgres_refresh(name: str, changed_id: str) -> str:
    """A trigger function writing the rows of the appointments its statement changed (a row
    that would stay the same is not written again: no dead row for vacuum)."""
    kept = ", ".join(COLUMNS[1:])
    new = ", ".join(f"EXCLUDED.{c}" for c in COLUMNS[1:])
    old = ", ".join(f"appointment_statistics.{c}" for c in COLUMNS[1:])
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO appointment_statistics ({", ".join(COLUMNS)})
    {select_rows("postgresql")} WHERE a.id IN (SELECT {changed_id} FROM changed)
    ON CONFLICT (appointment_id) DO UPDATE SET ({kept}) = ({new})
    WHERE ({old}) IS DISTINCT FROM ({new});
    RETURN NULL;
END
$$"""


# (trigger, table, event, function) on PostgreSQL; the transition table is named `changed`.
POSTGRES_TRIGGERS = (
    ("appointment_statistics_insert", "appointments", "INSERT", "statistics_of_appointments"),
    ("appointment_statistics_update", "appointments", "UPDATE", "statistics_of_appointments"),
    ("call_statistics_insert", "calls", "INSERT", "statistics_of_calls"),
    ("call_statistics_update", "calls", "UPDATE", "statistics_of_calls"),
    ("call_statistics_delete", "calls", "DELETE", "statistics_of_calls"),
)
# The columns whose change changes a row (SQLite's row triggers fire on these only).
APPOINTMENT_COLUMNS = (
    "start_at", "end_at", "status", "service_id", "name", "created_at", "device_check",
    "local_month", "local_weekday", "local_hour",
)  # fmt: skip
CALL_COLUMNS = (
    "outcome", "waiting_since", "admitted_at", "connected_at", "ended_at", "interruptions",
    "relayed",
)  # fmt: skip


def _sqlite_triggers() -> list[str]:
    refresh = (
        f"INSERT OR REPLACE INTO appointment_statistics ({', '.join(COLUMNS)})"
        f" {select_rows('sqlite')} WHERE a.id = {{row}};"
    )
    return [
        "CREATE TRIGGER appointment_statistics_insert AFTER INSERT ON appointments"
        f" BEGIN {refresh.format(row='NEW.id')} END",
        "CREATE TRIGGER appointment_statistics_update AFTER UPDATE OF"
        f" {', '.join(APPOINTMENT_COLUMNS)} ON appointments"
        f" BEGIN {refresh.format(row='NEW.id')} END",
        "CREATE TRIGGER appointment_statistics_delete AFTER DELETE ON appointments"
        " BEGIN DELETE FROM appointment_statistics WHERE appointment_id = OLD.id; END",
        "CREATE TRIGGER call_statistics_insert AFTER INSERT ON calls"
        f" BEGIN {refresh.format(row='NEW.appointment_id')} END",
        f"CREATE TRIGGER call_statistics_update AFTER UPDATE OF {', '.join(CALL_COLUMNS)}"
        f" ON calls BEGIN {refresh.format(row='NEW.appointment_id')} END",
        "CREATE TRIGGER call_statistics_delete AFTER DELETE ON calls"
        f" BEGIN {refresh.format(row='OLD.appointment_id')} END",
    ]


def create_triggers(dialect: str) -> None:
    """The triggers keeping appointment_statistics (again, after a table was rebuilt)."""
    if dialect == "postgresql":
        op.execute(_postgres_refresh("statistics_of_appointments", "id"))
        op.execute(_postgres_refresh("statistics_of_calls", "appointment_id"))
        for trigger, table, event, function in POSTGRES_TRIGGERS:
            transition = "OLD" if event == "DELETE" else "NEW"
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER {event} ON {table}"
                f" REFERENCING {transition} TABLE AS changed"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
        return
    for statement in _sqlite_triggers():
        op.execute(statement)


def drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        for trigger, table, _event, _function in POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS statistics_of_appointments()")
        op.execute("DROP FUNCTION IF EXISTS statistics_of_calls()")
        return
    for trigger in (
        "appointment_statistics_insert",
        "appointment_statistics_update",
        "appointment_statistics_delete",
        "call_statistics_insert",
        "call_statistics_update",
        "call_statistics_delete",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def upgrade() -> None:
    op.create_table(
        "appointment_statistics",
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("length_s", sa.Float(), nullable=False),
        sa.Column("lead_us", sa.BigInteger(), nullable=False),
        sa.Column("admitted", sa.Boolean(), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("wait_us", sa.BigInteger(), nullable=True),
        sa.Column("duration_us", sa.BigInteger(), nullable=True),
        sa.Column("setup_us", sa.BigInteger(), nullable=True),
        sa.Column("local_month", sa.Integer(), nullable=True),
        sa.Column("interruptions", sa.Integer(), nullable=True),
        sa.Column("local_weekday", sa.SmallInteger(), nullable=True),
        sa.Column("local_hour", sa.SmallInteger(), nullable=True),
        sa.Column("relayed", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("device_check", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_appointment_statistics_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_appointment_statistics")),
    )
    op.create_index(
        op.f("ix_appointment_statistics_start_at"), "appointment_statistics", ["start_at"]
    )
    # The percentiles per service read this in order of service: no sort before grouping.
    op.create_index(
        "ix_appointment_statistics_service_id",
        "appointment_statistics",
        ["service_id", "start_at"],
        postgresql_include=list(BY_SERVICE),
    )
    dialect = op.get_bind().dialect.name
    op.execute(f"INSERT INTO appointment_statistics ({', '.join(COLUMNS)}) {select_rows(dialect)}")
    create_triggers(dialect)


def downgrade() -> None:
    drop_triggers(op.get_bind().dialect.name)
    op.drop_index("ix_appointment_statistics_service_id", table_name="appointment_statistics")
    op.drop_index(op.f("ix_appointment_statistics_start_at"), table_name="appointment_statistics")
    op.drop_table("appointment_statistics")
