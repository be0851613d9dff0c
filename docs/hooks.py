"""MkDocs hook: pages made from sources that live elsewhere, so the site cannot drift from them.

- cli.md: the CLI reference, read from the command tree `--help` prints (`genomni.cli.reference`).
- results.md: benchmarks/README.md, the results tables beside the scripts that make them (image links rewritten
  to this folder).
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent


def results_page() -> str:
    return (ROOT / "benchmarks" / "README.md").read_text().replace("](../docs/", "](")


def on_files(files: Files, config) -> Files:
    from genomni.cli.reference import markdown

    files.append(File.generated(config, "cli.md", content=markdown()))
    files.append(File.generated(config, "results.md", content=results_page()))
    return files
