"""The `genomni` typer apps, the console and the entry point that turns errors into one line."""

from __future__ import annotations

import errno
import logging
import os
import sys
import traceback
from typing import Optional

import typer
from rich.console import Console

from ..errors import GenomniError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Generative Omnimatte toolkit: data generation, Casper training, decomposition, eval.",
)
generate_app = typer.Typer(no_args_is_help=True, help="Generate training data as WebDataset shards.")
data_app = typer.Typer(no_args_is_help=True, help="Look at and move shard directories.")
train_app = typer.Typer(no_args_is_help=True, help="Build Casper model dirs and train them.")
app.add_typer(generate_app, name="generate")
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
INTERRUPTED = 130  # the exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells report it
console = Console(soft_wrap=True)  # long paths stay on one line for scripts that read the output
invocation: list[str] = ["genomni"]  # the command line being run, for dataset cards and reports


def quiet_hf() -> None:
    """diffusers/transformers print their own bars and notes while loading and saving; ours is enough. Either
    may be absent (`genomni[eval]` installs neither): then there is nothing to quiet."""
    import importlib
    import importlib.util

    for name in ("diffusers", "transformers"):
        if importlib.util.find_spec(name) is None:
            continue
        lib = importlib.import_module(f"{name}.utils.logging")
        lib.set_verbosity_error()
        lib.disable_progress_bar()


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: library errors and usage errors become one line on stderr and a non-zero exit.
    `genomni --debug ...` (or GENOMNI_DEBUG=1) also prints the traceback and logs what a run decided."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = os.environ.get("GENOMNI_DEBUG", "") not in ("", "0") or (bool(argv) and argv[0] == "--debug")
    if argv and argv[0] == "--debug":
        argv = argv[1:]
    logging.basicConfig(level=logging.INFO if debug else logging.WARNING, format="%(name)s: %(message)s")
    invocation[1:] = argv
    command = typer.main.get_command(app)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = command.main(args=argv, prog_name="genomni", standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value here
            if code == INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
                err.print("error: interrupted; run the same command again to resume", markup=False)
            sys.exit(code)
    except GenomniError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except OSError as exc:  # the file system refused (read-only, full, a file where a folder goes): say so in one line
        if debug:
            traceback.print_exc()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the file named may be what was being copied, not where to
            err.print(f"error: {exc.strerror}; free some space and run the same command again to resume", markup=False)
            sys.exit(1)
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"error: {where}{exc.strerror or exc}", markup=False)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        err.print("error: interrupted; run the same command again to resume", markup=False)
        sys.exit(INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # typer's (vendored click) usage errors
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        err.print(f"error: {exc.format_message()}", markup=False)
        sys.exit(2)
    except Exception as exc:
        if type(exc).__name__ != "SafetensorError":  # safetensors reports a full disk in its own error type
            raise
        if debug:
            traceback.print_exc()
        space = "; free some space and run the same command again to resume" if f"os error {errno.ENOSPC}" in str(exc) else ""
        err.print(f"error: a weights file could not be written: {exc}{space}", markup=False)
        sys.exit(1)


PROGRESS = typer.Option(True, help="Show progress bars.")
