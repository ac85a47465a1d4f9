"""Staff edit the reminder plans live (admins: Permission.PLAN), one visit type at a time.

Each visit type's plan is one stored text, ``content_versions`` kind ``plan``, key
``plan_key(type)`` (``plan`` for infusion, as before visit types, so the versions saved then
stay the infusion plan's history; ``plan/esketamine``, ``plan/consultation``): the TOML of the
whole plan, over the shipped ``messages/plans/<type>.toml`` (version 0), live in every process
within a second like any text (bot/content/loading.py ``ContentFiles.plan_for``). A plan is
shown as a timeline:
when each step would go out for a sample visit in the clinic's zone, quiet hours applied
(scheduler/due.py). An edit (a step's time, expiry, items or buttons; a step switched off or
on; a new step with its text) is made on the TOML text of the version the author looked at,
checked by the plan's own parser and, for a new step, by the content validator on its text,
and shown as the new timeline. Confirming saves it if that version is still live, and in the
same transaction brings the reminders of every scheduled visit of that type (and no other) in
line with it (``ReminderPlanner.replan_type``: rows already sent are never touched) and writes
an audit line with the plan before and after.

Plain async code, no aiogram: a Telegram handler, a web panel or an HTTP API call it alike.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.content.store import ContentError
from bot.content.validate import check_text
from bot.db.content_versions import VersionRecord
from bot.domain.audit import Action, Actor, target
from bot.domain.content_kinds import LEGACY_PLAN_TYPE, TEMPLATE_SUFFIX, ContentKind, plan_key
from bot.domain.plan_phrases import read_step_time
from bot.domain.staff import Permission
from bot.domain.visits import VisitType
from bot.services.content_editing import (
    ChangedMeanwhile,
    ContentEditing,
    EditingTools,
    Editor,
    Rejected,
    TextRef,
)
from bot.services.edit_ops import EditOp
from bot.services.errors import NoSuchText
from bot.services.reminders import ReminderPlanner, Replanned
from foundation.data_file import DataFileError
from foundation.timemath import resolve_local, to_local
from scheduler.due import compute_due
from scheduler.plan import Plan, parse_offset
from scheduler.plan_loading import parse_plan
from scheduler.plan_text import NoSuchStep, PlanValue, append_step, set_step_field

__all__ = [
    "PlanCandidate",
    "PlanChanged",
    "PlanEdit",
    "PlanEditing",
    "PlanOp",
    "PlanRejected",
    "PlanSaved",
    "PlanView",
    "Timeline",
    "TimelineStep",
]

MAX_PLAN = 40_000
"""The longest plan text accepted (50 steps of a few lines each fit many times over)."""
SAMPLE_DAYS_AHEAD = 7
SAMPLE_TIME = time(14, 30)
"""The sample visit of the timeline: a week from today, at 14:30 in the clinic's zone."""
_NONE = {"", "-", "none"}
_STEP_FIELD = re.compile(r"step\[(\d+)\]\.?")
_UNTIL_RE = re.compile(r"\s+(?:until|hasta)\s+", re.IGNORECASE)
_OFFSETS_RE = re.compile(r"^\S*\d[mhd]\S*\s+\S*\d[mhd]\S*$")


class PlanOp(EditOp):
    """An edit of a step; its word is the field of plan.toml it writes (`ADD` writes a new
    step instead)."""

    AT = "at"
    EXPIRES = "expires"
    ITEMS = "items"
    BUTTONS = "buttons"
    SWITCH = "switch", "enabled"
    ADD = "add"


@dataclass(frozen=True)
class PlanEdit:
    """One change of the plan as staff typed it. `key` is the step's; `value` is an offset
    (``-1d@19:00``) for ``at`` and ``expires``, a comma list for ``items`` and ``buttons``
    (``-`` for none), ``on`` / ``off`` for ``switch``, and ``<at> [<expires>]`` for ``add``,
    whose `text` is the new step's template."""

    op: PlanOp
    key: str
    value: str = ""
    text: str = ""
    kind: VisitType = VisitType.INFUSION
    """The visit type whose plan is edited."""

    def as_data(self) -> dict[str, str]:
        return {
            "op": self.op.value,
            "key": self.key,
            "value": self.value,
            "text": self.text,
            "kind": self.kind.value,
        }

    @classmethod
    def from_data(cls, data: dict[str, object]) -> PlanEdit | None:
        """The edit kept in a conversation state (None: there is none)."""
        op = data.get("op")
        kind = data.get("kind", LEGACY_PLAN_TYPE)
        if op not in set(PlanOp) or kind not in set(VisitType):
            return None
        return cls(
            PlanOp(str(op)),
            str(data.get("key", "")),
            str(data.get("value", "")),
            str(data.get("text", "")),
            VisitType(str(kind)),
        )


@dataclass(frozen=True)
class TimelineStep:
    """One step for the sample visit: `due` when it goes out (local; None: never, no allowed
    moment), `moved` when quiet hours moved it from `nominal`."""

    key: str
    at: str
    expires: str
    enabled: bool
    template: str
    items: tuple[str, ...]
    buttons: tuple[str, ...]
    nominal: datetime
    due: datetime | None
    until: datetime | None

    @property
    def moved(self) -> bool:
        return self.due is not None and self.due != self.nominal

    def as_line(self) -> dict[str, object]:
        return {
            "key": self.key,
            "at": self.at,
            "enabled": self.enabled,
            "due": self.due,
            "until": self.until,
            "moved": self.moved,
            "items": list(self.items),
            "buttons": list(self.buttons),
        }


@dataclass(frozen=True)
class Timeline:
    visit: datetime
    """The sample visit's start, local to the clinic."""
    steps: tuple[TimelineStep, ...]

    def step(self, key: str) -> TimelineStep | None:
        return next((s for s in self.steps if s.key == key), None)


@dataclass(frozen=True)
class PlanView:
    """A visit type's live plan: its timeline, its TOML `source` and stored `version` (None:
    shipped)."""

    timeline: Timeline
    source: str
    version: VersionRecord | None
    kind: VisitType = VisitType.INFUSION

    @property
    def base(self) -> int | None:
        return self.version.id if self.version is not None else None


@dataclass(frozen=True)
class PlanCandidate:
    """The plan an edit would make, as a timeline; `base` is the version it is made on."""

    edit: PlanEdit
    timeline: Timeline
    source: str
    base: int | None


@dataclass(frozen=True)
class PlanRejected:
    """Why the edit cannot be made (nothing was saved), in staff's words."""

    problems: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class PlanSaved:
    """The plan is live as `version`; `already`: nothing new was saved (a second Confirm)."""

    version: VersionRecord | None
    already: bool = False
    replanned: Replanned | None = None
    untranslated: tuple[str, ...] = ()
    """The languages in which a step just added has no text: their patients get the default
    language's until someone writes one (/texts)."""


@dataclass(frozen=True)
class PlanChanged:
    """Someone saved another plan since the author looked: `live` is it now."""

    live: PlanView


PlanCheck = PlanCandidate | PlanRejected
"""What a proposed plan edit gives: the new timeline, or its problems."""
PlanOutcome = PlanSaved | PlanChanged | PlanRejected
"""What confirming a plan edit (or a restore) did."""


class PlanEditing(Editor):
    def __init__(self, tools: EditingTools, *, planner: Callable[[], ReminderPlanner]) -> None:
        """`tools.zone` is the clinic's (the sample visit's); `planner` re-plans reminders
        inside the caller's transaction."""
        super().__init__(tools)
        self.planner = planner

    # --- looking ----------------------------------------------------------------------------
    async def view(self, actor: Actor, kind: VisitType = VisitType.INFUSION) -> PlanView:
        """The live plan of the visit type `kind`."""
        await self._require(actor, Action.PLAN_READ, kind)
        return await self._view(kind)

    # --- changing ---------------------------------------------------------------------------
    async def propose(self, actor: Actor, edit: PlanEdit) -> PlanCheck:
        """The timeline the edit would make of the live plan of its type, or why it cannot
        be made."""
        await self._require(actor, Action.PLAN_EDIT, edit.kind)
        live = await self.versions.current(ContentKind.PLAN, plan_key(edit.kind))
        made = await self._checked(self._source(live, edit.kind), edit)
        if isinstance(made, PlanRejected):
            return made
        source, plan = made
        return PlanCandidate(edit, self.timeline(plan), source, live.id if live else None)

    async def confirm(
        self, actor: Actor, edit: PlanEdit, base_version_id: int | None
    ) -> PlanOutcome:
        """Make the edit on version `base_version_id` of its type's plan (None: the shipped
        plan) and save it if that version is still live; re-plan the reminders of every
        scheduled visit of that type (and only those) with it."""
        kind = edit.kind
        await self._require(actor, Action.PLAN_EDIT, kind)
        key = plan_key(kind)
        live = await self.versions.current(ContentKind.PLAN, key)
        live_id = live.id if live is not None else None
        before = self._source(live, kind)
        if base_version_id == live_id:
            base_source = before
        else:
            base = await self.versions.get(ContentKind.PLAN, key, base_version_id or 0)
            if base is None and base_version_id is not None:
                raise NoSuchText()
            base_source = base.body if base is not None else self._shipped(kind)
        made = await self._checked(base_source, edit)
        if isinstance(made, PlanRejected):
            if live_id != base_version_id:
                return PlanChanged(await self._view(kind))
            return made
        source, plan = made
        if source == before:
            return PlanSaved(live, already=True)  # a second Confirm, or no change at all
        if live_id != base_version_id:
            return PlanChanged(await self._view(kind))
        if edit.op is PlanOp.ADD:
            problem = await self._save_text(actor, edit, source)
            if problem is not None:
                return problem
        note = f"{edit.op.value} {edit.key}"
        saved = await self._store(actor, Action.PLAN_EDIT, kind, source, plan, live, before, note)
        if edit.op is PlanOp.ADD:
            return dataclasses.replace(saved, untranslated=self._untranslated(edit))
        return saved

    def _untranslated(self, edit: PlanEdit) -> tuple[str, ...]:
        """The languages but the default one that have no text of the new step (its text
        was just saved in the default language: any other would fall back to it)."""
        content, name = self.content, _template_of(edit.key, edit.kind)
        default = content.default_language
        return tuple(
            lang
            for lang in content.languages
            if lang != default
            and content.template_name(name, lang) == f"{default}/{name}{TEMPLATE_SUFFIX}"
        )

    async def _store(
        self,
        actor: Actor,
        action: Action,
        kind: VisitType,
        source: str,
        plan: Plan,
        live: VersionRecord | None,
        before: str,
        note: str,
    ) -> PlanSaved:
        """Save `source` as the next version of the plan of `kind` over `live`, re-plan the
        reminders of every scheduled visit of that type with it and write the audit line (in
        the caller's transaction)."""
        number = (live.number if live is not None else 0) + 1
        saved = await self.versions.add(
            kind=ContentKind.PLAN,
            key=plan_key(kind),
            number=number,
            body=source,
            author_telegram_id=actor.telegram_id,
            created_at=self.clock.now(),
            base_version_id=live.id if live is not None else None,
            note=note,
        )
        replanned = await self.planner().replan_type(kind, plan)
        await self.audit.done(
            actor,
            action,
            _target(kind),
            before={"version": number - 1, "plan": before},
            after={
                "visit_type": kind.value,
                "version": number,
                "plan": source,
                "appointments": replanned.appointments,
                "moved": replanned.moved,
                "stopped": replanned.stopped,
                "added": replanned.added,
            },
        )
        self.on_saved()
        return PlanSaved(saved, replanned=replanned)

    # --- history ----------------------------------------------------------------------------
    async def history(
        self, actor: Actor, kind: VisitType = VisitType.INFUSION
    ) -> tuple[VersionRecord | None, list[VersionRecord]]:
        """The live version of the plan of `kind` (None: the shipped plan) and the stored
        ones, newest first."""
        await self._require(actor, Action.PLAN_READ, kind)
        stored = list(await self.versions.history(ContentKind.PLAN, plan_key(kind)))
        return (stored[0] if stored else None), stored

    async def restore_preview(
        self, actor: Actor, version_id: int, kind: VisitType = VisitType.INFUSION
    ) -> tuple[Timeline | PlanRejected, VersionRecord | None]:
        """An older plan of `kind` (`version_id` 0: the shipped one) as a timeline, if this
        code can still read it; nothing is saved."""
        await self._require(actor, Action.PLAN_READ, kind)
        old, source = await self._version(version_id, kind)
        try:
            return self.timeline(parse_plan(source)), old
        except DataFileError as exc:
            return PlanRejected((_plain(exc, source),)), old

    async def restore(
        self,
        actor: Actor,
        version_id: int,
        base_version_id: int | None,
        kind: VisitType = VisitType.INFUSION,
    ) -> PlanOutcome:
        """Save an older plan of `kind` as its new live version, if the live one is still
        `base_version_id` (the author's view), re-planning every scheduled visit of `kind`."""
        await self._require(actor, Action.PLAN_ROLLBACK, kind)
        old, source = await self._version(version_id, kind)
        live = await self.versions.current(ContentKind.PLAN, plan_key(kind))
        before = self._source(live, kind)
        if source == before:
            return PlanSaved(live, already=True)
        if (live.id if live is not None else None) != base_version_id:
            return PlanChanged(await self._view(kind))
        try:
            plan = parse_plan(source)
        except DataFileError as exc:
            return PlanRejected((_plain(exc, source),))
        note = f"rollback to version {old.number if old is not None else 0}"
        return await self._store(
            actor, Action.PLAN_ROLLBACK, kind, source, plan, live, before, note
        )

    async def _version(self, version_id: int, kind: VisitType) -> tuple[VersionRecord | None, str]:
        if version_id == 0:
            return None, self._shipped(kind)
        old = await self.versions.get(ContentKind.PLAN, plan_key(kind), version_id)
        if old is None:
            raise NoSuchText()
        return old, old.body

    # --- the timeline -----------------------------------------------------------------------
    def sample_visit(self) -> datetime:
        """A week from today at 14:30 in the clinic's zone (aware, UTC)."""
        today: date = to_local(self.clock.now(), self.zone).date()
        wall = datetime.combine(today + timedelta(days=SAMPLE_DAYS_AHEAD), SAMPLE_TIME)
        return resolve_local(wall, self.zone)

    def timeline(self, plan: Plan) -> Timeline:
        start = self.sample_visit()
        zone = self.zone
        steps = []
        for step in plan.steps:
            due = compute_due(step, start, zone, plan.quiet_hours)
            steps.append(
                TimelineStep(
                    key=step.key,
                    at=step.at.text,
                    expires=step.expires.text,
                    enabled=step.enabled,
                    template=step.template,
                    items=step.items,
                    buttons=step.buttons,
                    nominal=to_local(step.at.resolve(start, zone), zone),
                    due=to_local(due.due, zone) if due is not None else None,
                    until=to_local(due.expires, zone) if due is not None else None,
                )
            )
        steps.sort(key=lambda s: s.nominal)
        return Timeline(to_local(start, zone), tuple(steps))

    # --- inside -----------------------------------------------------------------------------
    async def _require(self, actor: Actor, action: Action, kind: VisitType) -> None:
        await self.staff.require(actor, Permission.PLAN, action=action, target=_target(kind))

    async def _view(self, kind: VisitType) -> PlanView:
        live = await self.versions.current(ContentKind.PLAN, plan_key(kind))
        source = self._source(live, kind)
        return PlanView(self.timeline(parse_plan(source)), source, live, kind)

    def _source(self, live: VersionRecord | None, kind: VisitType) -> str:
        return live.body if live is not None else self._shipped(kind)

    def _shipped(self, kind: VisitType) -> str:
        return self.content.shipped().plan_source_for(kind)

    async def _checked(self, source: str, edit: PlanEdit) -> tuple[str, Plan] | PlanRejected:
        """:meth:`_apply` in a worker thread: a new step's text is checked by rendering it,
        which may take up to the check's time limit, and the event loop must go on answering
        patients meanwhile (the check reads only its own candidate content)."""
        return await asyncio.to_thread(self._apply, source, edit)

    def _apply(self, source: str, edit: PlanEdit) -> tuple[str, Plan] | PlanRejected:
        """The plan text with the edit made, checked; or why not."""
        try:
            current = parse_plan(source)
        except DataFileError as exc:  # a stored plan this code no longer reads
            return PlanRejected((_plain(exc, source),))
        step = current.step(edit.key)
        if edit.op is not PlanOp.ADD and step is None:
            raise NoSuchText()
        try:
            candidate = self._edited(source, edit, current)
        except ValueError as exc:
            return PlanRejected((str(exc),))
        if len(candidate) > MAX_PLAN:
            too_long = f"the plan would be {len(candidate)} characters, over {MAX_PLAN}"
            return PlanRejected((too_long,))
        try:
            plan = parse_plan(candidate)
        except DataFileError as exc:
            return PlanRejected((_plain(exc, candidate),))
        if edit.op is PlanOp.ADD:
            problems = self._text_problems(candidate, edit)
            if problems:
                return PlanRejected(problems)
        return candidate, plan

    def _edited(self, source: str, edit: PlanEdit, current: Plan) -> str:
        value = edit.value.strip()
        step = current.step(edit.key)
        if edit.op is PlanOp.ADD:
            return self._added(source, edit, current)
        assert step is not None
        new: PlanValue
        if edit.op is PlanOp.AT:
            at = parse_offset(read_step_time(value))
            if at.is_after_start and not step.expires.is_after_start:
                raise ValueError(
                    f"{at.text!r} is after the visit starts, but step {step.key!r} is sent before"
                    f" the visit (it expires at {step.expires.text!r}); give a time before the"
                    ' visit, like "-1d@19:00" or "-2h"'
                )
            new = at.text
        elif edit.op is PlanOp.EXPIRES:
            new = parse_offset(read_step_time(value)).text
        elif edit.op is PlanOp.SWITCH:
            if value not in ("on", "off"):
                raise ValueError(f"{value!r}: a step is switched on or off")
            new = value == "on"
        else:
            new = _comma_list(value)
        try:
            return set_step_field(source, edit.key, edit.op.word, new)
        except NoSuchStep:
            raise NoSuchText() from None

    def _added(self, source: str, edit: PlanEdit, current: Plan) -> str:
        words = _UNTIL_RE.split(edit.value.strip(), maxsplit=1)
        if len(words) == 1 and len(edit.value.split()) == 2 and _OFFSETS_RE.match(edit.value):
            words = edit.value.split()  # two offsets, as the plan writes them: "+2d@10:00 +4d"
        if not words[0].strip():
            raise ValueError(
                "write the new step's time, and for a step after the visit until when it is"
                ' worth sending: like "the day before at 12pm" or "the day after at 10am until'
                ' 3 days after"'
            )
        words = [read_step_time(w) for w in words]
        if current.step(edit.key) is not None:
            raise ValueError(f"{edit.key!r} is already the key of a step; choose another key")
        if not edit.text.strip():
            raise ValueError("the new step needs a text")
        fields: dict[str, PlanValue] = {
            "key": edit.key,
            "at": words[0],
            "template": _template_of(edit.key, edit.kind),
        }
        if len(words) == 2:
            fields["expires"] = words[1]
        return append_step(source, fields)

    def _text_problems(self, candidate: str, edit: PlanEdit) -> list[str]:
        """The new step's text, checked as the bot would send it with the new plan."""
        key = f"{self.content.default_language}/{_template_of(edit.key, edit.kind)}"
        content = self.content.overlaid({(ContentKind.PLAN, plan_key(edit.kind)): candidate})
        try:
            problems = check_text(content, ContentKind.TEMPLATE, key, edit.text)
        except ContentError as exc:
            return [str(exc)]
        return [_where(p.line) + p.message for p in problems]

    async def _save_text(self, actor: Actor, edit: PlanEdit, candidate: str) -> PlanRejected | None:
        """Save the new step's text as a version of its template (audited as a text edit)."""
        content = self.content.overlaid({(ContentKind.PLAN, plan_key(edit.kind)): candidate})
        texts = ContentEditing(self.tools.over(content))
        name = _template_of(edit.key, edit.kind)
        ref = TextRef(ContentKind.TEMPLATE, f"{content.default_language}/{name}")
        live = await self.versions.current(ref.kind, ref.key)
        outcome = await texts.confirm(actor, ref, edit.text, live.id if live else None)
        if isinstance(outcome, Rejected):
            return PlanRejected([_where(p.line) + p.message for p in outcome.problems])
        if isinstance(outcome, ChangedMeanwhile):  # pragma: no cover - read just above
            return PlanRejected(["the step's text changed meanwhile; try again"])
        return None


def _template_of(key: str, kind: VisitType) -> str:
    """The text of a step added in /plan: ``reminders/<key>`` for the infusion plan (as before
    visit types), ``reminders/<type>/<key>`` for another type's (keys are a plan's own)."""
    if kind == LEGACY_PLAN_TYPE:
        return f"reminders/{key}"
    return f"reminders/{kind.value}/{key}"


def _where(line: int | None) -> str:
    return f"line {line}: " if line else ""


def _comma_list(value: str) -> tuple[str, ...]:
    if value.lower() in _NONE:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _plain(exc: DataFileError, source: str) -> str:
    """The parser's reason without the file and line (staff edit through buttons here), a
    step named by its key rather than its number: ``evening_before, at: ...``."""
    where = exc.field
    match = _STEP_FIELD.match(where)
    if match is not None:
        try:
            steps = tomllib.loads(source).get("step", [])
            key = steps[int(match.group(1)) - 1]["key"]
        except (tomllib.TOMLDecodeError, LookupError, TypeError, AttributeError):
            key = None
        if isinstance(key, str):
            rest = where[match.end() :]
            where = f"step {key!r}" + (f", {rest}" if rest else "")
    return f"{where}: {exc.message}"


def _target(kind: VisitType) -> str:
    return target("plan", plan_key(kind))
