/**
 * A setting the server cannot start with (a bad address, origin or TLS file),
 * found while starting, before anything listens. The commands print its
 * message and exit with a failure instead of a stack trace.
 */
export class ServerConfigError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServerConfigError';
  }
}
