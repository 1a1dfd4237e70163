"""Watch rules (saved filters that fire on new and changed incidents) and watch lists (entities a unit
watches for, matched through the linkage engine's name scorer and identifiers)."""
