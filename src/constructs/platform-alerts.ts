// Every incident code and threshold of the runbook as one PrometheusRule.
// The alert definitions are exported as data so RUNBOOK.md, the README table and
// the promtool tests are generated from the same source as the rules.
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import {
  durationSeconds,
  MonitoringConfig,
  parseMonitoringConfig,
  ServiceThresholdOverride,
} from '../config/monitoring-config';
import { headingAnchor } from '../runbook/anchors';

/** How urgent an alert is; the `severity` label. */
export enum AlertSeverity {
  /** Pages the on-call engineer now; escalates (see AlertRouting). */
  CRITICAL = 'critical',
  /** Needs attention within working hours. */
  WARNING = 'warning',
  /** For dashboards and context only. */
  INFO = 'info',
}

/** The runbook's incident codes; the `incident` label. */
export enum IncidentCode {
  /** Service down: high response times, timeouts, circuit breakers opening. */
  TIMEOUT = 'TIMEOUT',
  /** Tool service down: tool calls failing, tool circuit breakers open. */
  TOOL_DOWN = 'TOOL_DOWN',
  /** Validation failures: malformed requests, schema validation failing. */
  VALIDATION_FAIL = 'VALIDATION_FAIL',
  /** WebSocket overload: connections near the limit, backpressure drops. */
  WS_OVERLOAD = 'WS_OVERLOAD',
}

/** The common prefix of every alert name (monitoring-mixin convention). */
export const ALERT_PREFIX = 'Aiaas';

/** Names of the escalation alerts (level 2 and level 3). */
export const ESCALATION_SENIOR_ALERT = `${ALERT_PREFIX}EscalationSenior`;
export const ESCALATION_MANAGER_ALERT = `${ALERT_PREFIX}EscalationManager`;

/** What an alert rule covers besides the namespace. */
export interface AlertScope {
  /** Services (the `service` label) this rule covers; empty for namespace-wide rules. */
  readonly services: string[];
  /**
   * Per-service rules: the threshold in force for each service (overrides applied).
   * @default - not a per-service rule
   */
  readonly serviceThresholds?: Record<string, number>;
  /**
   * The CronJob this rule watches, for job rules.
   * @default - not a job rule
   */
  readonly cronJob?: string;
  /**
   * The maintenance task of that CronJob, for job rules.
   * @default - not a job rule
   */
  readonly task?: string;
}

/** One alerting rule, in a form the runbook generator, README and tests share. */
export interface AlertDefinition {
  /** Alert name (`alert:`), CamelCase with the `Aiaas` prefix. Several rules may share a name (per-service overrides). */
  readonly name: string;
  /** Rule group the rule belongs to. */
  readonly group: string;
  /** PromQL expression. */
  readonly expr: string;
  /** How long `expr` must hold before the alert fires. */
  readonly for: string;
  readonly severity: AlertSeverity;
  /**
   * The runbook's incident code, where the runbook names one.
   * @default - no incident label
   */
  readonly incident?: IncidentCode;
  /** Static labels of the rule besides severity and incident (e.g. escalation, task). */
  readonly extraLabels: Record<string, string>;
  /** `summary` annotation (a Go template). */
  readonly summary: string;
  /** `description` annotation (a Go template, includes `{{ $value }}`). */
  readonly description: string;
  /** Heading of the alert's RUNBOOK.md section; its slug is the anchor. */
  readonly heading: string;
  /** Anchor of that section (`headingAnchor(heading)`). */
  readonly anchor: string;
  /** `runbook_url` annotation: runbookBaseUrl + '#' + anchor. */
  readonly runbookUrl: string;
  /** The numeric threshold `expr` compares with (1 for state alerts, seconds for age alerts). */
  readonly threshold: number;
  /** The threshold for humans (`p95 > 2s`). */
  readonly thresholdText: string;
  /** What the rule covers. */
  readonly scope: AlertScope;
}

/** A scheduled database job watched by the alerts. */
export interface AlertCronJob {
  /** CronJob name in the namespace. */
  readonly name: string;
  /** Maintenance task it runs (e.g. `vacuum-analyze`). */
  readonly task: string;
  /** Longest time in seconds since the last successful run before the job is stale. */
  readonly maxAgeSeconds: number;
}

/** The backup CronJob whose age is watched. */
export interface AlertBackupCronJob {
  /** CronJob name in the namespace. */
  readonly name: string;
  /** Longest time in seconds since the last successful backup. */
  readonly maxAgeSeconds: number;
}

export interface PlatformAlertsProps {
  /** Namespace of the platform; every expression matches `namespace="<namespace>"` and the PrometheusRule lives there. */
  readonly namespace: string;
  /** Service names (the `service` label set by the ServiceMonitors). */
  readonly services: string[];
  /** The parsed `monitoring` config section. */
  readonly monitoring: MonitoringConfig;
  /**
   * Scheduled DB jobs: a failed run and a run too long ago both alert.
   * @default - no job alerts
   */
  readonly cronJobs?: AlertCronJob[];
  /**
   * The backup CronJob: its last success too long ago, or never seen, alerts (critical).
   * @default - no backup alert
   */
  readonly backupCronJob?: AlertBackupCronJob;
  /**
   * The PostgreSQL StatefulSet, named in descriptions.
   * @default - descriptions say 'PostgreSQL'
   */
  readonly database?: { readonly statefulSet: string };
  /**
   * Name of the PrometheusRule.
   * @default 'aiaas-alerts'
   */
  readonly name?: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The alert definitions of a deployment, in rule order. Throws on invalid props. */
export function alertDefinitions(props: PlatformAlertsProps): AlertDefinition[] {
  const m = parseMonitoringConfig(props.monitoring);
  const ns = props.namespace;
  if (!DNS1123_LABEL.test(ns)) {
    throw new Error(`namespace: expected a DNS-1123 label (got '${ns}')`);
  }
  props.services.forEach((s, i) => {
    if (!DNS1123_LABEL.test(s)) {
      throw new Error(`services[${i}]: expected a DNS-1123 label (got '${s}')`);
    }
  });
  for (const name of Object.keys(m.perService)) {
    if (!props.services.includes(name)) {
      throw new Error(
        `monitoring.perService.${name}: unknown service '${name}'; expected one of ${props.services.join(', ') || '(no services)'}`,
      );
    }
  }
  const cronJobs = props.cronJobs ?? [];
  cronJobs.forEach((job, i) => checkCronJob(`cronJobs[${i}]`, job.name, job.maxAgeSeconds));
  if (props.backupCronJob) {
    checkCronJob('backupCronJob', props.backupCronJob.name, props.backupCronJob.maxAgeSeconds);
  }

  const mt = m.metrics;
  const t = m.thresholds;
  const f = m.for;
  const lv = m.labelValues;
  const w = m.rateWindow;
  const nsm = `namespace="${ns}"`;
  const db = props.database?.statefulSet ? `PostgreSQL (${props.database.statefulSet})` : 'PostgreSQL';
  const defs: AlertDefinition[] = [];

  const add = (d: Omit<AlertDefinition, 'anchor' | 'runbookUrl' | 'heading' | 'extraLabels' | 'scope'> & Partial<Pick<AlertDefinition, 'extraLabels' | 'scope'>>) => {
    const heading = d.name;
    const anchor = headingAnchor(heading);
    defs.push({
      ...d,
      extraLabels: d.extraLabels ?? {},
      scope: d.scope ?? { services: [] },
      heading,
      anchor,
      runbookUrl: `${m.runbookBaseUrl}#${anchor}`,
    });
  };

  // Per-service rules: services sharing a threshold share one comparison; an override
  // adds an `or` branch, so each alert stays one rule (promtool rejects duplicate rules).
  const perService = (
    key: keyof ServiceThresholdOverride,
    inner: (selector: string) => string,
    build: (expr: string, thresholds: Record<string, number>, thresholdTemplate: (fmt: (v: number) => string) => string) => void,
  ) => {
    if (props.services.length === 0) {
      return;
    }
    const thresholds: Record<string, number> = {};
    const byValue = new Map<number, string[]>();
    for (const svc of props.services) {
      const value = m.perService[svc]?.[key] ?? t[key];
      thresholds[svc] = value;
      byValue.set(value, [...(byValue.get(value) ?? []), svc]);
    }
    const parts = [...byValue];
    const expr =
      parts.length === 1
        ? `${inner(svcSel(parts[0][1]))} > ${parts[0][0]}`
        : parts.map(([value, services]) => `(${inner(svcSel(services))} > ${value})`).join(' or ');
    const template = (fmt: (v: number) => string) => {
      if (parts.length === 1) {
        return fmt(parts[0][0]);
      }
      const others = parts.filter(([value]) => value !== t[key]);
      const fallback = parts.find(([value]) => value === t[key]) ?? others.pop()!;
      const branches = others.map(
        ([value, services], i) =>
          `{{ ${i === 0 ? 'if' : 'else if'} ${services.length === 1 ? `eq $labels.service "${services[0]}"` : `match "^(${services.join('|')})$" $labels.service`} }}${fmt(value)}`,
      );
      return `${branches.join('')}{{ else }}${fmt(fallback[0])}{{ end }}`;
    };
    build(expr, thresholds, template);
  };
  const svcSel = (services: string[]) => `${nsm}, service=~"${services.join('|')}"`;
  const seconds = (v: number) => `${v}s`;

  // --- HTTP: latency, response time, timeouts, errors (TIMEOUT) ---
  const quantile = (q: number) => (sel: string) =>
    `histogram_quantile(${q}, sum by (namespace, service, le) (rate(${mt.httpRequestDurationBucket}{${sel}}[${w}])))`;
  perService('latencyP95Seconds', quantile(0.95), (expr, serviceThresholds, thr) =>
    add({
      name: `${ALERT_PREFIX}HighLatencyP95`,
      group: 'aiaas.http',
      expr,
      for: f.latencyP95,
      severity: AlertSeverity.WARNING,
      summary: `P95 latency of {{ $labels.service }} is above ${thr(seconds)}.`,
      description: `The 95th percentile request latency of {{ $labels.service }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }} (threshold ${thr(seconds)}) for ${f.latencyP95}.`,
      threshold: t.latencyP95Seconds,
      thresholdText: `p95 latency > ${t.latencyP95Seconds}s`,
      scope: { services: props.services, serviceThresholds },
    }),
  );
  const rtq = `p${+(t.responseTimeQuantile * 100).toFixed(4)}`;
  perService('responseTimeSeconds', quantile(t.responseTimeQuantile), (expr, serviceThresholds, thr) =>
    add({
      name: `${ALERT_PREFIX}ResponseTimeCritical`,
      group: 'aiaas.http',
      expr,
      for: f.responseTime,
      severity: AlertSeverity.CRITICAL,
      incident: IncidentCode.TIMEOUT,
      summary: `{{ $labels.service }} responds in more than ${thr(seconds)} (TIMEOUT).`,
      description: `The ${rtq} response time of {{ $labels.service }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }} (threshold ${thr(seconds)}) for ${f.responseTime}: the service is timing out.`,
      threshold: t.responseTimeSeconds,
      thresholdText: `${rtq} response time > ${t.responseTimeSeconds}s`,
      scope: { services: props.services, serviceThresholds },
    }),
  );
  const codeRatio = (codes: string) => (sel: string) =>
    `sum by (namespace, service) (rate(${mt.httpRequestsTotal}{${sel}, code=~"${codes}"}[${w}]))` +
    ` / sum by (namespace, service) (rate(${mt.httpRequestsTotal}{${sel}}[${w}]))`;
  perService('timeoutRatio', codeRatio(lv.timeoutCodes), (expr, serviceThresholds, thr) =>
    add({
      name: `${ALERT_PREFIX}RequestTimeouts`,
      group: 'aiaas.http',
      expr,
      for: f.timeouts,
      severity: AlertSeverity.CRITICAL,
      incident: IncidentCode.TIMEOUT,
      summary: '{{ $labels.service }} is answering requests with timeouts (TIMEOUT).',
      description: `{{ $value | humanizePercentage }} of the requests to {{ $labels.service }} in {{ $labels.namespace }} end with a timeout status (${lv.timeoutCodes}); threshold ${thr(pct)} for ${f.timeouts}.`,
      threshold: t.timeoutRatio,
      thresholdText: `timeout responses (${lv.timeoutCodes}) > ${pct(t.timeoutRatio)}`,
      scope: { services: props.services, serviceThresholds },
    }),
  );
  perService('errorRatio', codeRatio(lv.serverErrorCodes), (expr, serviceThresholds, thr) =>
    add({
      name: `${ALERT_PREFIX}HighErrorRate`,
      group: 'aiaas.http',
      expr,
      for: f.errorRate,
      severity: AlertSeverity.CRITICAL,
      summary: `{{ $labels.service }} error rate is above ${thr(pct)}.`,
      description: `{{ $value | humanizePercentage }} of the requests to {{ $labels.service }} in {{ $labels.namespace }} fail with ${lv.serverErrorCodes}; threshold ${thr(pct)} for ${f.errorRate}.`,
      threshold: t.errorRatio,
      thresholdText: `error rate (${lv.serverErrorCodes}) > ${pct(t.errorRatio)}`,
      scope: { services: props.services, serviceThresholds },
    }),
  );

  // --- Tools and circuit breakers (TOOL_DOWN) ---
  add({
    name: `${ALERT_PREFIX}ToolCallErrors`,
    group: 'aiaas.tools',
    expr:
      `sum by (namespace, tool) (rate(${mt.toolCallsTotal}{${nsm}, outcome!="${lv.toolSuccessOutcome}"}[${w}]))` +
      ` / sum by (namespace, tool) (rate(${mt.toolCallsTotal}{${nsm}}[${w}])) > ${t.toolErrorRatio}`,
    for: f.toolErrors,
    severity: AlertSeverity.CRITICAL,
    incident: IncidentCode.TOOL_DOWN,
    summary: 'Tool {{ $labels.tool }} calls are failing (TOOL_DOWN).',
    description: `{{ $value | humanizePercentage }} of the calls to tool {{ $labels.tool }} in {{ $labels.namespace }} fail; threshold ${pct(t.toolErrorRatio)} for ${f.toolErrors}.`,
    threshold: t.toolErrorRatio,
    thresholdText: `failed tool calls > ${pct(t.toolErrorRatio)} per tool`,
  });
  const breakerOpen = `max by (namespace, service, name) (${mt.circuitBreakerState}{${nsm}, state="${lv.circuitBreakerOpenState}"}) > 0`;
  add({
    name: `${ALERT_PREFIX}CircuitBreakerOpen`,
    group: 'aiaas.tools',
    expr: breakerOpen,
    for: f.circuitBreakerOpen,
    severity: AlertSeverity.WARNING,
    incident: IncidentCode.TOOL_DOWN,
    summary: 'Circuit breaker {{ $labels.name }} of {{ $labels.service }} is open (TOOL_DOWN).',
    description: `The circuit breaker {{ $labels.name }} of {{ $labels.service }} in {{ $labels.namespace }} has been open for ${f.circuitBreakerOpen} (state value {{ $value }}).`,
    threshold: 1,
    thresholdText: `breaker state ${lv.circuitBreakerOpenState}`,
  });
  add({
    name: `${ALERT_PREFIX}CircuitBreakerOpenTooLong`,
    group: 'aiaas.tools',
    expr: breakerOpen,
    for: f.circuitBreakerOpenTooLong,
    severity: AlertSeverity.CRITICAL,
    incident: IncidentCode.TOOL_DOWN,
    summary: `Circuit breaker {{ $labels.name }} of {{ $labels.service }} has been open for more than ${f.circuitBreakerOpenTooLong} (TOOL_DOWN).`,
    description: `The circuit breaker {{ $labels.name }} of {{ $labels.service }} in {{ $labels.namespace }} has not recovered for ${f.circuitBreakerOpenTooLong} (state value {{ $value }}); the dependency behind it is down.`,
    threshold: 1,
    thresholdText: `breaker state ${lv.circuitBreakerOpenState} for > ${f.circuitBreakerOpenTooLong}`,
  });

  // --- Validation (VALIDATION_FAIL) ---
  perService(
    'validationFailureRatio',
    (sel) =>
      `sum by (namespace, service) (rate(${mt.validationFailuresTotal}{${sel}}[${w}]))` +
      ` / sum by (namespace, service) (rate(${mt.httpRequestsTotal}{${sel}}[${w}]))`,
    (expr, serviceThresholds, thr) =>
      add({
        name: `${ALERT_PREFIX}ValidationFailuresHigh`,
        group: 'aiaas.validation',
        expr,
        for: f.validationFailures,
        severity: AlertSeverity.WARNING,
        incident: IncidentCode.VALIDATION_FAIL,
        summary: '{{ $labels.service }} rejects many requests as invalid (VALIDATION_FAIL).',
        description: `Validation failures are {{ $value | humanizePercentage }} of the requests to {{ $labels.service }} in {{ $labels.namespace }}; threshold ${thr(pct)} for ${f.validationFailures}.`,
        threshold: t.validationFailureRatio,
        thresholdText: `validation failures > ${pct(t.validationFailureRatio)} of requests`,
        scope: { services: props.services, serviceThresholds },
      }),
  );

  // --- WebSockets (WS_OVERLOAD) ---
  add({
    name: `${ALERT_PREFIX}WebSocketConnectionsNearLimit`,
    group: 'aiaas.websocket',
    expr:
      `sum by (namespace, service) (${mt.websocketConnections}{${nsm}})` +
      ` / sum by (namespace, service) (${mt.websocketMaxConnections}{${nsm}}) > ${t.websocketConnectionsRatio}`,
    for: f.websocketConnections,
    severity: AlertSeverity.WARNING,
    incident: IncidentCode.WS_OVERLOAD,
    summary: '{{ $labels.service }} WebSocket connections are near the maximum (WS_OVERLOAD).',
    description: `{{ $labels.service }} in {{ $labels.namespace }} holds {{ $value | humanizePercentage }} of its maximum WebSocket connections; threshold ${pct(t.websocketConnectionsRatio)} for ${f.websocketConnections}.`,
    threshold: t.websocketConnectionsRatio,
    thresholdText: `connections > ${pct(t.websocketConnectionsRatio)} of max`,
  });
  add({
    name: `${ALERT_PREFIX}WebSocketBackpressureDrops`,
    group: 'aiaas.websocket',
    expr: `sum by (namespace, service) (rate(${mt.websocketBackpressureDropsTotal}{${nsm}}[${w}])) > ${t.websocketBackpressureDropsPerSecond}`,
    for: f.websocketBackpressure,
    severity: AlertSeverity.CRITICAL,
    incident: IncidentCode.WS_OVERLOAD,
    summary: '{{ $labels.service }} drops WebSocket messages under backpressure (WS_OVERLOAD).',
    description: `{{ $labels.service }} in {{ $labels.namespace }} drops {{ $value | humanize }} messages/s under backpressure; threshold ${t.websocketBackpressureDropsPerSecond}/s for ${f.websocketBackpressure}.`,
    threshold: t.websocketBackpressureDropsPerSecond,
    thresholdText: `backpressure drops > ${t.websocketBackpressureDropsPerSecond}/s`,
  });

  // --- Database ---
  perService(
    'dbPoolRatio',
    (sel) => `sum by (namespace, service) (${mt.dbPoolConnectionsInUse}{${sel}}) / sum by (namespace, service) (${mt.dbPoolConnectionsMax}{${sel}})`,
    (expr, serviceThresholds, thr) =>
      add({
        name: `${ALERT_PREFIX}DatabasePoolExhaustion`,
        group: 'aiaas.database',
        expr,
        for: f.dbPool,
        severity: AlertSeverity.WARNING,
        summary: '{{ $labels.service }} uses most of its database connection pool.',
        description: `{{ $labels.service }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its DB connection pool; threshold ${thr(pct)} for ${f.dbPool}.`,
        threshold: t.dbPoolRatio,
        thresholdText: `pool in use > ${pct(t.dbPoolRatio)}`,
        scope: { services: props.services, serviceThresholds },
      }),
  );
  add({
    name: `${ALERT_PREFIX}PostgresConnectionsHigh`,
    group: 'aiaas.database',
    expr:
      `sum by (namespace, instance) (${mt.pgStatActivityCount}{${nsm}})` +
      ` / max by (namespace, instance) (${mt.pgSettingsMaxConnections}{${nsm}}) > ${t.postgresConnectionsRatio}`,
    for: f.postgresConnections,
    severity: AlertSeverity.WARNING,
    summary: `${db} is close to max_connections.`,
    description: `${db} ({{ $labels.instance }}) in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of max_connections; threshold ${pct(t.postgresConnectionsRatio)} for ${f.postgresConnections}.`,
    threshold: t.postgresConnectionsRatio,
    thresholdText: `backends > ${pct(t.postgresConnectionsRatio)} of max_connections`,
  });
  add({
    name: `${ALERT_PREFIX}PostgresDown`,
    group: 'aiaas.database',
    expr: `${mt.pgUp}{${nsm}} == 0 or absent(${mt.pgUp}{${nsm}})`,
    for: f.postgresDown,
    severity: AlertSeverity.CRITICAL,
    summary: `${db} is down or not monitored.`,
    description: `postgres_exporter in {{ $labels.namespace }} cannot reach ${db}, or reports nothing at all, for ${f.postgresDown} (pg_up {{ $value }}).`,
    threshold: 0,
    thresholdText: 'pg_up == 0 or absent',
  });
  add({
    name: `${ALERT_PREFIX}PostgresReplicationLag`,
    group: 'aiaas.database',
    expr: `max by (namespace, instance) (${mt.pgReplicationLagSeconds}{${nsm}}) > ${t.replicationLagSeconds}`,
    for: f.replicationLag,
    severity: AlertSeverity.WARNING,
    summary: `${db} standby lags behind the primary.`,
    description: `Standby {{ $labels.instance }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }} behind; threshold ${t.replicationLagSeconds}s for ${f.replicationLag}.`,
    threshold: t.replicationLagSeconds,
    thresholdText: `replication lag > ${t.replicationLagSeconds}s`,
  });
  add({
    name: `${ALERT_PREFIX}PostgresLongRunningTransaction`,
    group: 'aiaas.database',
    expr: `max by (namespace, instance, datname) (${mt.pgMaxTransactionDurationSeconds}{${nsm}}) > ${t.longTransactionSeconds}`,
    for: f.longTransaction,
    severity: AlertSeverity.WARNING,
    summary: `A transaction on ${db} has been open too long.`,
    description: `The oldest transaction on database {{ $labels.datname }} ({{ $labels.instance }}) in {{ $labels.namespace }} has been open for {{ $value | humanizeDuration }}; threshold ${t.longTransactionSeconds}s.`,
    threshold: t.longTransactionSeconds,
    thresholdText: `transaction open > ${t.longTransactionSeconds}s`,
  });

  // --- Kubernetes ---
  add({
    name: `${ALERT_PREFIX}ContainerMemoryHigh`,
    group: 'aiaas.kubernetes',
    expr:
      `sum by (namespace, pod, container) (${mt.containerMemoryWorkingSetBytes}{${nsm}, container!="", image!=""})` +
      ` / sum by (namespace, pod, container) (${mt.kubePodContainerResourceLimits}{${nsm}, resource="memory"}) > ${t.memoryRatio}`,
    for: f.memory,
    severity: AlertSeverity.WARNING,
    summary: 'Container {{ $labels.container }} of {{ $labels.pod }} is near its memory limit.',
    description: `Container {{ $labels.container }} of pod {{ $labels.pod }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its memory limit; threshold ${pct(t.memoryRatio)} for ${f.memory}.`,
    threshold: t.memoryRatio,
    thresholdText: `working set > ${pct(t.memoryRatio)} of limit`,
  });
  add({
    name: `${ALERT_PREFIX}PodCrashLooping`,
    group: 'aiaas.kubernetes',
    expr: `max_over_time(${mt.kubePodContainerStatusWaitingReason}{${nsm}, reason="CrashLoopBackOff"}[${w}]) >= 1`,
    for: f.crashLooping,
    severity: AlertSeverity.WARNING,
    summary: 'Pod {{ $labels.pod }} is crash looping.',
    description: `Container {{ $labels.container }} of pod {{ $labels.pod }} in {{ $labels.namespace }} has been in CrashLoopBackOff for ${f.crashLooping} (waiting: {{ $value }}).`,
    threshold: 1,
    thresholdText: 'container waiting in CrashLoopBackOff',
  });
  add({
    name: `${ALERT_PREFIX}DeploymentReplicasUnavailable`,
    group: 'aiaas.kubernetes',
    expr: `${mt.kubeDeploymentStatusReplicasUnavailable}{${nsm}} > 0`,
    for: f.deploymentUnavailable,
    severity: AlertSeverity.WARNING,
    summary: 'Deployment {{ $labels.deployment }} has unavailable replicas.',
    description: `Deployment {{ $labels.deployment }} in {{ $labels.namespace }} has {{ $value }} unavailable replicas for ${f.deploymentUnavailable}.`,
    threshold: 0,
    thresholdText: 'unavailable replicas > 0',
  });

  // --- Scheduled jobs and backups ---
  for (const job of cronJobs) {
    const jobNames = `${escapeRegex(job.name)}-([0-9]+|manual-.+)`;
    add({
      name: `${ALERT_PREFIX}DatabaseJobFailed`,
      group: 'aiaas.jobs',
      expr: `${mt.kubeJobFailed}{${nsm}, job_name=~"${jobNames}", condition="true"} > 0`,
      for: f.jobFailed,
      severity: AlertSeverity.WARNING,
      extraLabels: { cronjob: job.name, task: job.task },
      summary: `Scheduled database job ${job.task} failed.`,
      description: `Job {{ $labels.job_name }} of CronJob ${job.name} (task ${job.task}) in {{ $labels.namespace }} failed ({{ $value }} failed Job).`,
      threshold: 0,
      thresholdText: 'a Job of the CronJob failed',
      scope: { services: [], cronJob: job.name, task: job.task },
    });
    if (job.name === props.backupCronJob?.name) {
      continue;
    }
    add({
      name: `${ALERT_PREFIX}DatabaseJobNotSucceeding`,
      group: 'aiaas.jobs',
      expr: `time() - ${mt.kubeCronjobStatusLastSuccessfulTime}{${nsm}, cronjob="${job.name}"} > ${job.maxAgeSeconds}`,
      for: f.cronJobStale,
      severity: AlertSeverity.WARNING,
      extraLabels: { task: job.task },
      summary: `Scheduled database job ${job.task} has not succeeded recently.`,
      description: `CronJob ${job.name} (task ${job.task}) in {{ $labels.namespace }} last succeeded {{ $value | humanizeDuration }} ago; allowed ${job.maxAgeSeconds}s.`,
      threshold: job.maxAgeSeconds,
      thresholdText: `last success > ${job.maxAgeSeconds}s ago`,
      scope: { services: [], cronJob: job.name, task: job.task },
    });
  }
  if (props.backupCronJob) {
    const b = props.backupCronJob;
    const series = `${mt.kubeCronjobStatusLastSuccessfulTime}{${nsm}, cronjob="${b.name}"}`;
    add({
      name: `${ALERT_PREFIX}BackupTooOld`,
      group: 'aiaas.jobs',
      expr: `(time() - ${series} > ${b.maxAgeSeconds}) or absent(${series})`,
      for: f.backupStale,
      severity: AlertSeverity.CRITICAL,
      extraLabels: { task: 'backup' },
      summary: `The database backup (${b.name}) is older than allowed, or missing.`,
      description: `CronJob ${b.name} in {{ $labels.namespace }} last succeeded {{ $value | humanizeDuration }} ago (or has never been seen succeeding, value 1); allowed ${b.maxAgeSeconds}s.`,
      threshold: b.maxAgeSeconds,
      thresholdText: `last successful backup > ${b.maxAgeSeconds}s ago, or no series`,
      scope: { services: [], cronJob: b.name, task: 'backup' },
    });
  }

  // --- Escalation (levels 2 and 3 of the runbook) ---
  const e = m.escalation;
  const escalating =
    `label_replace(max without (alertstate) (ALERTS{alertstate="firing", ${nsm}, severity=~"${e.severities.join('|')}", escalation=""}),` +
    ` "escalated_alert", "$1", "alertname", "(.+)")`;
  add({
    name: ESCALATION_SENIOR_ALERT,
    group: 'aiaas.escalation',
    expr: escalating,
    for: e.senior.after,
    severity: AlertSeverity.CRITICAL,
    extraLabels: { escalation: 'senior' },
    summary: `{{ $labels.escalated_alert }} has been firing for ${e.senior.after}: escalate to the senior engineer.`,
    description: `{{ $labels.escalated_alert }} in {{ $labels.namespace }} is unresolved after ${e.senior.after} (level 2: ${e.senior.contact}; firing: {{ $value }}).`,
    threshold: durationSeconds(e.senior.after),
    thresholdText: `a ${e.severities.join('/')} alert firing > ${e.senior.after}`,
  });
  add({
    name: ESCALATION_MANAGER_ALERT,
    group: 'aiaas.escalation',
    expr: escalating,
    for: e.manager.after,
    severity: AlertSeverity.CRITICAL,
    extraLabels: { escalation: 'manager' },
    summary: `{{ $labels.escalated_alert }} has been firing for ${e.manager.after}: escalate to the engineering manager.`,
    description: `{{ $labels.escalated_alert }} in {{ $labels.namespace }} is unresolved after ${e.manager.after} (level 3: ${e.manager.contact}; firing: {{ $value }}); consider rollback.`,
    threshold: durationSeconds(e.manager.after),
    thresholdText: `a ${e.severities.join('/')} alert firing > ${e.manager.after}`,
  });
  return defs;
}

/** The rule groups of a PrometheusRule (`spec.groups`) built from definitions. */
export function ruleGroups(defs: AlertDefinition[]): { name: string; rules: Record<string, unknown>[] }[] {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const d of defs) {
    const labels: Record<string, string> = { severity: d.severity };
    if (d.incident) {
      labels.incident = d.incident;
    }
    Object.assign(labels, d.extraLabels);
    const rule = {
      alert: d.name,
      expr: d.expr,
      for: d.for,
      labels,
      annotations: { summary: d.summary, description: d.description, runbook_url: d.runbookUrl },
    };
    groups.set(d.group, [...(groups.get(d.group) ?? []), rule]);
  }
  return [...groups].map(([name, rules]) => ({ name, rules }));
}

/**
 * The runbook's alerts as one `monitoring.coreos.com/v1` PrometheusRule
 * (`aiaas-alerts` in the namespace, child id `Resource`).
 */
export class PlatformAlerts extends Construct {
  /** The alert definitions behind the rules, in rule order. */
  public readonly definitions: AlertDefinition[];
  /** The PrometheusRule. */
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: PlatformAlertsProps) {
    super(scope, id);
    this.definitions = alertDefinitions(props);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: props.name ?? 'aiaas-alerts',
        namespace: props.namespace,
        labels: { ...props.monitoring.ruleLabels },
      },
      spec: { groups: ruleGroups(this.definitions) },
    });
  }
}

function checkCronJob(field: string, name: string, maxAgeSeconds: number): void {
  if (!DNS1123_SUBDOMAIN.test(name) || name.length > 52) {
    throw new Error(`${field}.name: expected a CronJob name (DNS-1123, at most 52 characters) (got '${name}')`);
  }
  if (!Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) {
    throw new Error(`${field}.maxAgeSeconds: expected a number of seconds greater than 0 (got ${maxAgeSeconds})`);
  }
}

function escapeRegex(value: string): string {
  return value.replace(/[.]/g, '\\\\.');
}

function pct(r: number): string {
  return `${+(r * 100).toFixed(4)}%`;
}
