"""Small recurring duties of every server process, run on its periodic thread (web/app.py):
sign the audit head on a timer whatever the traffic, and forget sign-in attempts (hashed names,
client addresses) once they are past the throttling window."""

from __future__ import annotations

from datetime import timedelta

from sottovoce.core.services import Services
from sottovoce.staff.sessions import forget_old_attempts

EVERY_S = 60.0


def run(services: Services) -> None:
    services.audit.checkpoint_if_due(services.sessions)
    keep = timedelta(minutes=max(services.settings.login_window_minutes, 24 * 60))
    with services.sessions() as db:
        forget_old_attempts(db, keep)
        db.commit()
