"""The CLI's way in: GPMS's API over HTTP (`VPDN_API_URL`, bearer token `VPDN_API_TOKEN`).

Every refusal or failure becomes one `ApiError` line with the API's own text and status.
"""

import os
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8300"


class ApiError(Exception):
    """The API refused (its status and text), or could not be reached (status None)."""

    def __init__(self, text: str, status: int | None = None) -> None:
        super().__init__(text)
        self.text, self.status = text, status


def base_url() -> str:
    return os.environ.get("VPDN_API_URL") or DEFAULT_URL


def session() -> httpx.Client:
    """An HTTP client of the API (tests put the app in-process here)."""
    token = os.environ.get("VPDN_API_TOKEN")
    return httpx.Client(base_url=base_url(), timeout=60,
                        headers={"Authorization": f"Bearer {token}"} if token else {})


def get(path: str, params: dict[str, Any] | None = None) -> Any:
    """The API's answer (JSON) to GET `path`."""
    return _answer("GET", path, params={k: v for k, v in (params or {}).items() if v is not None})


def post(path: str, json: Any = None, files: dict | None = None, data: dict | None = None) -> Any:
    """The API's answer to POST `path` with a JSON body, or a multipart form with `files`."""
    return _answer("POST", path, json=json, files=files, data=data)


def _answer(method: str, path: str, **request: Any) -> Any:
    try:
        with session() as client:
            response = client.request(method, path, **request)
    except httpx.HTTPError as error:
        raise ApiError(f"cannot reach the GPMS API at {base_url()}: is `vpdn up` running? ({error})") from None
    if response.is_success:
        return response.json()
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = response.text.strip() or response.reason_phrase
    raise ApiError(detail if isinstance(detail, str) else str(detail), response.status_code)
