// sslmode as libpq means it, against a real server with TLS (a throwaway CA and a
// certificate for "localhost" only) and one without: verify-full checks chain and
// host name, verify-ca the chain, require never falls back, prefer falls back only
// with a warning.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBundle, expectContract, PgCluster, runCli } from './pg-harness';

jest.setTimeout(120000);

let tls: PgCluster;
let plain: PgCluster;
let certs: string;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
}

/** A CA, and a server certificate it signed for DNS:localhost only (not 127.0.0.1). */
function makeCertificates(): void {
  certs = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-tls-'));
  fs.chmodSync(certs, 0o755);
  for (const ca of ['ca', 'other-ca']) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.crt`]);
  }
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr']);
  fs.writeFileSync(path.join(certs, 'san.cnf'), 'subjectAltName=DNS:localhost\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', 'san.cnf', '-out', 'server.crt']);
  // the server refuses a key others can read; as root the server runs as postgres
  fs.chmodSync(path.join(certs, 'server.key'), 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    for (const f of ['server.key', 'server.crt']) fs.chownSync(path.join(certs, f), uid, gid);
  }
}

beforeAll(async () => {
  ensureBundle();
  makeCertificates();
  tls = await PgCluster.start({
    settings: { ssl: 'on', ssl_cert_file: `'${certs}/server.crt'`, ssl_key_file: `'${certs}/server.key'` },
  });
  plain = await PgCluster.start({});
});

afterAll(async () => {
  await tls?.stop();
  await plain?.stop();
  if (certs) fs.rmSync(certs, { recursive: true, force: true });
});

const ca = (): string => path.join(certs, 'ca.crt');

test('verify-full with the CA and the certificate\'s host name: connected', async () => {
  const res = await runCli(['db-health', '--host', 'localhost', '--sslmode', 'verify-full', '--sslrootcert', ca()], tls.env());
  expectContract(res, tls.password, 0);
});

test('verify-full to an address the certificate does not name: refused', async () => {
  const res = await runCli(['db-health', '--sslmode', 'verify-full'], tls.env(undefined, { PGSSLROOTCERT: ca() }));
  expectContract(res, tls.password, 2);
  expect(res.report.errors[0]).toMatch(/127\.0\.0\.1.*(not in the cert|altnames)/i);
});

test('verify-ca checks the chain, not the name; another CA is refused', async () => {
  const ok = await runCli(['db-health', '--sslmode', 'verify-ca', '--sslrootcert', ca()], tls.env());
  expectContract(ok, tls.password, 0);
  const other = await runCli(['db-health', '--sslmode', 'verify-ca', '--sslrootcert', path.join(certs, 'other-ca.crt')], tls.env());
  expectContract(other, tls.password, 2);
  expect(other.report.errors[0]).toMatch(/certificate/i);
  expect(other.logs.some((l) => l.err?.stack)).toBe(false);
});

test('verify-full without a CA, or with an unreadable one: usage error naming the setting', async () => {
  const none = await runCli(['db-health', '--sslmode', 'verify-full'], tls.env());
  expectContract(none, tls.password, 64);
  expect(none.report.errors[0]).toMatch(/--sslmode verify-full' needs the CA .* set PGSSLROOTCERT or use --sslrootcert/);
  const missing = await runCli(['db-health', '--sslmode', 'verify-full', '--sslrootcert', '/nonexistent/ca.crt'], tls.env());
  expectContract(missing, tls.password, 64);
  expect(missing.report.errors[0]).toMatch(/--sslrootcert <file>' argument '\/nonexistent\/ca.crt' cannot be read \(ENOENT\)/);
});

test('require never falls back to plaintext', async () => {
  expectContract(await runCli(['db-health', '--sslmode', 'require'], tls.env()), tls.password, 0);
  const res = await runCli(['db-health', '--sslmode', 'require'], plain.env());
  expectContract(res, plain.password, 2);
  expect(res.report.errors[0]).toMatch(/does not support SSL/);
});

test('prefer uses TLS when offered and says so when it falls back to plaintext', async () => {
  const withTls = await runCli(['db-health', '--sslmode', 'prefer'], tls.env());
  expectContract(withTls, tls.password, 0);
  expect(withTls.logs.some((l) => /plaintext/.test(l.msg))).toBe(false);
  const without = await runCli(['db-health', '--sslmode', 'prefer'], plain.env());
  expectContract(without, plain.password, 0);
  expect(without.logs).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/offers no TLS: connecting in plaintext/) })]));
});
