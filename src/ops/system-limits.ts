/** Reads (and, as root, writes) the kernel and process limits that bound how many connections a box holds. */
import { readFileSync, writeFileSync } from 'node:fs';
import { openFileLimit } from '../server/fd-limit.js';

export const SYSCTL_KEYS = [
  'fs.file-max',
  'fs.nr_open',
  'net.ipv4.ip_local_port_range',
  'net.core.somaxconn',
  'net.ipv4.tcp_mem',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.netfilter.nf_conntrack_max',
] as const;

export type SysctlKey = (typeof SYSCTL_KEYS)[number];

export interface SystemLimits {
  /** This process's open-file limits (inherited by what it starts); null where /proc does not tell. */
  openFiles: { soft: number; hard: number } | null;
  /** Each sysctl as the kernel prints it (whitespace collapsed); null when absent (e.g. conntrack not loaded). */
  sysctl: Record<SysctlKey, string | null>;
  pageSize: number;
}

const sysctlPath = (key: string) => `/proc/sys/${key.replace(/\./g, '/')}`;

export function readSysctl(key: string): string | null {
  try {
    return readFileSync(sysctlPath(key), 'utf8').trim().split(/\s+/).join(' ');
  } catch {
    return null;
  }
}

export function readSystemLimits(): SystemLimits {
  const sysctl = {} as Record<SysctlKey, string | null>;
  for (const key of SYSCTL_KEYS) sysctl[key] = readSysctl(key);
  return { openFiles: openFileLimit(), sysctl, pageSize: 4096 };
}

/** Writes one sysctl through /proc/sys; returns null, or why it could not. */
export function writeSysctl(key: string, value: string): string | null {
  try {
    writeFileSync(sysctlPath(key), `${value}\n`);
    return null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `${e.code ?? 'error'}: ${e.message}`;
  }
}

/** Parses sysctl.conf text (key = value lines) into the keys samesong checks. */
export function parseSysctlConf(text: string): Partial<Record<SysctlKey, string>> {
  const out: Partial<Record<SysctlKey, string>> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^([\w.-]+)\s*=\s*(.+)$/.exec(line);
    if (m && (SYSCTL_KEYS as readonly string[]).includes(m[1]!)) {
      out[m[1] as SysctlKey] = m[2]!.trim().split(/\s+/).join(' ');
    }
  }
  return out;
}
