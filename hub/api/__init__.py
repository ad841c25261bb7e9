"""The JSON API under /api/v1, described by the OpenAPI document at /api/v1/openapi.json."""

from hub.api.views import bp

__all__ = ["bp"]
