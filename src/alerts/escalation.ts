// Group aiaas.escalation: levels 2 and 3 of the runbook. Alertmanager cannot know
// how long an alert has fired, so Prometheus raises these when an escalating alert
// has been firing for `senior.after` / `manager.after`; AlertRouting routes them.
import { durationSeconds } from '../config/monitoring-config';
import { ALERT_PREFIX, AlertBuildContext, AlertDefinition, AlertRecord, AlertSeverity } from './alert-record';
import { kubectl, psql, workload } from './runbook-context';
import { AlertScenarios, gauge, MINUTES, POSTGRES_INSTANCE, ScenarioEnv, Series } from './scenario';

export const ESCALATION_GROUP = 'aiaas.escalation';

/** Names of the escalation alerts (level 2 and level 3). */
export const ESCALATION_SENIOR_ALERT = `${ALERT_PREFIX}EscalationSenior`;
export const ESCALATION_MANAGER_ALERT = `${ALERT_PREFIX}EscalationManager`;

/**
 * The alerts of the escalating severities that fired within the last
 * `flapTolerance`, named in `escalated_alert`: a short dip does not reset the
 * escalation's `for`, so a flapping incident escalates too.
 */
function escalating(c: AlertBuildContext): string {
  const e = c.m.escalation;
  return (
    `label_replace(max without (alertstate) (max_over_time(ALERTS{alertstate="firing", ${c.nsm}, severity=~"${e.severities.join('|')}", escalation=""}[${e.flapTolerance}])),` +
    ` "escalated_alert", "$1", "alertname", "(.+)")`
  );
}

/** A critical alert (PostgresDown) fires and the escalation follows `after` later; a warning never escalates. */
function escalationScenarios(rule: AlertDefinition, { m, namespace }: ScenarioEnv): AlertScenarios {
  const postgres = { namespace, instance: POSTGRES_INSTANCE };
  const down = durationSeconds(m.for.postgresDown);
  const after = rule.threshold;
  const failing: Series[] = [{ metric: m.metrics.pgUp, labels: postgres, values: gauge(0) }];
  return {
    firing: [
      {
        name: 'critical alert firing past the level',
        series: failing,
        expected: [{ ...postgres, escalated_alert: 'AiaasPostgresDown' }],
        fireAt: down + after + 120,
        notYetAt: down + after - 60,
      },
      {
        // PostgresDown fires for 2 minutes, resolves for 2 (shorter than flapTolerance), again and again:
        // no firing stretch reaches `after`, yet the incident escalates.
        name: 'a flapping critical alert',
        series: [{ metric: m.metrics.pgUp, labels: postgres, values: Array.from({ length: MINUTES + 1 }, (_, i) => (i % 5 < 3 ? '0' : '1')).join(' ') }],
        expected: [{ ...postgres, escalated_alert: 'AiaasPostgresDown' }],
        fireAt: down + after + 120,
      },
    ],
    silent: [
      {
        // One blip: PostgresDown fires for 2 minutes, then never again.
        name: 'a single blip of a critical alert',
        series: [{ metric: m.metrics.pgUp, labels: postgres, values: `0 0 0 1+0x${MINUTES}` }],
        expected: [],
        fireAt: down + after + 120,
      },
      {
        name: 'warning alert firing past the level',
        series: [{ metric: m.metrics.pgReplicationLagSeconds, labels: postgres, values: gauge(m.thresholds.replicationLagSeconds * 10) }],
        expected: [],
        fireAt: durationSeconds(m.for.replicationLagSeconds) + after + 120,
      },
    ],
  };
}

export const ESCALATION_ALERTS: AlertRecord[] = [
  {
    name: ESCALATION_SENIOR_ALERT,
    group: ESCALATION_GROUP,
    severity: AlertSeverity.CRITICAL,
    forOf: (m) => m.escalation.senior.after,
    build: (c) => {
      const e = c.m.escalation;
      return {
        expr: escalating(c),
        extraLabels: { escalation: 'senior' },
        summary: `{{ $labels.escalated_alert }} has been firing for ${e.senior.after}: escalate to the senior engineer.`,
        description: `{{ $labels.escalated_alert }} in {{ $labels.namespace }} is unresolved after ${e.senior.after} (level 2: ${e.senior.contact}; firing: {{ $value }}).`,
        threshold: durationSeconds(e.senior.after),
        thresholdText: `a ${e.severities.join('/')} alert firing > ${e.senior.after}`,
      };
    },
    procedure: (ctx) => {
      const k = kubectl(ctx);
      return {
        symptoms: [`A ${ctx.escalation.severities.join('/')} alert (label \`escalated_alert\`) has been firing for ${ctx.escalation.senior.after}`],
        actions: [`${k} get pods`, `${k} get events --sort-by=.metadata.creationTimestamp | tail -30`, psql(ctx, 'SELECT count(*) FROM pg_stat_activity;')].join('\n'),
        recovery: ['Level 2: the senior engineer joins.', 'Check the database and external dependencies.', 'Consider scaling resources.'],
      };
    },
    scenarios: escalationScenarios,
  },
  {
    name: ESCALATION_MANAGER_ALERT,
    group: ESCALATION_GROUP,
    severity: AlertSeverity.CRITICAL,
    forOf: (m) => m.escalation.manager.after,
    build: (c) => {
      const e = c.m.escalation;
      return {
        expr: escalating(c),
        extraLabels: { escalation: 'manager' },
        summary: `{{ $labels.escalated_alert }} has been firing for ${e.manager.after}: escalate to the engineering manager.`,
        description: `{{ $labels.escalated_alert }} in {{ $labels.namespace }} is unresolved after ${e.manager.after} (level 3: ${e.manager.contact}; firing: {{ $value }}); consider rollback.`,
        threshold: durationSeconds(e.manager.after),
        thresholdText: `a ${e.severities.join('/')} alert firing > ${e.manager.after}`,
      };
    },
    procedure: (ctx) => ({
      symptoms: [`A ${ctx.escalation.severities.join('/')} alert (label \`escalated_alert\`) has been firing for ${ctx.escalation.manager.after}`],
      actions: ctx.services.map((s) => [`# roll back ${s.name} to its previous revision (then make the config match; a switch back: see Blue-green deployment)`, ...workload(ctx, s).undo()].join('\n')).join('\n\n'),
      recovery: ['Level 3: the engineering manager joins.', 'Consider rollback to the previous version.', 'Implement emergency procedures.'],
    }),
    scenarios: escalationScenarios,
  },
];
