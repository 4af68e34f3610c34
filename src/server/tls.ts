/**
 * TLS for the app server: --tls-cert and --tls-key read and checked at start,
 * so a missing, unreadable or mismatched file stops the server with a clear
 * error instead of failing the first handshake.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ServerConfigError } from './config-error.js';

export class TlsConfigError extends ServerConfigError {
  constructor(message: string) {
    super('tls_config', message);
    this.name = 'TlsConfigError';
  }
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** The certificate and key, or null when TLS is off; throws TlsConfigError when the files cannot serve. */
export function loadTls(options: { tlsCert: string; tlsKey: string }): TlsFiles | null {
  const { tlsCert, tlsKey } = options;
  if (!tlsCert && !tlsKey) return null;
  if (!tlsCert || !tlsKey) {
    throw new TlsConfigError(
      `--tls-cert and --tls-key go together: ${tlsCert ? '--tls-key' : '--tls-cert'} is missing`,
    );
  }
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new TlsConfigError(`cannot read ${flag} ${file}: ${e.code ?? e.message}`);
    }
  };
  const files = { cert: read('--tls-cert', tlsCert), key: read('--tls-key', tlsKey) };
  try {
    createSecureContext(files);
  } catch (err) {
    throw new TlsConfigError(
      `--tls-cert ${tlsCert} and --tls-key ${tlsKey} do not make a usable certificate: ${(err as Error).message}`,
    );
  }
  return files;
}
