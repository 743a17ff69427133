"""The reviewer workbench: the queue, the task page, its audio, and what the reviewer sends back.

Every handler loads the task through ``leased_task``, which answers "not found" unless the caller
holds a live lease on it, and "withdrawn" once consent is gone. Transcript text and audio are
recorded in the audit log before they leave (fail closed).
"""

from __future__ import annotations

import threading
import time

from fastapi import APIRouter, Body, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from sottovoce.core.errors import Conflict, SottovoceError, TooManyRequests
from sottovoce.core.services import Services
from sottovoce.core.session_tokens import digest
from sottovoce.db.models import ReviewTask
from sottovoce.forensics.tracing import mark_wav
from sottovoce.review import drafts, sensitive
from sottovoce.review import leases as task_leases
from sottovoce.review.listening import WHOLE_CLIP, ListeningPlan, listening_plan, windowed_wav
from sottovoce.review.projection import reviewer_view
from sottovoce.review.render import rendered_wav
from sottovoce.review.submissions import Submission, skip, stop_sensitive, submit
from sottovoce.staff import abuse
from sottovoce.staff.roles import REVIEWER
from sottovoce.web.deps import get_db, get_services
from sottovoce.web.policies import StaffPrincipal, staff
from sottovoce.web.templating import templates

router = APIRouter(prefix="/staff/review", tags=["review"])
NEXT = "/staff/review/next"  # the page POSTs here (with its CSRF token) to lease the next clip


class PreparedClips:
    """Marked clips waiting for their single-use ticket, in this process's memory only (never on
    disk), dropped when taken or after the ticket's lifetime. Another process simply marks again."""

    def __init__(self, lifetime_s: float = 120.0, limit: int = 256):
        self.lifetime_s, self.limit = lifetime_s, limit
        self._clips: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def put(self, ticket: str, wav: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, (t, _) in self._clips.items() if now - t > self.lifetime_s]:
                del self._clips[key]
            if len(self._clips) < self.limit:
                self._clips[digest(ticket)] = (now, wav)

    def take(self, ticket: str) -> bytes | None:
        with self._lock:
            entry = self._clips.pop(digest(ticket), None)
        return entry[1] if entry and time.monotonic() - entry[0] <= self.lifetime_s else None


PREPARED = PreparedClips()
reviewer = staff(REVIEWER)


def _session_hash(principal: StaffPrincipal, whole: bool = False) -> str:
    # A whole-clip ticket is bound to another hash, so a windows ticket cannot be replayed with
    # ``whole=1``: the whole clip is served only after its own audited request.
    return digest(principal.session.token_hash + (":whole" if whole else ""))


def _served_wav(services: Services, db: Session, task: ReviewTask, plan: ListeningPlan | None, whole: bool) -> bytes:
    """The de-identified clip as the reviewer hears it: by default only the listening windows."""
    wav = rendered_wav(services, db, task)
    if whole:
        return wav
    return windowed_wav(wav, plan or listening_plan(services, db, task, reviewer_view(services, db, task)))


def _next_url(services: Services, db: Session, principal: StaffPrincipal) -> str:
    task = task_leases.lease_next(services, db, principal.user.id)
    if task is not None:
        services.audit.append(db, principal.actor, "review.leased", task.id)
    db.commit()
    return f"/staff/review/tasks/{task.id}" if task else "/staff/review?empty=1"


def _queue_context(services: Services, db: Session, principal: StaffPrincipal) -> dict:
    return {
        "principal": principal,
        "counts": task_leases.queue_counts(db, principal.user.id, since=principal.session.created_at),
        "exposure": sensitive.exposure(services, db, principal.user.id),
        "opt_ins": sensitive.parse_opt_ins(principal.user.review_opt_ins),
        "categories": sensitive.CATEGORY_LABELS,
    }


@router.get("", response_class=HTMLResponse)
def queue(request: Request, principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> HTMLResponse:
    context = _queue_context(services, db, principal)
    context |= {"current": task_leases.current_lease(db, principal.user.id), "empty": request.query_params.get("empty"), "saved": request.query_params.get("saved")}
    return templates.TemplateResponse(request, "staff/review_queue.html", context)


@router.get("/break", response_class=HTMLResponse)
def take_a_break(request: Request, principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> HTMLResponse:
    """Offered after the stop limit: the reviewer chooses when to go on (with the cool-down's clips)."""
    return templates.TemplateResponse(request, "staff/review_break.html", _queue_context(services, db, principal))


@router.post("/opt-ins")
def opt_ins(categories: list[str] = Form(default_factory=list), principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> RedirectResponse:
    sensitive.set_opt_ins(services, db, principal.actor, [c[:20] for c in categories[:10]])
    db.commit()
    return RedirectResponse("/staff/review?saved=1", status_code=303)


@router.post("/next")
def next_task(principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> RedirectResponse:
    return RedirectResponse(_next_url(services, db, principal), status_code=303)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(task_id: str, request: Request, principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> HTMLResponse:
    try:
        task = task_leases.leased_task(db, task_id, principal.user.id)
    except Conflict:
        return templates.TemplateResponse(request, "staff/review_withdrawn.html", {"principal": principal}, status_code=409)
    try:
        rendered_wav(services, db, task)  # rendered now if the render job has not run yet
    except Conflict:  # the render was withheld (a masked entity stayed audible): nothing is shown
        return templates.TemplateResponse(request, "staff/review_withdrawn.html", {"principal": principal}, status_code=409)
    view = reviewer_view(services, db, task)
    plan = listening_plan(services, db, task, view)
    wav = _served_wav(services, db, task, plan, whole=False)
    draft = drafts.load(services, db, task, principal.user.id)
    counts = task_leases.queue_counts(db, principal.user.id, since=principal.session.created_at)  # read before any write
    # The page shows transcript text (and the reviewer's own saved draft): audited before it is sent, or not sent at all.
    services.audit.record(db, principal.actor, "review.transcript_served", task.id, {"draft": True} if draft else None)
    ticket = task_leases.issue_ticket(services, db, task, _session_hash(principal))
    task_leases.renew(services, task)
    db.commit()
    # Mark the clip now, while the page travels, so the audio request only has to send it.
    PREPARED.put(ticket, mark_wav(services, wav, principal.user.id, task.id))
    # "n of N": this clip's place in the reviewer's session, and what is left that they may take.
    progress = {"n": counts["done_this_session"] + 1, "total": counts["done_this_session"] + 1 + counts["available"], "left": counts["available"], "capped": counts["capped"]}
    context = {
        "principal": principal, "view": view, "plan": plan, "audio_url": f"/staff/review/tasks/{task.id}/audio?ticket={ticket}", "draft": draft,
        "progress": progress, "warning": sensitive.CATEGORY_LABELS.get(task.sensitivity), "reasons": sensitive.STOP_REASONS,
    }
    return templates.TemplateResponse(request, "staff/review_task.html", context)


@router.post("/tasks/{task_id}/whole")
def whole_clip(task_id: str, principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> JSONResponse:
    """"Hear the whole clip": an explicit choice, audited before the link is given (and counted
    per reviewer for supervisors). Returns a single-use link and each word's time in the clip."""
    task = task_leases.leased_task(db, task_id, principal.user.id)
    view = reviewer_view(services, db, task)
    times = listening_plan(services, db, task, view).whole_times
    services.audit.record(db, principal.actor, WHOLE_CLIP, task.id)
    ticket = task_leases.issue_ticket(services, db, task, _session_hash(principal, whole=True))
    task_leases.renew(services, task)
    db.commit()
    words = [{"index": i, "start": a, "end": b} for i, (a, b) in sorted(times.items())]
    return JSONResponse({"audio": f"/staff/review/tasks/{task.id}/audio?ticket={ticket}&whole=1", "words": words})


@router.get("/tasks/{task_id}/audio")
def task_audio(task_id: str, ticket: str = Query("", max_length=100), whole: bool = Query(False), principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> Response:
    try:
        task = task_leases.leased_task(db, task_id, principal.user.id)
        task_leases.redeem_ticket(db, task.id, ticket, _session_hash(principal, whole))
    except SottovoceError:
        # Fetching audio without a lease or a valid link is what exfiltration looks like: record it.
        db.rollback()
        services.audit.record(db, principal.actor, "review.audio_denied", task_id[:64])
        raise
    if abuse.audio_fetches_last_minute(db, principal.user.id) >= services.settings.abuse_audio_per_minute:
        abuse.raise_alert(services, db, "rate_limit", principal.user.id, "audio fetch rate limit reached")
        db.commit()
        raise TooManyRequests("too many clips in a minute; slow down")
    # The served clip names its receiver: a per-reviewer, per-task forensic watermark.
    wav = (None if whole else PREPARED.take(ticket)) or mark_wav(services, _served_wav(services, db, task, None, whole), principal.user.id, task.id)
    services.audit.record(db, principal.actor, "review.audio_served", task.id, {"kind": task.kind, "listening": "whole" if whole else "windows"})
    # Inline, never cached, no file name: nothing invites saving the clip.
    headers = {"Cache-Control": "no-store", "Content-Disposition": "inline"}  # nosniff comes from web/security.py
    return Response(wav, media_type="audio/wav", headers=headers)


@router.get("/tasks/{task_id}/status")
def task_status(task_id: str, principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db)) -> JSONResponse:
    try:
        task_leases.leased_task(db, task_id, principal.user.id)
    except Conflict:
        return JSONResponse({"status": "withdrawn"})
    return JSONResponse({"status": "leased"})


@router.post("/tasks/{task_id}/heartbeat")
def heartbeat(task_id: str, principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> JSONResponse:
    task = task_leases.leased_task(db, task_id, principal.user.id)
    task_leases.renew(services, task)
    db.commit()
    return JSONResponse({"status": "leased"})


@router.post("/tasks/{task_id}/submit")
def submit_task(task_id: str, submission: Submission = Body(...), principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> JSONResponse:
    task = task_leases.leased_task(db, task_id, principal.user.id)
    submit(services, db, task, principal.actor, submission)
    db.commit()
    return JSONResponse({"next": NEXT})


@router.post("/tasks/{task_id}/skip")
def skip_task(task_id: str, principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> JSONResponse:
    task = task_leases.leased_task(db, task_id, principal.user.id)
    skip(services, db, task, principal.actor)
    db.commit()
    return JSONResponse({"next": NEXT})


@router.post("/tasks/{task_id}/draft")
def save_draft(task_id: str, draft: drafts.Draft = Body(...), principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> JSONResponse:
    """The unsaved edits, so a reload keeps them (sealed; review/drafts.py). Renews the lease."""
    task = task_leases.leased_task(db, task_id, principal.user.id)
    drafts.save(services, db, task, principal.user.id, draft)
    task_leases.renew(services, task)
    db.commit()
    return JSONResponse({"status": "saved"})


class Stop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(sensitive.OTHER, max_length=20)


@router.post("/tasks/{task_id}/stop")
def stop_task(task_id: str, stop: Stop | None = Body(None), principal: StaffPrincipal = Depends(reviewer), db: Session = Depends(get_db), services: Services = Depends(get_services)) -> JSONResponse:
    task = task_leases.leased_task(db, task_id, principal.user.id)
    stop_sensitive(services, db, task, principal.actor, stop.reason if stop else sensitive.OTHER)
    exposure = sensitive.after_stop(services, db, principal.actor)
    db.commit()
    # At the exposure limit the reviewer is offered a break before anything else.
    return JSONResponse({"next": NEXT, "break": "/staff/review/break" if exposure.break_offered else None})
