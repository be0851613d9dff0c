"""The `genomni` command line: `genomni <stage> <verb>`, one thin module per stage (parse options, call
library functions); options come from the config dataclasses (`genomni.cli.options`)."""

from . import generate  # noqa: I001, F401  (each module registers its commands, in --help order)
from . import data, train, infer, masks, eval, studio  # noqa: F401
from .app import app, main

__all__ = ["app", "main"]
