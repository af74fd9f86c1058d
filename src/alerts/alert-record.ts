// What one alert is: a typed record holding everything about it — name, group,
// severity, incident, the config key of its threshold and `for`, the builder of its
// rule text, its runbook procedure and its promtool scenarios. PlatformAlerts, the
// runbook renderer and the promtool tests all read these records; a record missing
// its procedure or scenarios is a compile error, not a runtime throw.
import type { AlertConfigKey, AlertSeverity, MonitoringConfig } from '../config/monitoring-config';
import type { RunbookContext } from './runbook-context';
import type { AlertScenarios, ScenarioEnv } from './scenario';

// The severity enum is declared once, with the config that lists severities.
export { AlertSeverity } from '../config/monitoring-config';

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

/** What the alerts of a deployment are built from. */
export interface AlertInputs {
  /** Namespace of the platform; every expression matches `namespace="<namespace>"`. */
  readonly namespace: string;
  /** Service names (the `service` label set by the ServiceMonitors). */
  readonly services: string[];
  /** The validated `monitoring` config section. */
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
   * The backup CronJob that also copies each backup to a bucket (dbMaintenance.backupBucket):
   * a failed upload and a newest off-cluster copy too old both alert (pushed metrics).
   * @default - no off-cluster backup alerts
   */
  readonly offsiteBackupCronJob?: string;
  /**
   * The PostgreSQL named in descriptions: the host of a database outside the cluster, else the StatefulSet.
   * @default - descriptions say 'PostgreSQL'
   */
  readonly database?: { readonly statefulSet?: string; readonly host?: string };
  /**
   * The services run as Argo Rollouts (`blueGreen.engine: argo-rollouts`): kube-state-metrics has
   * no Deployment metrics for them, so the availability alert also reads the Argo Rollouts controller's.
   * @default false
   */
  readonly argoRollouts?: boolean;
}

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
  /**
   * The rule also watches the namespace's Argo Rollouts (from the Argo Rollouts controller's metrics).
   * @default false
   */
  readonly argoRollouts?: boolean;
}

/** The part of a rule a record's builder computes from the config. */
export interface AlertRule {
  /** PromQL expression. */
  readonly expr: string;
  /** `summary` annotation (a Go template). */
  readonly summary: string;
  /** `description` annotation (a Go template, includes `{{ $value }}`). */
  readonly description: string;
  /** The numeric threshold `expr` compares with (1 for state alerts, seconds for age alerts). */
  readonly threshold: number;
  /** The threshold for humans (`p95 > 2s`). */
  readonly thresholdText: string;
  /**
   * Static labels of the rule besides severity and incident (e.g. escalation, task).
   * @default {}
   */
  readonly extraLabels?: Record<string, string>;
  /**
   * What the rule covers.
   * @default - the namespace (no services)
   */
  readonly scope?: AlertScope;
}

/** One alerting rule as synthesized, in a form the runbook generator, README and tests share. */
export interface AlertDefinition extends AlertRule {
  /** Alert name (`alert:`), CamelCase with the `Aiaas` prefix. Several rules may share a name (one per CronJob). */
  readonly name: string;
  /** Rule group the rule belongs to. */
  readonly group: string;
  /** How long `expr` must hold before the alert fires. */
  readonly for: string;
  readonly severity: AlertSeverity;
  /**
   * The runbook's incident code, where the runbook names one.
   * @default - no incident label
   */
  readonly incident?: IncidentCode;
  readonly extraLabels: Record<string, string>;
  readonly scope: AlertScope;
  /** Heading of the alert's RUNBOOK.md section; its slug is the anchor. */
  readonly heading: string;
  /** Anchor of that section (`headingAnchor(heading)`). */
  readonly anchor: string;
  /** `runbook_url` annotation: runbookBaseUrl + '#' + anchor. */
  readonly runbookUrl: string;
  /** The record the rule was built from (its procedure and scenarios). */
  readonly record: AlertRecord;
}

/** What a builder gets: the inputs, the config and the values every expression uses. */
export interface AlertBuildContext {
  readonly inputs: AlertInputs;
  readonly m: MonitoringConfig;
  /** The namespace matcher, `namespace="<namespace>"`. */
  readonly nsm: string;
  /** The rate() window. */
  readonly w: string;
  /** How descriptions name the database: `PostgreSQL (postgres)`. */
  readonly db: string;
  /** The `for` of this record, resolved from the config. */
  readonly for: string;
}

/** An alert's section of RUNBOOK.md. */
export interface Procedure {
  readonly symptoms: string[];
  /** Shell commands (one bash block). */
  readonly actions: string;
  readonly recovery: string[];
}

interface AlertRecordBase {
  /** Alert name, `Aiaas` + CamelCase. */
  readonly name: string;
  /** Rule group (`aiaas.http`, ...): the file the record lives in. */
  readonly group: string;
  readonly severity: AlertSeverity;
  /**
   * The runbook's incident code.
   * @default - no incident label
   */
  readonly incident?: IncidentCode;
  /**
   * Symptoms this alert explains: while it fires, Alertmanager inhibits the named
   * alerts (and their escalations) that share the `equal` labels with it.
   * @default - inhibits nothing
   */
  readonly inhibits?: { readonly alerts: string[]; readonly equal: string[] };
  /** This alert's section of RUNBOOK.md; `rules` are every rule of this name. */
  procedure(ctx: RunbookContext, rules: AlertDefinition[]): Procedure;
  /** promtool input that fires this rule after its `for`, and input that keeps it silent. */
  scenarios(rule: AlertDefinition, env: ScenarioEnv): AlertScenarios;
}

/**
 * Where the `for` comes from: `key` is the one name of the alert's threshold
 * (`monitoring.thresholds.<key>`, when it compares a number) and of its `for`
 * (`monitoring.for.<key>`); escalation alerts read their level's `after` instead.
 */
export type AlertForSource =
  | { readonly key: AlertConfigKey; readonly forOf?: never }
  | { readonly key?: never; readonly forOf: (m: MonitoringConfig) => string };

/** An alert of the namespace: at most one rule. */
export type NamespaceAlertRecord = AlertRecordBase & AlertForSource & {
  readonly each?: never;
  /** The rule, or undefined where the deployment has nothing to watch. */
  build(c: AlertBuildContext): AlertRule | undefined;
};

/** An alert with one rule per scheduled job. */
export type CronJobAlertRecord = AlertRecordBase & AlertForSource & {
  readonly each: 'cronJob';
  /** The rule of one CronJob, or undefined where this job has none. */
  build(c: AlertBuildContext, job: AlertCronJob): AlertRule | undefined;
};

/** One alert: everything about it in one place. */
export type AlertRecord = NamespaceAlertRecord | CronJobAlertRecord;
