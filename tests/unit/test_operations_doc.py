"""The metrics the docs name are the ones bot/metrics.py exposes, and every one is listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bcompanion_[a-z0-9_]+")


def _exposed() -> tuple[set[str], set[str]]:
    """Family names, and every sample name (with _total, _bucket, _sum, ... suffixes)."""
    families: set[str] = set()
    samples: set[str] = set()
    for family in Metrics().registry.collect():
        families.add(family.name)
        samples.update(sample.name for sample in family.samples)
        samples.add(f"{family.name}_total" if family.type == "counter" else family.name)
        if family.type == "histogram":
            samples.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
    return families, samples


@pytest.mark.parametrize("doc", ["docs/operations.md", "docs/deploy.md"])
def test_every_metric_a_doc_names_exists(doc: str) -> None:
    path = ROOT / doc
    if not path.exists():
        pytest.skip(f"{doc} is not in this checkout")
    families, samples = _exposed()
    named = set(NAME.findall(path.read_text(encoding="utf-8")))
    assert named, f"{doc} names no metric"
    assert named <= samples | families, sorted(named - samples - families)


def test_the_operations_doc_lists_every_metric() -> None:
    text = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(companion_[a-z0-9_]+)`", text, re.MULTILINE)
    listed = {name.removesuffix("_total") for name in rows}
    families, _ = _exposed()
    assert listed == families
