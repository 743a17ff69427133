"""Retention: what the account holder chose (3 months, 18 months, until I delete), enforced on schedule.

``sweep`` deletes, through the one cascade (deletion.py):

- recordings captured longer ago than the account's retention (``Account.retention``: "3m", "18m";
  "forever" keeps them until the holder deletes them). Months are calendar months: a recording
  captured on 30 November is due on 28 February for "3m" (the day is clamped to the month's end);
- by policy, recordings flagged ``likely_accidental`` (no speech, or an empty hypothesis) once they
  are ``accidental_grace_hours`` old (counted from arrival), whatever the retention: the holder may
  still see and play them during the grace period.

The server runs ``sweep`` every ``retention_sweep_minutes`` on a background thread (periodic.py,
started by web/app.py); `sottovoce retention sweep --json` runs it once.
Each sweep also truncates the SQLite WAL at once (deletion.scrub_now).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sottovoce.accounts.deletion import delete_recordings, scrub_now
from sottovoce.accounts.registry import RETENTION_CHOICES
from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.db.models import Account, Recording
from sottovoce.db.types import utcnow

MONTHS = {"3m": 3, "18m": 18, "forever": None}
LABELS = {"3m": "3 months", "18m": "18 months", "forever": "until I delete them"}
SWEEPER = Actor.system("retention")
RETENTION, ACCIDENTAL = "retention", "accidental-policy"
ROUND = 10_000  # recordings selected per round: a first sweep over a large backlog stays bounded in memory


def months_before(when: datetime, months: int) -> datetime:
    """The same moment ``months`` calendar months earlier (day clamped to the month's last day)."""
    index = when.year * 12 + (when.month - 1) - months
    year, month = divmod(index, 12)
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)


def set_retention(services: Services, db: Session, account: Account, value: str, actor: Actor, channel: str) -> None:
    """Change how long the account's recordings are kept; audited. The caller commits.

    Shortening it takes effect at the next sweep (within ``retention_sweep_minutes``).
    """
    if value not in RETENTION_CHOICES:
        raise InvalidInput(f"expected a retention among {', '.join(RETENTION_CHOICES)} but got '{str(value)[:20]}'")
    previous = account.retention
    account.retention = value
    services.audit.append(db, actor, "retention.change", account.id, {"from": previous, "to": value, "channel": channel})


def _due_past_retention(db: Session, now: datetime, limit: int) -> dict[str, list[str]]:
    due: dict[str, list[str]] = defaultdict(list)
    for choice, months in MONTHS.items():
        if months is None:
            continue
        rows = db.execute(
            select(Recording.account_id, Recording.id)
            .join(Account, Account.id == Recording.account_id)
            .where(Account.retention == choice, Recording.captured_at < months_before(now, months))
            .limit(limit)
        ).all()
        for account_id, recording_id in rows:
            due[account_id].append(recording_id)
    return due


def _due_accidental(db: Session, now: datetime, grace: timedelta, limit: int) -> dict[str, list[str]]:
    due: dict[str, list[str]] = defaultdict(list)
    rows = db.execute(
        select(Recording.account_id, Recording.id)
        .where(Recording.likely_accidental.is_(True), Recording.received_at < now - grace)
        .limit(limit)
    ).all()
    for account_id, recording_id in rows:
        due[account_id].append(recording_id)
    return due


def sweep(services: Services, now: datetime | None = None) -> dict:
    """Delete everything due; one receipt per account and reason. Returns counts and receipt ids."""
    now = now or utcnow()
    grace = timedelta(hours=services.settings.accidental_grace_hours)
    report: dict[str, Any] = {RETENTION: {"accounts": 0, "recordings": 0}, ACCIDENTAL: {"accounts": 0, "recordings": 0}, "receipts": []}
    with services.sessions() as db:
        for channel, find in ((ACCIDENTAL, lambda: _due_accidental(db, now, grace, ROUND)), (RETENTION, lambda: _due_past_retention(db, now, ROUND))):
            accounts: set[str] = set()
            while due := find():
                db.rollback()  # end the read snapshot before the cascade's own transactions
                for account_id, ids in due.items():
                    receipt = delete_recordings(services, db, account_id, ids, SWEEPER, channel)
                    if receipt:
                        accounts.add(account_id)
                        report[channel]["recordings"] += receipt["counts"].get("recordings", 0)
                        report["receipts"].append(receipt["id"])
            report[channel]["accounts"] = len(accounts)
    report["wal_truncated"] = scrub_now(services)
    return report
