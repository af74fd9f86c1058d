// The alerting path for real: Prometheus and Alertmanager from Debian's packages on
// loopback, metrics from a local exporter, every receiver replaced by a local webhook,
// `for` and escalation timings shortened through the config (seconds instead of
// minutes). One run drives three incidents at once and checks what each level got:
// - PostgresDown, steady: on-call, then senior, then manager; resolved at every level;
// - AiaasToolCallErrors, a second incident: its own page at every level;
// - a circuit breaker flapping (open 6 s, closed 3 s): its critical alert never fires
//   for as long as `senior.after`, yet it escalates;
// - the DB pool alert during PostgresDown: a symptom, inhibited, pages nobody.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { parseMonitoringConfig } from '../../src/config/monitoring-config';
import { renderAlertmanagerYaml } from '../../src/constructs/alert-routing';
import { PlatformAlerts } from '../../src/constructs/platform-alerts';
import { RUNBOOK_URL } from '../support/reference';

const NS = 'aiaas';
const PROMETHEUS = '/usr/bin/prometheus';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

interface Notification {
  readonly level: string;
  readonly at: number;
  readonly status: 'firing' | 'resolved';
  readonly groupKey: string;
  readonly alerts: { status: string; labels: Record<string, string> }[];
}

/** What the exporter serves; the test flips these. */
const state = { pgUp: 1, poolInUse: 10, toolErrors: false, breakerFlapping: false, startedAt: Date.now() };
let toolCalls = { success: 0, error: 0, last: Date.now() };

function metrics(): string {
  const now = Date.now();
  const dt = (now - toolCalls.last) / 1000;
  toolCalls = { success: toolCalls.success + 10 * dt, error: toolCalls.error + (state.toolErrors ? 10 * dt : 0), last: now };
  // Open for 6 s, closed for 3 s while flapping.
  const open = state.breakerFlapping && ((now - state.startedAt) / 1000) % 9 < 6 ? 1 : 0;
  const ns = `namespace="${NS}"`;
  return [
    `pg_up{${ns}, instance="postgres-0:9187"} ${state.pgUp}`,
    `db_pool_connections_in_use{${ns}, service="api-gateway", pod="api-gateway-blue-1"} ${state.poolInUse}`,
    `db_pool_connections_max{${ns}, service="api-gateway", pod="api-gateway-blue-1"} 100`,
    `tool_calls_total{${ns}, tool="web-search", outcome="success"} ${toolCalls.success}`,
    `tool_calls_total{${ns}, tool="web-search", outcome="error"} ${toolCalls.error}`,
    `circuit_breaker_state{${ns}, service="orchestrator", name="payments-api", state="open"} ${open}`,
    `circuit_breaker_state{${ns}, service="orchestrator", name="payments-api", state="closed"} ${1 - open}`,
    '',
  ].join('\n');
}

function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port }));
  });
}

async function freePort(): Promise<number> {
  const { server, port } = await listen(() => undefined);
  await new Promise((r) => server.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) {
      return;
    }
    await sleep(500);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

async function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/-/ready' }, (res) => resolve(res.statusCode === 200)).on('error', () => resolve(false));
  });
}

const available = [PROMETHEUS, ALERTMANAGER].every((bin) => fs.existsSync(bin));
if (!available) {
  throw new Error(
    'this test needs Prometheus and Alertmanager: apt-get install prometheus prometheus-alertmanager (/usr/bin/prometheus, /usr/bin/prometheus-alertmanager)',
  );
}

describe('Prometheus + Alertmanager on loopback: escalation, flapping, separate pages, inhibition, resolution', () => {
  const notifications: Notification[] = [];
  const children: ChildProcess[] = [];
  const servers: http.Server[] = [];
  let dir: string;
  let t0 = 0;
  /** Alerts Prometheus had firing at the height of the incidents. */
  let firingInPrometheus: string[] = [];

  const at = (level: string) => notifications.filter((n) => n.level === level);
  const alertnames = (level: string, status = 'firing') =>
    new Set(at(level).filter((n) => n.status === status).flatMap((n) => n.alerts.filter((a) => a.status === status).map((a) => a.labels.alertname)));
  const escalated = (level: string) =>
    new Set(at(level).flatMap((n) => n.alerts.filter((a) => a.status === 'firing').map((a) => a.labels.escalated_alert)));
  const firstPage = (level: string, match: (labels: Record<string, string>) => boolean) =>
    Math.min(...at(level).filter((n) => n.status === 'firing' && n.alerts.some((a) => match(a.labels))).map((n) => n.at));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-alerting-'));
    const exporter = await listen((_req, res) => {
      res.setHeader('Content-Type', 'text/plain; version=0.0.4');
      res.end(metrics());
    });
    const webhook = await listen((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const payload = JSON.parse(body);
        notifications.push({ level: (req.url ?? '').slice(1), at: Date.now(), status: payload.status, groupKey: payload.groupKey, alerts: payload.alerts });
        res.end('ok');
      });
    });
    servers.push(exporter.server, webhook.server);
    const [promPort, amPort] = [await freePort(), await freePort()];

    // GIVEN the platform's rules and routing with timings in seconds and webhook receivers
    const hook = (level: string) => ({ notify: { webhook: { url: `http://127.0.0.1:${webhook.port}/${level}` } }, repeatInterval: '1h' });
    const monitoring = parseMonitoringConfig({
      runbookBaseUrl: RUNBOOK_URL,
      rateWindow: '10s',
      for: { postgresDown: '2s', toolErrorRatio: '2s', circuitBreakerOpen: '1s', circuitBreakerOpenTooLong: '2s', dbPoolRatio: '2s' },
      escalation: {
        groupWait: '1s',
        groupInterval: '1s',
        flapTolerance: '8s',
        onCall: hook('oncall'),
        senior: { ...hook('senior'), after: '15s' },
        manager: { ...hook('manager'), after: '30s' },
      },
    });
    const chart = Testing.chart();
    new PlatformAlerts(chart, 'Alerts', { namespace: NS, services: ['api-gateway'], monitoring });
    const rule = Testing.synth(chart)[0];
    fs.writeFileSync(path.join(dir, 'rules.yml'), YAML.stringify({ groups: rule.spec.groups }));
    fs.writeFileSync(path.join(dir, 'alertmanager.yml'), renderAlertmanagerYaml(monitoring, NS));
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      YAML.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['rules.yml'],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
        scrape_configs: [{ job_name: 'exporter', honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${exporter.port}`] }] }],
      }),
    );
    const check = spawnSync('amtool', ['check-config', path.join(dir, 'alertmanager.yml')], { encoding: 'utf8' });
    expect(check.status).toBe(0);

    const log = (name: string) => fs.openSync(path.join(dir, `${name}.log`), 'w');
    children.push(
      spawn(ALERTMANAGER, [`--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='], {
        stdio: ['ignore', log('am'), log('am.err')],
      }),
      spawn(
        PROMETHEUS,
        [
          `--config.file=${path.join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(dir, 'prom')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--rules.alert.resend-delay=1s',
        ],
        { stdio: ['ignore', log('prom'), log('prom.err')] },
      ),
    );
    await until('Prometheus and Alertmanager to be ready', async () => (await ready(amPort)) && (await ready(promPort)), 60_000);
    await sleep(3000); // a few healthy scrapes first

    // WHEN three incidents start: the database (with a pool symptom), a flapping breaker, then tool errors
    t0 = Date.now();
    state.startedAt = t0;
    Object.assign(state, { pgUp: 0, poolInUse: 95, breakerFlapping: true });
    await sleep(5000);
    state.toolErrors = true;
    await until(
      'each incident to reach the manager',
      () => ['AiaasPostgresDown', 'AiaasToolCallErrors', 'AiaasCircuitBreakerOpenTooLong'].every((a) => escalated('manager').has(a)),
      120_000,
    );
    firingInPrometheus = await new Promise<string[]>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: promPort, path: '/api/v1/alerts' }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(JSON.parse(body).data.alerts.filter((a: any) => a.state === 'firing').map((a: any) => a.labels.alertname)));
        })
        .on('error', reject);
    });
    // ... and all of them end
    Object.assign(state, { pgUp: 1, poolInUse: 10, breakerFlapping: false, toolErrors: false });
    await until(
      'every paged group to be resolved at every level',
      () => ['oncall', 'senior', 'manager'].every((level) => lastByGroup(level).every((n) => n.status === 'resolved')),
      120_000,
    );
  }, 360_000);

  afterAll(async () => {
    for (const child of children) {
      child.kill('SIGTERM');
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function lastByGroup(level: string): Notification[] {
    const last = new Map<string, Notification>();
    for (const n of at(level)) {
      last.set(n.groupKey, n);
    }
    return [...last.values()];
  }

  test('a steady incident escalates level by level: on-call, then senior, then manager', () => {
    const isDown = (l: Record<string, string>) => l.alertname === 'AiaasPostgresDown' || l.escalated_alert === 'AiaasPostgresDown';
    const [oncall, senior, manager] = ['oncall', 'senior', 'manager'].map((level) => firstPage(level, isDown) - t0);
    expect(oncall).toBeLessThan(senior);
    expect(senior).toBeLessThan(manager);
    // Senior not before `senior.after` (15 s) past the alert, manager not before 30 s.
    expect(senior - oncall).toBeGreaterThanOrEqual(12_000);
    expect(manager - oncall).toBeGreaterThanOrEqual(27_000);
    // Each level gets only its own alerts.
    expect([...alertnames('senior')]).toEqual(['AiaasEscalationSenior']);
    expect([...alertnames('manager')]).toEqual(['AiaasEscalationManager']);
  });

  test('a flapping incident escalates too', () => {
    // The breaker is open 6 s at a time (its alert fires ~4 s), far less than senior.after (15 s).
    const breakerPages = at('oncall').filter((n) => n.status === 'firing' && n.alerts.some((a) => a.labels.alertname === 'AiaasCircuitBreakerOpenTooLong'));
    expect(breakerPages.length).toBeGreaterThan(1);
    expect(escalated('senior')).toContain('AiaasCircuitBreakerOpenTooLong');
    expect(escalated('manager')).toContain('AiaasCircuitBreakerOpenTooLong');
  });

  test('two incidents page separately at every level', () => {
    for (const level of ['oncall', 'senior', 'manager']) {
      const key = (n: Notification, alert: string) => n.alerts.some((a) => a.labels.alertname === alert || a.labels.escalated_alert === alert);
      const down = new Set(at(level).filter((n) => key(n, 'AiaasPostgresDown')).map((n) => n.groupKey));
      const tools = new Set(at(level).filter((n) => key(n, 'AiaasToolCallErrors')).map((n) => n.groupKey));
      expect(down.size).toBeGreaterThan(0);
      expect(tools.size).toBeGreaterThan(0);
      expect([...down].filter((g) => tools.has(g))).toEqual([]);
    }
    // No escalation notification carries two escalated alerts.
    for (const n of [...at('senior'), ...at('manager')]) {
      expect(new Set(n.alerts.map((a) => a.labels.escalated_alert)).size).toBe(1);
    }
  });

  test('an inhibited symptom pages nobody; warnings do not escalate', () => {
    // The symptom did fire in Prometheus; Alertmanager muted it.
    expect(firingInPrometheus).toContain('AiaasDatabasePoolExhaustion');
    const everything = notifications.flatMap((n) => n.alerts.map((a) => a.labels));
    expect(everything.filter((l) => l.alertname === 'AiaasDatabasePoolExhaustion' || l.escalated_alert === 'AiaasDatabasePoolExhaustion')).toEqual([]);
    expect(escalated('senior')).not.toContain('AiaasCircuitBreakerOpen');
    // The warning itself did reach on-call: the routing is not simply silent.
    expect(alertnames('oncall')).toContain('AiaasCircuitBreakerOpen');
  });

  test('resolution reaches every level that was paged', () => {
    for (const level of ['oncall', 'senior', 'manager']) {
      const groups = lastByGroup(level);
      expect(groups.length).toBeGreaterThanOrEqual(3);
      expect(groups.map((n) => n.status)).toEqual(groups.map(() => 'resolved'));
    }
  });
});
