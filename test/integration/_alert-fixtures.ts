// Turns the alert records' scenarios into promtool unit tests: for every rule, the
// firing scenarios fire at fireAt (and not at notYetAt), the silent ones stay silent.
import { MonitoringConfig } from '../../src/config/monitoring-config';
import { AlertDefinition } from '../../src/alerts/alert-record';
import { gauge, Labels, MINUTES, POSTGRES_INSTANCE, Scenario, Series } from '../../src/alerts/scenario';

/** Healthy series every scenario starts from, so absent() alerts stay quiet unless a scenario omits them. */
export function baseline(m: MonitoringConfig, namespace: string, backupCronJob?: string): Series[] {
  const series: Series[] = [{ metric: m.metrics.pgUp, labels: { namespace, instance: POSTGRES_INSTANCE }, values: gauge(1) }];
  if (backupCronJob) {
    // Last success == now at every sample: age 0.
    series.push({ metric: m.metrics.kubeCronjobStatusLastSuccessfulTime, labels: { namespace, cronjob: backupCronJob }, values: `0+60x${MINUTES}` });
  }
  return series;
}

function seriesText(s: Series): string {
  const labels = Object.entries(s.labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(', ');
  return `${s.metric}{${labels}}`;
}

export interface PromtoolTestCase {
  readonly alert: string;
  readonly scenario: string;
  readonly test: Record<string, unknown>;
}

/** Rule labels (severity, incident, extra) that every alert of a definition carries. */
function ruleLabels(def: AlertDefinition): Labels {
  return { severity: def.severity, ...(def.incident ? { incident: def.incident } : {}), ...def.extraLabels };
}

/**
 * promtool `tests:` entries for every definition, from its record's scenarios:
 * firing (fires at fireAt, not at notYetAt) and silent (no alert at fireAt).
 */
export function promtoolTests(defs: AlertDefinition[], m: MonitoringConfig, namespace: string, backupCronJob?: string): PromtoolTestCase[] {
  const cases: PromtoolTestCase[] = [];
  for (const def of defs) {
    const { firing, silent } = def.record.scenarios(def, { m, namespace });
    const scenarios: { s: Scenario; fire: boolean }[] = [...firing.map((s) => ({ s, fire: true })), ...silent.map((s) => ({ s, fire: false }))];
    for (const { s, fire } of scenarios) {
      const omitted = new Set([...(s.omit ?? []), ...s.series.map((x) => x.metric)]);
      const input = [...baseline(m, namespace, backupCronJob).filter((b) => !omitted.has(b.metric)), ...s.series];
      const expect = (labels: Labels[]) => labels.map((l) => ({ exp_labels: { ...l, ...ruleLabels(def) } }));
      const checks: Record<string, unknown>[] = [];
      if (fire && s.notYetAt !== undefined) {
        checks.push({ eval_time: `${s.notYetAt}s`, alertname: def.name, exp_alerts: [] });
      }
      checks.push({ eval_time: `${s.fireAt}s`, alertname: def.name, exp_alerts: expect(s.expected) });
      for (const check of s.checks ?? []) {
        checks.push({ eval_time: `${check.at}s`, alertname: def.name, exp_alerts: expect(check.expected) });
      }
      cases.push({
        alert: def.name,
        scenario: `${fire ? 'fires' : 'silent'}: ${s.name}`,
        test: {
          name: `${def.name} ${fire ? 'fires' : 'silent'}: ${s.name}${def.scope.cronJob ? ` (${def.scope.cronJob})` : ''}`,
          interval: '1m',
          input_series: input.map((x) => ({ series: seriesText(x), values: x.values })),
          alert_rule_test: checks,
        },
      });
    }
  }
  return cases;
}
