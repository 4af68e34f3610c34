/**
 * `samesong tune`: checks the process and kernel limits against the number of
 * connections a box must hold, says what falls short with the exact line that
 * fixes it, and (as root) writes the sysctls it can.
 */
import { readSystemLimits, writeSysctl, type SysctlKey, type SystemLimits } from './system-limits.js';

/** Descriptors per process beyond its connections (logs, listeners, the event loop, Redis). */
export const FD_EXTRA = 128;
/** Ports per source address in the widest range (1024–65535). */
export const MAX_PORT_RANGE = 64_512;
/** From this many connections, per-socket buffer defaults must be small. */
export const MANY_CONNECTIONS = 100_000;

export type CheckStatus = 'ok' | 'low' | 'n/a';

export interface Check {
  name: string;
  current: string;
  needed: string;
  status: CheckStatus;
  /** The sysctl --apply writes when low. */
  sysctl?: { key: SysctlKey; value: string };
  /** Lines that fix it by hand. */
  fix: string[];
  note?: string;
}

export interface TuneReport {
  connections: number;
  processes: number;
  ok: boolean;
  checks: Check[];
}

const nums = (text: string | null) => (text ?? '').split(' ').map(Number);
const fmt = (n: number) => n.toLocaleString('en-US');

function atLeast(name: string, key: SysctlKey, current: string | null, needed: number, note?: string): Check {
  if (current === null)
    return { name, current: 'absent', needed: `≥ ${fmt(needed)}`, status: 'n/a', fix: [] };
  const low = Number(current) < needed;
  return {
    name,
    current,
    needed: `≥ ${fmt(needed)}`,
    status: low ? 'low' : 'ok',
    ...(low ? { sysctl: { key, value: String(needed) } } : {}),
    fix: low ? [`sysctl -w ${key}=${needed}`] : [],
    ...(note ? { note } : {}),
  };
}

/** The checks for `connections` sockets on this box, held by `processes` processes. */
export function checkLimits(limits: SystemLimits, connections: number, processes = 1): TuneReport {
  const n = connections;
  const perProcess = Math.ceil(n / processes) + FD_EXTRA;
  const s = limits.sysctl;
  const checks: Check[] = [];

  const files = limits.openFiles;
  const soft = files?.soft ?? 0;
  const hard = files?.hard ?? 0;
  const hardLow = files !== null && hard < perProcess;
  const softLow = files !== null && soft < perProcess;
  const softTarget = Math.min(perProcess, hard);
  checks.push({
    name: 'open files, soft (ulimit -n)',
    current: files ? String(soft) : 'unknown',
    needed: `≥ ${fmt(perProcess)}`,
    status: files === null ? 'n/a' : softLow ? 'low' : 'ok',
    fix:
      softLow && softTarget > soft
        ? [`ulimit -n ${softTarget}   # in the shell or unit that starts samesong`]
        : [],
    ...(softLow && hardLow ? { note: `the hard limit (${fmt(hard)}) caps it: see the next check` } : {}),
  });
  const processesAtHard = Math.ceil(n / Math.max(1, hard - FD_EXTRA));
  checks.push({
    name: 'open files, hard',
    current: files ? String(hard) : 'unknown',
    needed: `≥ ${fmt(perProcess)}`,
    status: files === null ? 'n/a' : hardLow ? 'low' : 'ok',
    fix: hardLow
      ? [
          `samesong hard nofile ${perProcess}   # /etc/security/limits.d/samesong.conf, then log in again`,
          `LimitNOFILE=${perProcess}   # in the systemd unit`,
        ]
      : [],
    ...(hardLow
      ? {
          note:
            `a process cannot raise its own hard limit (${fmt(hard)}): raise it where it is set ` +
            `(limits.conf, the unit's LimitNOFILE, the container's nofile ulimit), ` +
            `or spread the connections over ${fmt(processesAtHard)} processes (--processes ${processesAtHard})`,
        }
      : {}),
  });
  checks.push(atLeast('fs.nr_open (per-process ceiling)', 'fs.nr_open', s['fs.nr_open'], perProcess));
  checks.push(atLeast('fs.file-max (system-wide)', 'fs.file-max', s['fs.file-max'], Math.ceil(n * 1.1)));

  const [lo = 0, hi = 0] = nums(s['net.ipv4.ip_local_port_range']);
  const ports = hi - lo + 1;
  const portsNeeded = Math.min(n, MAX_PORT_RANGE);
  checks.push({
    name: 'local ports per source address',
    current: `${fmt(ports)} (${lo}-${hi})`,
    needed: `≥ ${fmt(portsNeeded)}`,
    status: ports < portsNeeded ? 'low' : 'ok',
    ...(ports < portsNeeded
      ? { sysctl: { key: 'net.ipv4.ip_local_port_range' as const, value: '1024 65535' } }
      : {}),
    fix: ports < portsNeeded ? ['sysctl -w net.ipv4.ip_local_port_range="1024 65535"'] : [],
    ...(n > MAX_PORT_RANGE
      ? {
          note: `past ${fmt(MAX_PORT_RANGE)} outgoing connections to one address:port (HAProxy, the load generator), use several source addresses`,
        }
      : {}),
  });
  checks.push(
    atLeast(
      'net.core.somaxconn',
      'net.core.somaxconn',
      s['net.core.somaxconn'],
      Math.min(65_535, Math.max(4096, Math.ceil(n / 16))),
    ),
  );

  const page = limits.pageSize;
  const pressure = Math.ceil((n * 4096) / page);
  const max = Math.ceil((n * 6144) / page);
  const [mMin = 0, mPressure = 0, mMax = 0] = nums(s['net.ipv4.tcp_mem']);
  const memLow = mPressure < pressure || mMax < max;
  const memValue = `${Math.max(mMin, Math.floor((pressure * 3) / 4))} ${Math.max(mPressure, pressure)} ${Math.max(mMax, max)}`;
  checks.push({
    name: 'net.ipv4.tcp_mem (pages)',
    current: s['net.ipv4.tcp_mem'] ?? 'absent',
    needed: `pressure ≥ ${fmt(pressure)}, max ≥ ${fmt(max)}`,
    status: memLow ? 'low' : 'ok',
    ...(memLow ? { sysctl: { key: 'net.ipv4.tcp_mem' as const, value: memValue } } : {}),
    fix: memLow ? [`sysctl -w net.ipv4.tcp_mem="${memValue}"`] : [],
  });
  for (const key of ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'] as const) {
    const [bMin = 0, bDefault = 0, bMax = 0] = nums(s[key]);
    const many = n >= MANY_CONNECTIONS;
    const low = bMin > 4096 || (many && bDefault > 16_384);
    const value = `${Math.min(bMin, 4096)} ${many ? Math.min(bDefault, 16_384) : bDefault} ${bMax}`;
    checks.push({
      name: `${key} (bytes)`,
      current: s[key] ?? 'absent',
      needed: many ? 'min ≤ 4,096, default ≤ 16,384' : 'min ≤ 4,096',
      status: low ? 'low' : 'ok',
      ...(low ? { sysctl: { key, value } } : {}),
      fix: low ? [`sysctl -w ${key}="${value}"`] : [],
    });
  }
  const conntrack = s['net.netfilter.nf_conntrack_max'];
  checks.push(
    conntrack === null
      ? {
          name: 'net.netfilter.nf_conntrack_max',
          current: 'not loaded',
          needed: `≥ ${fmt(Math.ceil(n * 1.1))} if loaded`,
          status: 'n/a',
          fix: [],
        }
      : atLeast(
          'net.netfilter.nf_conntrack_max',
          'net.netfilter.nf_conntrack_max',
          conntrack,
          Math.ceil(n * 1.1),
        ),
  );
  return { connections: n, processes, ok: checks.every((c) => c.status !== 'low'), checks };
}

export interface ApplyResult {
  key: SysctlKey;
  value: string;
  /** null: written; else why not. */
  error: string | null;
}

/** Writes every low sysctl (dryRun: writes nothing, reports what it would). */
export function applySysctls(report: TuneReport, dryRun: boolean): ApplyResult[] {
  return report.checks
    .filter((c) => c.status === 'low' && c.sysctl)
    .map(({ sysctl }) => ({
      ...sysctl!,
      error: dryRun ? null : writeSysctl(sysctl!.key, sysctl!.value),
    }));
}

export function tune(connections: number, processes = 1): TuneReport {
  return checkLimits(readSystemLimits(), connections, processes);
}
