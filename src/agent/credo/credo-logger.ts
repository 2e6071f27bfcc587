// Credo's logger (the agent config's `logger`) writing into the agent's log (../log/logger.ts):
// Credo's warnings and errors (and fatal, as errors) at those levels, its info and debug at our
// debug (Credo says "Received message with type …" at info, once per message), its trace and
// test entries not at all. Messages are prefixed `credo: `; Credo's data becomes the fields.
import { BaseLogger, LogLevel } from '@credo-ts/core';
import type { LogFields, LogLevelName, Logger } from '../log/logger.js';

/** Credo's level for each of ours: the least severe Credo entry that reaches our log. */
const CREDO_LEVEL: Record<LogLevelName, LogLevel> = {
  error: LogLevel.error,
  warn: LogLevel.warn,
  info: LogLevel.warn,
  debug: LogLevel.debug,
};

export class CredoLogger extends BaseLogger {
  readonly #log: Logger;

  constructor(log: Logger) {
    super(CREDO_LEVEL[log.level]);
    this.#log = log;
  }

  #write(level: LogLevelName, credoLevel: LogLevel, message: string, data?: LogFields): void {
    if (this.isEnabled(credoLevel)) this.#log.log(level, `credo: ${message}`, data);
  }

  test(): void {}
  trace(): void {}
  debug(message: string, data?: LogFields): void {
    this.#write('debug', LogLevel.debug, message, data);
  }
  info(message: string, data?: LogFields): void {
    this.#write('debug', LogLevel.info, message, data);
  }
  warn(message: string, data?: LogFields): void {
    this.#write('warn', LogLevel.warn, message, data);
  }
  error(message: string, data?: LogFields): void {
    this.#write('error', LogLevel.error, message, data);
  }
  fatal(message: string, data?: LogFields): void {
    this.#write('error', LogLevel.fatal, message, data);
  }
}
