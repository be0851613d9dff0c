"""Options defined once: a config dataclass field carries its default, its help and how the command line
spells it; `genomni.cli.options` derives the typer options and `--help` from it and `configfile` maps YAML
/JSON files onto it, and the class checks its values in `__post_init__`. A new option is one field.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from .errors import GenomniError

SEED_BOUNDS = (0, 2**63 - 1)  # what every generator genomni seeds (torch, numpy) takes


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    flag: str | None = None,
    parse: Callable[[str], dict[str, Any]] | None = None,
    positional: bool = False,
    show_default: str | None = None,
    bounds: tuple[float, float] | None = None,
) -> Any:
    """A dataclass field that is also a command-line option.

    help: the `--help` text (fields without help are not on the command line; config files still set them).
    flag: the option's name when it differs from the field's (`objects` for `object_sources`).
    parse: turns the option's text into field values ({"height": 64, "width": 64} for --resolution 64).
    positional: a command argument instead of an option.
    show_default: the default as `--help` shows it, when the value itself would mislead.
    bounds: (least, most) a number may be; every float must also be finite (checked in `configfile.merge`).
    """
    meta = {"help": help, "flag": flag, "parse": parse, "positional": positional, "show_default": show_default, "bounds": bounds}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def resolution_fields(text: str) -> dict[str, Any]:
    """`--resolution N` or `WIDTHxHEIGHT` -> the height and width fields."""
    from .media import parse_resolution

    height, width = parse_resolution(str(text))
    return {"height": height, "width": width}


def check_device(flag: str, value: str) -> None:
    """auto, cpu, cuda or cuda:N (mps where torch has it); anything else is a one-line error."""
    import re

    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value):
        raise GenomniError(f"{flag} must be auto, cpu or cuda[:N], got {value!r}")


def check_output_dir(flag: str, path: Any) -> None:
    """An output folder must be a folder (or not exist yet): a file there is a one-line error."""
    from pathlib import Path

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise GenomniError(f"{flag} {p} is a file; give a folder (it is created if missing)")
    parent = next((a for a in p.absolute().parents if a.exists()), None)
    if parent is not None and not parent.is_dir():
        raise GenomniError(f"{flag} {p}: {parent} is a file, not a folder")


def require(checks: list[tuple[bool, str]]) -> None:
    """Raise the first failed check's message as a one-line error (configs call this in __post_init__)."""
    for ok, message in checks:
        if not ok:
            raise GenomniError(message)


def check_choice(flag: str, value: Any, allowed: tuple[str, ...]) -> None:
    """One-line error unless `value` (or each of a tuple of values) is one of `allowed`."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    unknown = [str(v) for v in values if v not in allowed]
    if unknown:
        raise GenomniError(f"{flag}: unknown value(s) {', '.join(unknown)}; choose from {', '.join(allowed)}")
