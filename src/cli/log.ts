/** One-line logging for the `wsx` command: plain text or JSON lines. */

/** A logger writing one line per event to stderr. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** Creates a logger; `quiet` drops info lines, `json` writes JSON lines. */
export function createLogger(options: { quiet?: boolean; json?: boolean }): Logger {
  const write = (level: string, event: string, fields: Record<string, unknown> = {}): void => {
    if (options.json) {
      process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }) + "\n");
    } else {
      const rest = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : String(v)}`)
        .join(" ");
      process.stderr.write(`${new Date().toISOString()} ${level} ${event}${rest ? " " + rest : ""}\n`);
    }
  };
  return {
    info: (event, fields) => {
      if (!options.quiet) write("info", event, fields);
    },
    error: (event, fields) => write("error", event, fields),
  };
}
