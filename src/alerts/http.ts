// Group aiaas.http: latency, response time, timeouts and errors of each service (TIMEOUT).
import type { MonitoringConfig } from '../config/monitoring-config';
import { ALERT_PREFIX, AlertDefinition, AlertRecord, AlertSeverity, IncidentCode, Procedure } from './alert-record';
import { pct, perServiceRule, seconds } from './_rules';
import { inlineLive, logs, kubectl, perServiceBlock, psql, roles, RunbookContext, scopeServices, workload } from './runbook-context';
import { counter, num, perServiceScenarios, Series } from './scenario';

export const HTTP_GROUP = 'aiaas.http';

const quantile = (m: MonitoringConfig, w: string, q: number) => (sel: string) =>
  `histogram_quantile(${q}, sum by (namespace, service, le) (rate(${m.metrics.httpRequestDurationBucket}{${sel}}[${w}])))`;

const codeRatio = (m: MonitoringConfig, w: string, codes: string) => (sel: string) =>
  `sum by (namespace, service) (rate(${m.metrics.httpRequestsTotal}{${sel}, code=~"${codes}"}[${w}]))` +
  ` / sum by (namespace, service) (rate(${m.metrics.httpRequestsTotal}{${sel}}[${w}]))`;

/** The `p99` of the response-time quantile. */
const responseQuantileName = (m: MonitoringConfig) => `p${+(m.thresholds.responseTimeQuantile * 100).toFixed(4)}`;

/** Histogram buckets whose quantile `q` is just above or below the rule's threshold for `svc`. */
function histogram(rule: AlertDefinition, m: MonitoringConfig, namespace: string, q: number) {
  return (svc: string, target: number): Series[] => {
    // Whole-threshold quantile T: put (q -/+ d) of requests at or below T, the rest in (T, 1.25T].
    const t = rule.scope.serviceThresholds?.[svc] ?? rule.threshold;
    const d = Math.min(0.01, (1 - q) / 2, q / 2);
    const atOrBelowT = target > t ? q - d : q + d;
    const perMinute = 1000;
    const bucket = (le: string, count: number): Series => ({
      metric: m.metrics.httpRequestDurationBucket,
      labels: { namespace, service: svc, le },
      values: counter(count),
    });
    return [bucket(num(t / 2), 0), bucket(num(t), atOrBelowT * perMinute), bucket(num(t * 1.25), perMinute), bucket('+Inf', perMinute)];
  };
}

/** A code label value matching a configured regex. */
function codeMatching(regex: string): string {
  const re = new RegExp(`^(?:${regex})$`);
  const found = ['504', '503', '500', '502', '408', '429'].find((c) => re.test(c));
  if (!found) {
    throw new Error(`no sample status code matches '${regex}'`);
  }
  return found;
}

/** Requests of which ratio `r` answer with a code matching `codes`. */
const requests = (m: MonitoringConfig, namespace: string, codes: string) => (svc: string, r: number): Series[] => [
  { metric: m.metrics.httpRequestsTotal, labels: { namespace, service: svc, code: '200' }, values: counter((1 - r) * 1000) },
  { metric: m.metrics.httpRequestsTotal, labels: { namespace, service: svc, code: codeMatching(codes) }, values: counter(r * 1000) },
];

function timeoutRecovery(ctx: RunbookContext): string[] {
  return [
    'If the service does not recover within 5 minutes of the restart, page the on-call engineer (runbook rule) if not already paged.',
    `Check for database locks or deadlocks: \`${psql(ctx, "SELECT pid, wait_event_type, wait_event, state, query FROM pg_stat_activity WHERE wait_event_type = 'Lock';")}\`.`,
    'Consider scaling up: raise `replicas` or `autoscaling.maxReplicas` of the service in the platform config and synth.',
    'If a new version caused it, roll back (see [Blue-green deployment](#blue-green-deployment)).',
  ];
}

/** The seed's TIMEOUT procedure. */
function timeoutProcedure(ctx: RunbookContext): Procedure {
  const k = kubectl(ctx);
  const { gateway, orchestrator } = roles(ctx);
  return {
    symptoms: ['High response times (>5s)', 'Timeout errors in logs (408/504)', 'Circuit breakers opening'],
    actions: [
      '# 1. Check service status',
      `${k} get pods -o wide`,
      `${logs(ctx, gateway, '15m')} | grep -i -E "timeout|error"`,
      '',
      '# 2. Check resource usage',
      `${k} top pods`,
      'kubectl describe nodes | grep -A 8 "Allocated resources"',
      '',
      '# 3. Check database connections',
      psql(ctx, 'SELECT count(*) FROM pg_stat_activity;'),
      '',
      '# 4. Restart affected services (the pods serving traffic)',
      ...workload(ctx, gateway).restart(),
      ...workload(ctx, orchestrator).restart(),
      workload(ctx, gateway).status('5m'),
    ].join('\n'),
    recovery: timeoutRecovery(ctx),
  };
}

export const HTTP_ALERTS: AlertRecord[] = [
  {
    name: `${ALERT_PREFIX}HighLatencyP95`,
    group: HTTP_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'latencyP95Seconds',
    build: (c) =>
      perServiceRule(c, 'latencyP95Seconds', quantile(c.m, c.w, 0.95), (thr, t) => ({
        summary: `P95 latency of {{ $labels.service }} is above ${thr(seconds)}.`,
        description: `The 95th percentile request latency of {{ $labels.service }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }} (threshold ${thr(seconds)}) for ${c.for}.`,
        thresholdText: `p95 latency > ${t}s`,
      })),
    procedure: (ctx, [rule]) => {
      const k = kubectl(ctx);
      return {
        symptoms: ['P95 request latency above the threshold', 'Slow responses reported by users or the ingress', 'Often precedes TIMEOUT'],
        actions:
          perServiceBlock(scopeServices(ctx, rule), (s) => [
            `${k} get pods -l app=${s.name} -o wide`,
            `${k} top pods -l app=${s.name} --containers`,
            `${logs(ctx, s, '15m')} | grep -i -E "slow|timeout"`,
          ]) + `\n\n# Database connections\n${psql(ctx, 'SELECT count(*) FROM pg_stat_activity;')}`,
        recovery: timeoutRecovery(ctx).slice(1),
      };
    },
    scenarios: (rule, env) => perServiceScenarios(rule, env, histogram(rule, env.m, env.namespace, 0.95)),
  },
  {
    name: `${ALERT_PREFIX}ResponseTimeCritical`,
    group: HTTP_GROUP,
    severity: AlertSeverity.CRITICAL,
    incident: IncidentCode.TIMEOUT,
    key: 'responseTimeSeconds',
    build: (c) =>
      perServiceRule(c, 'responseTimeSeconds', quantile(c.m, c.w, c.m.thresholds.responseTimeQuantile), (thr, t) => ({
        summary: `{{ $labels.service }} responds in more than ${thr(seconds)} (TIMEOUT).`,
        description: `The ${responseQuantileName(c.m)} response time of {{ $labels.service }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }} (threshold ${thr(seconds)}) for ${c.for}: the service is timing out.`,
        thresholdText: `${responseQuantileName(c.m)} response time > ${t}s`,
      })),
    procedure: timeoutProcedure,
    scenarios: (rule, env) => perServiceScenarios(rule, env, histogram(rule, env.m, env.namespace, env.m.thresholds.responseTimeQuantile)),
  },
  {
    name: `${ALERT_PREFIX}RequestTimeouts`,
    group: HTTP_GROUP,
    severity: AlertSeverity.CRITICAL,
    incident: IncidentCode.TIMEOUT,
    key: 'timeoutRatio',
    build: (c) =>
      perServiceRule(c, 'timeoutRatio', codeRatio(c.m, c.w, c.m.labelValues.timeoutCodes), (thr, t) => ({
        summary: '{{ $labels.service }} is answering requests with timeouts (TIMEOUT).',
        description: `{{ $value | humanizePercentage }} of the requests to {{ $labels.service }} in {{ $labels.namespace }} end with a timeout status (${c.m.labelValues.timeoutCodes}); threshold ${thr(pct)} for ${c.for}.`,
        thresholdText: `timeout responses (${c.m.labelValues.timeoutCodes}) > ${pct(t)}`,
      })),
    procedure: timeoutProcedure,
    scenarios: (rule, env) => perServiceScenarios(rule, env, requests(env.m, env.namespace, env.m.labelValues.timeoutCodes)),
  },
  {
    name: `${ALERT_PREFIX}HighErrorRate`,
    group: HTTP_GROUP,
    severity: AlertSeverity.CRITICAL,
    key: 'errorRatio',
    build: (c) =>
      perServiceRule(c, 'errorRatio', codeRatio(c.m, c.w, c.m.labelValues.serverErrorCodes), (thr, t) => ({
        summary: `{{ $labels.service }} error rate is above ${thr(pct)}.`,
        description: `{{ $value | humanizePercentage }} of the requests to {{ $labels.service }} in {{ $labels.namespace }} fail with ${c.m.labelValues.serverErrorCodes}; threshold ${thr(pct)} for ${c.for}.`,
        thresholdText: `error rate (${c.m.labelValues.serverErrorCodes}) > ${pct(t)}`,
      })),
    procedure: (ctx, [rule]) => {
      const k = kubectl(ctx);
      return {
        symptoms: ['Share of 5xx responses above the threshold', 'Errors in the service logs'],
        actions:
          perServiceBlock(scopeServices(ctx, rule), (s) => [
            `${logs(ctx, s, '15m')} | grep -i error | tail -50`,
            workload(ctx, s).history(),
          ]) + `\n\n${k} get events --sort-by=.metadata.creationTimestamp | tail -30`,
        recovery: [
          ...scopeServices(ctx, rule).map((s) => `If errors of ${s.name} started with its last revision: \`${inlineLive(ctx, workload(ctx, s).undo().filter((l) => !l.startsWith('#')).join('; '))}\`.`),
          'If they started with a blue-green switch: switch back (see [Blue-green deployment](#blue-green-deployment)).',
          'If a dependency fails (database, tools), follow its alert.',
        ],
      };
    },
    scenarios: (rule, env) => perServiceScenarios(rule, env, requests(env.m, env.namespace, env.m.labelValues.serverErrorCodes)),
  },
];
