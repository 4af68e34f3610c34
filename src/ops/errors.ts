/** Errors of the ops layer (starting redis-server and haproxy, tuning), each with a stable code and a hint. */

export type OpsErrorCode = 'missing_binary' | 'start_failed' | 'not_ready' | 'cluster_failed' | 'bad_options';

export class OpsError extends Error {
  constructor(
    readonly code: OpsErrorCode,
    message: string,
    readonly hint = '',
  ) {
    super(hint ? `${message} (${hint})` : message);
    this.name = 'OpsError';
  }
}
