"""The docs site's CLI reference lists every verb and every option that `genomni <verb> --help` prints: the
reference is generated from the command tree, and this reads `--help` itself (its text, as a user sees it)."""

from __future__ import annotations

import re

import pytest
from conftest import run_cli

from genomni.cli.reference import commands, markdown

VERBS = [name.split(" ", 1)[1] for name, _ in commands()]


def _section(reference: str, verb: str) -> str:
    start = reference.index(f"\n## genomni {verb} ")
    end = reference.find("\n## ", start + 1)
    return reference[start : end if end > 0 else len(reference)]


def test_every_verb_of_the_top_level_help_is_in_the_reference(capsys):
    """The verbs `genomni --help` and each stage's `--help` name are the verbs the reference has."""
    named = set()
    for stage in ("", "generate", "data", "train"):
        run_cli([stage, "--help"] if stage else ["--help"])
        text = capsys.readouterr().out
        for verb in re.findall(r"^│ (\w[\w-]*) ", text, re.M):
            named.add(f"{stage} {verb}".strip())
    named -= {"generate", "data", "train"}
    assert named == set(VERBS)
    assert len(VERBS) >= 16


@pytest.mark.parametrize("verb", VERBS)
def test_every_option_of_a_verb_is_in_its_reference_section(verb, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # rich would cut long option names to the terminal width
    run_cli([*verb.split(), "--help"])
    rows = re.findall(r"^│\s+\*?\s*((?:--[a-z0-9-]+/?)+)", capsys.readouterr().out, re.M)  # an option row starts with its names
    flags = {f for row in rows for f in row.split("/") if f} - {"--help"}
    section = _section(markdown(), verb)
    missing = sorted(f for f in flags if f"`{f}`" not in section)
    assert flags and not missing, f"genomni {verb}: --help options missing from the reference: {missing}"
