"""Large regular expressions compiled once per machine, not once per process.

Python's ``re`` parses a pattern and generates its program in pure Python; only matching is in
C. The crisis screen's gate is one alternation of about 2 MB (every phrase of both lexicons,
bot/domain/safety.py), and compiling it took 7-12 s of every start: of the bot after a crash,
of each command, of every test process. This module keeps the program ``re`` would hand its C
engine (a list of integers, with the group counts) in a file named for a hash of the pattern,
its flags and the Python build; a later process hands the engine the stored program instead of
compiling: a fraction of a second (bench/README.md, the start-up section).

What it stands on is private to CPython (``re._parser.parse``, ``re._compiler._code``,
``_sre.compile``: what ``re._compiler.compile`` calls), so every step may fail safe: another
Python, another ``_sre``, a file cut short or altered (each file carries a hash of its
contents), a folder that cannot be written. Any of them and the pattern is compiled by
``re.compile``, which is always right; nothing is raised and nothing is lost but the time.
The files hold only what the patterns say (the lexicons are in the repository): no message,
no patient. Patterns shorter than :data:`MIN_CACHED` characters are compiled directly (they
take milliseconds), and a folder keeps the :data:`KEEP` files last used (a lexicon edited by
staff makes a new one).
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # CPython's regex engine (no stubs)
import contextlib
import hashlib
import logging
import marshal
import os
import re
import sys
import tempfile
import zlib
from array import array
from pathlib import Path
from typing import Any

__all__ = ["KEEP", "MIN_CACHED", "PatternCache", "default_directory", "shared", "use"]

log = logging.getLogger(__name__)

MIN_CACHED = 20_000
"""Characters from which a pattern's program is kept in a file (the gate and the exclusions
of the crisis screen; every other pattern compiles in milliseconds)."""
KEEP = 32
"""Files kept in the folder, the ones last used (a lexicon makes three: the crisis
phrases, the exclusions, the history phrases; about 3 MB together)."""
_MAGIC = b"ic-regex-1\n"
_DIGEST = hashlib.sha256().digest_size
_SUFFIX = ".sre"
_CODE = next((t for t in "ILQ" if array(t).itemsize == _sre.CODESIZE), "")
"""The array type of one word of the engine's program ("" if none fits: nothing is kept)."""


def default_directory() -> Path:
    """Where the programs are kept by default: under systemd, the unit's cache directory
    (``CacheDirectory=``, which systemd names in ``$CACHE_DIRECTORY``: the home folder is
    read-only there) + ``/patterns``; else ``$XDG_CACHE_HOME/infusion-companion/patterns``, or
    ``~/.cache/infusion-companion/patterns``."""
    systemd = os.environ.get("CACHE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd) / "patterns"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infusion-companion" / "patterns"


def _runtime() -> str:
    """What a stored program depends on besides its pattern: this Python build and its engine."""
    return f"{sys.version}\0{sys.implementation.cache_tag}\0{_sre.MAGIC}\0{_sre.CODESIZE}"


class PatternCache:
    """Compiles patterns, keeping the programs of large ones in ``directory`` (None: never)."""

    def __init__(self, directory: Path | None, keep: int = KEEP) -> None:
        self.directory = directory
        self.keep = keep
        self._warned = False

    def compile(self, pattern: str, flags: int = 0) -> re.Pattern[str]:
        """``re.compile(pattern, flags)``, from a stored program when there is one."""
        if self.directory is None or not _CODE or len(pattern) < MIN_CACHED:
            return re.compile(pattern, flags)
        key = hashlib.sha256(f"{_runtime()}\0{flags}\0{pattern}".encode()).hexdigest()
        path = self.directory / f"{key}{_SUFFIX}"
        stored = self._load(path, pattern)
        if stored is not None:
            return stored
        compiled, program = _compile(pattern, flags)
        if program is not None:
            self._store(path, program)
        return compiled

    def _load(self, path: Path, pattern: str) -> re.Pattern[str] | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            head = len(_MAGIC)
            if data[:head] != _MAGIC:
                raise ValueError("not a stored program")
            digest, body = data[head : head + _DIGEST], data[head + _DIGEST :]
            if hashlib.sha256(body).digest() != digest:
                raise ValueError("contents altered")
            flags, raw, groups, groupindex, indexgroup = marshal.loads(zlib.decompress(body))
            code = array(_CODE)
            code.frombytes(raw)
            compiled: re.Pattern[str] = _sre.compile(
                pattern, flags, code.tolist(), groups, groupindex, indexgroup
            )
        except Exception as exc:  # any failure: compile it afresh (and store it again)
            log.warning("stored pattern program not used (%s): compiling it", type(exc).__name__)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # last used: kept the longest
        return compiled

    def _store(self, path: Path, program: tuple[Any, ...]) -> None:
        try:
            body = zlib.compress(marshal.dumps(program), 1)
        except ValueError:  # not marshallable: only the time is lost
            return
        data = _MAGIC + hashlib.sha256(body).digest() + body
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written beside it, then renamed: a reader sees the whole file or none.
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._prune(path.parent, self.keep)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning(
                    "pattern programs cannot be kept (%s): each start compiles them",
                    type(exc).__name__,
                )

    @staticmethod
    def _prune(directory: Path, keep: int) -> None:
        files = sorted(directory.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime)
        for old in files[:-keep]:
            old.unlink(missing_ok=True)


def _compile(pattern: str, flags: int) -> tuple[re.Pattern[str], tuple[Any, ...] | None]:
    """The compiled pattern and its program (None when this Python's internals differ from
    what this module knows: the pattern is then compiled by ``re.compile``, and not kept)."""
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        tree = _parser.parse(pattern, flags)
        code = _compiler._code(tree, flags)
        groups = tree.state.groups
        groupindex = dict(tree.state.groupdict)
        indexgroup: list[str | None] = [None] * groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        flags = int(flags | tree.state.flags)  # a plain int: marshal takes no RegexFlag
        compiled: re.Pattern[str] = _sre.compile(
            pattern, flags, code, groups - 1, groupindex, tuple(indexgroup)
        )
        program = (flags, array(_CODE, code).tobytes(), groups - 1, groupindex, tuple(indexgroup))
    except Exception:
        return re.compile(pattern, flags), None
    return compiled, program


_shared = PatternCache(default_directory())


def shared() -> PatternCache:
    """The process's cache (:func:`use` sets its folder from the settings at start)."""
    return _shared


def use(directory: Path | None) -> None:
    """Keep programs in ``directory`` from now on (None: compile every pattern afresh)."""
    global _shared
    _shared = PatternCache(directory)
