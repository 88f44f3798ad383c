"""Compatibility shim over the installed `websockets` (10.x .. 15.x).

websockets >= 13 ships the new asyncio implementation under
websockets.asyncio.*; older releases only have the legacy one under
websockets.server / websockets.client. Both expose serve()/connect() with the
options used here (compression, subprotocols, ssl, max_size, ping_interval).
"""

import websockets

try:  # websockets >= 13
    from websockets.asyncio.server import serve  # type: ignore
    from websockets.asyncio.client import connect  # type: ignore
    NEW_API = True
except ImportError:  # websockets 10.x - 12.x (legacy asyncio implementation)
    from websockets.server import serve  # type: ignore
    from websockets.client import connect  # type: ignore
    NEW_API = False

from websockets.exceptions import ConnectionClosed  # noqa: F401

VERSION = websockets.__version__


def response_headers(ws):
    """HTTP headers of the handshake response (client side)."""
    if NEW_API:
        return ws.response.headers
    return ws.response_headers


def request_headers(ws):
    """HTTP headers of the handshake request (server side)."""
    if NEW_API:
        return ws.request.headers
    return ws.request_headers


def request_path(ws):
    if NEW_API:
        return ws.request.path
    return ws.path


def compression_arg(value):
    return None if value in (None, "", "none", "None") else value
