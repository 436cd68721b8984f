// Structured logs with pino: JSON lines when stderr is not a terminal, readable lines when it is.
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

/** A logger writing to stderr; level from `level`, then CAIRN_LOG_LEVEL, then "info". */
export function createLogger(name: string, level?: string): Logger {
  const options = { name, level: level ?? process.env.CAIRN_LOG_LEVEL ?? "info" };
  if (process.stderr.isTTY) {
    return pino(options, pretty({ destination: 2, colorize: true, ignore: "pid,hostname", sync: true }));
  }
  return pino(options, pino.destination({ dest: 2, sync: false }));
}
