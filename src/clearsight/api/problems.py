"""Problem details (RFC 9457) for every error the API returns.

Plain HTTP errors use the type `about:blank` with the status phrase as title. Errors with
API-specific meaning get a type that is a relative reference under `/problems/` (reserved for
pages describing them) and may carry extension members such as `device_id` or `errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"  # RFC 9457 §3

ABOUT_BLANK = "about:blank"  # RFC 9457 §4.2.1: the problem is no more than its HTTP status
VALIDATION_FAILED = "/problems/validation-failed"
DEVICE_OFFLINE = "/problems/device-offline"
DEVICE_TIMEOUT = "/problems/device-timeout"
DEVICE_REJECTED = "/problems/device-rejected"
LOGIN_THROTTLED = "/problems/login-throttled"
LIVE_VIEW_FAILED = "/problems/live-view-failed"  # extensions: step, detail


def status_title(status: int) -> str:
    """The reason phrase for `status`, or a generic title for codes `http` does not know."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ProblemDetail(BaseModel):
    """An RFC 9457 problem object; extension members are allowed."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default=ABOUT_BLANK, description="URI reference identifying the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(ge=100, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="Explanation of this occurrence.")
    instance: str | None = Field(default=None, description="The request path this occurrence concerns.")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class Problem(Exception):
    """Raise from a router or dependency to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        type_: str = ABOUT_BLANK,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or status_title(status))
        self.status = status
        self.detail = detail
        self.type = type_
        self.title = title or status_title(status)
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})


def problem_response(request: Request, problem: Problem) -> ProblemResponse:
    body = ProblemDetail(
        type=problem.type,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=request.url.path,
        **problem.extensions,
    )
    return ProblemResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        headers=problem.headers,
    )


# For `responses=` on routes: documents the problem schema for error statuses in OpenAPI.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ProblemDetail, "description": "Client error (RFC 9457 problem details)."},
    "5XX": {"model": ProblemDetail, "description": "Server error (RFC 9457 problem details)."},
}
