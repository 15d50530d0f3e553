import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line, wherever they appear in a metadata object. */
const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'databaseUrl',
  '*.databaseUrl',
];

/**
 * Creates Kai's root logger: JSON lines on stdout, secrets redacted. Parts of Kai take a child
 * of it scoped by what they work on (`requestId`, `jobId`, `workerId`).
 */
export function createLogger(options: {
  level: string;
  name?: string;
  /** Where the lines go; stdout when unset. */
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      name: options.name ?? 'kai',
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    options.destination,
  );
}
