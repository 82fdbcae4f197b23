"""Health routes: liveness (/healthz) and readiness (/readyz), each with an /api/ alias.

The ALB target group and the container HEALTHCHECK both use liveness, /healthz. It touches
nothing but the process, and runs on the event loop (async, like every route), so it answers
even while requests wait for the database. A database blip therefore does not make ECS replace
every task at once: tasks that cannot reach the database answer 503 on the payment routes
and recover by themselves when it returns. /readyz is for people and dashboards: one round
trip through the pool (db.READY_STATEMENT: SELECT 1 from the API's tables, so a database the
migrations have not made, or a login outside payments_app, is not ready), 503 "database
unavailable" when the database cannot be used; why (host, port, driver error) goes to the log
only, never to the caller.

Liveness also says what is deployed: the version and the git commit the image was built from
(GIT_COMMIT, baked in by the image build), so a rollback or a release can be checked from
outside with one request.
"""

import logging

from fastapi import APIRouter, Response, status

from payments_api.db import RETRY_AFTER_SECONDS
from payments_api.db_connection import DatabaseUnavailableError
from payments_api.deps import PoolDep, SettingsDep
from payments_api.models import Liveness, Readiness
from payments_api.routes import REFUSED_BEFORE_THE_ROUTE, operation_id

logger = logging.getLogger(__name__)
router = APIRouter(
    tags=["health"],
    responses=REFUSED_BEFORE_THE_ROUTE,
    generate_unique_id_function=operation_id,
)
# All the public learns: host, port and driver errors stay in the log.
UNAVAILABLE_REASON = "database unavailable"


@router.get("/healthz")
@router.get("/api/healthz", include_in_schema=False)
async def liveness(settings: SettingsDep) -> Liveness:
    """200 while the process serves requests, with the version and the commit it runs; never
    looks at the database."""
    return Liveness(status="ok", version=settings.app_version, commit=settings.git_commit)


@router.get(
    "/readyz",
    response_model_exclude_none=True,
    responses={503: {"model": Readiness, "description": "The database cannot be used."}},
)
@router.get("/api/readyz", response_model_exclude_none=True, include_in_schema=False)
async def readiness(pool: PoolDep, response: Response) -> Readiness:
    """200 when a pooled connection answers SELECT 1, else 503 with the reason."""
    # The public reason is only "database unavailable"; the driver's (host, port, error) is
    # logged. (This docstring is in the OpenAPI document the web app's types come from.)
    try:
        await pool.check_ready()
    except DatabaseUnavailableError as error:
        logger.warning("not ready: database unavailable", extra={"reason": error.reason})
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return Readiness(status="unavailable", reason=UNAVAILABLE_REASON)
    return Readiness(status="ready")
