"""The API application: its state (intake, order store, authenticator) and its error answers.

A refusal from the intake becomes 422, 404 or 409 with the text the CLI prints; a bad request
body becomes 422 naming every bad field; anything else is a 500 with one line, never a trace.
"""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from temporalio.common import MetricMeter

from api import codec, decisions, events, fallouts, hub, nightly, orders, reconcile, services, submissions, tokens
from api.auth import Authenticator
from api.metrics import count_requests
from intake import Intake
from refusal import Refusal, RefusalKind, Unavailable, problem_text
from store import OrderStore

log = logging.getLogger(__name__)

REFUSAL_STATUS = {RefusalKind.invalid: 422, RefusalKind.not_found: 404, RefusalKind.conflict: 409,
                  RefusalKind.forbidden: 403}


def create_app(intake: Intake, store: OrderStore, authenticator: Authenticator,
               meter: MetricMeter | None = None) -> FastAPI:
    """The API; with `meter`, every request is counted by method, route and status."""
    app = FastAPI(title="vpdn GPMS order API", version="1")
    app.state.intake, app.state.store, app.state.authenticator = intake, store, authenticator
    if meter is not None:
        count_requests(app, meter)

    @app.exception_handler(Refusal)
    async def refused(request: Request, refusal: Refusal) -> JSONResponse:
        return JSONResponse({"detail": refusal.text}, status_code=REFUSAL_STATUS[refusal.kind])

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, error: Unavailable) -> JSONResponse:
        return JSONResponse({"detail": error.text}, status_code=503)

    @app.exception_handler(OperationalError)
    async def store_unreachable(request: Request, error: OperationalError) -> JSONResponse:
        url = store.engine.url.render_as_string(hide_password=True)
        return JSONResponse({"detail": f"the order store is unreachable ({url}): {error.orig}"}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        fields = ("; ".join(f"{'.'.join(str(part) for part in problem['loc'][1:]) or 'body'}: {problem_text(problem)}"
                            for problem in error.errors()))
        return JSONResponse({"detail": fields}, status_code=422)

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": f"the API failed: {type(error).__name__}; see its log"}, status_code=500)

    for router in (tokens.router, decisions.router, submissions.router, orders.router, services.router,
                   fallouts.router, reconcile.router, nightly.router, events.router, hub.router):
        app.include_router(router)
    codec.install(app, intake.settings)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict:
        return {"status": "ok"}

    return app
