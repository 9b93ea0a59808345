// Copies non-TypeScript assets (the chat demo page) from src/ into dist/ after `tsc`.
import { cpSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const from = `${root}src/cli/public`;
if (existsSync(from)) cpSync(from, `${root}dist/cli/public`, { recursive: true });
