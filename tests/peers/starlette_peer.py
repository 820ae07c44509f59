"""An event-stream origin built on sse-starlette, served by uvicorn on 127.0.0.1, for
tests/sse_peers.rs. The stream and its wire format are sse-starlette's; this script only says
what to send.

stdout, one line each: "port N" once listening; "connect MS LAST-EVENT-ID" per request ("-" when
none); "end MS" when a stream's last event was handed to the server. MS: Unix time in ms.

GET /events query: count=N events (default 3) with ids after the request's Last-Event-ID (or from
1), type "tick", two data lines "event ID" and "second line"; retry=MS sends a retry field first;
gap=S seconds between events; hold=S seconds of silence before the last event; ping=S keep-alive
comment period (0: none); sep=crlf|lf|cr (default: sse-starlette's own). The stream ends after
the last event.
"""

import asyncio
import socket
import sys
import time

import uvicorn
from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.routing import Route

SEPARATORS = {"crlf": "\r\n", "lf": "\n", "cr": "\r"}


def say(line):
    print(line, flush=True)


def now_ms():
    return int(time.time() * 1000)


async def events(request):
    q = request.query_params
    last = request.headers.get("last-event-id")
    say(f"connect {now_ms()} {last or '-'}")
    first = int(last) + 1 if last else 1
    count = int(q.get("count", "3"))
    retry = q.get("retry")
    gap = float(q.get("gap", "0"))
    hold = float(q.get("hold", "0"))
    sep = SEPARATORS.get(q.get("sep", ""))

    async def stream():
        if retry is not None:
            yield ServerSentEvent(retry=int(retry), sep=sep)
        for i in range(first, first + count):
            if i == first + count - 1 and hold:
                await asyncio.sleep(hold)
            elif i != first and gap:
                await asyncio.sleep(gap)
            yield ServerSentEvent(f"event {i}\nsecond line", id=str(i), event="tick", sep=sep)
        say(f"end {now_ms()}")

    return EventSourceResponse(stream(), ping=float(q.get("ping", "0")), sep=sep)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    app = Starlette(routes=[Route("/events", events)])
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    say(f"port {sock.getsockname()[1]}")
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    sys.exit(main())
