"""Reproducible toy-model studies of learning dynamics."""

__version__ = "0.1.0"
