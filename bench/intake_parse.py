"""Reading a clinic's CSV export into intake rows (bot/intake/csv_import.py).

    .venv/bin/python -m bench.intake_parse        # [--rows 10000] [--patients 5000] [--rounds 5]

A generated export as a spreadsheet writes it: a byte-order mark, CRLF, a header in its own
words (``Appointment ID``, ``MRN``, ``Start Time``, ...), three personal columns that are
dropped (name, e-mail, phone), a notes column that is ignored, labels with quoted commas,
and starts in all three forms (an instant with an offset, a local time with a zone, a local
time in the clinic's zone). ``--rows`` visits of ``--patients`` patients. Reported: the best
and median of ``--rounds`` reads, in rows per second, and for scale the csv module alone
splitting the same text (what any reader pays) and the HMAC of the patient references.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bench.common import log, print_machine
from bot.intake.csv_import import read_csv
from bot.intake.patient_ref import PatientKeyer
from bot.intake.rows import IntakeRules

HEADER = [
    "Appointment ID", "Patient Name", "MRN", "E-mail", "Phone", "Start Time", "TZ",
    "Visit Type", "Status", "Staff Label", "Lang", "Notes",
]  # fmt: skip
ZONES = ("", "America/New_York", "America/Chicago", "America/Los_Angeles")
RULES = IntakeRules.build(
    clinic_zone="America/New_York",
    visit_types={"infusion", "consult", "follow_up"},
    languages={"en", "es"},
    statuses={"bench": {"Scheduled": "booked", "Canceled": "cancelled", "DNA": "noshow"}},
)
KEYER = PatientKeyer("bench-secret-" + "x" * 32)


def export(rows: int, patients: int, seed: int = 21) -> bytes:
    """The generated export (see the module's doc)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    first = datetime(2027, 1, 4, 8, 0)
    for i in range(rows):
        patient = (i * 7919) % patients  # each patient rows / patients times
        local = first + timedelta(days=rng.randrange(300), minutes=30 * rng.randrange(20))
        form = i % 3
        zone = "" if form == 2 else rng.choice(ZONES[1:])
        start = (
            local.strftime("%Y-%m-%dT%H:%M:00-05:00")
            if form == 0
            else local.strftime("%Y-%m-%d %H:%M")
        )
        writer.writerow(
            [
                f"APT-{i:07d}",
                f"Patient {patient}, Jr.",
                f"MRN-{patient:06d}",
                f"p{patient}@example.org",
                f"+1 203 555 {patient % 10000:04d}",
                start,
                zone if form == 1 else "",
                rng.choice(("infusion", "consult", "Follow-up")),
                rng.choice(("Scheduled", "Scheduled", "Scheduled", "Canceled", "DNA")),
                rng.choice(("", "Chair 2, window", "New patient")),
                rng.choice(("", "en", "es-MX")),
                "call first" if i % 7 == 0 else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _timed(rounds: int, work: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = export(args.rows, args.patients)
    log(f"export: {args.rows} rows, {args.patients} patients, {len(data) / 1024:.0f} KiB")
    result = read_csv(data, source="bench", rules=RULES, keyer=KEYER)
    assert len(result.rows) == args.rows and not result.errors, result.errors[:3]
    keys = {row.patient_key for row in result.rows}

    reads = _timed(args.rounds, lambda: read_csv(data, source="bench", rules=RULES, keyer=KEYER))
    text = data.decode("utf-8-sig")
    splits = _timed(args.rounds, lambda: list(csv.reader(io.StringIO(text, newline=""))))
    references = [f"MRN-{i % args.patients:06d}" for i in range(args.rows)]
    hashes = _timed(args.rounds, lambda: [KEYER.key("bench", r) for r in references])

    def rate(times: list[float]) -> str:
        best, middle = args.rows / min(times), args.rows / statistics.median(times)
        return f"best {best:>9,.0f}, median {middle:>9,.0f} rows/s"

    print_machine()
    print(f"rows {args.rows:,}, patients {len(keys):,} (distinct keys), {len(data) / 1024:.0f} KiB")
    print(f"read_csv             {rate(reads)}  ({min(reads) * 1000:.0f} ms best)")
    print(f"csv.reader alone     {rate(splits)}")
    print(f"patient keys alone   {rate(hashes)}")
    print(f"dropped {', '.join(result.dropped)}; ignored {', '.join(result.ignored)}")


if __name__ == "__main__":
    main()
