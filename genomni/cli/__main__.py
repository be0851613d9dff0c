"""`python -m genomni.cli ...` (e.g. under `accelerate launch`)."""

from . import main

main()
