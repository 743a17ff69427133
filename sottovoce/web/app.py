"""The application factory. Routers are registered in one list, one router per audience.

Every route declares a policy (web/policies.py); tests/web/test_route_policies.py fails on any
route without one. Security headers (web/security.py) wrap every response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select, text

from sottovoce.accounts.retention import sweep as retention_sweep
from sottovoce.core.services import Services
from sottovoce.db.engine import pool_status
from sottovoce.db.models import Job
from sottovoce.jobs import housekeeping
from sottovoce.jobs.periodic import Periodic
from sottovoce.jobs.recovery import recover
from sottovoce.jobs.review import sample_and_queue_renders
from sottovoce.jobs.worker import Worker
from sottovoce.web import errors, site
from sottovoce.web.admission import StaffAdmission, StaffLanes
from sottovoce.web.api import me as me_api
from sottovoce.web.api import recordings
from sottovoce.web.me import auth as me_auth
from sottovoce.web.me import consent as me_consent
from sottovoce.web.me import home as me_home
from sottovoce.web.me import receipts as me_receipts
from sottovoce.web.me import recordings as me_recordings
from sottovoce.web.me import retention as me_retention
from sottovoce.web.policies import public
from sottovoce.web.security import SecurityHeaders
from sottovoce.web.staff import admin, audit_log, auth, home, privacy, review, safety, supervise
from sottovoce.web.templating import templates

# One list per audience. A process may serve only some (setting AUDIENCES): the device API on a
# public host, staff pages on an internal one; a route of another audience is simply absent there.
ROUTERS = {
    "devices": [recordings.router],
    "holders": [me_api.router, me_auth.router, me_home.router, me_recordings.router, me_consent.router, me_retention.router, me_receipts.router],
    "staff": [auth.router, home.router, admin.router, audit_log.router, review.router, supervise.router, privacy.router, safety.router],
}
STATIC = Path(__file__).parent / "static"


def create_app(services: Services, run_worker: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        recover(services)
        worker = None
        if run_worker and services.settings.asr_workers > 0:
            worker = Worker(services, threads=services.settings.asr_workers)
            worker.start()
        app.state.worker = worker
        sampler = None
        if run_worker:
            interval = services.settings.sampler_interval_minutes * 60
            sampler = Periodic("sampler", interval, lambda: sample_and_queue_renders(services)).start()
        chores = Periodic("housekeeping", housekeeping.EVERY_S, lambda: housekeeping.run(services)).start()
        sweeper = None
        if run_worker and services.settings.retention_sweep_minutes > 0:
            sweeper = Periodic("retention", services.settings.retention_sweep_minutes * 60, lambda: retention_sweep(services)).start()
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.stop()
            if sampler is not None:
                sampler.stop()
            if worker is not None:
                worker.stop()
            chores.stop()
            if services.audit.appended_since_checkpoint:  # a clean shutdown signs the head it leaves
                services.audit.checkpoint_if_behind(services.sessions)

    app = FastAPI(title="sottovoce", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    app.state.worker = None
    errors.install(app)
    site.install(app)  # HEAD where GET works, /favicon.ico
    lanes = StaffLanes(services.settings.staff_concurrency) if services.settings.staff_concurrency > 0 else None
    if lanes is not None:  # added first: SecurityHeaders wraps its 503 too
        app.add_middleware(StaffAdmission, lanes=lanes, timeout_s=services.settings.staff_queue_timeout_s)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for audience in services.settings.audience_list:
        for router in ROUTERS[audience]:
            app.include_router(router)

    @app.get("/", response_class=HTMLResponse, dependencies=[Depends(public())])
    def index(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {})

    @app.get("/healthz", dependencies=[Depends(public())])
    def healthz() -> JSONResponse:
        """For monitoring: the database answers, the pool has room, the worker's threads live."""
        database: dict = {"ok": True}
        queue: dict = {}
        try:
            with services.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                oldest = conn.execute(select(func.count(), func.min(Job.created_at)).where(Job.status == "queued")).one()
                queue = {"queued": oldest[0]}
        except Exception as exc:  # pool exhausted or database down: say so, with no details of the data
            database = {"ok": False, "error": type(exc).__name__}
        worker = app.state.worker
        worker_state = {"running": worker is not None, "threads_alive": worker.alive() if worker is not None else 0, **queue}
        worker_ok = worker is None or worker.alive() > 0
        body = {"ok": database["ok"] and worker_ok, "database": database, "pool": pool_status(services.engine), "worker": worker_state,
                "staff_admission": lanes.status() if lanes is not None else None}
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    # The JSON API's schema, for generating clients (docs/interop.md); FastAPI's /openapi.json stays off.
    @app.get("/api/openapi.json", dependencies=[Depends(public())], include_in_schema=False)
    def openapi_schema() -> dict:
        from sottovoce.web.api.schemas import api_schema

        return api_schema(app)

    return app
