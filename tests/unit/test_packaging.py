"""The distribution lists every package: an installed wheel has all the code and texts."""

from __future__ import annotations

import tomllib
from importlib.metadata import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _folders(top: Path, package: str) -> set[str]:
    found = {package}
    for folder in top.rglob("*"):
        if folder.is_dir() and "__pycache__" not in folder.parts:
            found.add(".".join([package, *folder.relative_to(top).parts]))
    return found


def test_every_folder_of_the_code_and_the_texts_is_a_listed_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    assert setuptools["package-dir"] == {"bot.bundled_messages": "messages"}
    wanted = (
        _folders(ROOT / "bot", "bot")
        | _folders(ROOT / "scheduler", "scheduler")
        | _folders(ROOT / "foundation", "foundation")
        | _folders(ROOT / "messages", "bot.bundled_messages")
    )
    assert listed == wanted, {"missing": wanted - listed, "unknown": listed - wanted}


def test_every_file_of_the_texts_is_package_data() -> None:
    """Each file under messages/ (templates, data files, the learned layers' weights) is in the
    wheel: an installed bot without `en/faq_model.json` answered from its keywords alone."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bot.bundled_messages"]
    messages = ROOT / "messages"
    shipped = {path for pattern in patterns for path in messages.glob(pattern)}
    files = {p for p in messages.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files - shipped == set()


def test_the_license_is_an_spdx_expression() -> None:
    """PEP 639's form (setuptools >= 77): pip no longer warns that the table is deprecated,
    and the installed metadata carries `License-Expression`."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["project"]["license"] == "MIT"
    [setuptools] = [r for r in config["build-system"]["requires"] if r.startswith("setuptools")]
    assert Requirement(setuptools).specifier.contains("77") and not Requirement(
        setuptools
    ).specifier.contains("76.1")
    installed = metadata("infusion-companion")
    assert installed["License-Expression"] == "MIT"
    assert installed.get_all("License") is None


def test_mutation_testing_runs_every_targets_tests() -> None:
    """mutmut collects the tests pyproject.toml lists; tests/mutation_targets.py then keeps a
    target's own: each must be listed, and exist."""
    from tests.mutation_targets import TARGETS

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = config["tool"]["mutmut"]["pytest_add_cli_args_test_selection"]
    wanted = {path for target in TARGETS.values() for path in target.tests}
    assert set(listed) == wanted
    assert all((ROOT / path).is_file() for path in listed)
    only_mutate = config["tool"]["mutmut"]["only_mutate"]
    assert all((ROOT / path).is_file() for path in only_mutate)
