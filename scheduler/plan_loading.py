"""Reading a plan file (``messages/plans/<visit type>.toml``) as a checked
:class:`scheduler.plan.Plan`.

A file with any mistake in it is refused: :class:`PlanError` names the file, the line and the
field, so the person who edited it can fix it without reading Python.
"""

from __future__ import annotations

from pathlib import Path

from foundation.data_file import DataFileError, SourceLines, parse_toml, read_text, validate_file
from scheduler.plan import Plan

__all__ = ["PlanError", "load_plan", "parse_plan"]


class PlanError(DataFileError):
    """A plan file that cannot be used. ``str(e)`` is ``"{source}:{line}: {field}: {message}"``
    (``":{line}"`` is left out when the line is unknown)."""


def parse_plan(text: str, source: str = "plan.toml") -> Plan:
    """Read and check a plan; :class:`PlanError` (naming source, line and field) if it is wrong."""
    data = parse_toml(text, source, PlanError)
    return validate_file(Plan, data, source, SourceLines(text), PlanError)


def load_plan(path: Path) -> Plan:
    """Read and check the plan file at ``path``; :class:`PlanError` if it is missing or wrong."""
    return parse_plan(read_text(path, PlanError), str(path))
