/**
 * {@link ServerStats} as Prometheus text exposition (format 0.0.4): what a `/metrics`
 * endpoint answers, with `Content-Type: text/plain; version=0.0.4; charset=utf-8`.
 */
import { HANDSHAKE_REJECTIONS, type ServerStats } from "./stats.js";

/** One server's stats and the labels that tell it apart from the others on the same endpoint. */
export interface LabelledStats {
  /** Label names and values, e.g. `{ endpoint: "/chat" }`. Names must match `[a-zA-Z_][a-zA-Z0-9_]*`. */
  labels: Record<string, string>;
  stats: ServerStats;
}

/** Options of {@link formatPrometheus}. */
export interface PrometheusOptions {
  /** Prefix of every metric name. Default `"wsx_"`. */
  prefix?: string;
}

/** The media type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "counter" | "gauge";
const METRICS: Array<[name: string, kind: Kind, help: string, value: (s: ServerStats) => number]> = [
  ["connections", "gauge", "WebSocket connections open now.", (s) => s.connections],
  ["handshakes_accepted_total", "counter", "Opening handshakes accepted.", (s) => s.handshakesAccepted],
  ["messages_received_total", "counter", "Messages received.", (s) => s.messagesIn],
  ["messages_sent_total", "counter", "Messages queued to connections (sends and publish deliveries).", (s) => s.messagesOut],
  ["payload_received_bytes_total", "counter", "Payload bytes received, after decompression.", (s) => s.bytesIn],
  ["payload_sent_bytes_total", "counter", "Payload bytes queued, before compression.", (s) => s.bytesOut],
  ["wire_received_bytes_total", "counter", "Bytes read from WebSocket sockets.", (s) => s.wireBytesIn],
  ["wire_sent_bytes_total", "counter", "Bytes written to WebSocket sockets.", (s) => s.wireBytesOut],
  ["compression_ratio", "gauge", "Payload bytes per wire byte on permessage-deflate connections.", (s) => s.compressionRatio],
  ["messages_dropped_total", "counter", "Messages dropped because a connection was over maxBackpressure.", (s) => s.droppedMessages],
  ["publishes_total", "counter", "Publish calls.", (s) => s.publishes],
  ["fanout_deliveries_total", "counter", "Messages queued to subscribers by publishes.", (s) => s.fanoutDeliveries],
  ["adapter_failures_total", "counter", "Messages the pub/sub adapter failed to carry to other nodes.", (s) => s.adapterFailures],
  ["durable_subscriptions", "gauge", "Durable-topic subscriptions open now (WebSockets and SSE).", (s) => s.durable.subscriptions],
  ["sse_streams", "gauge", "Server-Sent Events streams open now.", (s) => s.durable.sseStreams],
  ["durable_appended_total", "counter", "Messages appended to durable-topic history through this node.", (s) => s.durable.appended],
  ["durable_delivered_total", "counter", "Durable-topic messages queued to subscribers, replayed and live.", (s) => s.durable.delivered],
  ["durable_unrecoverable_total", "counter", "Unrecoverable signals given to durable-topic subscribers.", (s) => s.durable.unrecoverable],
];

/** Escapes a label value: backslash, double quote and line feed (exposition format). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) || k.startsWith("__")) throw new RangeError(`invalid Prometheus label name "${k}"`);
    return `${k}="${escapeLabel(v)}"`;
  });
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function number(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/**
 * Formats server stats as Prometheus text exposition: one `# HELP`/`# TYPE` pair per metric,
 * one sample per server (told apart by its labels), and handshake rejections labelled by
 * `reason`. Pass `wss.stats()` for one server, or a list of labelled stats for several.
 *
 * ```ts
 * res.writeHead(200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
 * res.end(formatPrometheus([{ labels: { endpoint: "/chat" }, stats: chat.stats() }]));
 * ```
 */
export function formatPrometheus(stats: ServerStats | LabelledStats[], options: PrometheusOptions = {}): string {
  const prefix = options.prefix ?? "wsx_";
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new RangeError(`invalid Prometheus metric prefix "${prefix}"`);
  const series: LabelledStats[] = Array.isArray(stats) ? stats : [{ labels: {}, stats }];
  const labels = series.map((s) => s.labels);
  const lines: string[] = [];
  const emit = (name: string, kind: Kind, help: string, samples: Array<[Record<string, string>, number]>): void => {
    lines.push(`# HELP ${prefix}${name} ${help}`, `# TYPE ${prefix}${name} ${kind}`);
    for (const [l, v] of samples) lines.push(`${prefix}${name}${labelText(l)} ${number(v)}`);
  };
  for (const [name, kind, help, value] of METRICS) {
    emit(name, kind, help, series.map((s, i) => [labels[i], value(s.stats)]));
    if (name === "handshakes_accepted_total") {
      const rejected: Array<[Record<string, string>, number]> = [];
      for (let i = 0; i < series.length; i++) {
        for (const reason of HANDSHAKE_REJECTIONS) rejected.push([{ ...labels[i], reason }, series[i].stats.handshakesRejected[reason]]);
      }
      emit("handshakes_rejected_total", "counter", "Opening handshakes refused, by reason.", rejected);
    }
  }
  return lines.join("\n") + "\n";
}
