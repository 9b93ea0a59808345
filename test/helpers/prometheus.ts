/**
 * A strict parser of Prometheus text exposition (format 0.0.4), for tests that scrape a
 * `/metrics` endpoint: every line must be a `# HELP`, a `# TYPE` or a sample of a metric
 * whose TYPE came before it; label values are unescaped; values are numbers.
 */

/** One sample line. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition. */
export interface PromExposition {
  /** Metric family name → "counter", "gauge", … */
  types: Map<string, string>;
  help: Map<string, string>;
  samples: PromSample[];
  /** The value of the one sample of `name` whose labels include all of `labels`; throws if not exactly one. */
  value(name: string, labels?: Record<string, string>): number;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL_RE = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL_RE.lastIndex = 0;
  while (LABEL_RE.lastIndex < text.length) {
    const m = LABEL_RE.exec(text);
    if (m === null) throw new Error(`bad labels in: ${line}`);
    if (m[1] in labels) throw new Error(`duplicate label ${m[1]} in: ${line}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    if (m[3] === "") break;
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

/** Parses `text`; throws on any line that is not valid exposition. */
export function parsePrometheus(text: string): PromExposition {
  if (!text.endsWith("\n")) throw new Error("an exposition ends with a line feed");
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: PromSample[] = [];
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("#")) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
      if (m === null) throw new Error(`bad comment line: ${line}`);
      if (m[1] === "TYPE") {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(m[3])) throw new Error(`bad type in: ${line}`);
        if (types.has(m[2])) throw new Error(`second TYPE for ${m[2]}`);
        types.set(m[2], m[3]);
      } else {
        help.set(m[2], m[3]);
      }
      continue;
    }
    const m = SAMPLE_RE.exec(line);
    if (m === null) throw new Error(`bad sample line: ${JSON.stringify(line)}`);
    if (!types.has(m[1])) throw new Error(`sample before its TYPE: ${line}`);
    const labels = m[2] === undefined ? {} : parseLabels(m[2], line);
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate sample: ${line}`);
    seen.add(key);
    const value = parseValue(m[3], line);
    if (types.get(m[1]) === "counter" && !(value >= 0)) throw new Error(`negative counter: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return {
    types,
    help,
    samples,
    value(name, labels = {}) {
      const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
      return found[0].value;
    },
  };
}
