// The alert records of every group, in rule order, and the rules they make for
// one deployment.
import { checkDns1123Label, DNS1123_SUBDOMAIN } from '../config/validators';
import { RUNBOOK_BASE_URL_REQUIRED } from '../config/monitoring-config';
import { AlertBuildContext, AlertDefinition, AlertInputs, AlertRecord, AlertRule } from './alert-record';
import { headingAnchor } from './anchors';
import { DATABASE_ALERTS } from './database';
import { ESCALATION_ALERTS, ESCALATION_MANAGER_ALERT, ESCALATION_SENIOR_ALERT } from './escalation';
import { HTTP_ALERTS } from './http';
import { JOBS_ALERTS } from './jobs';
import { KUBERNETES_ALERTS } from './kubernetes';
import { TOOLS_ALERTS } from './tools';
import { VALIDATION_ALERTS } from './validation';
import { WEBSOCKET_ALERTS } from './websocket';

/** Every alert record, group by group, in rule order. */
export const ALERT_RECORDS: readonly AlertRecord[] = [
  ...HTTP_ALERTS,
  ...TOOLS_ALERTS,
  ...VALIDATION_ALERTS,
  ...WEBSOCKET_ALERTS,
  ...DATABASE_ALERTS,
  ...KUBERNETES_ALERTS,
  ...JOBS_ALERTS,
  ...ESCALATION_ALERTS,
];


/**
 * The alert definitions of a deployment, in rule order: group by group; inside a
 * group, the per-CronJob rules first (CronJob by CronJob), then the others.
 * Throws on invalid inputs.
 */
export function alertDefinitions(inputs: AlertInputs, records: readonly AlertRecord[] = ALERT_RECORDS): AlertDefinition[] {
  // The config arrives validated (parseMonitoringConfig / the platform loader): not parsed again.
  const m = inputs.monitoring;
  checkInputs(inputs);
  const cronJobs = inputs.cronJobs ?? [];
  const base = {
    inputs,
    m,
    nsm: `namespace="${inputs.namespace}"`,
    w: m.rateWindow,
    db: inputs.database?.host ?? inputs.database?.statefulSet ? `PostgreSQL (${inputs.database?.host ?? inputs.database?.statefulSet})` : 'PostgreSQL',
  };
  if (m.runbookBaseUrl === undefined) {
    throw new Error(`monitoring.runbookBaseUrl: ${RUNBOOK_BASE_URL_REQUIRED}`);
  }
  const runbookBaseUrl = m.runbookBaseUrl;
  const defs: AlertDefinition[] = [];
  const add = (record: AlertRecord, c: AlertBuildContext, rule: AlertRule | undefined) => {
    if (!rule) {
      return;
    }
    const anchor = headingAnchor(record.name);
    defs.push({
      ...rule,
      name: record.name,
      group: record.group,
      for: c.for,
      severity: record.severity,
      ...(record.incident ? { incident: record.incident } : {}),
      extraLabels: rule.extraLabels ?? {},
      scope: rule.scope ?? { services: [] },
      heading: record.name,
      anchor,
      runbookUrl: `${runbookBaseUrl}#${anchor}`,
      record,
    });
  };
  const context = (record: AlertRecord): AlertBuildContext => ({ ...base, for: record.key !== undefined ? m.for[record.key] : record.forOf(m) });
  const groups = [...new Set(records.map((r) => r.group))];
  for (const group of groups) {
    const inGroup = records.filter((r) => r.group === group);
    for (const job of cronJobs) {
      for (const record of inGroup) {
        if (record.each === 'cronJob') {
          add(record, context(record), record.build(context(record), job));
        }
      }
    }
    for (const record of inGroup) {
      if (record.each === undefined) {
        add(record, context(record), record.build(context(record)));
      }
    }
  }
  return defs;
}

/** A Prometheus alerting rule as written in a rule file. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
}

/** The rule groups of a PrometheusRule (`spec.groups`) built from definitions. */
export function ruleGroups(defs: AlertDefinition[]): { name: string; rules: AlertingRule[] }[] {
  const groups = new Map<string, AlertingRule[]>();
  for (const d of defs) {
    const labels: Record<string, string> = { severity: d.severity };
    if (d.incident) {
      labels.incident = d.incident;
    }
    Object.assign(labels, d.extraLabels);
    const rule: AlertingRule = {
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

function checkInputs(inputs: AlertInputs): void {
  checkDns1123Label('namespace', inputs.namespace);
  inputs.services.forEach((s, i) => checkDns1123Label(`services[${i}]`, s));
  for (const name of Object.keys(inputs.monitoring.perService)) {
    if (!inputs.services.includes(name)) {
      throw new Error(
        `monitoring.perService.${name}: unknown service '${name}'; expected one of ${inputs.services.join(', ') || '(no services)'}`,
      );
    }
  }
  (inputs.cronJobs ?? []).forEach((job, i) => checkCronJob(`cronJobs[${i}]`, job.name, job.maxAgeSeconds));
  if (inputs.backupCronJob) {
    checkCronJob('backupCronJob', inputs.backupCronJob.name, inputs.backupCronJob.maxAgeSeconds);
  }
  if (inputs.offsiteBackupCronJob !== undefined) {
    checkCronJob('offsiteBackupCronJob', inputs.offsiteBackupCronJob, 1);
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

/** An inhibition: while a `source` alert fires, the `target` alerts sharing the `equal` labels are muted. */
export interface Inhibition {
  /** Label matchers of the source alerts (`name`, value, `=` or `=~`). */
  readonly source: Matcher[];
  readonly target: Matcher[];
  readonly equal: string[];
}

/** A label matcher. */
export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly regex: boolean;
}

/**
 * The inhibitions the records declare, grouped by the symptoms they mute: one rule
 * for the symptoms themselves and one for their escalations (`escalated_alert`),
 * so a symptom pages nobody, at no level.
 */
export function inhibitions(records: readonly AlertRecord[] = ALERT_RECORDS): Inhibition[] {
  const bySymptoms = new Map<string, { sources: string[]; alerts: string[]; equal: string[] }>();
  for (const r of records) {
    if (!r.inhibits) {
      continue;
    }
    const key = JSON.stringify([r.inhibits.alerts, r.inhibits.equal]);
    const entry = bySymptoms.get(key) ?? { sources: [], alerts: r.inhibits.alerts, equal: r.inhibits.equal };
    entry.sources.push(r.name);
    bySymptoms.set(key, entry);
  }
  const oneOf = (name: string, values: string[]): Matcher => ({ name, value: values.join('|'), regex: values.length > 1 });
  return [...bySymptoms.values()].flatMap(({ sources, alerts, equal }) => [
    { source: [oneOf('alertname', sources)], target: [oneOf('alertname', alerts)], equal },
    {
      source: [oneOf('alertname', sources)],
      target: [oneOf('alertname', [ESCALATION_SENIOR_ALERT, ESCALATION_MANAGER_ALERT]), oneOf('escalated_alert', alerts)],
      equal,
    },
  ]);
}
