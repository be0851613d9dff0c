"""genomni: Generative Omnimatte toolkit (data generation, Casper training, decomposition, eval)."""

__version__ = "0.2.0"
