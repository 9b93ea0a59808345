"""A Python `websockets` client for wsx interop tests.

Usage: client.py URL [--compress] — sends each stdin line as a text message (a line
"BIN <hex>" as binary), prints every reply as a JSON line, then closes with 1000 and prints
{"close": code, "extensions": [...]}.
"""
import asyncio
import json
import sys

import websockets


async def main():
    url = sys.argv[1]
    compression = "deflate" if "--compress" in sys.argv else None
    lines = [l.rstrip("\n") for l in sys.stdin]
    async with websockets.connect(url, compression=compression, max_size=64 * 1024 * 1024) as ws:
        exts = [type(e).__name__ for e in ws.extensions]
        for line in lines:
            if line.startswith("BIN "):
                await ws.send(bytes.fromhex(line[4:]))
            else:
                await ws.send(line)
            reply = await ws.recv()
            if isinstance(reply, bytes):
                print(json.dumps({"binary": reply.hex()}), flush=True)
            else:
                print(json.dumps({"text": reply}), flush=True)
        await ws.close(1000, "done")
        print(json.dumps({"close": ws.close_code, "extensions": exts}), flush=True)


asyncio.run(main())
