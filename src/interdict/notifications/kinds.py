"""Every kind of notification: how urgent it is and whether its repeated events fold into one item.

Urgency decides delivery beyond the notification centre (``delivery``: by default urgent and immediate items are
e-mailed at once, routine ones wait for the daily digest), so it is kept for what the recipient must act on now: a
rapid alert addressed to their unit (its issuer chose how urgent), a warning notice issued to it or overdue, a watch
rule or list they set as urgent. Everything else is routine. ``None`` means the urgency is the record's own, chosen
by a person (the alert's issuer, the rule's or list's owner), and passed by the producer.

A kind that ``folds`` keeps one item per user and event key (see ``service.notify_all``): each new event of the same
key adds one to the item's count, merges its reason and makes it unread again, instead of adding an item. Producers
of folding kinds choose keys that name what repeats (deconfliction: the own incident and the organisation that
matched it) and call ``notify`` only for genuinely new events (a new matching record, a rule newly matching, a new
response), never for a later edit of records already told about.

Producers name their kind here; a kind not listed (tests' own) is taken as given, without folding.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    urgency: str | None  # None: the record's own urgency, passed by the producer
    folds: bool


KINDS: dict[str, Kind] = {
    # Rapid alerts: addressed units must act now, as urgently as the issuer said.
    "rapid_alert.issued": Kind(None, folds=False),
    "rapid_alert.reminder": Kind(None, folds=False),
    "rapid_alert.escalated": Kind(None, folds=False),
    # Answers reach the issuing unit; urgent only for an immediate alert (the producer decides, see alerts.service).
    "rapid_alert.response": Kind(None, folds=True),
    "rapid_alert.closed": Kind("routine", folds=False),
    "rapid_alert.cancelled": Kind("routine", folds=False),
    # Warning notices: issued to a unit, or overdue, is to act on; the rest is the drafting workflow's news.
    "notice.issued": Kind("urgent", folds=False),
    "notice.overdue": Kind("urgent", folds=False),
    "notice.reminder": Kind("routine", folds=False),
    "notice.approval_requested": Kind("routine", folds=True),
    "notice.approved": Kind("routine", folds=False),
    "notice.returned": Kind("routine", folds=True),
    "notice.report_filed": Kind("routine", folds=True),
    # Watch rules and lists: the owner chose the urgency; further rules or hits on the same record fold.
    "watch.rule": Kind(None, folds=True),
    "watch.list": Kind(None, folds=True),
    # Deconfliction: someone to contact about one's own record, not an emergency; more matches fold.
    "linkage.deconfliction": Kind("routine", folds=True),
}


def urgency(kind: str, given: str) -> str:
    """The urgency a notification of ``kind`` gets when its producer gives ``given``."""
    k = KINDS.get(kind)
    return given if k is None or k.urgency is None else k.urgency


def folds(kind: str) -> bool:
    k = KINDS.get(kind)
    return k is not None and k.folds
