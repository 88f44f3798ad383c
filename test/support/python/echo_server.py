"""websockets echo server for interop tests (started by test/support/python.ts).

Listens on 127.0.0.1, port 0 (ephemeral) and prints `PORT <n>` as its first
stdout line. Echoes every message (text stays text, binary stays binary).
The text message `close:<code>:<reason>` makes it close with that code/reason.
Stops on SIGTERM / SIGINT / stdin EOF.
"""

import argparse
import asyncio
import os
import signal
import ssl
import sys

from ws_compat import ConnectionClosed, compression_arg, serve


async def handler(ws):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("close:"):
                _, code, reason = message.split(":", 2)
                await ws.close(code=int(code), reason=reason)
                return
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compression", default="deflate")
    parser.add_argument("--subprotocol", action="append", default=[])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()

    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)

    kwargs = dict(
        compression=compression_arg(args.compression),
        max_size=None,
        ping_interval=None,
        ssl=ctx,
    )
    if args.subprotocol:
        kwargs["subprotocols"] = args.subprotocol

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    # The parent closing our stdin (or dying) also stops us: no orphans.
    loop.add_reader(sys.stdin.fileno(), lambda: os.read(sys.stdin.fileno(), 65536) or (stop.done() or stop.set_result(None)))

    async with serve(handler, "127.0.0.1", 0, **kwargs) as server:
        port = list(server.sockets)[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
