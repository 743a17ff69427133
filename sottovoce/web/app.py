"""The application factory. Routers are registered in one list, one router per audience."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from sottovoce.recovery import recover
from sottovoce.services import Services
from sottovoce.web import errors
from sottovoce.web.api import recordings
from sottovoce.worker import Worker

ROUTERS = [recordings.router]


def create_app(services: Services, run_worker: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        recover(services)
        worker = None
        if run_worker and services.settings.asr_workers > 0:
            worker = Worker(services, threads=services.settings.asr_workers)
            worker.start()
        app.state.worker = worker
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(title="sottovoce", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json")
    app.state.services = services
    app.state.worker = None
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    return app
