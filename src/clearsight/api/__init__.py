"""The HTTP API (FastAPI): `create_app()` builds it around the platform's services."""

from clearsight.api.app import create_app
from clearsight.api.ports import ApiConfig

__all__ = ["ApiConfig", "create_app"]
