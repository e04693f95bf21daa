import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; `nubo up` sends stdout to <stateDir>/log/nubo.log. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'nubo' }, timestamp: pino.stdTimeFunctions.isoTime });
}
