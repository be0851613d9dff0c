"""Config files (YAML or JSON) mapped onto config dataclasses, with CLI values overriding fields."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import GenomniError

T = TypeVar("T")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise json.JSONDecodeError(f"key {twice[0]!r} is given twice", "", 0)
    return dict(pairs)


def load_mapping(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML/JSON file holding one mapping of field names to values; a key given twice is an error (the
    parsers would keep the last one silently)."""
    path = Path(path)
    if not path.is_file():
        raise GenomniError(f"config file {path} does not exist")
    try:
        text = path.read_text()
        data = json.loads(text, object_pairs_hook=_unique_pairs) if path.suffix == ".json" else yaml.load(text, Loader=_UniqueKeyLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise GenomniError(f"config file {path} is not valid {kind}: {str(exc).splitlines()[0]}") from exc
    except UnicodeDecodeError as exc:
        raise GenomniError(f"config file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GenomniError(f"config file {path} must hold a mapping of option names to values")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _typed(cls: type, name: str, hint: Any, value: Any) -> Any:
    """A file or option value as the field's type: lists become tuples for tuple fields, ints become floats;
    anything else of the wrong type is a one-line error naming the option."""
    base = hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        base = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
    origin = typing.get_origin(base) or base
    if origin is typing.Literal:
        return value  # checked against its choices in `_checked`, which knows the option's name
    if origin is tuple and isinstance(value, list):
        value = tuple(value)
    if origin is list and isinstance(value, (str, tuple)):
        value = [value] if isinstance(value, str) else list(value)
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if base is Path and isinstance(value, str):
        from .storage import location

        return location(value)  # a local Path, or a UPath for a URL (s3://, memory://)
    expected = origin if isinstance(origin, type) else None
    if expected is not None and not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise GenomniError(f"option {name.replace('_', '-')}: expected {getattr(expected, '__name__', expected)}, got {value!r}")
    item = (typing.get_args(base) or (None,))[0] if origin in (list, tuple) else None
    if item in (str, int, float):  # a list of scalars: nested lists or mappings in a file are refused by name
        wrong = [v for v in value if not isinstance(v, item) or (item is not float and isinstance(v, bool))]
        if item is float:
            wrong = [v for v in value if not isinstance(v, (int, float)) or isinstance(v, bool)]
        if wrong:
            raise GenomniError(f"option {name.replace('_', '-')}: expected a list of {item.__name__}, got {wrong[0]!r} in it")
    return value


def choices_of(hint: Any) -> tuple[Any, ...]:
    """The allowed values of a `Literal[...]` field, of each item of a tuple of them, or of an optional one; else ()."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
    if typing.get_origin(hint) is tuple:
        hint = (typing.get_args(hint) or (None,))[0]
    return typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else ()


def _checked(f: dataclasses.Field, hint: Any, value: Any) -> Any:
    """Values that cannot mean anything are refused for every option of every verb, in one line naming the option:
    a choice outside its `Literal[...]` list, NaN and infinities, and numbers outside the field's `bounds`
    (`options.option`). Fields that are no command-line option (a model dir's casper.json) are named bare."""
    flag = "--" + (f.metadata.get("flag") or f.name).replace("_", "-")
    choices = choices_of(hint)
    if choices and value is not None:
        unknown = [str(v) for v in (value if isinstance(value, (tuple, list)) else (value,)) if v not in choices]
        if unknown and f.metadata.get("help"):
            raise GenomniError(f"{flag}: unknown value(s) {', '.join(unknown)}; choose from {', '.join(map(str, choices))}")
        if unknown:
            raise GenomniError(f"{f.name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    for v in value if isinstance(value, (tuple, list)) else (value,):
        if isinstance(v, float) and not math.isfinite(v):
            raise GenomniError(f"{flag}: {v} is not a finite number")
        bounds = f.metadata.get("bounds")
        if bounds is not None and isinstance(v, (int, float)) and not isinstance(v, bool) and not bounds[0] <= v <= bounds[1]:
            raise GenomniError(f"{flag} must be in {bounds[0]}..{bounds[1]}, got {v}")
    return value


def merge(cls: type[T], *layers: dict[str, Any]) -> T:
    """Make `cls` from its defaults overridden by each mapping in turn (keys that are not fields of `cls` are
    ignored: one file may configure several classes); values are type-checked, required fields named."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for layer in layers:
        values.update({k: _checked(fields[k], hints[k], _typed(cls, k, hints[k], v)) for k, v in layer.items() if k in fields})
    missing = [
        ("--" + (f.metadata.get("flag") or f.name).replace("_", "-"))
        for f in fields.values()
        if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise GenomniError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
    return cls(**values)


def check_known(file: str | os.PathLike | None, values: dict[str, Any], *classes: type) -> None:
    """A config file key that is no field of any of `classes` is a one-line error."""
    names = {f.name for cls in classes for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise GenomniError(f"config file {file}: unknown option(s) {', '.join(unknown)}")


def build(cls: type[T], file: str | os.PathLike | None, overrides: dict[str, Any], base: dict[str, Any] | None = None) -> T:
    """Make `cls` from defaults <- `base` (e.g. a model's recorded recipe) <- file values <- overrides
    (None means 'not given'); a file key that is no field of `cls` is an error."""
    file_values = load_mapping(file) if file else {}
    check_known(file, file_values, cls)
    return merge(cls, base or {}, file_values, {k: v for k, v in overrides.items() if v is not None})
