"""ORM models. Keep them portable: no dialect-specific types, every instant in UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.db.types import UTCDateTime
from foundation.timemath import load_zone, to_local

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Patient(Base):
    """A Telegram user of the bot. Deliberately holds no name and no message text."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="en")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reachable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    reminders_paused: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def has_consented(self) -> bool:
        return self.consented_at is not None


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_patient_status_start", "patient_id", "status", "starts_at"),
        # One scheduled visit per patient and start: a double tap on Confirm stores one.
        Index(
            "uq_appointments_patient_start_scheduled",
            "patient_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'scheduled'"),
            postgresql_where=text("status = 'scheduled'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    # An AppointmentStatus (bot/domain/visits.py).
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="scheduled")
    # An Attendance, or None until the patient answers the attendance buttons.
    attendance: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # A Checkin: the answer to the day-after check-in, or None while unanswered.
    checkin: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # Counts the changes of time, zone or status (the patient's and the clinic's): a change
    # is a conditional UPDATE on the version its author saw, so of two changes of one visit
    # made at once exactly one is made, and the other is told what the visit is now.
    version: Mapped[int] = mapped_column(
        Integer, nullable=False, default=1, server_default=text("1")
    )
    # A VisitType (bot/domain/visits.py): which preparation plan this visit follows. Kept when
    # the visit is moved.
    visit_type: Mapped[str] = mapped_column(
        String(32), nullable=False, default="infusion", server_default=text("'infusion'")
    )

    patient: Mapped[Patient] = relationship(back_populates="appointments")

    @property
    def local_start(self) -> datetime:
        """The start as wall time in the zone it was booked in (what the patient sees)."""
        return to_local(self.starts_at, load_zone(self.timezone))


class Reminder(Base):
    """One row per (appointment, plan step): the database is the truth of what is due.

    Status moves pending -> sending (claimed under a lease) -> sent, or to skipped / expired /
    failed. A row whose lease ran out while `sending` (the process died mid-send) is claimed
    again, so nothing is lost; at most the rows in flight at a crash are sent twice.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("appointment_id", "step_key", name="uq_reminders_appointment_step"),
        Index("ix_reminders_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False
    )
    step_key: Mapped[str] = mapped_column(String(32), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Why a row ended as it did (a code such as "done", "cancelled", "blocked"); never text.
    reason: Mapped[str | None] = mapped_column(String(120), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ChecklistTick(Base):
    """A preparation item the patient ticked off for one appointment."""

    __tablename__ = "checklist_ticks"

    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[str] = mapped_column(String(32), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ConversationState(Base):
    """aiogram FSM state kept in the database, so a restart or another replica resumes it."""

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("storage_key", name="uq_conversation_states_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    storage_key: Mapped[str] = mapped_column(String(255), nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    state: Mapped[str | None] = mapped_column(String(128), nullable=True)
    data: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class StaffAlert(Base):
    """The outbox of alerts to the clinic team: one row per (alert, staff recipient).

    Written in the transaction of whatever raised the alert, delivered afterwards by
    `bot.delivery.outbox.AlertDelivery`. Status moves pending -> sent, or to failed after
    the last attempt. A claim keeps the row `pending` but leases it (owner, lease_until) and
    moves `next_attempt_at` to the end of the lease, so a row whose sender died is due again
    once its lease ran out, and two replicas never both send it.

    Stores the minimum: the patient's Telegram id (so staff can open the chat), never a name
    or anything the patient wrote. The name in the text is fetched from Telegram at delivery.
    """

    __tablename__ = "staff_alerts"
    __table_args__ = (
        Index("ix_staff_alerts_status_next", "status", "next_attempt_at"),
        Index("ix_staff_alerts_dedupe", "dedupe_key"),
        # One pending row per alert and staff member, also when two transactions race.
        Index(
            "uq_staff_alerts_pending_dedupe",
            "dedupe_key",
            "staff_chat_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_staff_alerts_patient", "patient_id"),
        Index("ix_staff_alerts_subject", "subject_telegram_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # "crisis", "reschedule" or "template_failure" (to staff); "visit_moved" or
    # "visit_cancelled": a notice to the patient (bot/services/patient_notices.py), whose chat
    # is then in `staff_chat_id` (the column is the row's recipient, whoever that is).
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    staff_chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=True
    )
    # The patient's Telegram id (also set for people who have not agreed to storage yet).
    subject_telegram_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # JSON of the non-personal template values (an instant, step keys, an error code).
    context: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    dedupe_key: Mapped[str | None] = mapped_column(String(160), nullable=True)
    occurrences: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    lease_owner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Why the last attempt failed, as a code (outcome and Telegram's description); never text.
    last_error: Mapped[str | None] = mapped_column(String(120), nullable=True)


class StaffMember(Base):
    """A clinic team member added through the bot. The admins of ``STAFF_IDS`` have no row:
    they are admins by configuration. Removal sets `removed_at` and keeps the row, so the
    audit trail can still say who someone was."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    # A Role (bot/domain/staff.py).
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    added_by: Mapped[int] = mapped_column(BigInteger, nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def active(self) -> bool:
        return self.removed_at is None


class StaffName(Base):
    """The name a team member has on Telegram, as last seen when they used a team command,
    so the team's screens (a text's history, the team list) say who rather than a number.
    Staff are not patients: their names may be stored (patients' never are). Admins of
    ``STAFF_IDS`` have a row too once they used the bot."""

    __tablename__ = "staff_names"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class StaffInvite(Base):
    """A one-time link an admin made for a new team member: the SHA-256 of its code (never the
    code) and the role it grants. Joining sets `used_at` with a conditional UPDATE, so of two
    people opening one link exactly one joins."""

    __tablename__ = "staff_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # A Role (bot/domain/staff.py).
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AuditEntry(Base):
    """One line of the audit log: a staff action, done or refused, written in the transaction
    of the change it records. `before` / `after` are JSON of ids, ISO UTC times, statuses and
    staff-authored content; never a patient's words or anyone's name."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_target", "target"),
        Index("ix_audit_log_actor", "actor_telegram_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # None: a patient acting on their own behalf (redeeming an invite), or the system.
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # A Surface, an Action and an Outcome (bot/domain/audit.py).
    surface: Mapped[str] = mapped_column(String(16), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    target: Mapped[str] = mapped_column(String(160), nullable=False)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)


class Invite(Base):
    """A one-time link for a patient to join and be linked to a visit staff created.

    Holds the SHA-256 of the code, never the code. `label` (initials, a chart number) is seen
    by staff only. A redeem sets `used_at` with a conditional UPDATE, so of two taps racing
    exactly one links the patient. `request_key` is the offer a staff member confirmed: two
    taps of one Confirm racing on PostgreSQL meet this unique key, and the second is run again
    and answered "already made"."""

    __tablename__ = "invites"
    __table_args__ = (
        UniqueConstraint("created_by", "request_key", name="uq_invites_created_by_request_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(32), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_by_patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), nullable=True, index=True
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    request_key: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # A VisitType: the plan of the visit this invite makes.
    visit_type: Mapped[str] = mapped_column(
        String(32), nullable=False, default="infusion", server_default=text("'infusion'")
    )
    # Set for the invite of a patient of the clinic's schedule (IntakePatient): redeeming it
    # links that patient, so every visit imported for them attaches without a new link.
    patient_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class ContentVersion(Base):
    """A version of a text staff edited live: a template (`en/welcome`), a button label
    (`en/buttons:menu_faq`), a language's FAQ file (`en/faq`) or the plan (`plan`). The file
    shipped in MESSAGES_DIR is version 0 and is not stored; the newest row of a key is live.
    `number` counts a key's versions from 1: two edits based on the same version both want the
    next number and meet the unique key, so exactly one of them is saved."""

    __tablename__ = "content_versions"
    __table_args__ = (
        UniqueConstraint("kind", "key", "number", name="uq_content_versions_kind_key_number"),
        Index("ix_content_versions_kind_key_id", "kind", "key", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # `template`, `button`, `faq` or `plan` (bot/domain/content_kinds.py ContentKind).
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    key: Mapped[str] = mapped_column(String(160), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    author_telegram_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The version the author saw when editing (None: the shipped file), for conflict detection.
    base_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)


class WebhookUpdate(Base):
    """An update Telegram delivered to the webhook, by `update_id`, so a delivery Telegram
    repeats (a replica died before answering, or answered too late) is recognised by every
    replica and acknowledged without being handled twice. Used when there is no Redis
    (REDIS_URL keeps the same in Redis instead). `lease_until`: while it is being handled;
    `done_at`: once it was; rows are dropped a day later (Telegram keeps updates 24 hours)."""

    __tablename__ = "webhook_updates"
    __table_args__ = (Index("ix_webhook_updates_claimed_at", "claimed_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IntakePatient(Base):
    """A patient of the clinic's schedule, known only by the keyed hash of the clinic's
    reference (bot/intake/patient_ref.py: HMAC of source and reference, never the reference).
    `patient_id` is set once the patient opened their invite: every later visit with the same
    key attaches to them without a new link. Deleted with the patient (forget), so a later
    import starts afresh with a new invite."""

    __tablename__ = "intake_patients"

    patient_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IntakeVisit(Base):
    """A visit as the clinic's schedule has it, by the clinic's own id (`source`,
    `external_id`). Written by the one intake command (CSV, HTTP API, FHIR). `appointment_id`
    is the patient's appointment once the patient is linked (None before, or after forget);
    `invite_id` the invite that links them. `status` is an IntakeStatus (bot/intake/rows.py).
    `revision` counts every change of the visit, the clinic's and the patient's, always as
    ``revision + 1`` in SQL in the transaction of the change (bot/intake/events.py says why):
    its events and the API's visit carry it. No name, no clear reference."""

    __tablename__ = "intake_visits"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_intake_visits_source_external_id"),
        Index("ix_intake_visits_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    external_id: Mapped[str] = mapped_column(String(128), nullable=False)
    patient_key: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    visit_type: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    label: Mapped[str | None] = mapped_column(String(80), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    invite_id: Mapped[int | None] = mapped_column(
        ForeignKey("invites.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revision: Mapped[int] = mapped_column(
        Integer, nullable=False, default=1, server_default=text("1")
    )


class ApiToken(Base):
    """A bearer token of one integration (a scheduling system) for the HTTP API, scoped to
    one `source`. Holds the SHA-256 of the token, never the token. Revoking sets
    `revoked_at` and keeps the row for the audit trail."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # None: made from the command line; else the admin's Telegram id.
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiIdempotency(Base):
    """An `Idempotency-Key` an integration sent, with the response it got: the same key again
    with the same request gets the same response without doing the work twice; with another
    request, a 422. `request_hash` is the SHA-256 of method, path and body. Rows are dropped
    after a day (retention)."""

    __tablename__ = "api_idempotency"
    __table_args__ = (
        UniqueConstraint("token_id", "key", name="uq_api_idempotency_token_id_key"),
        Index("ix_api_idempotency_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class IntakeEvent(Base):
    """The outbox of signed events to an integration's webhook (a patient linked, confirmed,
    asked to reschedule, answered the check-in, became unreachable): written in the
    transaction of what raised it, POSTed afterwards through the leased queue of
    scheduler/queue.py, retried with backoff. `body` is the JSON sent: the visit's source and
    external id, the event and its time, never a name or anything the patient wrote."""

    __tablename__ = "intake_events"
    __table_args__ = (Index("ix_intake_events_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    event_type: Mapped[str] = mapped_column(String(32), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    lease_owner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The last attempt's error as a code (an HTTP status, an exception's class); never text.
    last_error: Mapped[str | None] = mapped_column(String(120), nullable=True)
