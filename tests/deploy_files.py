"""The operator's files read as the programs that read them do: env files as systemd's
`EnvironmentFile=` reads them, the shipped units' `[Service]` lines, and the env files that
docs/deploy.md tells the operator to write (its ```ini blocks).

Used by tests/unit/test_deploy_doc.py (the guide's files give settings the bot accepts) and
scripts/rehearse_group.py (the rehearsal writes the env files as the guide writes them and
starts the replicas as the unit does).
"""

from __future__ import annotations

import configparser
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_GUIDE = ROOT / "docs" / "deploy.md"
UNITS = ROOT / "deploy" / "systemd"

_FENCE = re.compile(r"^( *)```ini\n(.*?)^ *```", flags=re.MULTILINE | re.DOTALL)
_DOUBLE_QUOTED_ESCAPE = re.compile(r"\\(.)")


def parse_environment_file(text: str) -> dict[str, str]:
    """`KEY=VALUE` lines as systemd reads an `EnvironmentFile=` (systemd.exec(5)): blank lines
    and lines starting with `#` or `;` are skipped, a line ending in a backslash goes on in
    the next, white space around the key and the value is dropped, and a value in single or
    double quotes loses them (a backslash escapes the next character in double quotes).
    Everything else after `=` is the value: unlike a shell or python-dotenv, systemd keeps
    `# ...` written after a value as part of it."""
    env: dict[str, str] = {}
    for line in text.replace("\\\n", "").splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = _DOUBLE_QUOTED_ESCAPE.sub(r"\1", value[1:-1])
        env[key] = value
    return env


def guide_env_blocks(section: str) -> list[str]:
    """The env files docs/deploy.md writes under the `## section` heading (its ```ini blocks),
    in order."""
    text = DEPLOY_GUIDE.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    blocks = _FENCE.findall(text[start : end if end != -1 else len(text)])
    return [textwrap.dedent(block) for _, block in blocks]


@dataclass(frozen=True)
class Service:
    """What systemd runs for a unit: `ExecStart` and its `EnvironmentFile`s, in order."""

    exec_start: str
    environment_files: tuple[str, ...]
    working_directory: str | None


def read_service(unit: str) -> Service:
    """The `[Service]` section of deploy/systemd/`unit`."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    text = (UNITS / unit).read_text(encoding="utf-8")
    # A key given twice (EnvironmentFile=) adds to the list in systemd; configparser keeps the
    # last, so the lines are read one by one.
    files = tuple(
        line.split("=", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("EnvironmentFile=")
    )
    parser.read_string(text)
    service = parser["Service"]
    return Service(service["ExecStart"], files, service.get("WorkingDirectory"))
