"""Tables: catalogue, schedules, counters, appointments, the occupancy grid, calls and
documents."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from hub.booking.status import Status
from hub.booking.timezone import local_parts
from hub.store.types import StatusColumn, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:  # every row class maps one Table (SQLAlchemy types it as any FromClause)
        __table__: ClassVar[Table]


class ServiceRow(Base):
    """A bookable service (see hub.booking.catalogue.Service)."""

    __tablename__ = "services"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_de: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_de: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(Integer)
    fee_cents: Mapped[int] = mapped_column(Integer, default=0)
    documents_de: Mapped[list[str]] = mapped_column(JSON, default=list)
    documents_en: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (
        CheckConstraint(
            "duration_minutes BETWEEN 5 AND 480 AND duration_minutes % 5 = 0", name="duration"
        ),
        CheckConstraint("fee_cents >= 0", name="fee"),
    )


class ScheduleRow(Base):
    """A named weekly schedule that counters keep."""

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    holiday_subdivision: Mapped[str | None] = mapped_column(String(8), nullable=True)
    periods: Mapped[list[OpeningPeriodRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OpeningPeriodRow.id"
    )
    closures: Mapped[list[ClosureRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ClosureRow.first_day"
    )
    holiday_openings: Mapped[list[HolidayOpeningRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="HolidayOpeningRow.day"
    )


class HolidayOpeningRow(Base):
    """A public holiday of the schedule's state on which its counters keep their weekly hours
    (a holiday the city does not observe)."""

    __tablename__ = "holiday_openings"
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class OpeningPeriodRow(Base):
    """Open on a weekday between two minutes of the local day (1440 = midnight)."""

    __tablename__ = "opening_periods"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    opens_minute: Mapped[int] = mapped_column(Integer)
    closes_minute: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint(
            "opens_minute >= 0 AND closes_minute <= 1440 AND opens_minute < closes_minute",
            name="minutes",
        ),
    )


class ClosureRow(Base):
    """Days on which a schedule is closed (inclusive range)."""

    __tablename__ = "closures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (CheckConstraint("first_day <= last_day", name="range"),)


class CounterRow(Base):
    """A counter staffed by one clerk at a time.

    It takes bookings while active and while an unrevoked appliance is enrolled for it, or
    without one when IT said so (`without_appliance`). Its own weekly hours, when it has any,
    replace its schedule's; closures and public holidays come from the schedule.
    """

    __tablename__ = "counters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    without_appliance: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    schedule: Mapped[ScheduleRow] = relationship(lazy="joined")
    hours: Mapped[list[CounterHoursRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CounterHoursRow.id"
    )
    exceptions: Mapped[list[CounterExceptionRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CounterExceptionRow.day"
    )


class ServiceCounterRow(Base):
    """A counter that offers the service; a service without any such row is offered at every
    counter."""

    __tablename__ = "service_counters"
    service_id: Mapped[str] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    counter_id: Mapped[int] = mapped_column(
        ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True
    )


class CounterHoursRow(Base):
    """A counter's own weekly opening (minutes of the local day, 1440 = midnight)."""

    __tablename__ = "counter_hours"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(
        ForeignKey("counters.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    opens_minute: Mapped[int] = mapped_column(Integer)
    closes_minute: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint(
            "opens_minute >= 0 AND closes_minute <= 1440 AND opens_minute < closes_minute",
            name="minutes",
        ),
    )


class CounterExceptionRow(Base):
    """A counter's hours on one date: one row per open span, or one row without minutes when
    the counter is closed that day."""

    __tablename__ = "counter_exceptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(
        ForeignKey("counters.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    opens_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closes_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (
        CheckConstraint(
            "(opens_minute IS NULL AND closes_minute IS NULL) OR (opens_minute >= 0"
            " AND closes_minute <= 1440 AND opens_minute < closes_minute)",
            name="minutes",
        ),
    )


class AppointmentRow(Base):
    """A citizen's appointment. Only hashes of its two secrets are stored."""

    __tablename__ = "appointments"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[Status] = mapped_column(StatusColumn, default=Status.BOOKED)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(8), default="de")
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    join_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # With holds on: the slot is kept until then for the citizen to confirm from the e-mail.
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Counts changes (reschedules, cancellation): the SEQUENCE of the calendar file.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The citizen's last device check on the call page: ready, audio_only or needs_help.
    device_check: Mapped[str | None] = mapped_column(String(16), nullable=True)
    device_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Booked by the office for a citizen who phoned: a number to call back on (optional).
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Cancelled by the office: the reason, told to the citizen in the cancellation mail.
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Berlin's month (YYYYMM), weekday (0 = Monday) and hour of start_at, for the statistics
    # (hub/operations/statistics.py): reading them costs far less than converting a year of
    # start times. Kept with start_at (an insert's default, `_keep_local_start` on the ORM
    # object); NULL only on rows written without them, which the statistics convert instead.
    local_month: Mapped[int | None] = mapped_column(
        Integer, nullable=True, default=lambda context: _local_start(context)[0]
    )
    local_weekday: Mapped[int | None] = mapped_column(
        SmallInteger, nullable=True, default=lambda context: _local_start(context)[1]
    )
    local_hour: Mapped[int | None] = mapped_column(
        SmallInteger, nullable=True, default=lambda context: _local_start(context)[2]
    )
    __table_args__ = (
        CheckConstraint("start_at < end_at", name="span"),
        CheckConstraint(f"status IN ({', '.join(repr(s.value) for s in Status)})", name="status"),
        Index("ix_appointments_start_at", "start_at"),
        Index("ix_appointments_email", "email"),
        Index("ix_appointments_hold_until", "hold_until"),
    )

    @validates("start_at")
    def _keep_local_start(self, _key: str, start_at: datetime) -> datetime:
        """A new or moved start brings its Berlin month, weekday and hour along."""
        self.local_month, self.local_weekday, self.local_hour = local_parts(start_at)
        return start_at


def _local_start(context: Any) -> tuple[int | None, int | None, int | None]:
    """An inserted appointment's local_* columns when the insert does not name them."""
    start_at = context.get_current_parameters().get("start_at")
    return (None, None, None) if start_at is None else local_parts(start_at)


class OccupancyRow(Base):
    """One grid unit of a counter taken by an appointment.

    The primary key (counter, minute) is what makes double booking impossible: two appointments
    that overlap on one counter would need the same row, and the database refuses the second.
    """

    __tablename__ = "occupancy"
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )


class MailRow(Base):
    """An e-mail to send at `due_at` (transactional outbox: written with the booking itself).

    The manage secret is kept sealed (encrypted with the hub's secret key), because the mail
    must carry the links and the database holds only hashes of them otherwise.
    """

    __tablename__ = "mails"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sealed_token: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # The payment request a "payment" (pay later) or "receipt" mail is about.
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="CASCADE"), nullable=True
    )
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'cancelled')", name="status"),
        Index("ix_mails_status_due_at", "status", "due_at"),
    )


class UserRow(Base):
    """A staff account (clerk, admin, supervisor, IT); the password is kept as an argon2 hash,
    the admin area's second factor as a TOTP secret sealed with the hub's key."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    totp_sealed: Mapped[str | None] = mapped_column(String(300), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # no replay
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    __table_args__ = (
        CheckConstraint("role IN ('clerk', 'admin', 'supervisor', 'it')", name="role"),
    )


class AuditRow(Base):
    """One change made in the admin area (or by its operations): who, when, what, before/after.
    No personal data of citizens beyond what identifies the record (an appointment's id)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)


class DeviceRow(Base):
    """A counter appliance. Its credential is a 256-bit secret, stored as a SHA-256 hash.

    `sid` and `seen_at` say which Socket.IO connection it holds and when a hub process last
    saw it alive: presence shared by every hub process through the database.
    """

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Updates reach the ring `canary` first, then `general` (docs/operations.md, "Updates").
    ring: Mapped[str] = mapped_column(String(16), default="general", server_default="general")


class ClerkSessionRow(Base):
    """A clerk signed in at an appliance; the appliance keeps the token across reconnects."""

    __tablename__ = "clerk_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CallRow(Base):
    """The call of one appointment: its state (hub.calls.lifecycle) and who takes part."""

    __tablename__ = "calls"
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The counter taking the call: the appointment's own, or another when that one is offline.
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    citizen_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    citizen_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)  # the clerk's, after the call
    # The call's milestones, kept with the call for the statistics (hub/operations/statistics.py;
    # the same times are in call_events, but a year of those is too many rows to read per page):
    # admitted, media first flowing, ended, and how often a party's connection was lost.
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    interruptions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Whether media went through the TURN server at any time (the citizen's page reports the
    # candidate pair it uses); None: no party said.
    relayed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    __table_args__ = (
        CheckConstraint(
            "state IN ('scheduled', 'waiting', 'admitted', 'connecting', 'in_call',"
            " 'reconnecting', 'ended')",
            name="state",
        ),
        Index("ix_calls_state", "state"),
    )


class AppointmentStatisticsRow(Base):
    """What the statistics count of one appointment and its call (hub/operations/statistics.py),
    joined and narrow: a year of these reads in a fraction of the time the wide appointment rows
    and their calls take. Written only by the database's triggers on appointments and calls
    (migration 0022), whenever either changes; never by the hub."""

    __tablename__ = "appointment_statistics"
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    length_s: Mapped[float] = mapped_column(Float)  # the booked length
    lead_us: Mapped[int] = mapped_column(BigInteger)  # booked this long before the start
    # Of the call (None or false without one; the durations need an admission):
    admitted: Mapped[bool] = mapped_column(Boolean)
    connected: Mapped[bool] = mapped_column(Boolean)
    wait_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    duration_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    setup_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    local_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    interruptions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    local_weekday: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    local_hour: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    relayed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    service_id: Mapped[str] = mapped_column(String(64))
    # The device check's last result, "forgotten" once retention blanked the name, or "none".
    device_check: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # of the call
    __table_args__ = (
        # The percentiles per service read rows in this order, from the index alone.
        Index(
            "ix_appointment_statistics_service_id",
            "service_id",
            "start_at",
            postgresql_include=["status", "admitted", "lead_us", "wait_us", "duration_us"],
        ),
    )


class CallEventRow(Base):
    """One transition of a call, with its time: the raw material for statistics."""

    __tablename__ = "call_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(16))
    before: Mapped[str] = mapped_column(String(16))
    after: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    counter_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    clerk_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DocumentRow(Base):
    """A file of an appointment (hub.operations.documents), kept encrypted in `storage`.

    The id is random (UUID 4), so no one guesses another appointment's file; `wrapped_key` is
    the file's own key, encrypted with the key derived from the hub's secret.
    """

    __tablename__ = "documents"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the checklist's index
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    storage: Mapped[str] = mapped_column(String(8))
    records: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("sender IN ('citizen', 'clerk')", name="sender"),
        CheckConstraint("state IN ('uploaded', 'accepted', 'again')", name="state"),
        CheckConstraint("storage IN ('database', 'folder')", name="storage"),
        CheckConstraint("size >= 0 AND records >= 1", name="size"),
    )


class DocumentUploadRow(Base):
    """An upload under way (resumable): what was declared, and how much has arrived. Its parts
    are kept encrypted like documents, under the upload's own key."""

    __tablename__ = "document_uploads"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    storage: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    __table_args__ = (
        CheckConstraint("sender IN ('citizen', 'clerk')", name="sender"),
        CheckConstraint("storage IN ('database', 'folder')", name="storage"),
        CheckConstraint("received >= 0 AND received <= size", name="received"),
    )


class DocumentChunkRow(Base):
    """One encrypted record of a document or an upload's part (the database storage)."""

    __tablename__ = "document_chunks"
    blob_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DocumentAccessRow(Base):
    """Who did what with an appointment's documents, and when: never any content."""

    __tablename__ = "document_access"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (
        CheckConstraint(
            "action IN ('upload', 'view', 'download', 'review', 'delete')", name="action"
        ),
    )


class FeeItemRow(Base):
    """A fee of a service (see hub.booking.fees.FeeItem), in the order clerks see them."""

    __tablename__ = "fee_items"
    service_id: Mapped[str] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label_de: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100), default="")
    purpose: Mapped[str] = mapped_column(String(27))
    amount_cents: Mapped[int] = mapped_column(Integer)
    kassenzeichen: Mapped[str] = mapped_column(String(36), default="")
    haushaltsstelle: Mapped[str] = mapped_column(String(36), default="")
    variable_quantity: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (CheckConstraint("amount_cents BETWEEN 0 AND 999999", name="amount"),)


class PaymentRequestRow(Base):
    """A clerk's request that the citizen pay fees (hub.operations.payments): its lines as priced
    from the catalogue, our `request_id` for the provider (stored before the provider is asked),
    and its state, which becomes final once and never changes afterwards."""

    __tablename__ = "payment_requests"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    lines: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    total_cents: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(27))
    redirect_url: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12))
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pay_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Paid on the provider's side after we had cancelled or expired it: for the cash office.
    paid_after_final_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # "call": shown on the citizen's call page; "mail": sent as a pay-later link by e-mail.
    channel: Mapped[str] = mapped_column(String(8), default="call")
    # The receipt filed in the appointment's documents once paid (hub.operations.receipts).
    receipt_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    __table_args__ = (
        CheckConstraint("channel IN ('call', 'mail')", name="channel"),
        CheckConstraint(
            "state IN ('requested', 'pending', 'paid', 'failed', 'cancelled', 'expired')",
            name="state",
        ),
        CheckConstraint("total_cents BETWEEN 0 AND 999999", name="total"),
        CheckConstraint(
            "(final_at IS NULL) = (state IN ('requested', 'pending'))", name="final_at"
        ),
        Index("ix_payment_requests_state", "state"),
    )


class EnrolmentTokenRow(Base):
    """A token IT writes onto a batch of cards; appliances enrol with it (hub.fleet.enrolment).

    `uses_left` None: any number of appliances until it expires. `counter_id` set: appliances
    enrolling with it are approved at once for that counter (pre-authorised).
    """

    __tablename__ = "enrolment_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    batch: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uses_left: Mapped[int | None] = mapped_column(Integer, nullable=True)
    counter_id: Mapped[int | None] = mapped_column(
        ForeignKey("counters.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(100), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    __table_args__ = (CheckConstraint("uses_left IS NULL OR uses_left >= 0", name="uses"),)


class DeviceKeyRow(Base):
    """An appliance's own Ed25519 public key: pending until IT approves it (then `device_id`
    names the device it became), or revoked. A re-flashed appliance comes with a new key."""

    __tablename__ = "device_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_key: Mapped[str] = mapped_column(String(44), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(39))
    claim_code: Mapped[str] = mapped_column(String(7), index=True)
    state: Mapped[str] = mapped_column(String(8))
    hostname: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    token_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolment_tokens.id", ondelete="SET NULL"), nullable=True
    )
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'approved', 'revoked')", name="state"),
        CheckConstraint(
            "state = 'revoked' OR (device_id IS NULL) = (state = 'pending')", name="device"
        ),
    )


class DeviceNonceRow(Base):
    """A signed enrolment request seen: SHA-256 of key and nonce, so a replay is refused.
    Kept past the accepted clock skew only (older requests are refused by their timestamp)."""

    __tablename__ = "device_nonces"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DeviceChallengeRow(Base):
    """A challenge handed to a device key, stored as its SHA-256; used once."""

    __tablename__ = "device_challenges"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(
        ForeignKey("device_keys.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DeviceHeartbeatRow(Base):
    """The last heartbeat of an appliance (issue 17, the fleet view): one row per device,
    overwritten by one UPDATE per heartbeat; no history."""

    __tablename__ = "device_heartbeats"
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[str] = mapped_column(String(40))
    uptime_s: Mapped[int] = mapped_column(BigInteger)
    cpu_temp_c: Mapped[float | None] = mapped_column(Float, nullable=True)
    load: Mapped[float] = mapped_column(Float)
    disk_free_mb: Mapped[int] = mapped_column(BigInteger)
    camera: Mapped[str] = mapped_column(String(8))
    microphone: Mapped[str] = mapped_column(String(8))
    speaker: Mapped[str] = mapped_column(String(8))
    scanner: Mapped[str] = mapped_column(String(8))
    rtt_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class RemoteActionRow(Base):
    """A remote action IT asked of one appliance (issue 17): restart, reboot, identify,
    settings, update or logs, and how far it got: requested → sent → (waiting →) (running →)
    done / failed."""

    __tablename__ = "remote_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    arguments: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)
    result: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)  # kind `logs`: the lines
