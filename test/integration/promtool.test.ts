// The proof that the alerts fire when, and only when, the runbook says: the rule
// groups are extracted from the synthesized PrometheusRule, checked with
// `promtool check rules`, and exercised with generated `promtool test rules` files.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { MonitoringConfig, parseMonitoringConfig } from '../../src/config/monitoring-config';
import { AlertDefinition } from '../../src/alerts/alert-record';
import { PlatformAlerts, PlatformAlertsProps } from '../../src/constructs/platform-alerts';
import { PlatformChart } from '../../src/constructs/platform-chart';
import { promtoolTests, PromtoolTestCase } from './_alert-fixtures';
import { RUNBOOK_URL } from '../support/reference';

const SERVICES = ['api-gateway', 'orchestrator', 'tool-service', 'realtime-service'];
const NAMESPACE = 'aiaas';
const CRON_JOBS = [
  { name: 'postgres-vacuum-analyze', task: 'vacuum-analyze', maxAgeSeconds: 8 * 86400 },
  { name: 'postgres-backup', task: 'backup', maxAgeSeconds: 26 * 3600 },
];
const BACKUP = { name: 'postgres-backup', maxAgeSeconds: 26 * 3600 };

function promtool(args: string[], cwd: string): { status: number; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `cannot run promtool (${result.error.message}); install the Debian package 'prometheus' (apt-get install prometheus), which provides /usr/bin/promtool`,
    );
  }
  return { status: result.status ?? -1, output: `${result.stdout}\n${result.stderr}` };
}

/** Synthesizes the PrometheusRule and returns its rule groups and the definitions. */
type RulesSource = 'construct' | 'platform' | 'platform-argo';

function synthRules(monitoring: MonitoringConfig, source: RulesSource = 'construct'): { groups: any[]; defs: AlertDefinition[]; backup: string } {
  if (source !== 'construct') {
    // The reference platform exactly as `npm run synth` writes it to dist/ (or with the Argo Rollouts engine).
    const blueGreen = source === 'platform-argo' ? { engine: 'argo-rollouts' as const } : {};
    const platform = new PlatformChart(Testing.app(), 'aiaas', { config: { monitoring, blueGreen } });
    const rule = platform.toJson().find((o: any) => o.kind === 'PrometheusRule');
    return { groups: rule.spec.groups, defs: platform.alerts.definitions, backup: 'db-backup' };
  }
  const chart = Testing.chart();
  const props: PlatformAlertsProps = { namespace: NAMESPACE, services: SERVICES, monitoring, cronJobs: CRON_JOBS, backupCronJob: BACKUP, offsiteBackupCronJob: BACKUP.name };
  const alerts = new PlatformAlerts(chart, 'Alerts', props);
  const rule = Testing.synth(chart).find((o) => o.kind === 'PrometheusRule');
  expect(rule).toBeDefined();
  return { groups: rule.spec.groups, defs: alerts.definitions, backup: BACKUP.name };
}

function withoutAnnotations(groups: any[]): any[] {
  return groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }: any) => r) }));
}

function writeTestFile(dir: string, file: string, tests: PromtoolTestCase[]): string {
  const body = { rule_files: ['rules-for-tests.yml'], evaluation_interval: '1m', tests: tests.map((t) => t.test) };
  fs.writeFileSync(path.join(dir, file), YAML.stringify(body));
  return file;
}

describe.each<[string, object, RulesSource]>([
  ['runbook defaults', {}, 'construct'],
  ['the reference platform chart (dist/)', {}, 'platform'],
  // Rollouts instead of Deployments: the availability alert also reads the Argo Rollouts controller's metrics.
  ['the platform chart with engine argo-rollouts', {}, 'platform-argo'],
  [
    'per-service overrides',
    {
      perService: { 'api-gateway': { latencyP95Seconds: 3, errorRatio: 0.1 }, orchestrator: { dbPoolRatio: 0.9, timeoutRatio: 0.02 } },
      for: { crashLooping: '10m' },
      escalation: { senior: { after: '10m' }, manager: { after: '20m' } },
    },
    'construct',
  ],
])('promtool with %s', (_label, input, source) => {
  const monitoring = parseMonitoringConfig({ runbookBaseUrl: RUNBOOK_URL, ...(input as object) });
  const { groups, defs, backup } = synthRules(monitoring, source);
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-promtool-'));
    fs.writeFileSync(path.join(dir, 'rules.yml'), YAML.stringify({ groups }));
    // promtool test compares annotations exactly; the firing logic is tested on the
    // same rules without them (the templates are checked by `check rules`).
    fs.writeFileSync(path.join(dir, 'rules-for-tests.yml'), YAML.stringify({ groups: withoutAnnotations(groups) }));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('promtool check rules accepts the synthesized rule groups', () => {
    const { status, output } = promtool(['check', 'rules', 'rules.yml'], dir);
    expect(output).toContain(`SUCCESS: ${defs.length} rules found`);
    expect(status).toBe(0);
  });

  test('every alert fires just above its threshold after its for, and stays silent just below', () => {
    const cases = promtoolTests(defs, monitoring, NAMESPACE, backup);
    // Every alert has at least one firing and one silent scenario.
    for (const name of new Set(defs.map((d) => d.name))) {
      expect(cases.filter((c) => c.alert === name && c.scenario.startsWith('fires')).length).toBeGreaterThan(0);
      expect(cases.filter((c) => c.alert === name && c.scenario.startsWith('silent')).length).toBeGreaterThan(0);
    }
    if (source === 'platform-argo') {
      // The Rollouts' availability is proven, not only the Deployments'.
      expect(cases.filter((c) => c.alert === 'AiaasDeploymentReplicasUnavailable').map((c) => c.scenario)).toEqual(
        expect.arrayContaining(['fires: a Rollout with 1 of 2 replicas available', 'silent: a Rollout with every desired replica available']),
      );
    }
    const file = writeTestFile(dir, 'alerts.test.yml', cases);
    const { status, output } = promtool(['test', 'rules', file], dir);
    if (status !== 0) {
      throw new Error(`promtool test rules failed:\n${output}`);
    }
    expect(output).toContain('SUCCESS');
  });

  test('the harness can fail: a wrong expectation makes promtool test rules exit non-zero', () => {
    const cases = promtoolTests(defs, monitoring, NAMESPACE, backup);
    const silent = cases.find((c) => c.alert === 'AiaasHighErrorRate' && c.scenario.startsWith('silent'))!;
    const checks = silent.test.alert_rule_test as any[];
    // Claim the just-below series fire: promtool must disagree.
    const wrong: PromtoolTestCase = {
      ...silent,
      test: {
        ...silent.test,
        alert_rule_test: [{ ...checks[checks.length - 1], exp_alerts: [{ exp_labels: { namespace: NAMESPACE, service: 'api-gateway', severity: 'critical' } }] }],
      },
    };
    const file = writeTestFile(dir, 'wrong.test.yml', [wrong]);
    const { status, output } = promtool(['test', 'rules', file], dir);
    expect(status).not.toBe(0);
    expect(output).toContain('AiaasHighErrorRate');
  });
});

describe('promtool renders the annotations', () => {
  test('summary, description with the value, and runbook_url of a firing alert', () => {
    const monitoring = parseMonitoringConfig({ runbookBaseUrl: RUNBOOK_URL });
    const { groups } = synthRules(monitoring);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-promtool-'));
    try {
      fs.writeFileSync(path.join(dir, 'rules.yml'), YAML.stringify({ groups }));
      const instance = { namespace: NAMESPACE, instance: 'postgres-0:9187' };
      const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
      const body = {
        rule_files: ['rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              { series: `pg_replication_lag_seconds${labels(instance)}`, values: '45+0x20' },
              { series: `pg_up${labels(instance)}`, values: '1+0x20' },
              { series: `kube_cronjob_status_last_successful_time${labels({ namespace: NAMESPACE, cronjob: BACKUP.name })}`, values: '0+60x20' },
            ],
            alert_rule_test: [
              {
                eval_time: '10m',
                alertname: 'AiaasPostgresReplicationLag',
                exp_alerts: [
                  {
                    exp_labels: { ...instance, severity: 'warning' },
                    exp_annotations: {
                      summary: 'PostgreSQL standby lags behind the primary.',
                      description: 'Standby postgres-0:9187 in aiaas is 45s behind; threshold 30s for 5m.',
                      runbook_url: `${RUNBOOK_URL}#aiaaspostgresreplicationlag`,
                    },
                  },
                ],
              },
            ],
          },
        ],
      };
      fs.writeFileSync(path.join(dir, 'annotations.test.yml'), YAML.stringify(body));
      const { status, output } = promtool(['test', 'rules', 'annotations.test.yml'], dir);
      if (status !== 0) {
        throw new Error(`promtool test rules failed:\n${output}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
