"""One APIRouter per resource: health (liveness, readiness) and payments."""
