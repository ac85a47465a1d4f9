"""Shared values of the intake tests: the rules and keyer a clinic's settings would give."""

from __future__ import annotations

from bot.intake.patient_ref import PatientKeyer
from bot.intake.rows import IntakeRules

SECRET = "s" * 16 + "-test-secret-of-32+"
KEYER = PatientKeyer(SECRET)
RULES = IntakeRules.build(
    clinic_zone="America/New_York",
    visit_types={"infusion", "consult", "follow_up"},
    languages={"en", "es"},
    statuses={"acme": {"Scheduled": "booked", "Canceled": "cancelled", "DNA": "noshow"}},
    visit_type_aliases={"acme": {"KET-IV": "infusion", "Initial consult": "consult"}},
)
PERSONAL = ("Jane Quinlan-Doe", "jane.doe@example.org", "+1 203 555 0199", "1984-02-29")
"""A patient's name, e-mail, phone and birth date as an export carries them."""
