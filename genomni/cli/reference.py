"""The CLI reference as Markdown, read from the same click command tree that `--help` prints (whose options the
config dataclasses define), so the docs site cannot drift from the command line. The docs build writes it to
`cli.md` (`docs/hooks.py`); `python -m genomni.cli.reference` prints it."""

from __future__ import annotations

from typing import Any

import typer

from .app import app

# typer builds its commands on its own copy of click (typer._click), so commands are read by their click interface
# rather than by isinstance checks against the click package.


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    """(command path, command) for every leaf command, in `--help` order."""
    if not hasattr(command, "list_commands"):
        return [(path, command)]
    ctx = command.context_class(command)
    found: list[tuple[list[str], Any]] = []
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            found += _walk(sub, path + [name])
    return found


def _text(text: str | None) -> str:
    """Help text as typer prints it, without rich's escapes; Markdown's own characters left as they are."""
    return (text or "").replace("\\[", "[").strip()


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def _param_row(param: Any) -> str:
    if param.param_type_name == "argument":
        name = f"`{(param.metavar or param.name).upper()}`" + (" ..." if param.nargs == -1 or param.multiple else "")
        return f"| {name} (argument) | {_cell(getattr(param, 'help', '') or '')} |"
    names = " / ".join(f"`{n}`" for n in param.opts + param.secondary_opts)
    extra = ""
    choices = getattr(getattr(param, "type", None) or getattr(param, "bare_type", None), "choices", None)
    if choices:
        extra = f" (one of: {', '.join(map(str, choices))})"
    elif param.required:
        extra = " (required)"
    elif param.show_default and param.default not in (None, False, (), []):
        extra = f" (default: {param.default})"
    return f"| {names} | {_cell(param.help or '')}{extra} |"


def commands() -> list[tuple[str, Any]]:
    """Every verb as `genomni generate kubric` and its click command."""
    root = typer.main.get_command(app)
    return [(" ".join(["genomni", *path]), cmd) for path, cmd in _walk(root, [])]


def markdown() -> str:
    """The whole reference: one section per verb with its usage, help, options and examples."""
    out = [
        "# CLI reference",
        "",
        "Generated from the command line itself (`genomni <verb> --help` prints the same). Every option of a verb",
        "that has `--config FILE` can also be given in that YAML/JSON file, by its option or field name.",
        "",
        "| verb | what it does |",
        "|---|---|",
    ]
    verbs = commands()
    for name, cmd in verbs:
        anchor = name.replace(" ", "-")
        out.append(f"| [`{name}`](#{anchor}) | {_cell((cmd.help or '').splitlines()[0] if cmd.help else '')} |")
    for name, cmd in verbs:
        ctx = cmd.context_class(cmd, info_name=name)
        usage = " ".join(cmd.collect_usage_pieces(ctx))
        out += ["", f"## {name} {{#{name.replace(' ', '-')}}}", "", _text(cmd.help), "", "```", f"{name} {usage}", "```", ""]
        params = [p for p in cmd.params if not getattr(p, "hidden", False)]
        if params:
            out += ["| option | meaning |", "|---|---|"] + [_param_row(p) for p in params]
        if cmd.epilog:
            out += ["", "```", _text(cmd.epilog).replace("\n\n", "\n").replace("Examples:\n", "# examples\n"), "```"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
