"""Config files (YAML or JSON) mapped onto config dataclasses, with CLI values overriding fields."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import GenomniError

T = TypeVar("T")


def load_mapping(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML/JSON file holding one mapping of field names to values."""
    path = Path(path)
    if not path.is_file():
        raise GenomniError(f"config file {path} does not exist")
    try:
        data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise GenomniError(f"config file {path} is not valid {kind}: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GenomniError(f"config file {path} must hold a mapping of option names to values")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def build(cls: type[T], file: str | os.PathLike | None, overrides: dict[str, Any],
          base: dict[str, Any] | None = None) -> T:
    """Make `cls` from defaults <- `base` (e.g. a model's recorded recipe) <- file values <- CLI overrides
    (None means 'not given')."""
    names = {f.name for f in dataclasses.fields(cls)}
    file_values = load_mapping(file) if file else {}
    unknown = sorted(set(file_values) - names)
    if unknown:
        raise GenomniError(f"config file {file}: unknown option(s) {', '.join(unknown)}")
    values = {k: v for k, v in (base or {}).items() if k in names}
    values.update(file_values)
    values.update({k: v for k, v in overrides.items() if v is not None})
    for f in dataclasses.fields(cls):
        if f.name in values and isinstance(values[f.name], list) and "tuple" in str(f.type):
            values[f.name] = tuple(values[f.name])
    return cls(**values)
