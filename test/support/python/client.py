"""websockets client for interop tests (run by test/support/python.ts).

Usage: client.py URL --scenario echo-check|close-probe|connect-only
                 [--compression deflate|none] [--subprotocol P ...] [--ca FILE]
Always prints exactly one JSON line on stdout with its observations.
"""

import argparse
import asyncio
import hashlib
import json
import ssl
import sys
import traceback

from ws_compat import VERSION, ConnectionClosed, compression_arg, connect, response_headers


def summary(message, expected=None):
    data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
    out = {
        "type": "text" if isinstance(message, str) else "binary",
        "length": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if expected is not None:
        out["equal"] = type(message) is type(expected) and message == expected
    return out


def close_info(ws):
    return {"code": ws.close_code, "reason": ws.close_reason}


async def scenario_echo_check(ws, result):
    big = "".join(chr(97 + i % 26) for i in range(100 * 1024))
    for message in ["hello", bytes(range(256)), big]:
        await ws.send(message)
        reply = await ws.recv()
        result["messages"].append(summary(reply, message))
    await ws.close(code=4000, reason="done")
    result["close"] = close_info(ws)
    result["ok"] = all(m["equal"] for m in result["messages"])


async def scenario_close_probe(ws, result):
    await ws.send("close:4001:bye")
    try:
        while True:
            result["messages"].append(summary(await ws.recv()))
    except ConnectionClosed:
        pass
    await ws.wait_closed()
    result["close"] = close_info(ws)
    result["ok"] = result["close"]["code"] == 4001 and result["close"]["reason"] == "bye"


async def scenario_connect_only(ws, result):
    await ws.close(code=1000, reason="")
    result["close"] = close_info(ws)
    result["ok"] = True


SCENARIOS = {
    "echo-check": scenario_echo_check,
    "close-probe": scenario_close_probe,
    "connect-only": scenario_connect_only,
}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--scenario", default="echo-check", choices=sorted(SCENARIOS))
    parser.add_argument("--compression", default="deflate")
    parser.add_argument("--subprotocol", action="append", default=[])
    parser.add_argument("--ca")
    args = parser.parse_args()

    result = {
        "ok": False,
        "scenario": args.scenario,
        "websocketsVersion": VERSION,
        "subprotocol": None,
        "extensions": None,
        "messages": [],
        "close": None,
        "error": None,
    }
    kwargs = dict(compression=compression_arg(args.compression), max_size=None, ping_interval=None)
    if args.subprotocol:
        kwargs["subprotocols"] = args.subprotocol
    if args.url.startswith("wss:"):
        kwargs["ssl"] = ssl.create_default_context(cafile=args.ca) if args.ca else ssl.create_default_context()
    try:
        async with connect(args.url, **kwargs) as ws:
            result["subprotocol"] = ws.subprotocol
            result["extensions"] = response_headers(ws).get("Sec-WebSocket-Extensions")
            await SCENARIOS[args.scenario](ws, result)
    except Exception as exc:  # reported, not raised: the test asserts on it
        result["ok"] = False
        result["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
