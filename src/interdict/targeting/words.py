"""A worklist reason, stored with the record, as a message in the reader's language.

The engine stores each reason as an English sentence (``text``); the model's statistical reasons also as a
catalogue message (``message``: msgid and parameters, numbers shown with the reader's separators), shown from it.
The fixed ones (a profile that matched, the random floor, a hit on an earlier incident) are read back here from
their sentence into catalogue messages, lanes by their names. A reason stored before the model's were messages
is shown as stored.
"""

from __future__ import annotations

import re

from interdict.core.i18n import N_, Message, message_from_json

LANE_NAMES = {"red": N_("Red"), "yellow": N_("Yellow"), "green": N_("Green")}

_RANDOM = "selected at random (inspection floor)"
_PROFILE_LANE = re.compile(r"^profile '(.*)' matched: lane (red|yellow|green)$")
_PROFILE = re.compile(r"^profile '(.*)' matched$")
_INCIDENT = re.compile(r"^(.*) ~ incident (\S+) \((\d\.\d\d)\)$")


def reason_message(reason: object) -> object:
    """One stored worklist reason (the stored dict, or its text) in the reader's language (one of another shape
    is shown as stored)."""
    if isinstance(reason, dict):
        message = message_from_json(reason.get("message"))
        if isinstance(message, Message):
            return message
        reason = reason.get("text")
    text = reason
    if not isinstance(text, str) or isinstance(text, Message):
        return text
    if text == _RANDOM:
        return N_("selected at random (inspection floor)")
    if m := _PROFILE_LANE.match(text):
        return N_("profile '%(name)s' matched: lane %(lane)s", name=m[1], lane=LANE_NAMES[m[2]])
    if m := _PROFILE.match(text):
        return N_("profile '%(name)s' matched", name=m[1])
    if m := _INCIDENT.match(text):
        return N_("%(what)s ~ incident %(reference)s (%(score)s)", what=m[1], reference=m[2], score=m[3])
    return text
