import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Testing } from 'cdk8s';
import { parseMonitoringConfig } from '../src/config/monitoring-config';
import { AlertSeverity, IncidentCode } from '../src/alerts/alert-record';
import { alertDefinitions } from '../src/alerts/definitions';
import { PlatformAlerts, PlatformAlertsProps } from '../src/constructs/platform-alerts';
import { RUNBOOK_URL } from './support/reference';

const SERVICES = ['api-gateway', 'orchestrator', 'tool-service', 'realtime-service'];

function props(extra: Partial<PlatformAlertsProps> = {}, monitoring: unknown = {}): PlatformAlertsProps {
  return {
    namespace: 'aiaas',
    services: SERVICES,
    monitoring: parseMonitoringConfig({ runbookBaseUrl: RUNBOOK_URL, ...(monitoring as object) }),
    cronJobs: [{ name: 'postgres-vacuum-analyze', task: 'vacuum-analyze', maxAgeSeconds: 691200 }],
    backupCronJob: { name: 'postgres-backup', maxAgeSeconds: 93600 },
    database: { statefulSet: 'postgres' },
    ...extra,
  };
}

function synthRule(p: PlatformAlertsProps) {
  const chart = Testing.chart();
  new PlatformAlerts(chart, 'Alerts', p);
  const manifest = Testing.synth(chart);
  expect(manifest).toHaveLength(1);
  return manifest[0];
}

function rules(obj: any): any[] {
  return obj.spec.groups.flatMap((g: any) => g.rules);
}

describe('PlatformAlerts', () => {
  test('synthesizes one PrometheusRule that validates against the prometheus-operator schema', () => {
    // WHEN
    const obj = synthRule(props());
    // THEN
    expect(obj.apiVersion).toEqual('monitoring.coreos.com/v1');
    expect(obj.kind).toEqual('PrometheusRule');
    expect(obj.metadata.namespace).toEqual('aiaas');
    expect(obj.metadata.labels).toEqual({ role: 'alert-rules' });
    expect(() => new PrometheusRule(obj).validate()).not.toThrow();
    // One group as a sample of the rule text; the exact checks below and dist/ pin the rest.
    expect(obj.spec.groups.find((g: any) => g.name === 'aiaas.database')).toMatchSnapshot();
  });

  test('covers every incident code of the runbook', () => {
    const incidents = new Set(rules(synthRule(props())).map((r) => r.labels.incident).filter(Boolean));
    expect([...incidents].sort()).toEqual(Object.values(IncidentCode).sort());
  });

  test('every rule has severity, summary, description with the value, and a runbook_url on the base URL', () => {
    const base = 'https://runbooks.example.com/aiaas/RUNBOOK.md';
    const all = rules(synthRule(props({}, { runbookBaseUrl: base })));
    for (const r of all) {
      expect(r.alert).toMatch(/^Aiaas[A-Z][A-Za-z0-9]+$/);
      expect(Object.values(AlertSeverity)).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
      expect(r.annotations.description).toContain('{{ $value');
      expect(r.annotations.runbook_url).toEqual(`${base}#${r.alert.toLowerCase()}`);
      expect(r.for).toMatch(/^([0-9]+(ms|s|m|h|d|w|y))+$/);
      expect(r.expr).toContain('namespace="aiaas"');
    }
  });

  test('encodes the runbook thresholds as defaults', () => {
    const byName = new Map(rules(synthRule(props())).map((r) => [r.alert, r]));
    expect(byName.get('AiaasHighLatencyP95').expr).toMatch(/histogram_quantile\(0\.95, .*\) > 2$/);
    expect(byName.get('AiaasResponseTimeCritical').expr).toMatch(/histogram_quantile\(0\.99, .*\) > 5$/);
    expect(byName.get('AiaasResponseTimeCritical').labels).toEqual({ severity: 'critical', incident: 'TIMEOUT' });
    expect(byName.get('AiaasHighErrorRate').expr).toMatch(/code=~"5\.\."}\[5m\]\)\) \/ .* > 0\.05$/);
    expect(byName.get('AiaasDatabasePoolExhaustion').expr).toMatch(/> 0\.8$/);
    expect(byName.get('AiaasPostgresConnectionsHigh').expr).toMatch(/pg_settings_max_connections.* > 0\.8$/);
    expect(byName.get('AiaasContainerMemoryHigh').expr).toMatch(/resource="memory"}\) > 0\.85$/);
    expect(byName.get('AiaasCircuitBreakerOpenTooLong').for).toEqual('5m');
    expect(byName.get('AiaasPostgresLongRunningTransaction').expr).toMatch(/> 300$/);
    expect(byName.get('AiaasWebSocketConnectionsNearLimit').labels.incident).toEqual('WS_OVERLOAD');
    expect(byName.get('AiaasValidationFailuresHigh').labels.incident).toEqual('VALIDATION_FAIL');
    expect(byName.get('AiaasToolCallErrors').labels.incident).toEqual('TOOL_DOWN');
  });

  test('the backup alert also fires when the CronJob series is absent', () => {
    const backup = rules(synthRule(props())).find((r) => r.alert === 'AiaasBackupTooOld');
    expect(backup.expr).toEqual(
      '(time() - kube_cronjob_status_last_successful_time{namespace="aiaas", cronjob="postgres-backup"} > 93600)' +
        ' or absent(kube_cronjob_status_last_successful_time{namespace="aiaas", cronjob="postgres-backup"})',
    );
    expect(backup.labels.severity).toEqual('critical');
  });

  test('one job-failed rule per CronJob, labelled with its task', () => {
    const failed = rules(synthRule(props())).filter((r) => r.alert === 'AiaasDatabaseJobFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0].labels).toEqual({ severity: 'warning', cronjob: 'postgres-vacuum-analyze', task: 'vacuum-analyze' });
    expect(failed[0].expr).toContain('job_name=~"postgres-vacuum-analyze-([0-9]+|manual-.+)"');
    // Only the latest finished (failed or complete) run of the CronJob counts.
    expect(failed[0].expr).toContain('== on (namespace) group_left () max by (namespace) (');
    expect(failed[0].expr).toContain('kube_job_complete{namespace="aiaas", job_name=~"postgres-vacuum-analyze-([0-9]+|manual-.+)", condition="true"} == 1');
  });

  test('no job or backup rules without CronJobs', () => {
    const names = rules(synthRule(props({ cronJobs: undefined, backupCronJob: undefined }))).map((r) => r.alert);
    expect(names).not.toContain('AiaasDatabaseJobFailed');
    expect(names).not.toContain('AiaasBackupTooOld');
  });

  test('off-cluster backup alerts only with a bucket, on the pushed metrics of the namespace, age from the config', () => {
    expect(rules(synthRule(props())).map((r) => r.alert)).not.toContain('AiaasOffsiteBackupTooOld');
    const all = rules(synthRule(props({ offsiteBackupCronJob: 'postgres-backup' }, { thresholds: { offsiteBackupAgeSeconds: 50000 } })));
    const upload = all.find((r) => r.alert === 'AiaasOffsiteBackupUploadFailed');
    expect(upload.expr).toBe('aiaas_backup_bucket_upload_ok{namespace="aiaas", task="backup"} == 0');
    const old = all.find((r) => r.alert === 'AiaasOffsiteBackupTooOld');
    expect(old.expr).toBe('(time() - max by (namespace) (aiaas_backup_bucket_newest_timestamp_seconds{namespace="aiaas"}) > 50000)'
      + ' or absent(aiaas_backup_bucket_newest_timestamp_seconds{namespace="aiaas"})');
    expect(old.labels).toEqual({ severity: 'critical', cronjob: 'postgres-backup' });
    expect(old.for).toBe('10m');
    // default: a nightly backup plus slack
    const dflt = rules(synthRule(props({ offsiteBackupCronJob: 'postgres-backup' }))).find((r) => r.alert === 'AiaasOffsiteBackupTooOld');
    expect(dflt.expr).toContain('> 93600)');
    expect(() => synthRule(props({ offsiteBackupCronJob: 'Backup' }))).toThrow(/offsiteBackupCronJob\.name: expected a CronJob name/);
  });

  test('a per-service override adds an `or` branch to the same rule', () => {
    const all = rules(synthRule(props({}, { perService: { 'api-gateway': { latencyP95Seconds: 3 } } })));
    const latency = all.filter((r) => r.alert === 'AiaasHighLatencyP95');
    expect(latency).toHaveLength(1);
    expect(latency[0].expr).toContain('service=~"api-gateway"}[5m]))) > 3)');
    expect(latency[0].expr).toContain('service=~"orchestrator|tool-service|realtime-service"}[5m]))) > 2)');
    expect(latency[0].annotations.description).toContain('{{ if eq $labels.service "api-gateway" }}3s{{ else }}2s{{ end }}');
  });

  test('metric names come from the config', () => {
    const all = rules(synthRule(props({}, { metrics: { httpRequestsTotal: 'aiaas_http_requests_total' } })));
    expect(all.find((r) => r.alert === 'AiaasHighErrorRate').expr).toContain('aiaas_http_requests_total{');
  });

  test('escalation rules watch firing critical alerts for 15 and 30 minutes', () => {
    const all = rules(synthRule(props()));
    const senior = all.find((r) => r.alert === 'AiaasEscalationSenior');
    const manager = all.find((r) => r.alert === 'AiaasEscalationManager');
    expect(senior.for).toEqual('15m');
    expect(manager.for).toEqual('30m');
    expect(senior.labels).toEqual({ severity: 'critical', escalation: 'senior' });
    expect(senior.expr).toContain('ALERTS{alertstate="firing", namespace="aiaas", severity=~"critical", escalation=""}');
  });

  test('alertDefinitions gives the same data as the rules', () => {
    const p = props();
    const defs = alertDefinitions(p);
    expect(defs.map((d) => d.name)).toEqual(rules(synthRule(p)).map((r) => r.alert));
    for (const d of defs) {
      expect(d.thresholdText).toBeTruthy();
      expect(d.anchor).toEqual(d.name.toLowerCase());
    }
  });

  test('fails if a per-service override names an unknown service', () => {
    expect(() => synthRule(props({}, { perService: { billing: { errorRatio: 0.1 } } }))).toThrow(
      "monitoring.perService.billing: unknown service 'billing'; expected one of api-gateway, orchestrator, tool-service, realtime-service",
    );
  });

  test('fails if a CronJob max age is not positive', () => {
    expect(() => synthRule(props({ cronJobs: [{ name: 'postgres-vacuum', task: 'vacuum', maxAgeSeconds: 0 }] }))).toThrow(
      'cronJobs[0].maxAgeSeconds: expected a number of seconds greater than 0 (got 0)',
    );
    expect(() => synthRule(props({ backupCronJob: { name: 'Backup', maxAgeSeconds: 10 } }))).toThrow(/backupCronJob\.name: expected a CronJob name/);
  });

  test('fails if the namespace or a service is not a DNS-1123 label', () => {
    expect(() => synthRule(props({ namespace: 'AIaaS' }))).toThrow("namespace: expected a DNS-1123 label (got 'AIaaS')");
    expect(() => synthRule(props({ services: ['api_gateway'] }))).toThrow("services[0]: expected a DNS-1123 label (got 'api_gateway')");
  });
});
