"""Temporal's remote codec for the Temporal UI: an authenticated caller sees payloads opened.

`POST /codec/decode` and `POST /codec/encode` take and answer `{"payloads": [...]}` in
Temporal's proto-JSON form, with the keys the API's own Temporal client seals with. A
browser may call them from the Temporal UI's origin only (CORS on these paths alone).
"""

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.auth import require
from codec import CannotOpen, KeysRefused, SealingCodec, keys_file
from settings import Settings

PREFIX = "/codec"

router = APIRouter(prefix=PREFIX, tags=["codec"], dependencies=[Depends(require())])


def _codec(request: Request) -> SealingCodec:
    """The codec, made from the keys file on first use (so the API starts without one)."""
    state = request.app.state
    if getattr(state, "codec", None) is None:
        try:
            state.codec = SealingCodec.from_file(keys_file(state.intake.settings))
        except KeysRefused as refusal:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(refusal)) from None
    return state.codec


async def _payloads(request: Request) -> Payloads:
    try:
        return json_format.Parse(await request.body(), Payloads())
    except json_format.ParseError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"expected {{\"payloads\": [...]}}: {error}") from None


def _answer(payloads: list) -> Response:
    return Response(json_format.MessageToJson(Payloads(payloads=payloads)), media_type="application/json")


@router.post("/decode")
async def decode(request: Request, codec: SealingCodec = Depends(_codec)) -> Response:
    """The payloads opened: a sealed one becomes what was sealed, any other is left as it is."""
    try:
        return _answer(await codec.decode((await _payloads(request)).payloads))
    except CannotOpen as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None


@router.post("/encode")
async def encode(request: Request, codec: SealingCodec = Depends(_codec)) -> Response:
    """The payloads sealed with the current key."""
    return _answer(await codec.encode((await _payloads(request)).payloads))


class UiCors:
    """CORS for the Temporal UI's origins, on the codec's paths only."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["POST"], allow_credentials=True,
                                   allow_headers=["Authorization", "Content-Type", "X-Namespace"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        on_codec = scope["type"] == "http" and scope["path"].startswith(PREFIX + "/")
        await (self.cors if on_codec else self.app)(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """The codec's routes, callable from the Temporal UI's origin."""
    app.include_router(router)
    app.add_middleware(UiCors, origins=[f"http://{host}:{settings.ui_port}" for host in ("localhost", "127.0.0.1")])
