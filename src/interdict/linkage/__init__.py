"""Linkage: normalise names and identifiers, and score whether two records are the same party."""
