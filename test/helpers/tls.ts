/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl for one test and removed after. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { findExecutable } from '../../src/ops/processes.js';

export interface TestCertificate {
  /** PEM files. */
  certFile: string;
  keyFile: string;
  /** Certificate and key in one file (what HAProxy's `crt` takes). */
  pemFile: string;
  /** The certificate, to trust as a CA. */
  cert: Buffer;
}

export async function makeCertificate(t: TestContext): Promise<TestCertificate> {
  const openssl = findExecutable('openssl', 'openssl');
  const dir = await mkdtemp(join(tmpdir(), 'samesong-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const pemFile = join(dir, 'combined.pem');
  await promisify(execFile)(openssl, [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1'],
    ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ...['-keyout', keyFile, '-out', certFile],
  ]);
  const cert = await readFile(certFile);
  await writeFile(pemFile, Buffer.concat([cert, await readFile(keyFile)]));
  return { certFile, keyFile, pemFile, cert };
}
