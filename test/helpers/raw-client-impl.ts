// @ts-nocheck — restored from its compiled output after the typed source was lost; to be retyped.
/**
 * A raw-socket WebSocket client for testing servers byte by byte, written independently
 * of wsx's own protocol code (its own handshake check, frame encoder and parser), so it
 * can be used to check wsx.
 *
 * ```ts
 * const c = await connectRaw(port, { path: "/echo" });
 * c.sendFrame({ opcode: Opcode.TEXT, payload: "hi" });
 * assert.equal((await c.nextFrame()).payload.toString(), "hi");
 * c.sendClose(1000);
 * await c.expectClose(1000);
 * ```
 *
 * Every wait is bounded (default 5 s) and rejects with a message saying what was awaited.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { connect } from "node:net";
/** The RFC 6455 GUID for Sec-WebSocket-Accept. */
export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Default time limit of every wait, ms. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** Largest handshake response head accepted, bytes. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Frame opcodes (RFC 6455 5.2). */
export const Opcode = {
    CONTINUATION: 0x0,
    TEXT: 0x1,
    BINARY: 0x2,
    CLOSE: 0x8,
    PING: 0x9,
    PONG: 0xa,
};
/**
 * Encodes one frame exactly as specified (all three length forms, optional masking).
 *
 * @example socket.write(encodeFrame({ opcode: Opcode.PING, payload: "x", mask: true }));
 */
export function encodeFrame(spec) {
    const payload = typeof spec.payload === "string" ? Buffer.from(spec.payload, "utf8") : Buffer.from(spec.payload ?? []);
    const mask = spec.mask ?? true;
    const n = payload.length;
    const lengthBytes = spec.lengthBytes ?? (n < 126 ? 0 : n < 0x10000 ? 2 : 8);
    if (lengthBytes === 0 && n > 125)
        throw new RangeError(`encodeFrame: ${n} bytes do not fit the 7-bit length`);
    if (lengthBytes === 2 && n > 0xffff)
        throw new RangeError(`encodeFrame: ${n} bytes do not fit the 16-bit length`);
    if (spec.opcode < 0 || spec.opcode > 15)
        throw new RangeError(`encodeFrame: opcode ${spec.opcode} is not 4 bits`);
    const header = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
    header[0] =
        ((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv1 ? 0x40 : 0) | (spec.rsv2 ? 0x20 : 0) | (spec.rsv3 ? 0x10 : 0) | spec.opcode;
    header[1] = (mask ? 0x80 : 0) | (lengthBytes === 0 ? n : lengthBytes === 2 ? 126 : 127);
    if (lengthBytes === 2)
        header.writeUInt16BE(n, 2);
    else if (lengthBytes === 8)
        header.writeBigUInt64BE(BigInt(n), 2);
    if (!mask)
        return Buffer.concat([header, payload]);
    const key = spec.maskKey !== undefined ? Buffer.from(spec.maskKey) : randomBytes(4);
    if (key.length !== 4)
        throw new RangeError("encodeFrame: maskKey must be 4 bytes");
    key.copy(header, 2 + lengthBytes);
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++)
        masked[i] = payload[i] ^ key[i & 3];
    return Buffer.concat([header, masked]);
}
/** The payload of a close frame: 2-byte code then UTF-8 reason; no code gives an empty payload. */
export function closePayload(code, reason = "") {
    if (code === undefined)
        return Buffer.alloc(0);
    const out = Buffer.alloc(2 + Buffer.byteLength(reason));
    out.writeUInt16BE(code, 0);
    out.write(reason, 2, "utf8");
    return out;
}
/**
 * Decodes a close frame's payload. An empty payload is code 1005 ("no status received",
 * RFC 6455 7.1.5); a 1-byte payload is invalid and gives code null.
 */
export function parseClosePayload(payload) {
    if (payload.length === 0)
        return { code: 1005, reason: "" };
    if (payload.length === 1)
        return { code: null, reason: "" };
    return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString("utf8") };
}
/** The Sec-WebSocket-Accept value for a key. */
export function acceptFor(key) {
    return createHash("sha1").update(key + WS_GUID).digest("base64");
}
/** Bytes received but not yet parsed, kept as chunks (no quadratic copying of large frames). */
class ByteQueue {
    chunks = [];
    length = 0;
    push(chunk) {
        this.chunks.push(chunk);
        this.length += chunk.length;
    }
    /** The first `n` bytes (n <= length), without consuming them. */
    peek(n) {
        if (this.chunks.length > 0 && this.chunks[0].length >= n)
            return this.chunks[0].subarray(0, n);
        const merged = Buffer.concat(this.chunks);
        this.chunks = [merged];
        return merged.subarray(0, n);
    }
    /** Removes and returns the first `n` bytes (n <= length). */
    take(n) {
        const out = Buffer.allocUnsafe(n);
        let filled = 0;
        while (filled < n) {
            const first = this.chunks[0];
            const want = n - filled;
            if (first.length <= want) {
                first.copy(out, filled);
                filled += first.length;
                this.chunks.shift();
            }
            else {
                first.copy(out, filled, 0, want);
                this.chunks[0] = first.subarray(want);
                filled += want;
            }
        }
        this.length -= n;
        return out;
    }
}
/**
 * Parses one server frame from the front of `queue`: the frame, null when more bytes are
 * needed, or throws on bytes a server must not send (masked frame, bad 64-bit length,
 * non-minimal length encoding).
 */
function parseFrame(queue) {
    if (queue.length < 2)
        return null;
    const b = queue.peek(2);
    const masked = (b[1] & 0x80) !== 0;
    const len7 = b[1] & 0x7f;
    const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const headerLength = 2 + extra + (masked ? 4 : 0);
    if (queue.length < headerLength)
        return null;
    const header = queue.peek(headerLength);
    if (masked)
        throw new Error("the server sent a masked frame (RFC 6455 5.1: a server MUST NOT mask frames)");
    let length = len7;
    if (len7 === 126) {
        length = header.readUInt16BE(2);
        if (length < 126)
            throw new Error(`the server used a 16-bit length for ${length} bytes (RFC 6455 5.2: minimal encoding)`);
    }
    else if (len7 === 127) {
        const big = header.readBigUInt64BE(2);
        if (big >> 63n !== 0n)
            throw new Error("the server sent a 64-bit length with the most significant bit set (RFC 6455 5.2)");
        if (big > BigInt(Number.MAX_SAFE_INTEGER))
            throw new Error(`the server announced a ${big}-byte frame`);
        length = Number(big);
        if (length <= 0xffff)
            throw new Error(`the server used a 64-bit length for ${length} bytes (RFC 6455 5.2: minimal encoding)`);
    }
    if (queue.length < headerLength + length)
        return null;
    queue.take(headerLength);
    const payload = queue.take(length);
    return {
        fin: (header[0] & 0x80) !== 0,
        rsv1: (header[0] & 0x40) !== 0,
        rsv2: (header[0] & 0x20) !== 0,
        rsv3: (header[0] & 0x10) !== 0,
        opcode: header[0] & 0x0f,
        payload,
    };
}
function parseHead(head) {
    const lines = head.split("\r\n");
    const statusLine = lines[0] ?? "";
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
    const headers = {};
    const rawHeaders = [];
    for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon <= 0)
            continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        rawHeaders.push([name, value]);
        const key = name.toLowerCase();
        headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    return { head, statusLine, status: m !== null ? Number(m[1]) : NaN, headers, rawHeaders };
}
function describeBytes(b) {
    const text = b.subarray(0, 200).toString("latin1").replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
    return `${b.length} bytes: "${text}${b.length > 200 ? "…" : ""}"`;
}
/** Opens a TCP connection; rejects on error or after `timeoutMs`. */
function openSocket(host, port, timeoutMs) {
    return new Promise((resolve, reject) => {
        const socket = connect({ host, port });
        const timer = setTimeout(() => {
            socket.destroy();
            reject(new Error(`raw client: TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        socket.once("connect", () => {
            clearTimeout(timer);
            socket.removeAllListeners("error");
            socket.setNoDelay(true);
            resolve(socket);
        });
        socket.once("error", (error) => {
            clearTimeout(timer);
            reject(new Error(`raw client: TCP connect to ${host}:${port} failed: ${error.message}`));
        });
    });
}
/**
 * Reads an HTTP response head (up to the empty line) from `socket`. Resolves with the
 * parsed head and the bytes that followed it in the same reads.
 */
function readHead(socket, timeoutMs, what) {
    return new Promise((resolve, reject) => {
        let buffered = Buffer.alloc(0);
        const done = (error, value) => {
            clearTimeout(timer);
            socket.off("data", onData);
            socket.off("close", onClose);
            socket.off("error", onError);
            if (error !== null)
                reject(error);
            else
                resolve(value);
        };
        const onData = (chunk) => {
            buffered = Buffer.concat([buffered, chunk]);
            const end = buffered.indexOf("\r\n\r\n");
            if (end >= 0) {
                socket.pause();
                done(null, { ...parseHead(buffered.subarray(0, end).toString("latin1")), rest: buffered.subarray(end + 4) });
            }
            else if (buffered.length > MAX_HEAD_BYTES) {
                done(new Error(`${what}: no end of the response head within ${MAX_HEAD_BYTES} bytes`));
            }
        };
        const onClose = () => done(new Error(`${what}: the server closed the connection before a complete response head (got ${describeBytes(buffered)})`));
        const onError = (error) => done(new Error(`${what}: socket error before the response head: ${error.message}`));
        const timer = setTimeout(() => done(new Error(`${what}: no complete response head within ${timeoutMs} ms (got ${describeBytes(buffered)})`)), timeoutMs);
        socket.on("data", onData);
        socket.on("close", onClose);
        socket.on("error", onError);
    });
}
/**
 * Connects to 127.0.0.1:`port`, performs the opening handshake with a real random key and
 * verifies 101, Upgrade, Connection and Sec-WebSocket-Accept (rejects with the response
 * head otherwise).
 *
 * @example const c = await connectRaw(port, { path: "/chat", headers: { "Sec-WebSocket-Protocol": "chat" } });
 */
export async function connectRaw(port, options = {}) {
    const host = options.host ?? "127.0.0.1";
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const key = randomBytes(16).toString("base64");
    const defaults = [
        ["Host", `${host.includes(":") ? `[${host}]` : host}:${port}`],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", key],
        ["Sec-WebSocket-Version", "13"],
    ];
    const extra = Object.entries(options.headers ?? {});
    const overridden = new Set(extra.map(([name]) => name.toLowerCase()));
    const headerLines = [...defaults.filter(([name]) => !overridden.has(name.toLowerCase())), ...extra]
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("");
    const sentKey = extra.find(([name]) => name.toLowerCase() === "sec-websocket-key")?.[1] ?? key;
    const socket = await openSocket(host, port, timeoutMs);
    socket.write(`GET ${options.path ?? "/"} HTTP/1.1\r\n${headerLines}\r\n`);
    let response;
    try {
        response = await readHead(socket, timeoutMs, "raw client handshake");
        const h = response.headers;
        const problems = [];
        if (response.status !== 101) {
            throw new Error(`raw client handshake failed (status ${response.status}, expected 101):\n${response.head}`);
        }
        if ((h["upgrade"] ?? "").toLowerCase() !== "websocket")
            problems.push(`Upgrade: ${h["upgrade"]}`);
        if (!(h["connection"] ?? "").toLowerCase().split(/\s*,\s*/).includes("upgrade"))
            problems.push(`Connection: ${h["connection"]}`);
        if (h["sec-websocket-accept"] !== acceptFor(sentKey)) {
            problems.push(`Sec-WebSocket-Accept: ${h["sec-websocket-accept"]}, expected ${acceptFor(sentKey)}`);
        }
        if (problems.length > 0)
            throw new Error(`raw client handshake failed (${problems.join("; ")}):\n${response.head}`);
    }
    catch (error) {
        socket.destroy();
        throw error;
    }
    return wrap(socket, response, sentKey);
}
function wrap(socket, head, key) {
    const queue = new ByteQueue();
    const frames = [];
    let protocolError = null;
    let isClosed = false;
    let hadError = false;
    const waiters = new Set();
    const notify = () => {
        for (const w of [...waiters])
            w();
    };
    const onBytes = (chunk) => {
        if (protocolError !== null)
            return;
        queue.push(chunk);
        try {
            for (let frame = parseFrame(queue); frame !== null; frame = parseFrame(queue))
                frames.push(frame);
        }
        catch (error) {
            protocolError = error;
        }
        notify();
    };
    socket.on("data", onBytes);
    socket.on("error", () => {
        hadError = true; // e.g. ECONNRESET; "close" follows
    });
    socket.on("close", (withError) => {
        isClosed = true;
        hadError ||= withError;
        notify();
    });
    if (head.rest.length > 0)
        onBytes(head.rest);
    socket.resume();
    /** Waits until `ready()` returns a value, bounded by `timeoutMs`. */
    const waitFor = (ready, timeoutMs, what) => new Promise((resolve, reject) => {
        const check = () => {
            let value;
            try {
                value = ready();
            }
            catch (error) {
                finish();
                reject(error);
                return;
            }
            if (value !== undefined) {
                finish();
                resolve(value);
            }
        };
        const timer = setTimeout(() => {
            finish();
            reject(new Error(`raw client: timed out after ${timeoutMs} ms waiting for ${what} (${queue.length} unparsed bytes buffered)`));
        }, timeoutMs);
        const finish = () => {
            clearTimeout(timer);
            waiters.delete(check);
        };
        waiters.add(check);
        check();
    });
    const nextFrame = (timeoutMs = DEFAULT_TIMEOUT_MS) => waitFor(() => {
        const frame = frames.shift();
        if (frame !== undefined)
            return frame;
        if (protocolError !== null)
            throw new Error(`raw client: ${protocolError.message}`);
        if (isClosed) {
            const rest = queue.length > 0 ? ` (${queue.length} bytes of an incomplete frame left)` : "";
            throw new Error(`raw client: the connection closed before a frame arrived${rest}`);
        }
        return undefined;
    }, timeoutMs, "a frame");
    const closed = (timeoutMs = DEFAULT_TIMEOUT_MS) => waitFor(() => (isClosed ? { hadError } : undefined), timeoutMs, "the TCP connection to close");
    const write = (bytes) => {
        if (isClosed || !socket.writable)
            return false;
        socket.write(bytes);
        return true;
    };
    const sendFrame = (spec) => {
        const bytes = encodeFrame(spec);
        write(bytes);
        return bytes;
    };
    return {
        socket,
        response: { head: head.head, statusLine: head.statusLine, status: head.status, headers: head.headers, rawHeaders: head.rawHeaders },
        key,
        write,
        sendFrame,
        sendText: (text) => sendFrame({ opcode: Opcode.TEXT, payload: text }),
        sendBinary: (data) => sendFrame({ opcode: Opcode.BINARY, payload: data }),
        sendClose: (code, reason) => sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(code, reason) }),
        nextFrame,
        expectNoFrame: async (ms) => {
            await new Promise((resolve) => setTimeout(resolve, ms));
            if (protocolError !== null)
                throw new Error(`raw client: ${protocolError.message}`);
            const frame = frames[0];
            if (frame !== undefined) {
                throw new assert.AssertionError({
                    message: `expected no frame within ${ms} ms, got opcode ${frame.opcode} with ${describeBytes(frame.payload)}`,
                });
            }
        },
        closed,
        expectClose: async (code, options = {}) => {
            const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
            const skipped = [];
            if (code === 1006) {
                // Abnormal closure: the TCP connection must end without a close frame.
                for (let i = 0; i < 10_000; i++) {
                    let frame;
                    try {
                        frame = await nextFrame(timeoutMs);
                    }
                    catch (error) {
                        if (isClosed)
                            return { skipped, reason: "" };
                        throw error;
                    }
                    assert.notEqual(frame.opcode, Opcode.CLOSE, `expected the connection to drop without a close frame (1006), got close ${parseClosePayload(frame.payload).code}`);
                    skipped.push(frame);
                }
                throw new Error("raw client: more than 10000 frames before the connection closed");
            }
            for (let i = 0; i < 10_000; i++) {
                const frame = await nextFrame(timeoutMs);
                if (frame.opcode !== Opcode.CLOSE) {
                    skipped.push(frame);
                    continue;
                }
                const got = parseClosePayload(frame.payload);
                assert.equal(got.code, code, `expected close code ${code}, got ${got.code} (reason "${got.reason}")`);
                if (options.reason !== undefined)
                    assert.equal(got.reason, options.reason, "close reason");
                if (options.reply ?? true) {
                    write(encodeFrame({ opcode: Opcode.CLOSE, payload: frame.payload.length >= 2 ? frame.payload.subarray(0, 2) : Buffer.alloc(0) }));
                }
                try {
                    await closed(timeoutMs);
                }
                catch {
                    throw new assert.AssertionError({ message: `got close ${code}, but the server did not close the TCP connection within ${timeoutMs} ms` });
                }
                return { skipped, reason: got.reason };
            }
            throw new Error("raw client: more than 10000 frames before a close frame");
        },
        destroy: () => {
            socket.destroy();
        },
    };
}
/**
 * Writes `request` exactly as given (include the final "\r\n\r\n" yourself) and resolves
 * with the response head; `body` is the response body when it has a Content-Length
 * (read within the timeout), else whatever arrived with the head. The socket is closed
 * afterwards.
 *
 * @example const r = await rawHandshake(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); assert.equal(r.status, 400);
 */
export async function rawHandshake(port, request, options = {}) {
    const host = options.host ?? "127.0.0.1";
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const socket = await openSocket(host, port, timeoutMs);
    socket.on("error", () => {
        // reported through readHead / the body read
    });
    try {
        socket.write(typeof request === "string" ? Buffer.from(request, "latin1") : request);
        const response = await readHead(socket, timeoutMs, "raw handshake");
        let body = response.rest;
        const declared = Number(response.headers["content-length"]);
        if (response.status !== 101 && Number.isSafeInteger(declared) && declared > body.length) {
            body = await new Promise((resolve) => {
                const chunks = [body];
                let have = body.length;
                const finish = () => {
                    clearTimeout(timer);
                    socket.off("data", onData);
                    socket.off("close", finish);
                    resolve(Buffer.concat(chunks));
                };
                const onData = (chunk) => {
                    chunks.push(chunk);
                    have += chunk.length;
                    if (have >= declared)
                        finish();
                };
                const timer = setTimeout(finish, timeoutMs);
                socket.on("data", onData);
                socket.on("close", finish);
                socket.resume();
            });
        }
        const { rest: _rest, ...head } = response;
        return { ...head, body };
    }
    finally {
        socket.destroy();
    }
}

/** A connected raw client (see {@link connectRaw}). */
