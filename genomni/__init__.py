"""genomni: Generative Omnimatte toolkit (data generation, Casper training, decomposition, eval)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("genomni")  # one version: pyproject.toml's, as the installed package records it
except PackageNotFoundError:  # a source tree imported without `pip install -e .`: say so in what it stamps
    __version__ = "0+unknown"
