"""Linkage: normalise names and identifiers, and score whether two records name the same party.

Pure Python, no database: ``normalise`` (names, phones, e-mails, addresses, containers, IMO,
placeholders), ``score`` (``score_pair``, thresholds) and ``pairs`` (``score_csv``).
"""
