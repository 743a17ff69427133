"""Shift hours per staff member, in their own time zone: what the off-shift abuse rule compares a
review event with (abuse.py).

A shift is ``start`` to ``end`` as whole hours of the local day (``end`` may be 24, and a shift may
run past midnight: 22 to 6). Staff without their own shift have the instance's default
(settings ``ABUSE_SHIFT_START_HOUR``, ``ABUSE_SHIFT_END_HOUR``, ``ABUSE_SHIFT_TIME_ZONE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.orm import Session

from sottovoce.core.audit import Actor
from sottovoce.core.errors import InvalidInput
from sottovoce.core.services import Services
from sottovoce.core.settings import Settings
from sottovoce.db.models import StaffUser


@dataclass(frozen=True)
class Shift:
    start: int
    end: int
    time_zone: str

    def local_hour(self, moment: datetime) -> int:
        return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(ZoneInfo(self.time_zone)).hour

    def covers(self, moment: datetime) -> bool:
        hour = self.local_hour(moment)
        if self.start == self.end:
            return False  # an empty shift
        return self.start <= hour < self.end if self.start < self.end else (hour >= self.start or hour < self.end)

    def __str__(self) -> str:
        return f"{self.start:02d}:00-{self.end:02d}:00 {self.time_zone}"


def zone(name: str) -> str:
    """An IANA time zone name, checked (``Europe/Rome``, ``UTC``)."""
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r} (an IANA name such as Europe/Rome or America/New_York)") from None
    if name not in available_timezones() and name != "UTC":
        raise InvalidInput(f"unknown time zone {name!r}")
    return name


def shift_of(user: StaffUser | None, settings: Settings) -> Shift:
    if user is not None and user.shift_start_hour is not None and user.shift_end_hour is not None:
        return Shift(user.shift_start_hour, user.shift_end_hour, user.time_zone or settings.abuse_shift_time_zone)
    return Shift(settings.abuse_shift_start_hour, settings.abuse_shift_end_hour, settings.abuse_shift_time_zone)


def set_shift(services: Services, db: Session, actor: Actor, user: StaffUser, start: int, end: int, time_zone: str) -> Shift:
    """Give a staff member their own shift (audited as ``staff.shift_set``). The caller commits."""
    if not (0 <= start <= 23 and 1 <= end <= 24) or start == end:
        raise InvalidInput("a shift runs from a start hour (0-23) to a different end hour (1-24)")
    user.shift_start_hour, user.shift_end_hour, user.time_zone = start, end, zone(time_zone)
    services.audit.append(db, actor, "staff.shift_set", user.id, {"start": start, "end": end, "time_zone": user.time_zone})
    return shift_of(user, services.settings)
