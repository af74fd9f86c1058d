// Throwaway PostgreSQL for the job integration tests: a primary (pg_stat_statements
// preloaded, wal_level replica, a scram-authenticated role on 127.0.0.1) and
// optionally a streaming replica made with `pg_basebackup -R`, in a temp dir on
// free ports. Servers run as the `postgres` OS user when the tests run as root.
// One cluster per test file (beforeAll/afterAll); `stop()` removes everything.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const execFileP = promisify(execFile);
export const PG_BIN = process.env.PG_BIN ?? newestDebianPostgresBin();

/** Debian installs each major under /usr/lib/postgresql/<major>/bin: take the newest with a server. */
function newestDebianPostgresBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) {
    throw new Error(`no PostgreSQL server under ${root}: install the Debian packages postgresql and postgresql-contrib, or set PG_BIN`);
  }
  return path.join(root, majors[0], 'bin');
}
export const ROLE = 'aiaas_ops';
export const REPO = path.resolve(__dirname, '../../..');
export const CLI = path.join(REPO, 'lib/jobs/aiaas-job.js');

const asRoot = process.getuid?.() === 0;
const pgUser = asRoot ? (() => {
  const out = execFileSync('id', ['-u', 'postgres']).toString().trim();
  const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
  return { uid: Number(out), gid: Number(gid) };
})() : undefined;

/** Run a PostgreSQL server binary as the postgres OS user (when root). */
async function pgExec(bin: string, args: string[]): Promise<string> {
  const cmd = path.join(PG_BIN, bin);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  try {
    const { stdout } = await execFileP(file, argv, { cwd: '/tmp', maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const running = new Set<string>();
process.on('exit', () => {
  // last resort if afterAll never ran
  for (const dir of running) {
    const cmd = path.join(PG_BIN, 'pg_ctl');
    const args = ['-D', dir, '-m', 'immediate', 'stop'];
    if (asRoot) spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args]); else spawnSync(cmd, args);
  }
});

export class PgNode {
  public running = false;
  constructor(
    public readonly name: string,
    public readonly dataDir: string,
    public readonly port: number,
    public readonly socketDir: string,
  ) {}

  public async start(): Promise<void> {
    await pgExec('pg_ctl', ['-D', this.dataDir, '-l', `${this.dataDir}.log`, '-w', '-t', '60', 'start']);
    this.running = true;
    running.add(this.dataDir);
  }

  public async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.running) return;
    await pgExec('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', 'stop']);
    this.running = false;
    running.delete(this.dataDir);
  }

  /** Superuser client over the unix socket (trust). Caller ends it. */
  public async connect(database = 'postgres', user = 'postgres'): Promise<Client> {
    const c = new Client({ host: this.socketDir, port: this.port, user, database });
    c.on('error', () => undefined); // tests terminate sessions on purpose
    await c.connect();
    return c;
  }

  public async query<T extends Record<string, any> = any>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
    const c = await this.connect(database);
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  public log(): string {
    try {
      return fs.readFileSync(`${this.dataDir}.log`, 'utf8');
    } catch {
      return '';
    }
  }
}

export interface ClusterOptions {
  /** Start a streaming replica too. @default false */
  readonly replica?: boolean;
  /** Preload pg_stat_statements. @default true */
  readonly preload?: boolean;
  /** Extra postgresql.conf settings of the primary. */
  readonly settings?: Record<string, string | number>;
  /** Database created for the tests, owned by ROLE. @default 'aiaas' */
  readonly database?: string;
}

export class PgCluster {
  public readonly password = `Pw-${randomBytes(9).toString('hex')}`;
  public primary!: PgNode;
  public replica?: PgNode;
  public readonly database: string;

  private constructor(public readonly root: string, database: string) {
    this.database = database;
  }

  public static async start(opts: ClusterOptions = {}): Promise<PgCluster> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-pg-'));
    if (pgUser) fs.chownSync(root, pgUser.uid, pgUser.gid);
    fs.chmodSync(root, 0o700);
    const cluster = new PgCluster(root, opts.database ?? 'aiaas');
    try {
      await cluster.init(opts);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** libpq environment for the CLI: TCP, scram password. */
  public env(node: PgNode = this.primary, overrides: Record<string, string> = {}): Record<string, string> {
    return {
      PGHOST: '127.0.0.1',
      PGPORT: String(node.port),
      PGUSER: ROLE,
      PGPASSWORD: this.password,
      PGDATABASE: this.database,
      ...overrides,
    };
  }

  public async stop(): Promise<void> {
    for (const n of [this.replica, this.primary]) {
      if (n) await n.stop('immediate').catch(() => undefined);
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  /** The test database's usual contents: pg_stat_statements and a `users` table of `rows` rows. */
  public async seedUsers(rows: number): Promise<void> {
    await this.primary.query(`
      CREATE EXTENSION pg_stat_statements;
      CREATE TABLE users (id int PRIMARY KEY, name text);
      INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, ${Math.trunc(rows)}) g;
    `, [], this.database);
  }

  /** Wait until the primary sees `n` streaming standbys. */
  public async waitForStandbys(n: number, timeoutMs = 30000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.primary.query(`SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'`);
      if (rows[0].n === n) return;
      if (Date.now() > until) throw new Error(`expected ${n} streaming standbys, have ${rows[0].n}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Wait until the replica has replayed everything the primary has written. */
  public async waitForReplay(timeoutMs = 30000): Promise<void> {
    const [{ lsn }] = await this.primary.query('SELECT pg_current_wal_lsn()::text AS lsn');
    const until = Date.now() + timeoutMs;
    for (;;) {
      const [{ done }] = await this.replica!.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn]);
      if (done) return;
      if (Date.now() > until) throw new Error('replica did not catch up');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async init(opts: ClusterOptions): Promise<void> {
    const primaryDir = path.join(this.root, 'primary');
    await pgExec('initdb', ['-D', primaryDir, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync',
      '--auth-local=trust', '--auth-host=scram-sha-256']);
    const port = await freePort();
    const settings: Record<string, string | number> = {
      port,
      listen_addresses: `'127.0.0.1'`,
      unix_socket_directories: `'${this.root}'`,
      wal_level: 'replica',
      max_wal_senders: 5,
      max_connections: 50,
      fsync: 'off',
      synchronous_commit: 'off',
      shared_buffers: `'64MB'`,
      password_encryption: `'scram-sha-256'`,
      wal_receiver_status_interval: `'1s'`,
      ...(opts.preload ?? true ? { shared_preload_libraries: `'pg_stat_statements'` } : {}),
      ...opts.settings,
    };
    this.appendConf(path.join(primaryDir, 'postgresql.conf'), settings);
    this.writeAsPg(path.join(primaryDir, 'pg_hba.conf'), [
      'local all all trust',
      'local replication all trust',
      'host replication postgres 127.0.0.1/32 trust',
      'host all all 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'));
    this.primary = new PgNode('primary', primaryDir, port, this.root);
    await this.primary.start();

    const c = await this.primary.connect();
    try {
      await c.query(`CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD ${c.escapeLiteral(this.password)}`);
      await c.query(`CREATE DATABASE ${c.escapeIdentifier(this.database)} OWNER ${ROLE}`);
    } finally {
      await c.end();
    }

    if (opts.replica) {
      const replicaDir = path.join(this.root, 'replica');
      await pgExec('pg_basebackup', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-D', replicaDir,
        '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
      const rport = await freePort();
      this.appendConf(path.join(replicaDir, 'postgresql.conf'), { port: rport, hot_standby_feedback: 'on' });
      this.replica = new PgNode('replica', replicaDir, rport, this.root);
      await this.replica.start();
      await this.waitForStandbys(1);
    }
  }

  private appendConf(file: string, settings: Record<string, string | number>): void {
    const lines = Object.entries(settings).map(([k, v]) => `${k} = ${v}`);
    fs.appendFileSync(file, `\n# aiaas test harness\n${lines.join('\n')}\n`);
  }

  private writeAsPg(file: string, content: string): void {
    fs.writeFileSync(file, content);
    if (pgUser) fs.chownSync(file, pgUser.uid, pgUser.gid);
  }
}

// ---- small helpers of the test files ----------------------------------------

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The temp directories one test file makes (`make`), removed together in its afterAll (`removeAll`). */
export class TempDirs {
  private readonly dirs: string[] = [];

  constructor(private readonly prefix: string) {}

  /** Every directory made so far. */
  public get all(): readonly string[] {
    return this.dirs;
  }

  public readonly make = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), this.prefix));
    this.dirs.push(d);
    return d;
  };

  public removeAll(): void {
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

// ---- running the built CLI -----------------------------------------------

let bundled = false;
/** Build lib/jobs/aiaas-job.js once per test file. */
export function ensureBundle(): void {
  if (bundled) return;
  execFileSync('npm', ['run', '-s', 'bundle'], { cwd: REPO, stdio: 'pipe' });
  bundled = true;
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly report: any;
  /** Parsed stderr lines. */
  readonly logs: any[];
}

/** Base environment of the CLI: nothing of the test process leaks in but PATH. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), LANG: 'C.UTF-8' };
}

export interface RunningCli {
  readonly pid: number;
  readonly done: Promise<CliResult>;
  kill(signal: NodeJS.Signals): void;
}

export function startCli(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      let report: any;
      try {
        report = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        report = undefined;
      }
      const logs = stderr.split('\n').filter((l) => l.trim()).map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return { unparsable: l };
        }
      });
      resolve({ code, signal, stdout, stderr, report, logs });
    });
  });
  return { pid: child.pid!, done, kill: (s) => child.kill(s) };
}

export async function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return startCli(args, env).done;
}

/**
 * The contract every run must keep: one JSON report on stdout with the exit
 * code in it, only JSON lines on stderr, and the password nowhere.
 */
export function expectContract(res: CliResult, password: string, exitCode: number): void {
  const ctx = `exit ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`;
  if (res.code !== exitCode) throw new Error(`expected exit ${exitCode}, got ${ctx}`);
  if (!res.report) throw new Error(`no JSON report on stdout: ${ctx}`);
  if (res.stdout.trim().split('\n').length !== 1) throw new Error(`more than one line on stdout: ${ctx}`);
  if (res.report.exitCode !== exitCode) throw new Error(`report.exitCode ${res.report.exitCode} != ${exitCode}`);
  if (res.logs.some((l) => l.unparsable !== undefined)) throw new Error(`non-JSON line on stderr: ${ctx}`);
  if (res.stderr.includes(password) || res.stdout.includes(password)) throw new Error(`password printed: ${ctx}`);
  if (/postgres(ql)?:\/\/[^\s"]*@/.test(res.stderr)) throw new Error(`connection string printed: ${ctx}`);
}
