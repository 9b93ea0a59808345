"""A Python `websockets` echo server for wsx interop tests.

Prints "PORT <n>" once listening on 127.0.0.1. Echoes every message; a text message
"close <code> <reason>" makes the server close with that code and reason instead.
Arguments: [--compress] [--protocol P ...]
"""
import asyncio
import sys

import websockets


async def handler(ws, path=None):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("close "):
                _, code, reason = (message.split(" ", 2) + [""])[:3]
                await ws.close(int(code), reason)
                return
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    args = sys.argv[1:]
    compression = "deflate" if "--compress" in args else None
    protocols = [args[i + 1] for i, a in enumerate(args) if a == "--protocol"]
    async with websockets.serve(
        handler, "127.0.0.1", 0, compression=compression,
        subprotocols=protocols or None, max_size=64 * 1024 * 1024,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        await asyncio.Future()


asyncio.run(main())
