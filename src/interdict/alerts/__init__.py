"""Rapid alerts between partner administrations: issue, address, acknowledge, respond, escalate."""
