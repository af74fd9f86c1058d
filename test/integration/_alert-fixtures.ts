// Generates promtool unit tests from the alert definitions: for every alert, input
// series just above its threshold (it fires after its `for`, not before) and just
// below it (it stays silent). Thresholds, `for` and metric names come from the
// definitions and the config, so changing a default changes the tests with it.
import { durationSeconds, MonitoringConfig } from '../../src/config/monitoring-config';
import {
  AlertDefinition,
  ESCALATION_MANAGER_ALERT,
  ESCALATION_SENIOR_ALERT,
} from '../../src/constructs/platform-alerts';

type Labels = Record<string, string>;

interface Series {
  readonly metric: string;
  readonly labels: Labels;
  /** promtool expanding notation, one sample per minute. */
  readonly values: string;
}

/** One way of driving an alert. */
export interface Scenario {
  /** Human description (appears in the promtool test name). */
  readonly name: string;
  readonly series: Series[];
  /** Baseline metrics this scenario removes (to prove `absent()`). */
  readonly omit?: string[];
  /** Labels the expression yields for each expected alert (without rule labels). */
  readonly expected: Labels[];
  /** Seconds after the series start at which the alert must fire. */
  readonly fireAt: number;
  /** Seconds at which it must not fire yet (before its `for` elapsed), if any. */
  readonly notYetAt?: number;
}

export interface AlertFixture {
  readonly above: Scenario[];
  readonly below: Scenario[];
}

/** Relative distance from the threshold used for "just above" and "just below". */
const DELTA = 0.02;
/** Samples per series: enough for the longest `for` plus a rate window. */
const MINUTES = 60;

const above = (v: number) => v * (1 + DELTA);
const below = (v: number) => v * (1 - DELTA);
const num = (v: number) => String(+v.toPrecision(12));
const counter = (perMinute: number) => `0+${num(perMinute)}x${MINUTES}`;
const gauge = (value: number) => `${num(value)}+0x${MINUTES}`;

/** A code label value matching a configured regex. */
function codeMatching(regex: string): string {
  const re = new RegExp(`^(?:${regex})$`);
  const found = ['504', '503', '500', '502', '408', '429'].find((c) => re.test(c));
  if (!found) {
    throw new Error(`no sample status code matches '${regex}'`);
  }
  return found;
}

export function alertFixture(def: AlertDefinition, m: MonitoringConfig, namespace: string): AlertFixture {
  const mt = m.metrics;
  const ns = { namespace };
  const forSec = durationSeconds(def.for);
  // Rate-based expressions are true from the second sample (t = 1m), gauges from t = 0.
  const timing = { fireAt: forSec + 120, notYetAt: forSec >= 60 ? forSec - 60 : undefined };
  const perService = (build: (svc: string, value: number) => Series[], side: (v: number) => number, name: string, fire: boolean): Scenario => ({
    name,
    series: def.scope.services.flatMap((svc) => build(svc, side(def.scope.serviceThresholds?.[svc] ?? def.threshold))),
    expected: fire ? def.scope.services.map((service) => ({ ...ns, service })) : [],
    ...timing,
  });
  const both = (build: (svc: string, value: number) => Series[]): AlertFixture => ({
    above: [perService(build, above, 'just above', true)],
    below: [perService(build, below, 'just below', false)],
  });
  const single = (build: (value: number) => Series[], expected: Labels, a = above(def.threshold), b = below(def.threshold)): AlertFixture => ({
    above: [{ name: 'just above', series: build(a), expected: [expected], ...timing }],
    below: [{ name: 'just below', series: build(b), expected: [], ...timing }],
  });

  const histogram = (q: number) => (svc: string, target: number): Series[] => {
    // Whole-threshold quantile T: put (q -/+ d) of requests at or below T, the rest in (T, 1.25T].
    const t = def.scope.serviceThresholds?.[svc] ?? def.threshold;
    const d = Math.min(0.01, (1 - q) / 2, q / 2);
    const atOrBelowT = target > t ? q - d : q + d;
    const perMinute = 1000;
    const bucket = (le: string, count: number): Series => ({
      metric: mt.httpRequestDurationBucket,
      labels: { ...ns, service: svc, le },
      values: counter(count),
    });
    return [
      bucket(num(t / 2), 0),
      bucket(num(t), atOrBelowT * perMinute),
      bucket(num(t * 1.25), perMinute),
      bucket('+Inf', perMinute),
    ];
  };
  const requests = (codes: string) => (svc: string, r: number): Series[] => [
    { metric: mt.httpRequestsTotal, labels: { ...ns, service: svc, code: '200' }, values: counter((1 - r) * 1000) },
    { metric: mt.httpRequestsTotal, labels: { ...ns, service: svc, code: codeMatching(codes) }, values: counter(r * 1000) },
  ];
  const postgres = { ...ns, instance: 'postgres-0:9187' };
  const cronAge = (cronjob: string, fire: boolean): Series => {
    // Constant last-success timestamp: age at fireAt is threshold +/- 60s (and above it from t = 0 when firing).
    const c = fire ? -(def.threshold + 60) : timing.fireAt - def.threshold + 60;
    return { metric: mt.kubeCronjobStatusLastSuccessfulTime, labels: { ...ns, cronjob }, values: gauge(c) };
  };

  switch (def.name) {
    case 'AiaasHighLatencyP95':
      return both(histogram(0.95));
    case 'AiaasResponseTimeCritical':
      return both(histogram(m.thresholds.responseTimeQuantile));
    case 'AiaasRequestTimeouts':
      return both(requests(m.labelValues.timeoutCodes));
    case 'AiaasHighErrorRate':
      return both(requests(m.labelValues.serverErrorCodes));
    case 'AiaasValidationFailuresHigh':
      return both((svc, r) => [
        { metric: mt.httpRequestsTotal, labels: { ...ns, service: svc, code: '200' }, values: counter(1000) },
        { metric: mt.validationFailuresTotal, labels: { ...ns, service: svc }, values: counter(r * 1000) },
      ]);
    case 'AiaasDatabasePoolExhaustion':
      return {
        ...both((svc, r) => [
          { metric: mt.dbPoolConnectionsInUse, labels: { ...ns, service: svc, pod: `${svc}-blue-1` }, values: gauge(r * 100) },
          { metric: mt.dbPoolConnectionsMax, labels: { ...ns, service: svc, pod: `${svc}-blue-1` }, values: gauge(100) },
        ]),
      };
    case 'AiaasToolCallErrors':
      return single(
        (r) => [
          { metric: mt.toolCallsTotal, labels: { ...ns, tool: 'web-search', outcome: m.labelValues.toolSuccessOutcome }, values: counter((1 - r) * 1000) },
          { metric: mt.toolCallsTotal, labels: { ...ns, tool: 'web-search', outcome: 'error' }, values: counter(r * 1000) },
        ],
        { ...ns, tool: 'web-search' },
      );
    case 'AiaasCircuitBreakerOpen':
    case 'AiaasCircuitBreakerOpenTooLong': {
      const breaker = { ...ns, service: 'orchestrator', name: 'web-search' };
      return single(
        (open) => [
          { metric: mt.circuitBreakerState, labels: { ...breaker, state: m.labelValues.circuitBreakerOpenState }, values: gauge(open) },
          { metric: mt.circuitBreakerState, labels: { ...breaker, state: 'closed' }, values: gauge(1 - open) },
        ],
        breaker,
        1,
        0,
      );
    }
    case 'AiaasWebSocketConnectionsNearLimit':
      return single(
        (r) => [
          { metric: mt.websocketConnections, labels: { ...ns, service: 'realtime-service', pod: 'realtime-service-blue-1' }, values: gauge(r * 1000) },
          { metric: mt.websocketMaxConnections, labels: { ...ns, service: 'realtime-service', pod: 'realtime-service-blue-1' }, values: gauge(1000) },
        ],
        { ...ns, service: 'realtime-service' },
      );
    case 'AiaasWebSocketBackpressureDrops': {
      // An absolute rate() only reaches its true value once the window is full of samples.
      const warmup = durationSeconds(m.rateWindow);
      const late = { fireAt: warmup + forSec + 60, notYetAt: warmup + forSec - 60 };
      const drops = (perSecond: number): Series[] => [
        { metric: mt.websocketBackpressureDropsTotal, labels: { ...ns, service: 'realtime-service' }, values: counter(perSecond * 60) },
      ];
      return {
        above: [{ name: 'just above', series: drops(above(def.threshold)), expected: [{ ...ns, service: 'realtime-service' }], ...late }],
        below: [{ name: 'just below', series: drops(below(def.threshold)), expected: [], ...late }],
      };
    }
    case 'AiaasPostgresConnectionsHigh':
      return single(
        (r) => [
          { metric: mt.pgStatActivityCount, labels: { ...postgres, datname: 'aiaas', state: 'active' }, values: gauge(r * 50) },
          { metric: mt.pgStatActivityCount, labels: { ...postgres, datname: 'aiaas', state: 'idle' }, values: gauge(r * 50) },
          { metric: mt.pgSettingsMaxConnections, labels: postgres, values: gauge(100) },
        ],
        postgres,
      );
    case 'AiaasPostgresDown':
      return {
        above: [
          { name: 'pg_up 0', series: [{ metric: mt.pgUp, labels: postgres, values: gauge(0) }], expected: [postgres], ...timing },
          { name: 'pg_up absent', series: [], omit: [mt.pgUp], expected: [ns], ...timing },
        ],
        below: [{ name: 'pg_up 1', series: [{ metric: mt.pgUp, labels: postgres, values: gauge(1) }], expected: [], ...timing }],
      };
    case 'AiaasPostgresReplicationLag':
      return single((lag) => [{ metric: mt.pgReplicationLagSeconds, labels: postgres, values: gauge(lag) }], postgres);
    case 'AiaasPostgresLongRunningTransaction':
      return single(
        (age) => [{ metric: mt.pgMaxTransactionDurationSeconds, labels: { ...postgres, datname: 'aiaas', state: 'active' }, values: gauge(age) }],
        { ...postgres, datname: 'aiaas' },
      );
    case 'AiaasContainerMemoryHigh': {
      const container = { ...ns, pod: 'api-gateway-blue-abc12', container: 'api-gateway' };
      const limit = 512 * 1024 * 1024;
      return single(
        (r) => [
          { metric: mt.containerMemoryWorkingSetBytes, labels: { ...container, image: 'ghcr.io/aiaas/api-gateway:1.0.0' }, values: gauge(r * limit) },
          { metric: mt.kubePodContainerResourceLimits, labels: { ...container, resource: 'memory', unit: 'byte' }, values: gauge(limit) },
        ],
        container,
      );
    }
    case 'AiaasPodCrashLooping': {
      const labels = { ...ns, pod: 'orchestrator-blue-abc12', container: 'orchestrator', reason: 'CrashLoopBackOff' };
      return single((v) => [{ metric: mt.kubePodContainerStatusWaitingReason, labels, values: gauge(v) }], labels, 1, 0);
    }
    case 'AiaasDeploymentReplicasUnavailable': {
      const labels = { ...ns, deployment: 'api-gateway-blue' };
      return single((v) => [{ metric: mt.kubeDeploymentStatusReplicasUnavailable, labels, values: gauge(v) }], labels, 1, 0);
    }
    case 'AiaasDatabaseJobFailed': {
      const labels = { ...ns, job_name: `${def.scope.cronJob}-28900000`, condition: 'true' };
      return single((v) => [{ metric: mt.kubeJobFailed, labels, values: gauge(v) }], labels, 1, 0);
    }
    case 'AiaasDatabaseJobNotSucceeding': {
      const cronjob = def.scope.cronJob!;
      return {
        above: [{ name: 'last success too old', series: [cronAge(cronjob, true)], expected: [{ ...ns, cronjob }], ...timing }],
        below: [{ name: 'last success recent', series: [cronAge(cronjob, false)], expected: [], ...timing }],
      };
    }
    case 'AiaasBackupTooOld': {
      const cronjob = def.scope.cronJob!;
      return {
        above: [
          { name: 'last backup too old', series: [cronAge(cronjob, true)], omit: [mt.kubeCronjobStatusLastSuccessfulTime], expected: [{ ...ns, cronjob }], ...timing },
          { name: 'backup series absent', series: [], omit: [mt.kubeCronjobStatusLastSuccessfulTime], expected: [{ ...ns, cronjob }], ...timing },
        ],
        below: [
          { name: 'last backup recent', series: [cronAge(cronjob, false)], omit: [mt.kubeCronjobStatusLastSuccessfulTime], expected: [], ...timing },
        ],
      };
    }
    case ESCALATION_SENIOR_ALERT:
    case ESCALATION_MANAGER_ALERT: {
      // A critical alert (PostgresDown, for postgresDown) fires; the escalation fires `after` later.
      const down = durationSeconds(m.for.postgresDown);
      const after = def.threshold;
      const escalated = { ...postgres, escalated_alert: 'AiaasPostgresDown' };
      const failing: Series[] = [{ metric: mt.pgUp, labels: postgres, values: gauge(0) }];
      return {
        above: [
          {
            name: 'critical alert firing past the level',
            series: failing,
            expected: [escalated],
            fireAt: down + after + 120,
            notYetAt: down + after - 60,
          },
        ],
        below: [
          {
            name: 'warning alert firing past the level',
            series: [{ metric: mt.pgReplicationLagSeconds, labels: postgres, values: gauge(m.thresholds.replicationLagSeconds * 10) }],
            expected: [],
            fireAt: durationSeconds(m.for.replicationLag) + after + 120,
          },
        ],
      };
    }
    default:
      throw new Error(`no promtool fixture for alert ${def.name}: add one in test/integration/_alert-fixtures.ts`);
  }
}

/** Healthy series every scenario starts from, so absent() alerts stay quiet unless a scenario omits them. */
export function baseline(m: MonitoringConfig, namespace: string, backupCronJob?: string): Series[] {
  const series: Series[] = [{ metric: m.metrics.pgUp, labels: { namespace, instance: 'postgres-0:9187' }, values: gauge(1) }];
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
 * promtool `tests:` entries for every definition: above (fires at fireAt, not at
 * notYetAt) and below (silent at fireAt).
 */
export function promtoolTests(defs: AlertDefinition[], m: MonitoringConfig, namespace: string, backupCronJob?: string): PromtoolTestCase[] {
  const cases: PromtoolTestCase[] = [];
  for (const def of defs) {
    const fixture = alertFixture(def, m, namespace);
    const scenarios = [
      ...fixture.above.map((s) => ({ s, fire: true })),
      ...fixture.below.map((s) => ({ s, fire: false })),
    ];
    for (const { s, fire } of scenarios) {
      const omitted = new Set([...(s.omit ?? []), ...s.series.map((x) => x.metric)]);
      const input = [...baseline(m, namespace, backupCronJob).filter((b) => !omitted.has(b.metric)), ...s.series];
      const checks: Record<string, unknown>[] = [];
      if (fire && s.notYetAt !== undefined) {
        checks.push({ eval_time: `${s.notYetAt}s`, alertname: def.name, exp_alerts: [] });
      }
      checks.push({
        eval_time: `${s.fireAt}s`,
        alertname: def.name,
        exp_alerts: s.expected.map((labels) => ({ exp_labels: { ...labels, ...ruleLabels(def) } })),
      });
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
