"""Typer options derived from config dataclasses (see `genomni.options`): each field with help text becomes
one option, `--config FILE` maps a YAML/JSON file onto the same fields, and defaults shown in `--help` come
from the field. Hand-written because typer builds options only from function signatures; this writes
that signature from the dataclass instead of repeating it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.markup import escape

from ..configfile import check_known, choices_of, load_mapping, merge
from ..errors import GenomniError

CONFIG = "config"


def _flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or f.name


def _cli_fields(cls: type, exclude: set[str]) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.metadata.get("help") and f.name not in exclude]


def _base_type(hint: Any) -> Any:
    """`X | None` -> X."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return hint


def _shown_default(f: dataclasses.Field) -> str | None:
    if f.metadata.get("show_default") is not None:
        return f.metadata["show_default"]
    value = (
        f.default
        if f.default is not dataclasses.MISSING
        else (f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
    )
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return str(value)


def _parameter(f: dataclasses.Field, hint: Any) -> inspect.Parameter:
    """The typer parameter of one field: given values arrive as text and are converted by `_convert`."""
    name, base = _flag(f), _base_type(hint)
    shown = _shown_default(f)
    # typer renders help as rich markup, which would swallow bracketed text such as `casper[steps=N]`.
    bounds, choices = f.metadata.get("bounds"), tuple(map(str, choices_of(base)))
    notes = [f"default: {shown}"] if shown is not None else []
    notes += [f"range: {bounds[0]}..{bounds[1]}"] if bounds is not None else []
    notes += [f"one of: {', '.join(choices)}"] if choices else []
    help_text = escape(f.metadata["help"] + (f" ({'; '.join(notes)})" if notes else ""))
    dashed = "--" + name.replace("_", "-")
    if f.metadata.get("positional"):
        return inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Optional[list[str]],
            default=typer.Argument(None, help=help_text, show_default=False),
        )
    if base is bool:
        annotation, decls = Optional[bool], [f"{dashed}/--no-{name.replace('_', '-')}"]
    elif typing.get_origin(base) in (list, dict):
        annotation, decls = Optional[list[str]], [dashed]
    elif base in (int, float) and f.metadata.get("parse") is None:
        annotation, decls = Optional[base], [dashed]
    else:  # str, paths and comma-separated tuples arrive as text
        annotation, decls = Optional[str], [dashed]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=typer.Option(None, *decls, help=help_text, show_default=False)
    )


def _convert(f: dataclasses.Field, hint: Any, value: Any) -> dict[str, Any]:
    """Field values from a given option value."""
    parse = f.metadata.get("parse")
    if parse is not None:
        return parse(value)
    base = _base_type(hint)
    if typing.get_origin(base) is tuple and isinstance(value, str):
        item = (typing.get_args(base) or (str,))[0]
        if typing.get_origin(item) is typing.Literal:  # closed choices: checked against the list in `configfile`
            item = type(typing.get_args(item)[0])
        parts = [v.strip() for v in value.split(",") if v.strip()]
        try:
            return {f.name: tuple(item(p) for p in parts)}
        except ValueError as exc:
            raise GenomniError(f"--{_flag(f).replace('_', '-')} {value!r}: expected comma-separated {item.__name__} values") from exc
    return {f.name: list(value) if isinstance(value, (list, tuple)) else value}


def config_options(
    *classes: type,
    exclude: tuple[str, ...] = (),
    fixed: dict[str, Any] | None = None,
    base: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    config_file: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate `fn(cfg1, cfg2, ..., **own_options)`: the command gets one option per help-carrying field of
    `classes` (a name shared by two classes is one option feeding both), plus `--config FILE`. Each config is
    built from defaults <- `base(given)` (e.g. a model's recorded recipe) <- the file <- the options given <-
    `fixed` (values the command sets itself), and checks itself in `__post_init__`."""
    skip, fixed = set(exclude), dict(fixed or {})

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        own = list(inspect.signature(fn).parameters.values())[len(classes) :]
        own_hints = typing.get_type_hints(fn)
        fields: dict[str, tuple[dataclasses.Field, Any]] = {}
        for cls in classes:
            hints = typing.get_type_hints(cls)
            for f in _cli_fields(cls, skip | set(fixed)):
                fields.setdefault(_flag(f), (f, hints[f.name]))
        params = [p.replace(annotation=own_hints.get(p.name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        params += [_parameter(f, hint) for f, hint in fields.values()]
        if config_file:
            params.append(
                inspect.Parameter(
                    CONFIG,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Optional[Path],
                    default=typer.Option(None, help="YAML/JSON file of these options (options given here override it)."),
                )
            )
        params.sort(key=lambda p: isinstance(p.default, typer.models.OptionInfo))  # arguments first

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            file = kwargs.pop(CONFIG, None)
            given: dict[str, Any] = {}
            for flag, (f, hint) in fields.items():
                value = kwargs.pop(flag)
                if value is not None:
                    given.update(_convert(f, hint, value))
            file_values = load_mapping(file) if file else {}
            for flag, (f, hint) in fields.items():  # a file may spell an option as its flag (out, resolution)
                if flag != f.name and flag in file_values:
                    value = file_values.pop(flag)
                    file_values.update(_convert(f, hint, str(value) if f.metadata.get("parse") and not isinstance(value, list) else value))
            check_known(file, file_values, *classes)
            first = base({**file_values, **given}) if base is not None else {}
            configs: list[Any] = [merge(cls, first, file_values, given, fixed) for cls in classes]
            return fn(*configs, **kwargs)

        del command.__wrapped__  # typer must see the signature below, not fn's
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate
