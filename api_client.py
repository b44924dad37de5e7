"""How the CLI reaches the API (VPDN_API_URL): as whom, and its answers in one line.

The person acting is chosen by the global `vpdn --as NAME` (its token from the data folder's
credentials.json, which `vpdn up` writes), else by VPDN_API_TOKEN, else the credentials'
default person (`vpdn up`'s read-only `viewer`), so reading needs no option under `vpdn up`.
A refusal (4xx) is an `ApiError` carrying the API's text and exit code 2; an API that cannot
be reached or that fails is one line and exit code 1. `cli` prints an ApiError as it prints every error.
"""

import json
from typing import Any

import httpx

from settings import Settings

TOKEN_VARIABLE = "VPDN_API_TOKEN"
# A submission's member file may take the API a while to check and stage (100 000 lines).
SUBMISSION_TIMEOUT = httpx.Timeout(30, read=600, write=600)


class ApiError(Exception):
    """The API refused (`status` 4xx, exit code 2) or could not answer (exit code 1)."""

    def __init__(self, text: str, exit_code: int, status: int | None = None) -> None:
        super().__init__(text)
        self.text, self.exit_code, self.status = text, exit_code, status


_acting_as: str | None = None


def act_as(name: str | None) -> None:
    """Act as `name` (from credentials.json) in this command's calls; None: VPDN_API_TOKEN,
    else the credentials' default person."""
    global _acting_as
    _acting_as = name


def people(settings: Settings) -> dict[str, dict]:
    """The local people of credentials.json: {name: {"token", "roles", "default"?}}."""
    path = settings.credentials_file
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ApiError(f"cannot read the credentials {'of --as ' + _acting_as + ' ' if _acting_as else ''}in {path} "
                       f"(`vpdn up` writes them): {getattr(error, 'strerror', None) or error}", 2) from None


def token(settings: Settings) -> str:
    """The bearer token of the person acting."""
    if _acting_as is None and settings.api_token:
        return settings.api_token
    if _acting_as is None and not settings.credentials_file.exists():
        raise ApiError(f"who is acting? choose a person with `vpdn --as NAME …` (the names in "
                       f"{settings.credentials_file}, which `vpdn up` writes) or set {TOKEN_VARIABLE}", 2)
    known = people(settings)
    name = _acting_as or next((name for name, person in known.items() if person.get("default")), None)
    if name is None:
        raise ApiError(f"who is acting? choose a person with `vpdn --as NAME …` ({', '.join(known)}) "
                       f"or set {TOKEN_VARIABLE}", 2)
    if name not in known:
        raise ApiError(f"no credentials for {name} in {settings.credentials_file}; known are {', '.join(known)}", 2)
    return known[name]["token"]


def call(method: str, path: str, *, body: Any = None, params: dict | None = None, timeout: Any = 60) -> Any:
    """Call the API as the person acting with a JSON `body`; its JSON answer, or an ApiError."""
    return request(method, path, json=body, params=params, timeout=timeout).json()


def request(method: str, path: str, *, timeout: Any = 60, **sent: Any) -> httpx.Response:
    """Call the API as the person acting (`sent`: httpx's json, params, data, files, content);
    its answer when it succeeded (2xx, 3xx), else an ApiError."""
    settings = Settings()
    url = settings.api_url.rstrip("/")
    if "params" in sent and sent["params"]:
        sent["params"] = {key: value for key, value in sent["params"].items() if value is not None}
    try:
        response = httpx.request(method, url + path, timeout=timeout,
                                 headers={"Authorization": f"Bearer {token(settings)}"}, **sent)
    except httpx.TransportError as error:
        raise ApiError(f"cannot reach the API at {url}: is `vpdn up` (or `vpdn api`) running? ({error})", 1) from None
    if response.status_code < 400:
        return response
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = response.text or response.reason_phrase
    if response.status_code == 503:
        raise ApiError(str(detail), 1, 503)
    if response.status_code >= 500:
        raise ApiError(f"the API at {url} failed: {detail}", 1, response.status_code)
    if response.status_code == 401:
        raise ApiError(f"the API at {url} refused the token: {detail}", 2, 401)
    raise ApiError(str(detail), 2, response.status_code)
