"""Python `websockets` client for wsx interop tests (test/helpers/python.ts).

Reads a JSON spec on stdin: url, messages ([{"text"} | {"binary": base64}]), expect (a count
or "close"), close ({code, reason} or null), subprotocols, compression, headers, ca,
maxSize, timeout. Prints JSON lines: open, message, close, error.
"""
import asyncio
import base64
import json
import ssl
import sys

import websockets


def emit(**event):
    print(json.dumps(event), flush=True)


async def run(spec):
    context = None
    if spec["url"].startswith("wss:"):
        context = ssl.create_default_context(cafile=spec.get("ca"))
    async with websockets.connect(
        spec["url"],
        subprotocols=spec.get("subprotocols") or None,
        compression="deflate" if spec.get("compression") else None,
        extra_headers=spec.get("headers") or None,
        max_size=spec.get("maxSize"),
        ssl=context,
        ping_interval=None,
    ) as ws:
        emit(event="open", subprotocol=ws.subprotocol, extensions=[type(e).__name__ for e in ws.extensions])
        for m in spec.get("messages", []):
            await ws.send(m["text"] if "text" in m else base64.b64decode(m["binary"]))
        expect = spec.get("expect", 0)
        try:
            count = 0
            while expect == "close" or count < expect:
                reply = await ws.recv()
                count += 1
                if isinstance(reply, bytes):
                    emit(event="message", type="binary", data=base64.b64encode(reply).decode())
                else:
                    emit(event="message", type="text", data=reply)
        except websockets.ConnectionClosed:
            pass
        close = spec.get("close")
        if close is not None and ws.open:
            await ws.close(close["code"], close["reason"])
        await ws.wait_closed()
        emit(event="close", code=ws.close_code, reason=ws.close_reason)


def main():
    spec = json.loads(sys.stdin.read())
    try:
        asyncio.run(asyncio.wait_for(run(spec), spec.get("timeout", 10)))
    except Exception as error:  # reported to the test as an event
        emit(event="error", error=type(error).__name__, message=str(error))
        sys.exit(1)


main()
