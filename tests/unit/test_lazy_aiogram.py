"""bot/lazy_aiogram.py: aiogram's models are built on first use, and built exactly as aiogram
would build them. Each check runs in a fresh interpreter, because the import happens once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every aiogram model, built (on demand where it was deferred), reduced to what the namespace
# decides: the resolved annotation, whether the field is required, and its default.
FINGERPRINT = """
import json, re
from pydantic import BaseModel

def models():
    stack, seen = list(BaseModel.__subclasses__()), set()
    while stack:
        model = stack.pop()
        if model not in seen:
            seen.add(model)
            stack.extend(model.__subclasses__())
            # Parametrized generics (Response[Message]) are made per call, not by the import;
            # whether one is still alive depends on pydantic's cache, not on the namespace.
            if model.__module__.startswith("aiogram.") and not (
                model.__pydantic_generic_metadata__["origin"]
            ):
                yield model

out = {}
for model in models():
    if not model.__pydantic_complete__:
        assert model.model_rebuild() is not False, model
    out[f"{model.__module__}.{model.__qualname__}"] = {
        name: [re.sub(r" at 0x[0-9a-f]+", "", str(f.annotation)), f.is_required(), repr(f.default)]
        for name, f in model.model_fields.items()
    }
print(json.dumps(out))
"""


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


PREPARE = "from bot.lazy_aiogram import prepare_aiogram\nprepare_aiogram(True)\n"


def test_importing_the_package_imports_nothing_of_aiogram() -> None:
    # No import side effect: the entry point decides (bot.cli.main, LAZY_AIOGRAM).
    out = run(
        "import sys\n"
        "import bot, bot.config, bot.cli, bot.lazy_aiogram, bot.logs\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram'))\n"
    )
    assert out == "[]"


def test_the_entry_point_prepares_aiogram_as_the_setting_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import bot.cli

    seen: list[bool] = []
    monkeypatch.setattr(bot.cli, "prepare_aiogram", seen.append)
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("LAZY_AIOGRAM", "false")
    bot.cli.main(["content", "check"])
    monkeypatch.setenv("LAZY_AIOGRAM", "true")
    bot.cli.main(["content", "check"])
    assert seen == [False, True]


def test_switched_off_aiogram_is_imported_as_it_ships() -> None:
    out = run(
        "from bot.lazy_aiogram import prepare_aiogram\n"
        "print(prepare_aiogram(False))\n"
        "from aiogram.types import Poll\n"
        "from aiogram.methods.base import Response\n"
        "print(Poll.__pydantic_complete__, '__class_getitem__' in Response.__dict__)\n"
    )
    assert out.splitlines() == ["False", "True False"]


def test_the_bot_imports_aiogram_with_models_built_on_first_use() -> None:
    out = run(
        PREPARE + "from aiogram.types import Poll, Update, InlineKeyboardButton\n"
        "from pydantic import BaseModel\n"
        "print(Update.__pydantic_complete__, Poll.__pydantic_complete__,"
        " InlineKeyboardButton.__pydantic_complete__)\n"
        "InlineKeyboardButton(text='Done', callback_data='r:done:1')\n"
        "print(InlineKeyboardButton.__pydantic_complete__)\n"
        "print(BaseModel.__dict__['model_rebuild'].__func__.__module__)\n"
    )
    # Update is checked at import; Poll is never used here; a button is built when first made;
    # pydantic's own model_rebuild is back in place.
    assert out.splitlines() == ["True False False", "True", "pydantic.main"]


@pytest.mark.slow  # about 10 s (fresh interpreters importing aiogram): .ci/run runs it
def test_every_aiogram_model_is_built_as_aiogram_itself_builds_it() -> None:
    lazy = json.loads(run(PREPARE + FINGERPRINT))
    eager = json.loads(run("import aiogram\n" + FINGERPRINT))
    assert len(lazy) > 400
    assert lazy == eager


@pytest.mark.slow  # about 5 s (fresh interpreters importing aiogram): .ci/run runs it
def test_nothing_changes_when_aiogram_was_imported_first() -> None:
    out = run(
        "import aiogram\n" + PREPARE + "from bot.lazy_aiogram import import_aiogram\n"
        "from aiogram.types import Poll\n"
        "print(Poll.__pydantic_complete__, import_aiogram())\n"
    )
    assert out == "True False"


@pytest.mark.slow  # about 5 s (fresh interpreters importing aiogram): .ci/run runs it
def test_falls_back_to_building_everything_when_on_demand_builds_fail() -> None:
    out = run(
        "import logging\n"
        "logging.basicConfig(level=logging.WARNING, format='%(message)s')\n"
        "import bot.lazy_aiogram as lazy\n"
        "lazy._builds_on_demand = lambda: False\n"
        "print(lazy.import_aiogram())\n"
        "from aiogram.types import Poll\n"
        "print(Poll.__pydantic_complete__)\n"
    )
    assert out.splitlines() == ["False", "True"]
