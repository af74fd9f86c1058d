// Group aiaas.database: the services' DB pools and PostgreSQL itself.
import { ALERT_PREFIX, AlertRecord, AlertSeverity, Procedure } from './alert-record';
import { pct, perServiceRule } from './_rules';
import { headingAnchor } from './anchors';
import {
  externalConninfo,
  kubectl,
  labelSelector,
  perServiceBlock,
  psql,
  restoreLink,
  runJob,
  RunbookContext,
  RunbookDatabase,
  RunbookExternalDatabase,
  scopeServices,
  workload,
} from './runbook-context';
import { gauge, POSTGRES_INSTANCE, perServiceScenarios, singleScenarios, timing } from './scenario';

export const DATABASE_GROUP = 'aiaas.database';

/** Connection count, limit and holders. */
function poolActions(ctx: RunbookContext): string {
  return [
    '# Connection count and limit',
    psql(ctx, 'SELECT count(*) FROM pg_stat_activity;'),
    psql(ctx, 'SHOW max_connections;'),
    psql(ctx, 'SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;'),
  ].join('\n');
}

const POOL_ALERT = `${ALERT_PREFIX}DatabasePoolExhaustion`;

export const DATABASE_ALERTS: AlertRecord[] = [
  {
    name: POOL_ALERT,
    group: DATABASE_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'dbPoolRatio',
    build: (c) =>
      perServiceRule(
        c,
        'dbPoolRatio',
        (sel) => `sum by (namespace, service) (${c.m.metrics.dbPoolConnectionsInUse}{${sel}}) / sum by (namespace, service) (${c.m.metrics.dbPoolConnectionsMax}{${sel}})`,
        (thr, t) => ({
          summary: '{{ $labels.service }} uses most of its database connection pool.',
          description: `{{ $labels.service }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its DB connection pool; threshold ${thr(pct)} for ${c.for}.`,
          thresholdText: `pool in use > ${pct(t)}`,
        }),
      ),
    procedure: (ctx, [rule]) => ({
      symptoms: ['Application DB pool almost fully in use', 'Requests waiting for a connection, rising latency'],
      actions: `${poolActions(ctx)}\n\n# Restart the application pods holding connections\n${perServiceBlock(scopeServices(ctx, rule), (s) => workload(ctx, s).restart())}`,
      recovery: ['Look for long-running transactions holding connections (see AiaasPostgresLongRunningTransaction).', 'Raise the pool size only if PostgreSQL max_connections allows it.'],
    }),
    scenarios: (rule, env) =>
      perServiceScenarios(rule, env, (svc, r) => [
        { metric: env.m.metrics.dbPoolConnectionsInUse, labels: { namespace: env.namespace, service: svc, pod: `${svc}-blue-1` }, values: gauge(r * 100) },
        { metric: env.m.metrics.dbPoolConnectionsMax, labels: { namespace: env.namespace, service: svc, pod: `${svc}-blue-1` }, values: gauge(100) },
      ]),
  },
  {
    name: `${ALERT_PREFIX}PostgresConnectionsHigh`,
    group: DATABASE_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'postgresConnectionsRatio',
    build: (c) => {
      const t = c.m.thresholds.postgresConnectionsRatio;
      return {
        expr:
          `sum by (namespace, instance) (${c.m.metrics.pgStatActivityCount}{${c.nsm}})` +
          ` / max by (namespace, instance) (${c.m.metrics.pgSettingsMaxConnections}{${c.nsm}}) > ${t}`,
        summary: `${c.db} is close to max_connections.`,
        description: `${c.db} ({{ $labels.instance }}) in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of max_connections; threshold ${pct(t)} for ${c.for}.`,
        threshold: t,
        thresholdText: `backends > ${pct(t)} of max_connections`,
      };
    },
    procedure: (ctx) => ({
      symptoms: [`${ctx.database.external?.host ?? ctx.database.statefulSet} close to max_connections`, 'New connections may be refused ("too many clients")'],
      actions: poolActions(ctx),
      recovery: [
        `Restart the application holding the most connections (its restart command is in [${POOL_ALERT}](#${headingAnchor(POOL_ALERT)})).`,
        'Terminate idle-in-transaction sessions older than a few minutes: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = \'idle in transaction\' AND now() - state_change > interval \'5 minutes\';`.',
        'Raise max_connections (PostgreSQL restart) or add a connection pooler.',
      ],
    }),
    scenarios: (rule, { m, namespace }) => {
      const postgres = { namespace, instance: POSTGRES_INSTANCE };
      return singleScenarios(
        rule,
        (r) => [
          { metric: m.metrics.pgStatActivityCount, labels: { ...postgres, datname: 'aiaas', state: 'active' }, values: gauge(r * 50) },
          { metric: m.metrics.pgStatActivityCount, labels: { ...postgres, datname: 'aiaas', state: 'idle' }, values: gauge(r * 50) },
          { metric: m.metrics.pgSettingsMaxConnections, labels: postgres, values: gauge(100) },
        ],
        postgres,
      );
    },
  },
  {
    name: `${ALERT_PREFIX}PostgresDown`,
    group: DATABASE_GROUP,
    severity: AlertSeverity.CRITICAL,
    key: 'postgresDown',
    // With the database down, its pool, connection, replication, transaction, job and backup alerts are symptoms.
    inhibits: {
      alerts: [
        `${ALERT_PREFIX}DatabasePoolExhaustion`,
        `${ALERT_PREFIX}PostgresConnectionsHigh`,
        `${ALERT_PREFIX}PostgresReplicationLag`,
        `${ALERT_PREFIX}PostgresLongRunningTransaction`,
        `${ALERT_PREFIX}DatabaseJobFailed`,
        `${ALERT_PREFIX}DatabaseJobNotSucceeding`,
        `${ALERT_PREFIX}BackupTooOld`,
      ],
      equal: ['namespace'],
    },
    build: (c) => ({
      expr: `${c.m.metrics.pgUp}{${c.nsm}} == 0 or absent(${c.m.metrics.pgUp}{${c.nsm}})`,
      summary: `${c.db} is down or not monitored.`,
      description: `postgres_exporter in {{ $labels.namespace }} cannot reach ${c.db}, or reports nothing at all, for ${c.for} (pg_up {{ $value }}).`,
      threshold: 0,
      thresholdText: 'pg_up == 0 or absent',
    }),
    procedure: (ctx) => {
      const k = kubectl(ctx);
      const db = ctx.database;
      if (db.external) {
        return externalDatabaseDown(ctx, { ...db, external: db.external });
      }
      return {
        symptoms: ['pg_up is 0 or postgres_exporter reports nothing', 'Every service fails on database calls'],
        actions: [
          `${k} get statefulset ${db.statefulSet}`,
          `${k} get pod ${db.pod} -o wide`,
          `${k} describe pod ${db.pod} | tail -30`,
          `${k} logs ${db.pod} --tail=200`,
          `${k} exec -it ${db.pod} -- pg_isready -U ${db.user ?? 'postgres'}`,
          `${k} get pvc`,
        ].join('\n'),
        recovery: [
          'If the pod is pending: check the PVC and node capacity (`kubectl describe nodes`).',
          'If PostgreSQL runs but the alert says "absent": postgres_exporter is not scraped; fix its ServiceMonitor/PodMonitor.',
          `Restore from backup only as a last resort (see ${restoreLink(ctx)}).`,
        ],
      };
    },
    scenarios: (rule, { m, namespace }) => {
      const postgres = { namespace, instance: POSTGRES_INSTANCE };
      return {
        firing: [
          { name: 'pg_up 0', series: [{ metric: m.metrics.pgUp, labels: postgres, values: gauge(0) }], expected: [postgres], ...timing(rule) },
          { name: 'pg_up absent', series: [], omit: [m.metrics.pgUp], expected: [{ namespace }], ...timing(rule) },
        ],
        silent: [{ name: 'pg_up 1', series: [{ metric: m.metrics.pgUp, labels: postgres, values: gauge(1) }], expected: [], ...timing(rule) }],
      };
    },
  },
  {
    name: `${ALERT_PREFIX}PostgresReplicationLag`,
    group: DATABASE_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'replicationLagSeconds',
    build: (c) => {
      const t = c.m.thresholds.replicationLagSeconds;
      return {
        expr: `max by (namespace, instance) (${c.m.metrics.pgReplicationLagSeconds}{${c.nsm}}) > ${t}`,
        summary: `${c.db} standby lags behind the primary.`,
        description: `Standby {{ $labels.instance }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }} behind; threshold ${t}s for ${c.for}.`,
        threshold: t,
        thresholdText: `replication lag > ${t}s`,
      };
    },
    procedure: (ctx) => ({
      symptoms: ['A standby lags behind the primary', 'Reads from the standby return stale data'],
      actions: [
        psql(ctx, 'SELECT client_addr, state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) AS lag_bytes FROM pg_stat_replication;'),
        runJob(ctx, 'replication-lag') ?? '',
      ].filter(Boolean).join('\n'),
      recovery: ['Check network and disk I/O of the standby.', 'Look for long-running transactions or heavy writes (VACUUM, bulk loads) on the primary.'],
    }),
    scenarios: (rule, { m, namespace }) => {
      const postgres = { namespace, instance: POSTGRES_INSTANCE };
      return singleScenarios(rule, (lag) => [{ metric: m.metrics.pgReplicationLagSeconds, labels: postgres, values: gauge(lag) }], postgres);
    },
  },
  {
    name: `${ALERT_PREFIX}PostgresLongRunningTransaction`,
    group: DATABASE_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'longTransactionSeconds',
    build: (c) => {
      const t = c.m.thresholds.longTransactionSeconds;
      return {
        expr: `max by (namespace, instance, datname) (${c.m.metrics.pgMaxTransactionDurationSeconds}{${c.nsm}}) > ${t}`,
        summary: `A transaction on ${c.db} has been open too long.`,
        description: `The oldest transaction on database {{ $labels.datname }} ({{ $labels.instance }}) in {{ $labels.namespace }} has been open for {{ $value | humanizeDuration }}; threshold ${t}s.`,
        threshold: t,
        thresholdText: `transaction open > ${t}s`,
      };
    },
    procedure: (ctx) => ({
      symptoms: ['A transaction open longer than the threshold', 'Locks held, vacuum blocked, bloat growing'],
      actions: [
        psql(ctx, "SELECT pid, now() - pg_stat_activity.query_start AS duration, state, query FROM pg_stat_activity WHERE (now() - pg_stat_activity.query_start) > interval '5 minutes';"),
        runJob(ctx, 'long-transactions') ?? '',
      ].filter(Boolean).join('\n'),
      recovery: [
        `Cancel the query: \`${psql(ctx, 'SELECT pg_cancel_backend(<pid>);')}\`; terminate if cancel does not work: \`pg_terminate_backend(<pid>)\`.`,
        'Find the client (application_name, client_addr) and fix the code path that leaves transactions open.',
      ],
    }),
    scenarios: (rule, { m, namespace }) => {
      const postgres = { namespace, instance: POSTGRES_INSTANCE };
      return singleScenarios(
        rule,
        (age) => [{ metric: m.metrics.pgMaxTransactionDurationSeconds, labels: { ...postgres, datname: 'aiaas', state: 'active' }, values: gauge(age) }],
        { ...postgres, datname: 'aiaas' },
      );
    },
  },
];

/** AiaasPostgresDown for a database outside the cluster: no pod to look at, the host and the exporter instead. */
function externalDatabaseDown(ctx: RunbookContext, db: RunbookDatabase & { external: RunbookExternalDatabase }): Procedure {
  const k = kubectl(ctx);
  const exporter = labelSelector(db.external.exporterPodLabels);
  return {
    symptoms: ['pg_up is 0 or postgres_exporter reports nothing', 'Every service fails on database calls'],
    actions: [
      `pg_isready -h ${db.external.host} -p ${db.external.port} -d ${db.database}`,
      `psql ${externalConninfo(db)} -c "SELECT 1"`,
      `${k} get pods -l ${exporter} -o wide`,
      `${k} logs -l ${exporter} --tail=200`,
    ].join('\n'),
    recovery: [
      `If pg_isready fails from outside the cluster too: ${db.external.host} is down or unreachable; follow the database provider's status page and failover procedure.`,
      'If it answers but pg_up is 0: check the exporter\'s logs (credentials, sslmode) and the NetworkPolicy `postgres-metrics` (egress to the database CIDRs).',
      'If the alert says "absent": postgres_exporter is not running or not scraped; check its Deployment and ServiceMonitor/PodMonitor.',
    ],
  };
}
