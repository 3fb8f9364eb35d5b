import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON lines to stdout (1) for the server, stderr (2) for CLI commands. */
export function createLogger(level: string, base: Record<string, unknown> = {}, fd: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      base: { service: 'modelgate', ...base },
      // Secrets never reach the log, whatever a caller passes in.
      redact: { paths: ['*.authorization', '*.headers.authorization', 'key', '*.key', 'apiKey'], censor: '[redacted]' },
    },
    // Synchronous writes: the last lines before process.exit (shutdown, fatal errors) are not lost.
    pino.destination({ dest: fd, sync: true }),
  );
}
