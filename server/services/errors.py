"""The one shape of a refused request that services raise and routes answer."""

from __future__ import annotations

from typing import Any


class StatusError(Exception):
    """`status` is the HTTP status to answer with, `code` the API error code; `detail` is extra
    JSON the API answer carries beside them (what a page needs to show the refusal)."""

    def __init__(self, status: int, code: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
