"""Python `websockets` echo server for wsx interop tests (test/helpers/python.ts).

Arguments: [--compression] [--subprotocol P]... [--cert FILE --key FILE] [--max-size N]
Prints JSON lines: {"event": "listening", "port": N}, then one "connection" and one "closed"
event per client. Exits when its stdin closes (so it never outlives the test process).
"""
import asyncio
import json
import os
import ssl
import sys

import websockets


def emit(**event):
    print(json.dumps(event), flush=True)


async def handler(ws, path=None):
    emit(event="connection", path=getattr(ws, "path", path), subprotocol=ws.subprotocol)
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    emit(event="closed", code=ws.close_code, reason=ws.close_reason)


async def main():
    args = sys.argv[1:]

    def value(name, default=None):
        return args[args.index(name) + 1] if name in args else default

    subprotocols = [args[i + 1] for i, a in enumerate(args) if a == "--subprotocol"]
    context = None
    if "--cert" in args:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(value("--cert"), value("--key"))
    stop = asyncio.get_running_loop().create_future()

    def on_stdin():
        if not os.read(0, 4096) and not stop.done():
            stop.set_result(None)

    asyncio.get_running_loop().add_reader(0, on_stdin)
    async with websockets.serve(
        handler,
        "127.0.0.1",
        0,
        compression="deflate" if "--compression" in args else None,
        subprotocols=subprotocols or None,
        max_size=int(value("--max-size", 64 * 1024 * 1024)),
        ping_interval=None,
        ssl=context,
    ) as server:
        emit(event="listening", port=next(iter(server.sockets)).getsockname()[1])
        await stop


asyncio.run(main())
