"""Jupyter notebook course companion: curated video courses as one notebook per lesson."""

__version__ = "0.1.0"
