"""Compiled patterns kept on disk (foundation/regex_cache.py): a pattern from a stored program
matches as ``re.compile``'s does, and anything wrong with the store falls back to compiling."""

from __future__ import annotations

import hashlib
import logging
import marshal
import re
import zlib
from array import array
from pathlib import Path

import pytest

from foundation import regex_cache
from foundation.regex_cache import KEEP, MIN_CACHED, PatternCache

WORDS = [f"word{i:05d}" for i in range(3000)]
# Large enough to be kept, and shaped like the crisis screen's gate: whole words, an
# alternation with a shared start, an empty group at each phrase's end, lookarounds.
BIG = (
    r"(?<!\w)(?:"
    + "|".join(f"{w}(?: again)?()" for w in WORDS)
    + r"|i (?:want|wish) to go()"
    + r")(?!\w)"
)
SAMPLES = [
    "nothing here",
    "word00017",
    "and word02999 again",
    "i wish to go now",
    "word0001",  # not a whole word
    "x word01500 again and word00002",
]


def _same(a: re.Pattern[str], b: re.Pattern[str]) -> None:
    assert (a.pattern, a.groups, a.groupindex) == (b.pattern, b.groups, b.groupindex)
    for text in SAMPLES:
        found, expected = a.search(text), b.search(text)
        assert (found and (found.span(), found.lastindex)) == (
            expected and (expected.span(), expected.lastindex)
        )
        assert [m.span() for m in a.finditer(text)] == [m.span() for m in b.finditer(text)]


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.sre"))


def test_a_large_pattern_is_kept_and_read_back_without_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(BIG) >= MIN_CACHED
    reference = re.compile(BIG)
    first = PatternCache(tmp_path).compile(BIG)
    _same(first, reference)
    [kept] = _files(tmp_path)

    def no_compiling(pattern: str, flags: int = 0) -> re.Pattern[str]:
        raise AssertionError("compiled again")

    monkeypatch.setattr(re, "compile", no_compiling)
    monkeypatch.setattr(regex_cache, "_compile", no_compiling)
    again = PatternCache(tmp_path).compile(BIG)  # another process: a new cache object
    monkeypatch.undo()
    _same(again, reference)
    assert _files(tmp_path) == [kept]


def test_flags_and_the_python_build_are_part_of_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = PatternCache(tmp_path)
    cache.compile(BIG)
    _same(cache.compile(BIG, re.IGNORECASE), re.compile(BIG, re.IGNORECASE))
    assert len(_files(tmp_path)) == 2
    monkeypatch.setattr(regex_cache, "_runtime", lambda: "another python")
    _same(cache.compile(BIG), re.compile(BIG))
    assert len(_files(tmp_path)) == 3


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data[:-10] + bytes(10),  # altered: its hash no longer matches
        lambda data: b"something else entirely",
        lambda data: b"",
    ],
)
def test_a_damaged_file_is_compiled_again_and_replaced(
    tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    PatternCache(tmp_path).compile(BIG)
    [kept] = _files(tmp_path)
    good = kept.read_bytes()
    assert callable(damage)
    kept.write_bytes(damage(good))
    with caplog.at_level(logging.WARNING, logger=regex_cache.__name__):
        _same(PatternCache(tmp_path).compile(BIG), re.compile(BIG))
    assert "compiling it" in caplog.text
    assert kept.read_bytes() == good


def test_a_program_the_engine_refuses_is_compiled_again(tmp_path: Path) -> None:
    """A file whose hash is right but whose program the engine will not take (another
    CPython's, say) falls back to compiling: the engine checks a program before it runs it."""
    PatternCache(tmp_path).compile(BIG)
    [kept] = _files(tmp_path)
    no_program = array("I", [9999, 1, 2]).tobytes()
    body = zlib.compress(marshal.dumps((0, no_program, 0, {}, ())))
    kept.write_bytes(regex_cache._MAGIC + hashlib.sha256(body).digest() + body)
    _same(PatternCache(tmp_path).compile(BIG), re.compile(BIG))


def test_a_folder_that_cannot_be_written_only_costs_the_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    cache = PatternCache(blocked / "patterns")
    with caplog.at_level(logging.WARNING, logger=regex_cache.__name__):
        _same(cache.compile(BIG), re.compile(BIG))
        _same(cache.compile(BIG), re.compile(BIG))
    assert caplog.text.count("cannot be kept") == 1  # said once, not at every pattern


def test_small_patterns_and_no_folder_touch_no_disk(tmp_path: Path) -> None:
    small = r"(?<!\w)(?:now|tonight)(?!\w)"
    _same(PatternCache(tmp_path).compile(small), re.compile(small))
    assert list(tmp_path.iterdir()) == []
    none = PatternCache(None)
    _same(none.compile(BIG), re.compile(BIG))


def test_the_folder_keeps_the_files_last_used(tmp_path: Path) -> None:
    assert KEEP >= 3 * 3  # the bot's lexicons and a few variants (a staff edit, the tests')
    keep = 3
    cache = PatternCache(tmp_path, keep)
    patterns = [BIG + f"|extra{i}" for i in range(keep + 2)]
    for pattern in patterns:
        cache.compile(pattern)
    assert len(_files(tmp_path)) == keep
    # The first two were pruned; reading the third makes it the last used.
    cache.compile(patterns[2])
    cache.compile(BIG + "|one more")
    names = {p.name for p in _files(tmp_path)}
    again = PatternCache(tmp_path, keep)
    again.compile(patterns[2])
    assert {p.name for p in _files(tmp_path)} == names


def test_use_sets_the_process_folder(tmp_path: Path) -> None:
    before = regex_cache.shared()
    try:
        regex_cache.use(tmp_path)
        assert regex_cache.shared().directory == tmp_path
        regex_cache.use(None)
        assert regex_cache.shared().directory is None
    finally:
        regex_cache._shared = before


def test_the_default_folder_follows_systemd_then_xdg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CACHE_DIRECTORY", f"{tmp_path / 'unit'}:{tmp_path / 'other'}")
    assert regex_cache.default_directory() == tmp_path / "unit" / "patterns"
    monkeypatch.delenv("CACHE_DIRECTORY")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert regex_cache.default_directory() == tmp_path / "infusion-companion" / "patterns"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert (
        regex_cache.default_directory() == tmp_path / ".cache" / "infusion-companion" / "patterns"
    )


def test_the_setting_names_the_folder_or_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot.config import Settings

    monkeypatch.setenv("PATTERN_CACHE_DIR", str(tmp_path))
    assert Settings(_env_file=None).pattern_cache_dir == tmp_path
    monkeypatch.setenv("PATTERN_CACHE_DIR", "")
    assert Settings(_env_file=None).pattern_cache_dir is None
    monkeypatch.delenv("PATTERN_CACHE_DIR")
    monkeypatch.delenv("CACHE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings(_env_file=None).pattern_cache_dir == regex_cache.default_directory()
