/**
 * The `Sec-WebSocket-Extensions` header value (RFC 6455 §9.1, §11.3.2), parsed and formatted.
 *
 * Grammar (RFC 6455 §9.1 in the list notation of RFC 7230 §7):
 *
 * ```
 * Sec-WebSocket-Extensions = 1#extension
 * extension       = extension-token *( OWS ";" OWS extension-param )
 * extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
 * ```
 *
 * The parser is a hand-written scanner that visits each character a bounded number of times:
 * its work is linear in the length of the value (no regular expressions, no backtracking),
 * so a hostile 100,000-element header costs one pass. Pure: no Node I/O.
 */

/** One extension parameter: `name` or `name=value`. */
export interface ExtensionParam {
  /** The parameter name, lowercased (extension parameter names are case-insensitive). */
  name: string;
  /** The value (unquoted and unescaped), or `true` when the parameter has no value. */
  value: string | true;
}

/** One element of the list: an extension name and its parameters, in order. */
export interface ExtensionOffer {
  /** The extension name, lowercased (e.g. `permessage-deflate`). */
  name: string;
  /** The parameters in the order they appeared (duplicates kept: judging them is the extension's job). */
  params: ExtensionParam[];
}

const HTAB = 0x09;
const SP = 0x20;
const DQUOTE = 0x22;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;

/** RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. */
const TCHAR = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** Whether `value` is a non-empty RFC 7230 token. */
function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (!isTchar(value.charCodeAt(i))) return false;
  return true;
}

/** Character visits of the last {@link parseExtensionHeader} call (see {@link lastParseSteps}). */
let lastSteps = 0;

/**
 * A cursor over the header value. Every method moves `pos` forward only and counts each
 * character it looks at in `steps`, so the total work is at most a small multiple of the length.
 */
class Scanner {
  pos = 0;
  steps = 0;
  private readonly text: string;
  private readonly end: number;

  constructor(text: string) {
    this.text = text;
    this.end = text.length;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** The code unit at the cursor, or -1 at the end. */
  peek(): number {
    this.steps++;
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
  }

  /** RFC 7230 §3.2.3: OWS = *( SP / HTAB ). */
  skipOws(): void {
    const text = this.text;
    while (this.pos < this.end) {
      this.steps++;
      const c = text.charCodeAt(this.pos);
      if (c !== SP && c !== HTAB) return;
      this.pos++;
    }
  }

  /** RFC 7230 §3.2.6: token = 1*tchar. Returns the token, or null if there is none here. */
  token(): string | null {
    const text = this.text;
    const start = this.pos;
    while (this.pos < this.end) {
      this.steps++;
      if (!isTchar(text.charCodeAt(this.pos))) break;
      this.pos++;
    }
    return this.pos === start ? null : text.slice(start, this.pos);
  }

  /**
   * RFC 7230 §3.2.6 quoted-string, cursor on the opening DQUOTE. Returns the unescaped content,
   * or null if it is malformed or (RFC 6455 §9.1) the unescaped content is not a token.
   * Since the content must be a token, every character (escaped or not) must be a tchar, which
   * also rules out everything qdtext / quoted-pair would reject.
   */
  quotedToken(): string | null {
    const text = this.text;
    this.pos++; // the opening DQUOTE
    let value = "";
    let runStart = this.pos;
    while (this.pos < this.end) {
      this.steps++;
      const c = text.charCodeAt(this.pos);
      if (c === DQUOTE) {
        value += text.slice(runStart, this.pos);
        this.pos++;
        return value.length > 0 ? value : null;
      }
      if (c === BACKSLASH) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ); the escaped char must still be a tchar.
        value += text.slice(runStart, this.pos);
        this.pos++;
        if (this.pos >= this.end) return null;
        this.steps++;
        if (!isTchar(text.charCodeAt(this.pos))) return null;
        runStart = this.pos;
        this.pos++;
        continue;
      }
      if (!isTchar(c)) return null;
      this.pos++;
    }
    return null; // no closing DQUOTE
  }
}

/**
 * Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1): a comma-separated list of
 * extensions, each with `;`-separated parameters, optional whitespace (SP / HTAB) around
 * separators, empty list elements tolerated (RFC 7230 §7), parameter values as tokens or
 * quoted-strings whose unescaped content is a token (RFC 6455 §9.1).
 *
 * Several header lines must be joined with `", "` first (RFC 7230 §3.2.2).
 * Names are lowercased; values are kept as written.
 *
 * @returns the extensions in order, or null when the value is malformed or lists no extension.
 */
export function parseExtensionHeader(value: string): ExtensionOffer[] | null {
  const s = new Scanner(value);
  const result = parseList(s);
  lastSteps = s.steps;
  return result;
}

function parseList(s: Scanner): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  for (;;) {
    s.skipOws();
    if (s.atEnd()) break;
    // RFC 7230 §7: empty list elements ("a, , b", ", a", "a,") are tolerated.
    if (s.peek() === COMMA) {
      s.pos++;
      continue;
    }
    // RFC 6455 §9.1: extension = extension-token *( ";" extension-param )
    const name = s.token();
    if (name === null) return null;
    const offer: ExtensionOffer = { name: name.toLowerCase(), params: [] };
    s.skipOws();
    while (s.peek() === SEMICOLON) {
      s.pos++;
      s.skipOws();
      const paramName = s.token();
      if (paramName === null) return null;
      let paramValue: string | true = true;
      s.skipOws();
      if (s.peek() === EQUALS) {
        // extension-param = token [ "=" ( token / quoted-string ) ]
        s.pos++;
        s.skipOws();
        const v = s.peek() === DQUOTE ? s.quotedToken() : s.token();
        if (v === null) return null;
        paramValue = v;
        s.skipOws();
      }
      offer.params.push({ name: paramName.toLowerCase(), value: paramValue });
    }
    offers.push(offer);
    if (s.atEnd()) break;
    // Anything but a comma after an element is malformed.
    if (s.peek() !== COMMA) return null;
    s.pos++;
  }
  // RFC 6455 §9.1: 1#extension, at least one element.
  return offers.length > 0 ? offers : null;
}

/**
 * Characters visited by the last {@link parseExtensionHeader} call (each visit is one step).
 * Used by the test that proves the scan is linear in the input length.
 *
 * @internal
 */
export function lastParseSteps(): number {
  return lastSteps;
}

/**
 * Formats extensions as a `Sec-WebSocket-Extensions` value:
 * `name; param; param=value, name2` (RFC 6455 §9.1). The inverse of
 * {@link parseExtensionHeader} for lowercase names.
 *
 * @throws TypeError if a name or a value is not a token: RFC 6455 §9.1 requires parameter values
 * to be tokens (quoted or not), so values are never quoted, and nothing else can reach the
 * header (no CR/LF injection).
 */
export function formatExtensionHeader(offers: readonly ExtensionOffer[]): string {
  let out = "";
  for (let i = 0; i < offers.length; i++) {
    const offer = offers[i];
    if (!isToken(offer.name)) throw new TypeError(`invalid extension name: ${JSON.stringify(offer.name)}`);
    if (i > 0) out += ", ";
    out += offer.name;
    for (const param of offer.params) {
      if (!isToken(param.name)) throw new TypeError(`invalid extension parameter name: ${JSON.stringify(param.name)}`);
      out += "; " + param.name;
      if (param.value === true) continue;
      if (!isToken(param.value)) throw new TypeError(`invalid extension parameter value: ${JSON.stringify(param.value)}`);
      out += "=" + param.value;
    }
  }
  return out;
}
