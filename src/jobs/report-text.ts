// The report as a person reads it at 3 a.m. (a terminal, or --output text): the
// status first, findings as sentences, sizes in kB/MB/GB, ratios in %, durations in
// s/min, and the command to run next. Machines (the CronJobs) keep the JSON.
import { OUTPUT_FORMATS, OutputFormat, TaskName } from './contract';
import type { Report } from './report';

/** The format asked for, or text on a terminal and JSON otherwise. */
export function outputFormat(asked: string | undefined, isTty: boolean | undefined): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(asked ?? '')) return asked as OutputFormat;
  return isTty ? 'text' : 'json';
}

const UNITS = ['kB', 'MB', 'GB', 'TB', 'PB'];

/** 1536 → "1.5 kB" (binary multiples, as pg_size_pretty). */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  do {
    value /= 1024;
    unit++;
  } while (Math.abs(value) >= 1024 && unit < UNITS.length - 1);
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${UNITS[unit]}`;
}

/** 0.853 → "85.3 %". */
export function formatRatio(ratio: number): string {
  const pct = ratio * 100;
  return `${pct !== 0 && Math.abs(pct) < 0.1 ? pct.toPrecision(1) : Number(pct.toFixed(1))} %`;
}

/** 0.25 → "0.25 s", 75 → "75 s", 600 → "10 min", 9000 → "2.5 h". */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Number(seconds.toFixed(2))} s`;
  if (seconds < 120) return `${Number(seconds.toFixed(1))} s`;
  if (seconds < 7200) return `${Number((seconds / 60).toFixed(1))} min`;
  return `${Number((seconds / 3600).toFixed(1))} h`;
}

/** A value by what its key says it is: `*Bytes`, `*Ratio`, `*Seconds`, `*Ms`. */
function formatValue(key: string, value: unknown): string {
  if (typeof value === 'number') {
    if (/bytes$/i.test(key)) return formatBytes(value);
    if (/ratio$/i.test(key)) return formatRatio(value);
    if (/seconds$/i.test(key)) return formatSeconds(value);
    if (/Ms$/.test(key)) return formatSeconds(value / 1000);
    return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
  }
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) {
    return value.every((v) => typeof v !== 'object' || v === null) ? (value.length ? value.join(', ') : 'none') : `${value.length} entries`;
  }
  if (typeof value === 'object') return fields(value as Record<string, unknown>);
  return String(value);
}

/** `connections used 17, max 20` from an object's scalar fields. */
function fields(obj: Record<string, unknown>, skip: readonly string[] = []): string {
  return Object.entries(obj)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${words(k)} ${formatValue(k, v)}`)
    .join(', ');
}

/** `deadTuples` → "dead tuples". */
function words(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

const MAX_ROWS = 10;

function details(data: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (Array.isArray(value) && value.some((v) => typeof v === 'object' && v !== null)) {
      out.push(`  ${words(key)} (${value.length}):`);
      for (const row of value.slice(0, MAX_ROWS)) out.push(`    - ${typeof row === 'object' && row !== null ? fields(row as Record<string, unknown>) : String(row)}`);
      if (value.length > MAX_ROWS) out.push(`    … and ${value.length - MAX_ROWS} more (--output json shows all)`);
    } else {
      out.push(`  ${words(key)}: ${formatValue(key, value)}`);
    }
  }
  return out;
}

/** What to run after a finding of each task. */
const NEXT_AFTER_FINDING: Readonly<Record<TaskName, string>> = {
  'db-health': 'see who holds the connections: psql -c "SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC"',
  'slow-queries': 'look at the plan of the slowest statement: psql -c "EXPLAIN (ANALYZE, BUFFERS) <statement>"',
  'table-sizes': 'reclaim dead tuples: aiaas-job vacuum-analyze --schema <schema>',
  'vacuum-analyze': 'find what held the skipped tables\' locks, then rerun: psql -c "SELECT pid, relation::regclass, mode, granted FROM pg_locks WHERE NOT granted"',
  'long-transactions': 'ask the owners, or end them: aiaas-job long-transactions --action cancel (then --action terminate)',
  'replication-lag': 'check the standby: psql -h <standby> -c "SELECT * FROM pg_stat_wal_receiver"',
  'backup': 'check the backup directory and the report\'s findings, then rerun: aiaas-job backup --dir <dir>',
  'restore-verify': 'take a new backup and verify it: aiaas-job backup --dir <dir> && aiaas-job restore-verify --dir <dir>',
  'restore': 'read the findings; nothing was replaced: pick another backup (--backup <name>) and run the restore again',
};

function nextStep(report: Report): string | undefined {
  const task = report.task as TaskName;
  if (report.exitCode === 64) return `see the flags: aiaas-job ${task in NEXT_AFTER_FINDING ? `${task} ` : ''}--help`;
  if (report.exitCode === 2) return 'fix the cause above, then run the same command again';
  // <schema>, <dir>: filled from the report's data where it has them
  if (report.exitCode === 1) {
    return NEXT_AFTER_FINDING[task]?.replace(/<(\w+)>/g, (m, key: string) => (typeof report.data[key] === 'string' ? String(report.data[key]) : m));
  }
  return undefined;
}

const STATUS_LINE: Readonly<Record<number, string>> = {
  0: 'OK',
  1: 'FINDINGS',
  2: 'FAILED: could not do its work',
  64: 'USAGE ERROR: nothing was done',
};

/** The report as a few lines of text. */
export function renderText(report: Report): string {
  const out: string[] = [];
  out.push(`${report.task}: ${STATUS_LINE[report.exitCode]} (exit ${report.exitCode}, took ${formatSeconds(report.durationSeconds)})`);
  if (report.database) {
    const db = report.database;
    out.push(`database ${db.database} on ${db.host}:${db.port} as ${db.user}`);
  }
  if (report.errors.length) {
    out.push('', 'Errors:');
    for (const e of report.errors) out.push(`  - ${e}`);
  }
  if (report.findings.length) {
    out.push('', `Findings (${report.findings.length}):`);
    for (const f of report.findings) {
      const extra = fields(f, ['code', 'message']);
      out.push(`  - ${f.message}${extra ? ` (${extra})` : ''}`);
    }
  }
  if (report.warnings.length) {
    out.push('', 'Warnings:');
    for (const w of report.warnings) out.push(`  - ${w}`);
  }
  const detail = details(report.data);
  if (detail.length) out.push('', 'Details:', ...detail);
  const next = nextStep(report);
  if (next) out.push('', `Next: ${next}`);
  return `${out.join('\n')}\n`;
}
