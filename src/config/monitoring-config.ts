// The `monitoring` section of the platform config: the metric contract the
// services expose, the runbook's alert thresholds and `for` durations, per-service
// overrides and the escalation levels. Every field carries the runbook's default.
// Messages say what was expected; the loader prefixes them with the dotted path.
import { z } from 'zod';
import { secretKeyRefSchema } from './secret-ref';
import { DNS1123_LABEL, dns1123Label, matching, ratio } from './validators';

export { ratio };

/** How urgent an alert is; the `severity` label. Constructs and config accept the string values too. */
export enum AlertSeverity {
  /** Pages the on-call engineer now; escalates (see AlertRouting). */
  CRITICAL = 'critical',
  /** Needs attention within working hours. */
  WARNING = 'warning',
  /** For dashboards and context only. */
  INFO = 'info',
}

/** The severities as string literals ('critical' | 'warning' | 'info'). */
export type AlertSeverityName = `${AlertSeverity}`;
const SEVERITY_NAMES = Object.values(AlertSeverity) as [AlertSeverityName, ...AlertSeverityName[]];

/** `'a', 'b' or 'c'`. */
export function oneOf(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}` : quoted.join('');
}

/** A Prometheus duration such as `30s`, `5m` or `1h30m` (no sign, no fraction). */
export const PROMETHEUS_DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

const DURATION_UNITS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  y: 31536000,
};

/**
 * Seconds in a Prometheus duration string (`'1h30m'` → 5400).
 * Throws when the string is not a Prometheus duration.
 */
export function durationSeconds(duration: string): number {
  if (!PROMETHEUS_DURATION.test(duration)) {
    throw new Error(`expected a Prometheus duration like '5m' or '1h30m' (got '${duration}')`);
  }
  let total = 0;
  for (const m of duration.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
  }
  return total;
}

/** A Prometheus duration string; a negative or malformed one is refused. */
export const promDuration = z
  .string({ invalid_type_error: "expected a Prometheus duration string like '5m'" })
  .refine((value) => PROMETHEUS_DURATION.test(value), (value) => ({
    message: `expected a Prometheus duration like '30s', '5m' or '1h30m' (got '${value}')`,
  }));

/** A strictly positive number (seconds, per-second rates). */
const positive = (what: string) =>
  z.number({ invalid_type_error: `expected ${what}` }).refine((value) => value > 0 && Number.isFinite(value), (value) => ({
    message: `expected ${what} greater than 0 (got ${value})`,
  }));

/** A Prometheus metric name. */
export const metricName = matching(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'expected a Prometheus metric name like http_requests_total');

/** A label value or RE2 regex used inside a PromQL matcher (no quotes or backslashes). */
const matcherValue = matching(/^[^"\\\n]+$/, 'expected a non-empty label value without quotes, backslashes or newlines');

/** The metric names the alerts query: the contract services and exporters must expose. */
export const metricsSchema = z
  .object({
    /** Request latency histogram buckets, labels `namespace`, `service`, `le`. */
    httpRequestDurationBucket: metricName.default('http_request_duration_seconds_bucket'),
    /** Request counter, labels `namespace`, `service`, `code` (HTTP status). */
    httpRequestsTotal: metricName.default('http_requests_total'),
    /** Circuit breaker gauge, labels `service`, `name`, `state`; 1 for the breaker's current state. */
    circuitBreakerState: metricName.default('circuit_breaker_state'),
    /** Tool call counter, labels `tool`, `outcome`. */
    toolCallsTotal: metricName.default('tool_calls_total'),
    /** Request validation failure counter, label `service`. */
    validationFailuresTotal: metricName.default('validation_failures_total'),
    /** Open WebSocket connections (gauge, per pod). */
    websocketConnections: metricName.default('websocket_connections'),
    /** Maximum WebSocket connections a pod accepts (gauge, per pod). */
    websocketMaxConnections: metricName.default('websocket_max_connections'),
    /** Messages dropped by WebSocket backpressure (counter). */
    websocketBackpressureDropsTotal: metricName.default('websocket_backpressure_drops_total'),
    /** Application DB pool: connections in use (gauge). */
    dbPoolConnectionsInUse: metricName.default('db_pool_connections_in_use'),
    /** Application DB pool: pool size (gauge). */
    dbPoolConnectionsMax: metricName.default('db_pool_connections_max'),
    /** postgres_exporter: backends per database and state. */
    pgStatActivityCount: metricName.default('pg_stat_activity_count'),
    /** postgres_exporter: the server's max_connections setting. */
    pgSettingsMaxConnections: metricName.default('pg_settings_max_connections'),
    /** postgres_exporter: 1 when the exporter can reach PostgreSQL. */
    pgUp: metricName.default('pg_up'),
    /** postgres_exporter: replication lag of a standby in seconds. */
    pgReplicationLagSeconds: metricName.default('pg_replication_lag_seconds'),
    /** postgres_exporter: age in seconds of the oldest open transaction, labels `datname`, `state`. */
    pgMaxTransactionDurationSeconds: metricName.default('pg_stat_activity_max_tx_duration'),
    /** cAdvisor: container working set memory. */
    containerMemoryWorkingSetBytes: metricName.default('container_memory_working_set_bytes'),
    /** kube-state-metrics: container limits, label `resource="memory"`. */
    kubePodContainerResourceLimits: metricName.default('kube_pod_container_resource_limits'),
    /** kube-state-metrics: waiting containers by `reason` (CrashLoopBackOff). */
    kubePodContainerStatusWaitingReason: metricName.default('kube_pod_container_status_waiting_reason'),
    /** kube-state-metrics: unavailable replicas of a Deployment. */
    kubeDeploymentStatusReplicasUnavailable: metricName.default('kube_deployment_status_replicas_unavailable'),
    /** Argo Rollouts controller (engine argo-rollouts): `spec.replicas` of a Rollout, labels `namespace`, `name`. */
    rolloutInfoReplicasDesired: metricName.default('rollout_info_replicas_desired'),
    /** Argo Rollouts controller: available replicas of a blue-green Rollout's active ReplicaSet, labels `namespace`, `name`. */
    rolloutInfoReplicasAvailable: metricName.default('rollout_info_replicas_available'),
    /** kube-state-metrics: failed Jobs, labels `job_name`, `condition`. */
    kubeJobFailed: metricName.default('kube_job_failed'),
    /** kube-state-metrics: completed (succeeded) Jobs, labels `job_name`, `condition`. */
    kubeJobComplete: metricName.default('kube_job_complete'),
    /** kube-state-metrics: start time of a Job (unix seconds), label `job_name`. */
    kubeJobStatusStartTime: metricName.default('kube_job_status_start_time'),
    /** kube-state-metrics: last successful run of a CronJob (unix seconds), label `cronjob`. */
    kubeCronjobStatusLastSuccessfulTime: metricName.default('kube_cronjob_status_last_successful_time'),
    /** Pushed by `aiaas-job backup` (labels `task`, `namespace`): 1 when the off-cluster copy was uploaded and checked, 0 when it failed. */
    backupBucketUploadOk: metricName.default('aiaas_backup_bucket_upload_ok'),
    /** Pushed by `aiaas-job backup`/`restore-verify` (labels `task`, `namespace`): creation time (unix seconds) of the newest good backup in the bucket. */
    backupBucketNewestTimestamp: metricName.default('aiaas_backup_bucket_newest_timestamp_seconds'),
  })
  .strict();

/** Label values the alerts match on. */
export const labelValuesSchema = z
  .object({
    /** RE2 regex of the `code` values that count as server errors (error rate). */
    serverErrorCodes: matcherValue.default('5..'),
    /** RE2 regex of the `code` values that count as timeouts (TIMEOUT). */
    timeoutCodes: matcherValue.default('408|504'),
    /** `outcome` of a successful tool call; every other outcome is an error. */
    toolSuccessOutcome: matcherValue.default('success'),
    /** `state` of an open circuit breaker. */
    circuitBreakerOpenState: matcherValue.default('open'),
  })
  .strict();

/** Thresholds a service may override in `perService`. */
const serviceThresholdShape = {
  /** P95 request latency in seconds above which the latency alert fires (runbook: 2 s). */
  latencyP95Seconds: positive('a latency in seconds'),
  /** Response time in seconds (at `responseTimeQuantile`) above which TIMEOUT fires (runbook: 5 s). */
  responseTimeSeconds: positive('a response time in seconds'),
  /** Ratio of requests answered with a timeout code above which TIMEOUT fires. */
  timeoutRatio: ratio,
  /** Ratio of server errors to requests above which the error-rate alert fires (runbook: 5 %). */
  errorRatio: ratio,
  /** Ratio of validation failures to requests above which VALIDATION_FAIL fires. */
  validationFailureRatio: ratio,
  /** Ratio of the app's DB pool in use above which the pool alert fires (runbook: 80 %). */
  dbPoolRatio: ratio,
};

export const thresholdsSchema = z
  .object({
    latencyP95Seconds: serviceThresholdShape.latencyP95Seconds.default(2),
    responseTimeSeconds: serviceThresholdShape.responseTimeSeconds.default(5),
    /** Quantile of the latency histogram compared with `responseTimeSeconds`. */
    responseTimeQuantile: ratio.default(0.99),
    timeoutRatio: serviceThresholdShape.timeoutRatio.default(0.01),
    errorRatio: serviceThresholdShape.errorRatio.default(0.05),
    /** Ratio of failed tool calls (per tool) above which TOOL_DOWN fires. */
    toolErrorRatio: ratio.default(0.05),
    validationFailureRatio: serviceThresholdShape.validationFailureRatio.default(0.05),
    /** Open WebSocket connections as a ratio of the maximum above which WS_OVERLOAD fires. */
    websocketConnectionsRatio: ratio.default(0.9),
    /** Backpressure drops per second above which WS_OVERLOAD fires. */
    websocketBackpressureDropsPerSecond: positive('drops per second').default(1),
    dbPoolRatio: serviceThresholdShape.dbPoolRatio.default(0.8),
    /** PostgreSQL backends as a ratio of max_connections (runbook: 80 %). */
    postgresConnectionsRatio: ratio.default(0.8),
    /** Standby replication lag in seconds. */
    replicationLagSeconds: positive('a lag in seconds').default(30),
    /** Age in seconds of the oldest transaction (runbook: 5 minutes). */
    longTransactionSeconds: positive('a transaction age in seconds').default(300),
    /** Container working set as a ratio of its memory limit (runbook: 85 %). */
    memoryRatio: ratio.default(0.85),
    /**
     * Age in seconds of the newest good backup in the bucket (off-cluster copy) above which
     * AiaasOffsiteBackupTooOld fires: a nightly backup plus slack (26 h).
     */
    offsiteBackupAgeSeconds: positive('an age in seconds').default(26 * 3600),
  })
  .strict();

/**
 * `for` of each alert, keyed like its threshold: `thresholds.errorRatio` and
 * `for.errorRatio` are the two knobs of one alert. Alerts on a state (no number
 * to compare) have a `for` only.
 */
export const forSchema = z
  .object({
    /** P95 latency above threshold for this long. */
    latencyP95Seconds: promDuration.default('5m'),
    /** Response time above threshold for this long (TIMEOUT). */
    responseTimeSeconds: promDuration.default('2m'),
    /** Timeout ratio above threshold for this long (TIMEOUT). */
    timeoutRatio: promDuration.default('5m'),
    /** Error ratio above threshold for this long. */
    errorRatio: promDuration.default('5m'),
    /** Tool error ratio above threshold for this long (TOOL_DOWN). */
    toolErrorRatio: promDuration.default('5m'),
    /** A tool's circuit breaker open for this long: warning (TOOL_DOWN). */
    circuitBreakerOpen: promDuration.default('1m'),
    /** A circuit breaker open for this long: critical (runbook: 5 minutes). */
    circuitBreakerOpenTooLong: promDuration.default('5m'),
    /** Validation failure ratio above threshold for this long (VALIDATION_FAIL). */
    validationFailureRatio: promDuration.default('5m'),
    /** WebSocket connections near the maximum for this long (WS_OVERLOAD). */
    websocketConnectionsRatio: promDuration.default('5m'),
    /** Backpressure drops above threshold for this long (WS_OVERLOAD, critical). */
    websocketBackpressureDropsPerSecond: promDuration.default('5m'),
    /** Any backpressure drop (users lose messages) for this long (WS_OVERLOAD, warning). */
    websocketMessagesDropped: promDuration.default('5m'),
    /** App DB pool above threshold for this long. */
    dbPoolRatio: promDuration.default('5m'),
    /** PostgreSQL connections above threshold for this long. */
    postgresConnectionsRatio: promDuration.default('5m'),
    /** PostgreSQL unreachable for this long. */
    postgresDown: promDuration.default('1m'),
    /** Replication lag above threshold for this long. */
    replicationLagSeconds: promDuration.default('5m'),
    /** A transaction older than the threshold for this long. */
    longTransactionSeconds: promDuration.default('1m'),
    /** Memory above threshold for this long. */
    memoryRatio: promDuration.default('5m'),
    /** A container in CrashLoopBackOff for this long. */
    crashLooping: promDuration.default('15m'),
    /** A Deployment with unavailable replicas for this long. */
    deploymentUnavailable: promDuration.default('15m'),
    /** A failed scheduled DB job seen for this long. */
    jobFailed: promDuration.default('1m'),
    /** A CronJob's last success older than allowed for this long. */
    cronJobStale: promDuration.default('10m'),
    /** The backup older than allowed (or never seen) for this long. */
    backupStale: promDuration.default('10m'),
    /** The last backup's off-cluster copy failed (pushed metric) for this long. */
    offsiteUploadFailed: promDuration.default('1m'),
    /** The newest off-cluster backup older than the threshold (or never seen) for this long. */
    offsiteBackupAgeSeconds: promDuration.default('10m'),
  })
  .strict();

/** `for` keys renamed to their threshold's name: a config using an old one is told the new one. */
const RENAMED_FOR_KEYS: Record<string, keyof z.input<typeof forSchema>> = {
  latencyP95: 'latencyP95Seconds',
  responseTime: 'responseTimeSeconds',
  timeouts: 'timeoutRatio',
  errorRate: 'errorRatio',
  toolErrors: 'toolErrorRatio',
  validationFailures: 'validationFailureRatio',
  websocketConnections: 'websocketConnectionsRatio',
  websocketBackpressure: 'websocketBackpressureDropsPerSecond',
  dbPool: 'dbPoolRatio',
  postgresConnections: 'postgresConnectionsRatio',
  replicationLag: 'replicationLagSeconds',
  longTransaction: 'longTransactionSeconds',
  memory: 'memoryRatio',
};

/** Reports each old `for` key as renamed (instead of "unrecognized") and drops it. */
function renamedForKeys(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return value;
  }
  const rest: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [old, renamed] of Object.entries(RENAMED_FOR_KEYS)) {
    if (old in rest) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [old], message: `renamed to '${renamed}', the name of its threshold (got '${old}')` });
      delete rest[old];
    }
  }
  return rest;
}

/** The key an alert reads in both `thresholds` and `for`. */
export type AlertConfigKey = keyof z.output<typeof forSchema>;
/** Keys of numeric thresholds compared by an alert (every one has a `for` of the same name). */
export type ThresholdKey = Exclude<keyof z.output<typeof thresholdsSchema>, 'responseTimeQuantile'>;
// Compile-time proof that every threshold has its `for` under the same name.
const _everyThresholdHasItsFor: ThresholdKey extends AlertConfigKey ? true : never = true;
void _everyThresholdHasItsFor;

/** Per-service threshold overrides; each field defaults to the matching global threshold. */
export const serviceOverrideSchema = z
  .object({
    latencyP95Seconds: serviceThresholdShape.latencyP95Seconds.optional(),
    responseTimeSeconds: serviceThresholdShape.responseTimeSeconds.optional(),
    timeoutRatio: serviceThresholdShape.timeoutRatio.optional(),
    errorRatio: serviceThresholdShape.errorRatio.optional(),
    validationFailureRatio: serviceThresholdShape.validationFailureRatio.optional(),
    dbPoolRatio: serviceThresholdShape.dbPoolRatio.optional(),
  })
  .strict();

const emailAddress = matching(/^[^@\s]+@[^@\s]+$/, "expected an e-mail address like 'oncall@example.com'");

/** How a level's receiver is notified. At least one channel. */
export const notifySchema = z
  .object({
    /** PagerDuty Events v2: the routing (integration) key is read from a Secret (of the monitoring namespace, or the AlertmanagerConfig's). */
    pagerduty: secretKeyRefSchema.optional(),
    /** A webhook (e.g. a chat or paging relay). The URL is not a secret; use pagerduty/email for keys. */
    webhook: z
      .object({
        url: z.string().refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), (v) => ({ message: `expected an http(s) URL (got '${v}')` })),
      })
      .strict()
      .optional(),
    /** E-mail; the SMTP password is read from a Secret. */
    email: z
      .object({
        to: emailAddress,
        from: emailAddress,
        /** SMTP server as host:port. */
        smarthost: matching(/^[^:\s]+:[0-9]+$/, "expected host:port like 'smtp.example.com:587'"),
        authUsername: z.string().min(1).optional(),
        authPassword: secretKeyRefSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((n) => n.pagerduty !== undefined || n.webhook !== undefined || n.email !== undefined, {
    message: 'expected at least one of pagerduty, webhook or email',
  });

const receiverName = matching(DNS1123_LABEL, 'expected a receiver name of lower-case letters, digits and "-"');

const levelSchema = (defaults: { receiver: string; contact: string; key: string }) =>
  z
    .object({
      /** Alertmanager receiver name. */
      receiver: receiverName.default(defaults.receiver),
      /** Who is reached (a role or schedule name, never a phone number); printed in RUNBOOK.md. */
      contact: z
        .string()
        .min(1)
        .refine((c) => !/\+?\d[\d\s().-]{6,}\d/.test(c), 'expected a role or schedule name, not a phone number')
        .default(defaults.contact),
      /** How the receiver is notified. */
      notify: notifySchema.default({ pagerduty: { secret: 'alertmanager-pagerduty', key: defaults.key } }),
      /** How often a still-firing alert is re-sent to this level. */
      repeatInterval: promDuration.default('15m'),
    })
    .strict();

export const escalationSchema = z
  .object({
    /** Severities that escalate beyond level 1. Other severities stay with the on-call engineer. */
    severities: z
      .array(z.enum(SEVERITY_NAMES, { errorMap: (_issue, ctx) => ({ message: `expected ${oneOf(SEVERITY_NAMES)} (got ${JSON.stringify(ctx.data)})` }) }))
      .min(1, 'expected at least one severity')
      .default([AlertSeverity.CRITICAL]),
    /** Labels alerts are grouped by in one notification. */
    groupBy: z.array(z.string().min(1)).default(['alertname', 'namespace', 'service']),
    /** Wait before the first notification of a new group. */
    groupWait: promDuration.default('30s'),
    /** Wait before notifying about new alerts of a group already notified. */
    groupInterval: promDuration.default('5m'),
    /**
     * Dips shorter than this do not reset the escalation timer: an alert firing,
     * resolving for less than this and firing again counts as firing throughout, so a
     * flapping incident escalates. A single blip shorter than `senior.after` never
     * escalates. Escalations resolve this long after the alert does.
     */
    flapTolerance: promDuration.default('5m'),
    /** Level 1 (0-15 min): the on-call engineer gets every alert. */
    onCall: levelSchema({ receiver: 'aiaas-oncall', contact: 'On-call engineer (primary pager)', key: 'oncall-routing-key' })
      .extend({ repeatInterval: promDuration.default('15m') })
      .default({}),
    /** Level 2: the senior engineer, once an alert has been firing for `after`. */
    senior: levelSchema({ receiver: 'aiaas-senior', contact: 'Senior engineer (secondary pager)', key: 'senior-routing-key' })
      .extend({ after: promDuration.default('15m') })
      .default({}),
    /** Level 3: the engineering manager, once an alert has been firing for `after`. */
    manager: levelSchema({ receiver: 'aiaas-manager', contact: 'Engineering manager', key: 'manager-routing-key' })
      .extend({ after: promDuration.default('30m') })
      .default({}),
    /** Where the plain alertmanager.yaml expects Secrets mounted (prometheus-operator mounts `spec.secrets` here). */
    secretsMountPath: z.string().startsWith('/', "expected an absolute path like '/etc/alertmanager/secrets'").default('/etc/alertmanager/secrets'),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (PROMETHEUS_DURATION.test(e.senior.after) && durationSeconds(e.senior.after) <= 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['senior', 'after'], message: `expected a duration greater than 0 (got '${e.senior.after}')` });
    }
    if (
      PROMETHEUS_DURATION.test(e.senior.after) &&
      PROMETHEUS_DURATION.test(e.manager.after) &&
      durationSeconds(e.manager.after) <= durationSeconds(e.senior.after)
    ) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['manager', 'after'],
        message: `expected a duration longer than senior.after ('${e.senior.after}') (got '${e.manager.after}')`,
      });
    }
    const names = [e.onCall.receiver, e.senior.receiver, e.manager.receiver];
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['manager', 'receiver'], message: `expected three distinct receiver names (got ${names.join(', ')})` });
    }
  });

/** `<service>.<namespace>.svc[.cluster.local]`: a Service the runbook reaches with `kubectl port-forward`. */
const IN_CLUSTER_HOST = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$/;

/** Where an in-cluster monitoring URL points: Service, namespace, port and path prefix. */
export interface InClusterService {
  readonly service: string;
  readonly namespace: string;
  readonly port: number;
  /** Path prefix without the trailing slash ('' for none). */
  readonly path: string;
}

/** The Service behind an in-cluster URL (`http://prometheus-operated.monitoring.svc:9090`); undefined for any other URL. */
export function inClusterService(url: string): InClusterService | undefined {
  const u = new URL(url);
  const m = IN_CLUSTER_HOST.exec(u.hostname);
  if (!m) return undefined;
  return { service: m[1], namespace: m[3], port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)), path: u.pathname.replace(/\/+$/, '') };
}

/** No quotes, backslashes or spaces: the URL is pasted into single-quoted shell words of RUNBOOK.md. */
const SHELL_SAFE = /^[^'"\s\\`$]+$/;

/** An http(s) URL; an in-cluster one must be http://<service>.<namespace>.svc[.cluster.local] (reached through a port-forward). */
function monitoringUrl(example: string) {
  return z.string().superRefine((v, ctx) => {
    const problem = !/^https?:\/\//.test(v) || !URL.canParse(v) || !SHELL_SAFE.test(v)
      ? `expected an http(s) URL like '${example}' (got '${v}')`
      : /\.svc(\.cluster\.local)?$|\.cluster\.local$/.test(new URL(v).hostname) && (!inClusterService(v) || new URL(v).protocol !== 'http:')
        ? `expected an in-cluster URL as http://<service>.<namespace>.svc:<port> (the runbook port-forwards to it; got '${v}')`
        : undefined;
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });
}

/** An external API's health URL: https on 443 (the tool service's egress opens nothing else), no credentials in it. */
const externalHealthUrl = z.string().superRefine((v, ctx) => {
  const u = URL.canParse(v) ? new URL(v) : undefined;
  const problem = !u || u.protocol !== 'https:' || !SHELL_SAFE.test(v)
    ? `expected an https URL like 'https://api.example.com/health' (got '${v}')`
    : u.port !== '' && u.port !== '443'
      ? `expected port 443, the only port of the tool service's egress (got '${v}')`
      : u.username || u.password
        ? 'expected a URL without credentials (it is printed in RUNBOOK.md)'
        : undefined;
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

export const monitoringConfigSchema = z
  .object({
    /**
     * URL where this platform's generated RUNBOOK.md is published (e.g. the file in your GitOps
     * repository); each alert's runbook_url is this plus '#<anchor>'. Required by `PlatformChart`
     * (and every alert built): no default could point at your own runbook.
     * @default - none: required wherever alerts are built
     */
    runbookBaseUrl: z
      .string()
      .url('expected an absolute URL like https://git.example.com/ops/blob/main/dist/RUNBOOK.md')
      .refine((u) => !u.includes('#'), 'expected a URL without a #fragment (the anchor is appended)')
      .optional(),
    /** Alertmanager URL the runbook's amtool commands use (e.g. through `kubectl port-forward`). */
    alertmanagerUrl: z
      .string()
      .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), (v) => ({ message: `expected an http(s) URL (got '${v}')` }))
      .default('http://localhost:9093'),
    /**
     * Prometheus the runbook queries (`/api/v1/alerts`, `/api/v1/rules`, `/api/v1/query`): an in-cluster
     * Service URL `http://<service>.<namespace>.svc:<port>` (the runbook port-forwards to it) or a URL
     * the responder's workstation reaches.
     * @default - blueGreen.argoRollouts.prometheusAddress, else http://prometheus-operated.<network.monitoringNamespace>.svc:9090
     */
    prometheusUrl: monitoringUrl('http://prometheus-operated.monitoring.svc:9090').optional(),
    /**
     * Grafana the runbook checks (`/api/health`), in the same forms as `prometheusUrl`.
     * @default - http://grafana.<network.monitoringNamespace>.svc:3000
     */
    grafanaUrl: monitoringUrl('http://grafana.monitoring.svc:3000').optional(),
    /**
     * Health URLs of the external APIs the tool service calls (TOOL_DOWN), checked from a throw-away pod
     * with the tool service's egress: https on port 443, the only port that egress opens.
     * @default - none: the runbook says where to configure them
     */
    externalApiHealthUrls: z.array(externalHealthUrl).default([]),
    /** Labels on the PrometheusRule object so Prometheus' ruleSelector picks it up. */
    ruleLabels: z.record(z.string().min(1), z.string()).default({ role: 'alert-rules' }),
    /** Window of every rate() in the alerts. */
    rateWindow: promDuration.default('5m'),
    metrics: metricsSchema.default({}),
    labelValues: labelValuesSchema.default({}),
    thresholds: thresholdsSchema.default({}),
    /** `for` of each alert: how long the condition must hold before it fires. */
    for: z.preprocess(renamedForKeys, forSchema).default({}),
    /** Threshold overrides keyed by service name; the service must exist. */
    perService: z.record(dns1123Label, serviceOverrideSchema).default({}),
    escalation: escalationSchema.default({}),
  })
  .strict();

/** The problem of a missing `monitoring.runbookBaseUrl`, for every place that needs it. */
export const RUNBOOK_BASE_URL_REQUIRED =
  "required: the URL where this platform's RUNBOOK.md is published (e.g. https://git.example.com/ops/platform/blob/main/dist/RUNBOOK.md); " +
  "every alert's runbook_url is this plus '#<alert>', and no default could point at your own runbook";

export type MonitoringConfigInput = z.input<typeof monitoringConfigSchema>;
export type MonitoringConfig = z.output<typeof monitoringConfigSchema>;
export type ServiceThresholdOverride = z.output<typeof serviceOverrideSchema>;
export type EscalationConfig = z.output<typeof escalationSchema>;
export type NotifyConfig = z.output<typeof notifySchema>;

/**
 * Parses a monitoring section with the runbook defaults, throwing an Error whose
 * message lists every problem as `monitoring.<dotted.path>: <message>`.
 */
export function parseMonitoringConfig(input: unknown = {}): MonitoringConfig {
  const result = monitoringConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${['monitoring', ...i.path].join('.')}: ${i.message}`);
    throw new Error(`invalid monitoring config:\n${lines.join('\n')}`);
  }
  return result.data;
}
