// What restore-verify and restore share: which backup is the newest and whether
// it is usable, databases the jobs create (marked, so that only those are ever
// dropped), a pg_restore list that leaves out what the role may not create, and
// row counts.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { BackupEntry, DirState, forDatabase, readDir, verifyFiles } from './backup-files';
import { runPg } from './child';
import type { ConnectionConfig } from './config';
import { num } from './context';
import { childEnv, quoteQualified, withClient } from './db';

/** Refused before anything was changed (exit 2): e.g. a database the job did not create. */
export class RefusedError extends Error {}

/** A backup in the directory that a restore could be asked to use, complete or not. */
export interface Candidate {
  readonly name: string;
  /** When it was made: the manifest's createdAt, or the time stamp of its name. */
  readonly createdAt: string;
  readonly entry?: BackupEntry;
  /** Why it is not usable (absent for a complete backup). */
  readonly problem?: string;
}

function stampOf(name: string): string {
  const m = /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z` : '';
}

/** Every backup of `database` in `dir`, newest first: complete ones, and broken ones with their problem. */
export async function candidates(dir: string, database: string): Promise<{ state: DirState; all: Candidate[] }> {
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new RefusedError(`backup directory ${dir} (--dir) is not a directory`);
  } catch (e) {
    if (e instanceof RefusedError) throw e;
    throw new RefusedError(`backup directory ${dir} (--dir) does not exist: expected the backup volume's mount point`);
  }
  const state = forDatabase(await readDir(dir), database);
  const all: Candidate[] = [
    ...state.complete.map((e) => ({ name: e.name, createdAt: e.manifest.createdAt, entry: e })),
    ...state.invalid.map((i) => ({ name: i.name, createdAt: i.manifest?.createdAt ?? stampOf(i.name), problem: i.reason })),
    ...state.orphans.map((n) => ({ name: n, createdAt: stampOf(n), problem: 'no manifest' })),
  ];
  all.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.name < b.name ? 1 : -1));
  return { state, all };
}

/** Every file's sha256 and size against the manifest (one file, or each of a directory-format backup); a message when one differs. */
export async function checksumProblem(dir: string, entry: BackupEntry): Promise<string | undefined> {
  const bad = await verifyFiles(dir, entry.manifest);
  if (!bad) return undefined;
  const where = bad.file === entry.name ? '' : `${bad.file}: `;
  if (bad.actualSize !== bad.expectedSize) return `${where}size ${bad.actualSize} differs from manifest ${bad.expectedSize}`;
  return `${where}sha256 ${bad.actual} differs from manifest ${bad.expected}: the backup is corrupted`;
}

// ---- databases the jobs create ---------------------------------------------

const MARK = 'created by aiaas-job';

/** The comment a job puts on a database it creates: the only databases it will drop. */
export function markOf(purpose: string, runId: string): string {
  return `${MARK} ${purpose} (run ${runId}); dropped by it, do not use`;
}

export function newRunId(): string {
  return randomUUID().slice(0, 8);
}

/** The database's comment, or undefined when it does not exist. */
async function commentOf(client: PoolClient, name: string): Promise<{ exists: boolean; comment: string | null }> {
  const { rows } = await client.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`, [name]);
  return rows.length === 0 ? { exists: false, comment: null } : { exists: true, comment: rows[0].comment };
}

async function dropDatabase(client: PoolClient, name: string, force: boolean): Promise<void> {
  const { rows: [{ v }] } = await client.query(`SELECT current_setting('server_version_num')::int AS v`);
  await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}${force && v >= 130000 ? ' WITH (FORCE)' : ''}`);
}

/**
 * Drop `name` if a job of this `purpose` created it (a leftover of an earlier run,
 * or this run's when `runId` is given); refuse any other existing database.
 */
export async function dropMarked(pool: Pool, name: string, purpose: string, runId?: string): Promise<'dropped' | 'absent'> {
  return withClient(pool, async (c) => {
    const { exists, comment } = await commentOf(c, name);
    if (!exists) return 'absent';
    const ours = runId ? comment === markOf(purpose, runId) : (comment ?? '').startsWith(`${MARK} ${purpose} (run `);
    if (!ours) {
      throw new RefusedError(`database "${name}" exists and was not created by aiaas-job ${purpose}`
        + `${runId ? ' in this run' : ''}: refusing to drop it (comment: ${comment === null ? 'none' : JSON.stringify(comment)}); `
        + 'choose another name or drop it yourself');
    }
    // An earlier run's leftover is dropped without FORCE: one still in use (another run restoring
    // into it right now) makes the DROP fail instead of being cut off.
    try {
      await dropDatabase(c, name, runId !== undefined);
    } catch (e) {
      if ((e as { code?: string }).code !== '55006') throw e; // object_in_use
      throw new RefusedError(`database "${name}" was left by another aiaas-job ${purpose} run and is in use: `
        + 'another run is restoring into it; try again when it is done');
    }
    return 'dropped';
  });
}

/** Create `name` from template0, marked as this run's. */
export async function createMarked(pool: Pool, name: string, purpose: string, runId: string, owner?: string): Promise<void> {
  await withClient(pool, async (c) => {
    await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE template0${owner ? ` OWNER ${c.escapeIdentifier(owner)}` : ''}`);
    await c.query(`COMMENT ON DATABASE ${c.escapeIdentifier(name)} IS ${c.escapeLiteral(markOf(purpose, runId))}`);
  });
}

/** Ceiling of the scratch database's maintenance_work_mem: each of --jobs index builds may use that much. */
const SCRATCH_MAINTENANCE_WORK_MEM_KB = 256 * 1024;

/**
 * Settings of a scratch database only, as PostgreSQL's "Populating a Database" advises for a bulk
 * load: `ALTER DATABASE ... SET`, so every session pg_restore opens there gets them and nothing
 * changes server-wide (they go with the database when it is dropped). No wait for the WAL flush,
 * nor for synchronous standbys, at each of pg_restore's many commits: a crash would lose only the
 * scratch database, dropped anyway. More memory for the index builds (fewer sort passes): four
 * times the server's maintenance_work_mem, at most 256 MB, never less than the server's own.
 */
export async function tuneScratch(pool: Pool, name: string): Promise<Record<string, string>> {
  return withClient(pool, async (c) => {
    const { rows: [{ kb }] } = await c.query<{ kb: string }>(`SELECT setting AS kb FROM pg_settings WHERE name = 'maintenance_work_mem'`);
    const settings: Record<string, string> = { synchronous_commit: 'off' };
    const mwm = Math.min(4 * Number(kb), SCRATCH_MAINTENANCE_WORK_MEM_KB);
    if (mwm > Number(kb)) settings.maintenance_work_mem = `${mwm}kB`;
    for (const [k, v] of Object.entries(settings)) {
      await c.query(`ALTER DATABASE ${c.escapeIdentifier(name)} SET ${k} = ${c.escapeLiteral(v)}`);
    }
    return settings;
  });
}

// ---- what the role can restore ---------------------------------------------

/** An object of the backup left out of the restore, and why. */
export interface Skipped {
  readonly object: string;
  readonly reason: string;
}

export interface RestorePlan {
  /** `pg_restore -L` file, or undefined when everything is restored. */
  readonly listFile?: string;
  readonly skipped: Skipped[];
  readonly superuser: boolean;
  /** Extra pg_restore flags for a role that is not superuser. */
  readonly flags: string[];
}

/** A line of `pg_restore -l`: `<id>; <catalog oid> <oid> <DESC> <schema> <name> <owner>`. */
interface TocLine {
  readonly line: string;
  readonly desc: string;
  readonly rest: string;
}

const TOC_DESCS = ['COMMENT', 'EXTENSION', 'EVENT TRIGGER'];

export function parseToc(text: string): TocLine[] {
  return text.split('\n').map((line) => {
    const m = /^\d+; \d+ \d+ (.*)$/.exec(line);
    if (!m) return { line, desc: '', rest: '' };
    const desc = TOC_DESCS.find((d) => m[1].startsWith(`${d} `)) ?? m[1].split(' ')[0];
    return { line, desc, rest: m[1].slice(desc.length + 1) };
  });
}

/**
 * What of the backup's table of contents this role cannot create, given the
 * server's extensions: untrusted extensions (pg_stat_statements…) and event
 * triggers need a superuser. Those lines are commented out of the list, with a reason.
 */
export function planFromToc(toc: TocLine[], superuser: boolean, role: string,
  extensions: Map<string, { trusted: boolean }>): { lines: string[]; skipped: Skipped[] } {
  const skipped: Skipped[] = [];
  const skippedExtensions = new Set<string>();
  const lines = toc.map((t) => {
    let reason: string | undefined;
    if (t.desc === 'EXTENSION') {
      const name = t.rest.split(' ')[1];
      const ext = extensions.get(name);
      if (!ext) reason = 'extension not installed on this server';
      else if (!superuser && !ext.trusted) reason = `extension is not trusted: creating it needs a superuser, and ${role} is not one`;
      if (reason) {
        skippedExtensions.add(name);
        skipped.push({ object: `extension ${name}`, reason });
      }
    } else if (t.desc === 'COMMENT' && /^- EXTENSION /.test(t.rest)) {
      const name = t.rest.split(' ')[2];
      if (skippedExtensions.has(name)) reason = `extension ${name} is skipped`;
    } else if (t.desc === 'EVENT TRIGGER' && !superuser) {
      reason = `event triggers need a superuser, and ${role} is not one`;
      skipped.push({ object: `event trigger ${t.rest.split(' ')[1]}`, reason });
    }
    return reason ? `; skipped (${reason}): ${t.line}` : t.line;
  });
  return { lines, skipped };
}

/** Decide what to restore; writes the `-L` list to a temp file when something is left out. */
export async function planRestore(pool: Pool, conn: ConnectionConfig, file: string, signal: AbortSignal): Promise<RestorePlan> {
  const { rows: [who] } = await pool.query<{ superuser: boolean; role: string }>(
    `SELECT rolsuper AS superuser, current_user AS role FROM pg_roles WHERE rolname = current_user`);
  const { rows } = await pool.query<{ name: string; trusted: boolean }>(
    `SELECT v.name, bool_or(v.trusted) AS trusted FROM pg_available_extension_versions v GROUP BY v.name`);
  const extensions = new Map(rows.map((r) => [r.name, { trusted: r.trusted }]));

  const list = runPg('pg_restore', ['--list', file], childEnv(conn), signal, 'pipe');
  let text = '';
  list.child.stdout!.setEncoding('utf8').on('data', (d: string) => { text += d; });
  await list.done;
  const { lines, skipped } = planFromToc(parseToc(text), who.superuser, who.role, extensions);
  const flags = who.superuser ? [] : ['--no-owner', '--no-subscriptions', '--no-security-labels'];
  if (skipped.length === 0) return { skipped, superuser: who.superuser, flags };
  const listFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'aiaas-restore-')), 'toc.list');
  await fs.writeFile(listFile, lines.join('\n'), { mode: 0o600 });
  return { listFile, skipped, superuser: who.superuser, flags };
}

export async function removePlan(plan: RestorePlan): Promise<void> {
  if (plan.listFile) await fs.rm(path.dirname(plan.listFile), { recursive: true, force: true });
}

/** Exact row counts; null for a table that does not exist. */
export async function countRows(pool: Pool, tables: string[]): Promise<Record<string, number | null>> {
  // one table per session, as many at once as the pool has connections (restore-verify: --jobs)
  const counts = await Promise.all(tables.map((key) => withClient(pool, async (client) => {
    const { rows: [{ exists }] } = await client.query('SELECT to_regclass($1) IS NOT NULL AS exists', [key]);
    if (!exists) return null;
    const { rows: [{ n }] } = await client.query(`SELECT count(*) AS n FROM ${quoteQualified(client, key)}`);
    return num(n);
  })));
  return Object.fromEntries(tables.map((t, i) => [t, counts[i]]));
}
