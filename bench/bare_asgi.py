"""The baseline for bench/api_throughput.py: an ASGI hello-world served the way Bozor serves.

One process, uvloop (as the `bozor` command runs), uvicorn with the options of
bozor.runtime.serve: lifespan off, log level warning, the default HTTP implementation.

    python bench/bare_asgi.py --port 8000
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
import uvloop

Message = MutableMapping[str, Any]
BODY = b"Hello, world!"
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def serve(host: str, port: int) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    arguments = parser.parse_args()
    uvloop.run(serve(arguments.host, arguments.port))
