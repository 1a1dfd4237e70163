"""Interdict: record, share, link and act on drug and precursor incidents."""

__version__ = "0.1.0"
