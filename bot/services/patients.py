"""Patient accounts: consent, time zone, reachability and deletion."""

from __future__ import annotations

from collections.abc import Sequence

from bot.db.models import Patient
from bot.db.patients import ForgottenPatient, Repository
from bot.domain.zone_names import ZoneReading, offset_label, read_zone, zone_label
from bot.services.intake_events import IntakeEvents
from foundation.clock import Clock
from foundation.timemath import load_zone


class PatientService:
    def __init__(
        self,
        repo: Repository,
        clock: Clock,
        *,
        default_timezone: str,
        events: IntakeEvents | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.default_timezone = default_timezone
        # Told when a patient blocks the bot (patient.unreachable to the clinic's systems).
        self.events = events

    async def get(self, telegram_id: int) -> Patient | None:
        return await self.repo.patient_by_telegram_id(telegram_id)

    async def consent(self, *, telegram_id: int, chat_id: int, language: str) -> Patient:
        """Create the account only now: before consent nothing about the user is stored."""
        patient = await self.repo.patient_by_telegram_id(telegram_id)
        now = self.clock.now()
        if patient is None:
            patient = await self.repo.add_patient(
                telegram_id=telegram_id,
                chat_id=chat_id,
                language=language,
                timezone=self.default_timezone,
                now=now,
            )
        # Only what changed is written: a second tap on "I agree" takes no write lock.
        if patient.chat_id != chat_id:
            patient.chat_id = chat_id
        if not patient.reachable:
            patient.reachable = True
        if patient.consented_at is None:
            patient.consented_at = now
        return patient

    def read_zone(self, text: str, lang: str) -> ZoneReading:
        """The zones a typed place or zone name may mean (bot/domain/zone_names.py)."""
        return read_zone(text, lang)

    def describe_zone(self, zone: str, lang: str, place: str | None = None) -> str:
        """A zone as a place and its offset now: "Eastern Time (New York), UTC-5"; with the
        place the patient named, "Dallas, UTC-6"."""
        offset = offset_label(zone, self.clock.now())
        return f"{place or zone_label(zone, lang)}, {offset}"

    async def set_timezone(self, patient: Patient, name: str) -> str:
        """Validate and store an IANA zone name; raises UnknownZone for anything else."""
        zone = load_zone(name)
        patient.timezone = zone.key
        return zone.key

    async def set_language(self, patient: Patient, lang: str, available: Sequence[str]) -> bool:
        """Store the language the bot speaks to the patient, one of `available` (the content's
        languages); False, and nothing changed, for any other."""
        if lang not in available:
            return False
        if patient.language != lang:  # a second tap takes no write lock
            patient.language = lang
        return True

    async def mark_reachable(self, telegram_id: int, reachable: bool) -> bool:
        """Record that the patient blocked (or unblocked) the bot; True when it changed."""
        changed = await self.repo.set_reachable_by_telegram_id(telegram_id, reachable)
        if changed is not None and not reachable and self.events is not None:
            await self.events.unreachable(self.repo, [changed])
        return changed is not None

    async def forget(self, telegram_id: int) -> ForgottenPatient | None:
        """Delete every row that leads back to the patient; once committed, the write-ahead
        log too. What was deleted (None: there was no patient row)."""
        forgotten = await self.repo.delete_patient_everything(telegram_id)
        self.repo.checkpoint_after_commit()
        return forgotten
