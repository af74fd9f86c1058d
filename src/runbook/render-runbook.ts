// RUNBOOK.md generated from the same definitions as the alerts: the procedures of
// the ops runbook with this deployment's namespace, Deployments, Services, pods
// and CronJobs in every command. One section per alert, whose heading is the
// anchor of the alert's runbook_url. Never prints secrets' contents.
import type { EscalationConfig } from '../config/monitoring-config';
import type { AlertDefinition } from '../constructs/platform-alerts';
import { ESCALATION_MANAGER_ALERT, ESCALATION_SENIOR_ALERT } from '../constructs/platform-alerts';
import { headingAnchor } from './anchors';

/** A blue-green service as deployed. */
export interface RunbookService {
  /** Service name (the `app` label and the `service` label of its metrics). */
  readonly name: string;
  /** Colour the stable Service selects. */
  readonly activeColor: string;
  /** The other colour (preview). */
  readonly idleColor: string;
  /** Stable Service name. */
  readonly service: string;
  /** Preview Service name. */
  readonly previewService: string;
  /** Deployment name of each colour. */
  readonly deployments: { readonly blue: string; readonly green: string };
  /** Container port. @default 8000 */
  readonly port?: number;
  /** Health path. @default '/health' */
  readonly healthPath?: string;
  /** Name of the idle colour's smoke-test Job, when one exists. @default - no smoke-test Job; the runbook curls the preview Service */
  readonly smokeTestJob?: string;
}

/** The existing PostgreSQL. */
export interface RunbookDatabase {
  /** StatefulSet name. */
  readonly statefulSet: string;
  /** Pod to exec into (usually `<statefulSet>-0`). */
  readonly pod: string;
  /** Database name. */
  readonly database: string;
  /** Role psql connects as inside the pod. @default 'postgres' */
  readonly user?: string;
}

/** A scheduled job of the deployment. */
export interface RunbookCronJob {
  /** Task it runs (`vacuum-analyze`, `backup`…). */
  readonly task: string;
  /** CronJob name. */
  readonly name: string;
  /** Cron schedule. */
  readonly schedule: string;
}

/** The suspended CronJob `aiaas-job restore` runs from. */
export interface RunbookRestoreJob {
  /** CronJob name. */
  readonly name: string;
  /** Database it restores into unless told otherwise. */
  readonly targetDatabase: string;
}

/** Everything the runbook names. */
export interface RunbookContext {
  /** Namespace of the platform. */
  readonly namespace: string;
  readonly services: RunbookService[];
  readonly database: RunbookDatabase;
  readonly cronJobs: RunbookCronJob[];
  /** The restore job. @default - no in-cluster restore section */
  readonly restoreJob?: RunbookRestoreJob;
  /** The alert definitions (PlatformAlerts.definitions or alertDefinitions()). */
  readonly alerts: AlertDefinition[];
  /** The escalation levels (monitoring.escalation). */
  readonly escalation: EscalationConfig;
  /** Service carrying WebSockets. @default - 'realtime-service' when present, else the first service */
  readonly websocketService?: string;
  /** Service that calls tools and holds FALLBACK_MODE. @default - 'orchestrator' when present, else the first service */
  readonly orchestratorService?: string;
  /** Service that calls the tools' external APIs. @default - 'tool-service' when present, else the first service */
  readonly toolService?: string;
  /** Service at the edge (validation, circuit breaker endpoints). @default - 'api-gateway' when present, else the first service */
  readonly gatewayService?: string;
  /** Schema registry Service and port consulted on VALIDATION_FAIL. @default 'schema-registry:8080' */
  readonly schemaRegistry?: string;
  /** Feature-flag Service and port consulted on VALIDATION_FAIL. @default 'feature-flags:8000' */
  readonly featureFlags?: string;
}

interface Procedure {
  readonly symptoms: string[];
  readonly actions: string;
  readonly recovery: string[];
}

/** The markdown table of alerts (name, threshold, for, severity, incident), linked to their sections. */
export function alertsTableMarkdown(alerts: AlertDefinition[], link: (d: AlertDefinition) => string = (d) => `#${d.anchor}`): string {
  const rows = uniqueAlerts(alerts).map((d) => {
    const overrides = Object.entries(d.scope.serviceThresholds ?? {}).filter(([, v]) => v !== d.threshold);
    const extra = overrides.length ? ` (${overrides.map(([s, v]) => `${s}: ${v}`).join(', ')})` : '';
    const job = d.scope.cronJob ? ` (CronJob ${d.scope.cronJob})` : '';
    return `| [${d.name}](${link(d)}) | ${escapeCell(d.thresholdText)}${extra}${job} | ${d.for} | ${d.severity} | ${d.incident ?? ''} |`;
  });
  return ['| Alert | Threshold | For | Severity | Incident |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** Renders RUNBOOK.md. Throws when an alert has no procedure. */
export function renderRunbook(ctx: RunbookContext): string {
  const k = `kubectl -n ${ctx.namespace}`;
  const out: string[] = [];
  out.push(`# AIaaS Platform Runbook: namespace \`${ctx.namespace}\``);
  out.push('');
  out.push('> Generated by aiaas-ops from the same definitions as the PrometheusRule and the platform config.');
  out.push('> Edit the config or the code and re-run `npm run synth`; do not edit this file by hand.');
  out.push('');
  out.push('## Contents');
  out.push('');
  const sections = ['Alerts', 'Alert procedures', 'Escalation', 'Blue-green deployment', 'Database maintenance', 'Backups and restore', 'Troubleshooting'];
  sections.forEach((s) => out.push(`- [${s}](#${headingAnchor(s)})`));
  out.push('');
  out.push('## Alerts');
  out.push('');
  out.push(alertsTableMarkdown(ctx.alerts));
  out.push('');
  out.push('## Alert procedures');
  out.push('');
  out.push('Every command names the namespace. The labels of the firing alert (`service`, `pod`, `container`, `tool`, `job_name`) tell which block applies; set `POD`, `CONTAINER` or `JOB_NAME` from them where a command uses them.');
  out.push('');
  for (const def of uniqueAlerts(ctx.alerts)) {
    const all = ctx.alerts.filter((a) => a.name === def.name);
    const p = procedure(ctx, def, all);
    out.push(`### ${def.heading}`);
    out.push('');
    out.push(`- **Severity:** ${def.severity}${def.incident ? ` · **Incident:** ${def.incident}` : ''}`);
    out.push(`- **Fires when:** ${all.map((a) => `${a.thresholdText}${a.scope.cronJob ? ` (CronJob \`${a.scope.cronJob}\`)` : ''}`).join('; ')} for ${def.for}`);
    const overrides = Object.entries(def.scope.serviceThresholds ?? {}).filter(([, v]) => v !== def.threshold);
    if (overrides.length) {
      out.push(`- **Per-service thresholds:** ${overrides.map(([s, v]) => `${s}: ${v}`).join(', ')}`);
    }
    out.push('');
    out.push('**Symptoms:**');
    out.push('');
    p.symptoms.forEach((s) => out.push(`- ${s}`));
    out.push('');
    out.push('**Immediate actions:**');
    out.push('');
    out.push('```bash');
    out.push(p.actions.trim());
    out.push('```');
    out.push('');
    out.push('**Recovery:**');
    out.push('');
    p.recovery.forEach((s) => out.push(`- ${s}`));
    out.push('');
    out.push('**Escalation:**');
    out.push('');
    escalationFor(ctx, def).forEach((s) => out.push(`- ${s}`));
    out.push('');
  }
  out.push(...escalationSection(ctx));
  out.push(...blueGreenSection(ctx, k));
  out.push(...maintenanceSection(ctx, k));
  out.push(...backupSection(ctx, k));
  out.push(...troubleshootingSection(ctx, k));
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function uniqueAlerts(alerts: AlertDefinition[]): AlertDefinition[] {
  const seen = new Set<string>();
  return alerts.filter((a) => (seen.has(a.name) ? false : (seen.add(a.name), true)));
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function pick(ctx: RunbookContext, explicit: string | undefined, preferred: string): RunbookService {
  const name = explicit ?? (ctx.services.some((s) => s.name === preferred) ? preferred : ctx.services[0]?.name);
  const svc = ctx.services.find((s) => s.name === name);
  if (!svc) {
    throw new Error(`runbook: unknown service '${name}'; expected one of ${ctx.services.map((s) => s.name).join(', ') || '(no services)'}`);
  }
  return svc;
}

function active(svc: RunbookService): string {
  return svc.deployments[svc.activeColor as 'blue' | 'green'] ?? `${svc.name}-${svc.activeColor}`;
}

function idle(svc: RunbookService): string {
  return svc.deployments[svc.idleColor as 'blue' | 'green'] ?? `${svc.name}-${svc.idleColor}`;
}

function psql(ctx: RunbookContext, sql: string): string {
  const d = ctx.database;
  return `kubectl -n ${ctx.namespace} exec -it ${d.pod} -- psql -U ${d.user ?? 'postgres'} -d ${d.database} -c "${sql}"`;
}

function runJob(ctx: RunbookContext, task: string): string | undefined {
  const job = ctx.cronJobs.find((j) => j.task === task);
  return job ? `kubectl -n ${ctx.namespace} create job --from=cronjob/${job.name} ${job.name}-manual-$(date +%s)` : undefined;
}

/** `kubectl port-forward` then curl: works through the API server despite the default-deny NetworkPolicies. */
function curlVia(ctx: RunbookContext, service: string, port: number, path: string, extra = ''): string {
  return [
    `kubectl -n ${ctx.namespace} port-forward svc/${service} ${port}:${port} >/dev/null & PF=$!; sleep 2`,
    `curl -fsS ${extra}http://localhost:${port}${path}; kill $PF`,
  ].join('\n');
}

function scopeServices(ctx: RunbookContext, def: AlertDefinition): RunbookService[] {
  const names = def.scope.services.length ? def.scope.services : ctx.services.map((s) => s.name);
  return ctx.services.filter((s) => names.includes(s.name));
}

function perService(services: RunbookService[], block: (s: RunbookService) => string[]): string {
  return services.map((s) => [`# ${s.name} (active ${s.activeColor}: deployment ${active(s)})`, ...block(s)].join('\n')).join('\n\n');
}

function procedure(ctx: RunbookContext, def: AlertDefinition, all: AlertDefinition[]): Procedure {
  const k = `kubectl -n ${ctx.namespace}`;
  const gateway = pick(ctx, ctx.gatewayService, 'api-gateway');
  const orchestrator = pick(ctx, ctx.orchestratorService, 'orchestrator');
  const tools = pick(ctx, ctx.toolService, 'tool-service');
  const ws = pick(ctx, ctx.websocketService, 'realtime-service');
  const db = ctx.database;
  const services = scopeServices(ctx, def);
  const port = (s: RunbookService) => s.port ?? 8000;
  const timeoutActions = [
    '# 1. Check service status',
    `${k} get pods -o wide`,
    `${k} logs deployment/${active(gateway)} --since=15m | grep -i -E "timeout|error"`,
    '',
    '# 2. Check resource usage',
    `${k} top pods`,
    'kubectl describe nodes | grep -A 8 "Allocated resources"',
    '',
    '# 3. Check database connections',
    psql(ctx, 'SELECT count(*) FROM pg_stat_activity;'),
    '',
    '# 4. Restart affected services (active colour)',
    `${k} rollout restart deployment/${active(gateway)}`,
    `${k} rollout restart deployment/${active(orchestrator)}`,
    `${k} rollout status deployment/${active(gateway)} --timeout=5m`,
  ].join('\n');
  const timeoutRecovery = [
    'If the service does not recover within 5 minutes of the restart, page the on-call engineer (runbook rule) if not already paged.',
    `Check for database locks or deadlocks: \`${psql(ctx, "SELECT pid, wait_event_type, wait_event, state, query FROM pg_stat_activity WHERE wait_event_type = 'Lock';")}\`.`,
    'Consider scaling up: raise `replicas` or `autoscaling.maxReplicas` of the service in the platform config and synth.',
    'If a new version caused it, roll back (see [Blue-green deployment](#blue-green-deployment)).',
  ];
  const toolActions = [
    '# 1. Check tool service health',
    curlVia(ctx, tools.service, port(tools), tools.healthPath ?? '/health'),
    '',
    '# 2. Check tool logs',
    `${k} logs deployment/${active(tools)} --since=15m | grep -i -E "error|circuit"`,
    '',
    '# 3. Circuit breaker states as the edge sees them',
    curlVia(ctx, gateway.service, port(gateway), '/api/v1/health/circuit-breakers'),
    '',
    `# 4. Enable fallback mode: set toggles.fallbackMode: true in the platform config, synth, commit (GitOps).`,
    '#    Immediate change (reverted by the next sync unless the config is changed too):',
    `${k} set env deployment/${active(orchestrator)} FALLBACK_MODE=true`,
  ].join('\n');
  const toolRecovery = [
    'If the external API is down: keep fallback mode (cached responses) on until it recovers.',
    `If ${tools.name} itself is down: \`${k} rollout restart deployment/${active(tools)}\` and check its dependencies (postgres, redis).`,
    `Monitor circuit breaker recovery (the alert resolves when the breaker leaves the open state); reset if needed: port-forward svc/${gateway.service} and \`curl -X POST http://localhost:${port(gateway)}/api/v1/circuit-breakers/reset\`.`,
    'Turn fallback mode off again in the config once tools are healthy.',
  ];
  const wsActions = [
    '# 1. Check WebSocket service status',
    `${k} get pods -l app=${ws.name}`,
    `${k} get hpa`,
    '',
    '# 2. Check the connection limit (WS_MAX_CONNECTIONS)',
    `${k} get deployment ${active(ws)} -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="WS_MAX_CONNECTIONS")].value}'; echo`,
    '',
    '# 3. Check memory usage',
    `${k} top pods -l app=${ws.name} --containers`,
    '',
    '# 4. Scale the WebSocket service (the HorizontalPodAutoscaler may take over again)',
    `${k} scale deployment ${active(ws)} --replicas=3`,
  ].join('\n');
  const wsRecovery = [
    'Increase connection limits: `toggles.maxWebSocketConnections` in the platform config, then synth.',
    `Scale horizontally: raise \`autoscaling.minReplicas\`/\`maxReplicas\` of ${ws.name} in the config.`,
    `Check for connection leaks: connections that grow while traffic does not (\`${k} logs deployment/${active(ws)} --since=30m | grep -i -E "disconnect|leak|backpressure"\`).`,
  ];
  const poolActions = [
    '# Connection count and limit',
    psql(ctx, 'SELECT count(*) FROM pg_stat_activity;'),
    psql(ctx, 'SHOW max_connections;'),
    psql(ctx, 'SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;'),
  ].join('\n');
  const jobFor = (cron: string | undefined) => ctx.cronJobs.find((j) => j.name === cron);
  const jobBlocks = (lines: (cron: string) => string[]) =>
    all
      .map((a) => a.scope.cronJob)
      .filter((c): c is string => !!c)
      .map((c) => [`# CronJob ${c}${jobFor(c) ? ` (task ${jobFor(c)!.task}, schedule "${jobFor(c)!.schedule}")` : ''}`, ...lines(c)].join('\n'))
      .join('\n\n');

  switch (def.name) {
    case 'AiaasHighLatencyP95':
      return {
        symptoms: ['P95 request latency above the threshold', 'Slow responses reported by users or the ingress', 'Often precedes TIMEOUT'],
        actions: perService(services, (s) => [
          `${k} get pods -l app=${s.name} -o wide`,
          `${k} top pods -l app=${s.name} --containers`,
          `${k} logs deployment/${active(s)} --since=15m | grep -i -E "slow|timeout"`,
        ]) + `\n\n# Database connections\n${psql(ctx, 'SELECT count(*) FROM pg_stat_activity;')}`,
        recovery: timeoutRecovery.slice(1),
      };
    case 'AiaasResponseTimeCritical':
    case 'AiaasRequestTimeouts':
      return {
        symptoms: ['High response times (>5s)', 'Timeout errors in logs (408/504)', 'Circuit breakers opening'],
        actions: timeoutActions,
        recovery: timeoutRecovery,
      };
    case 'AiaasHighErrorRate':
      return {
        symptoms: ['Share of 5xx responses above the threshold', 'Errors in the service logs'],
        actions: perService(services, (s) => [
          `${k} logs deployment/${active(s)} --since=15m | grep -i error | tail -50`,
          `${k} rollout history deployment/${active(s)}`,
        ]) + `\n\n${k} get events --sort-by=.metadata.creationTimestamp | tail -30`,
        recovery: [
          'If errors started with a rollout inside a colour: `kubectl -n ' + ctx.namespace + ' rollout undo deployment/<deployment above>`.',
          'If they started with a blue-green switch: switch back (see [Blue-green deployment](#blue-green-deployment)).',
          'If a dependency fails (database, tools), follow its alert.',
        ],
      };
    case 'AiaasToolCallErrors':
    case 'AiaasCircuitBreakerOpen':
    case 'AiaasCircuitBreakerOpenTooLong':
      return {
        symptoms: ['Tool calls failing', 'Circuit breakers open for specific tools', 'High error rates in tool metrics'],
        actions: toolActions,
        recovery: toolRecovery,
      };
    case 'AiaasValidationFailuresHigh': {
      const registry = (ctx.schemaRegistry ?? 'schema-registry:8080').split(':');
      const flags = (ctx.featureFlags ?? 'feature-flags:8000').split(':');
      return {
        symptoms: ['High validation error rates', 'Malformed requests being rejected', 'Schema validation failures'],
        actions: [
          '# 1. Check validation logs',
          perService(services, (s) => [`${k} logs deployment/${active(s)} --since=15m | grep -i validation`]),
          '',
          '# 2. Check schema registry',
          curlVia(ctx, registry[0], Number(registry[1] ?? 8080), '/subjects'),
          '',
          '# 3. Validate request format',
          curlVia(ctx, gateway.service, port(gateway), '/api/v1/validate', `-X POST -H "Content-Type: application/json" -d '{"test": "data"}' `),
          '',
          '# 4. Check feature flags',
          curlVia(ctx, flags[0], Number(flags[1] ?? 8000), '/api/v1/flags'),
        ].join('\n'),
        recovery: [
          'Update schema definitions if needed.',
          `Disable strict validation temporarily: \`toggles.strictValidation: false\` in the platform config, synth, commit (${gateway.name} gets STRICT_VALIDATION=false).`,
          'Check for client version mismatches (user agents of the rejected requests in the logs).',
        ],
      };
    }
    case 'AiaasWebSocketConnectionsNearLimit':
    case 'AiaasWebSocketBackpressureDrops':
      return {
        symptoms: ['WebSocket connection failures', 'High backpressure drops', 'Memory usage spikes'],
        actions: wsActions,
        recovery: wsRecovery,
      };
    case 'AiaasDatabasePoolExhaustion':
      return {
        symptoms: ['Application DB pool almost fully in use', 'Requests waiting for a connection, rising latency'],
        actions: `${poolActions}\n\n# Restart the application pods holding connections\n${perService(services, (s) => [`${k} rollout restart deployment/${active(s)}`])}`,
        recovery: ['Look for long-running transactions holding connections (see AiaasPostgresLongRunningTransaction).', 'Raise the pool size only if PostgreSQL max_connections allows it.'],
      };
    case 'AiaasPostgresConnectionsHigh':
      return {
        symptoms: [`${db.statefulSet} close to max_connections`, 'New connections may be refused ("too many clients")'],
        actions: poolActions,
        recovery: [
          `Restart the application holding the most connections: \`${k} rollout restart deployment/<deployment>\`.`,
          'Terminate idle-in-transaction sessions older than a few minutes: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = \'idle in transaction\' AND now() - state_change > interval \'5 minutes\';`.',
          'Raise max_connections (PostgreSQL restart) or add a connection pooler.',
        ],
      };
    case 'AiaasPostgresDown':
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
          'Restore from backup only as a last resort (see [Backups and restore](#backups-and-restore)).',
        ],
      };
    case 'AiaasPostgresReplicationLag':
      return {
        symptoms: ['A standby lags behind the primary', 'Reads from the standby return stale data'],
        actions: [
          psql(ctx, 'SELECT client_addr, state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) AS lag_bytes FROM pg_stat_replication;'),
          runJob(ctx, 'replication-lag') ?? '',
        ].filter(Boolean).join('\n'),
        recovery: ['Check network and disk I/O of the standby.', 'Look for long-running transactions or heavy writes (VACUUM, bulk loads) on the primary.'],
      };
    case 'AiaasPostgresLongRunningTransaction':
      return {
        symptoms: ['A transaction open longer than the threshold', 'Locks held, vacuum blocked, bloat growing'],
        actions: [
          psql(ctx, "SELECT pid, now() - pg_stat_activity.query_start AS duration, state, query FROM pg_stat_activity WHERE (now() - pg_stat_activity.query_start) > interval '5 minutes';"),
          runJob(ctx, 'long-transactions') ?? '',
        ].filter(Boolean).join('\n'),
        recovery: [
          `Cancel the query: \`${psql(ctx, 'SELECT pg_cancel_backend(<pid>);')}\`; terminate if cancel does not work: \`pg_terminate_backend(<pid>)\`.`,
          'Find the client (application_name, client_addr) and fix the code path that leaves transactions open.',
        ],
      };
    case 'AiaasContainerMemoryHigh':
      return {
        symptoms: ['A container uses most of its memory limit', 'OOM kills and restarts may follow'],
        actions: [
          '# POD and CONTAINER: the labels of the alert',
          `${k} top pods --containers`,
          `${k} exec -it "$POD" -c "$CONTAINER" -- ps aux`,
          `${k} describe pod "$POD" | grep -A 5 -i "last state"`,
          '',
          '# Restart the high-memory pod (its Deployment recreates it)',
          `${k} delete pod "$POD"`,
        ].join('\n'),
        recovery: ['Raise `resources.memoryLimit` of the service in the platform config if the usage is legitimate.', 'Otherwise look for a leak (memory growing steadily between restarts).'],
      };
    case 'AiaasPodCrashLooping':
      return {
        symptoms: ['A container restarts repeatedly (CrashLoopBackOff)'],
        actions: [
          '# POD and CONTAINER: the labels of the alert',
          `${k} get pods`,
          `${k} describe pod "$POD" | tail -30`,
          `${k} logs "$POD" -c "$CONTAINER" --previous --tail=200`,
        ].join('\n'),
        recovery: ['If a new image crashes: roll back (see [Blue-green deployment](#blue-green-deployment)).', 'If a Secret or config is missing: check the referenced Secrets exist (names only: `kubectl get secrets`).'],
      };
    case 'AiaasDeploymentReplicasUnavailable':
      return {
        symptoms: ['A Deployment has fewer available replicas than desired'],
        actions: [`${k} get deployments`, ...ctx.services.map((s) => `${k} rollout status deployment/${active(s)} --timeout=30s`), `${k} get events --sort-by=.metadata.creationTimestamp | tail -30`].join('\n'),
        recovery: ['Pending pods: check node capacity and PodDisruptionBudgets.', `A stuck rollout: \`${k} rollout undo deployment/<deployment>\`.`],
      };
    case 'AiaasDatabaseJobFailed':
      return {
        symptoms: ['A scheduled database job ended in failure'],
        actions: jobBlocks((c) => [`${k} get jobs --sort-by=.metadata.creationTimestamp | grep ${c}`, `${k} logs job/"$JOB_NAME" --tail=200   # JOB_NAME: the job_name label of the alert`, `${k} create job --from=cronjob/${c} ${c}-manual-$(date +%s)`]),
        recovery: ['Fix the cause shown in the job log, then re-run it with the `create job` command above.', `Delete the failed Job once handled (the alert resolves): \`${k} delete job "$JOB_NAME"\`.`],
      };
    case 'AiaasDatabaseJobNotSucceeding':
      return {
        symptoms: ['A scheduled database job has not succeeded within its schedule'],
        actions: jobBlocks((c) => [`${k} get cronjob ${c}`, `${k} get jobs --sort-by=.metadata.creationTimestamp | grep ${c}`, `${k} create job --from=cronjob/${c} ${c}-manual-$(date +%s)`]),
        recovery: ['Check the CronJob is not suspended (`.spec.suspend`) and that its Jobs can be scheduled.'],
      };
    case 'AiaasBackupTooOld':
      return {
        symptoms: ['The last successful backup is older than the schedule allows, or kube-state-metrics reports no backup CronJob at all'],
        actions: jobBlocks((c) => [`${k} get cronjob ${c}`, `${k} get jobs --sort-by=.metadata.creationTimestamp | grep ${c}`, `${k} create job --from=cronjob/${c} ${c}-manual-$(date +%s)`]),
        recovery: ['Check the backup volume has space (`kubectl -n ' + ctx.namespace + ' get pvc`).', 'If the CronJob is missing, re-apply the platform manifests.'],
      };
    case ESCALATION_SENIOR_ALERT:
      return {
        symptoms: [`A ${ctx.escalation.severities.join('/')} alert (label \`escalated_alert\`) has been firing for ${ctx.escalation.senior.after}`],
        actions: [`${k} get pods`, `${k} get events --sort-by=.metadata.creationTimestamp | tail -30`, psql(ctx, 'SELECT count(*) FROM pg_stat_activity;')].join('\n'),
        recovery: ['Level 2: the senior engineer joins.', 'Check the database and external dependencies.', 'Consider scaling resources.'],
      };
    case ESCALATION_MANAGER_ALERT:
      return {
        symptoms: [`A ${ctx.escalation.severities.join('/')} alert (label \`escalated_alert\`) has been firing for ${ctx.escalation.manager.after}`],
        actions: ctx.services.map((s) => `# roll back ${s.name}: set activeColor back / rollout undo\n${k} rollout undo deployment/${active(s)}`).join('\n'),
        recovery: ['Level 3: the engineering manager joins.', 'Consider rollback to the previous version.', 'Implement emergency procedures.'],
      };
    default:
      throw new Error(`runbook: no procedure for alert ${def.name}; add one in src/runbook/render-runbook.ts`);
  }
}

function escalationFor(ctx: RunbookContext, def: AlertDefinition): string[] {
  const e = ctx.escalation;
  if (def.extraLabels.escalation) {
    return [`This alert is itself an escalation; see [Escalation](#escalation).`];
  }
  if (!e.severities.includes(def.severity)) {
    return [`Level 1: ${e.onCall.contact} (receiver \`${e.onCall.receiver}\`). ${def.severity} alerts do not escalate automatically; raise it by hand if it persists.`];
  }
  return [
    `Level 1 (0-${e.senior.after}): ${e.onCall.contact} (receiver \`${e.onCall.receiver}\`).`,
    `Level 2 (after ${e.senior.after}): [${ESCALATION_SENIOR_ALERT}](#${headingAnchor(ESCALATION_SENIOR_ALERT)}) notifies ${e.senior.contact} (receiver \`${e.senior.receiver}\`).`,
    `Level 3 (after ${e.manager.after}): [${ESCALATION_MANAGER_ALERT}](#${headingAnchor(ESCALATION_MANAGER_ALERT)}) notifies ${e.manager.contact} (receiver \`${e.manager.receiver}\`).`,
  ];
}

function escalationSection(ctx: RunbookContext): string[] {
  const e = ctx.escalation;
  return [
    '## Escalation',
    '',
    `Alerts of severity ${e.severities.join(', ')} escalate automatically: Prometheus raises \`${ESCALATION_SENIOR_ALERT}\` and \`${ESCALATION_MANAGER_ALERT}\` when the original alert has been firing for ${e.senior.after} and ${e.manager.after}, and Alertmanager routes them by their \`escalation\` label. Other alerts stay with the on-call engineer.`,
    '',
    '| Level | From | Who | Receiver | Does |',
    '| --- | --- | --- | --- | --- |',
    `| 1 | 0 | ${e.onCall.contact} | \`${e.onCall.receiver}\` | Check service status and logs; restart affected services; check resource usage |`,
    `| 2 | ${e.senior.after} | ${e.senior.contact} | \`${e.senior.receiver}\` | Check database and external dependencies; consider scaling resources |`,
    `| 3 | ${e.manager.after} | ${e.manager.contact} | \`${e.manager.receiver}\` | Consider rollback to the previous version; implement emergency procedures |`,
    '',
    'Contact details (pager schedules, phone numbers) live in the paging system behind each receiver, never in this repository.',
    '',
    '```bash',
    '# Current alerts as Prometheus and Alertmanager see them (port-forward to your monitoring stack)',
    `amtool alert query namespace=${ctx.namespace}`,
    `kubectl -n ${ctx.namespace} get events --sort-by=.metadata.creationTimestamp`,
    '```',
    '',
  ];
}

function blueGreenSection(ctx: RunbookContext, k: string): string[] {
  const out = [
    '## Blue-green deployment',
    '',
    '| Service | Active | Idle | Stable Service | Preview Service | Blue | Green |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...ctx.services.map((s) => `| ${s.name} | ${s.activeColor} | ${s.idleColor} | \`${s.service}\` | \`${s.previewService}\` | \`${s.deployments.blue}\` | \`${s.deployments.green}\` |`),
    '',
    'Every change goes through the platform config and `npm run synth`; the committed `dist/` is applied by GitOps. The `kubectl patch` commands are for emergencies only: the next sync reverts them unless the config says the same.',
    '',
  ];
  for (const s of ctx.services) {
    const port = s.port ?? 8000;
    const health = s.healthPath ?? '/health';
    out.push(`### Deploy, switch and roll back ${s.name}`);
    out.push('');
    out.push('```bash');
    out.push(`# 1. Deploy the new version to the idle colour (${s.idleColor}): set services[${s.name}].images.${s.idleColor} in the config, synth, commit`);
    out.push(`${k} rollout status deployment/${idle(s)} --timeout=10m`);
    out.push('');
    out.push('# 2. Smoke test the preview Service');
    if (s.smokeTestJob) {
      out.push(`${k} wait --for=condition=complete job/${s.smokeTestJob} --timeout=5m`);
    }
    out.push(curlVia(ctx, s.previewService, port, health));
    out.push('');
    out.push(`# 3. Switch traffic: set services[${s.name}].activeColor: ${s.idleColor}, synth, commit. Emergency:`);
    out.push(`${k} patch service ${s.service} -p '{"spec":{"selector":{"app":"${s.name}","version":"${s.idleColor}"}}}'`);
    out.push(`${k} get service ${s.service} -o jsonpath='{.spec.selector}'; echo`);
    out.push('');
    out.push('# 4. Monitor for 10 minutes');
    out.push(`${k} logs -f deployment/${idle(s)}`);
    out.push('');
    out.push(`# 5. Clean up the old colour: set services[${s.name}].idleColor: scale-to-zero (or remove), synth, commit`);
    out.push('');
    out.push(`# Roll back: set activeColor: ${s.activeColor} again, synth, commit. Emergency:`);
    out.push(`${k} patch service ${s.service} -p '{"spec":{"selector":{"app":"${s.name}","version":"${s.activeColor}"}}}'`);
    out.push('');
    out.push('# Rolling update inside the active colour');
    out.push(`${k} rollout status deployment/${active(s)}`);
    out.push(`${k} rollout undo deployment/${active(s)}`);
    out.push('```');
    out.push('');
  }
  return out;
}

function maintenanceSection(ctx: RunbookContext, k: string): string[] {
  const out = ['## Database maintenance', ''];
  if (ctx.cronJobs.length) {
    out.push('| Task | CronJob | Schedule | Run now |', '| --- | --- | --- | --- |');
    for (const j of ctx.cronJobs) {
      out.push(`| ${j.task} | \`${j.name}\` | \`${j.schedule}\` | \`${k} create job --from=cronjob/${j.name} ${j.name}-manual-$(date +%s)\` |`);
    }
    out.push('');
    out.push('```bash');
    out.push('# Follow a manual run');
    out.push(`${k} get jobs --sort-by=.metadata.creationTimestamp`);
    out.push(`${k} logs -f job/<job name printed by create job>`);
    out.push('```');
    out.push('');
  }
  out.push('### Manual checks', '');
  out.push('```bash');
  out.push('# Database health');
  out.push(psql(ctx, `SELECT datname, numbackends, xact_commit, xact_rollback, blks_read, blks_hit FROM pg_stat_database WHERE datname = '${ctx.database.database}';`));
  out.push('# Slow queries (pg_stat_statements)');
  out.push(psql(ctx, 'SELECT query, mean_exec_time, calls FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;'));
  out.push('# Table sizes');
  out.push(psql(ctx, "SELECT schemaname, tablename, pg_size_pretty(pg_total_relation_size(schemaname||'.'||tablename)) AS size FROM pg_tables WHERE schemaname = 'public' ORDER BY pg_total_relation_size(schemaname||'.'||tablename) DESC;"));
  out.push('# Vacuum analyze');
  out.push(psql(ctx, 'VACUUM ANALYZE;'));
  out.push('```');
  out.push('');
  return out;
}

function backupSection(ctx: RunbookContext, k: string): string[] {
  const d = ctx.database;
  const user = d.user ?? 'postgres';
  const out = ['## Backups and restore', ''];
  const backup = runJob(ctx, 'backup');
  const verify = runJob(ctx, 'restore-verify');
  const config = runJob(ctx, 'config-backup');
  out.push('```bash');
  if (backup) {
    out.push('# Scheduled backup, now');
    out.push(backup);
  }
  if (verify) {
    out.push('# Restore the newest backup into a scratch database and compare row counts');
    out.push(verify);
  }
  if (config) {
    out.push('# Kubernetes configuration backup (no Secrets)');
    out.push(config);
  }
  out.push('');
  out.push('# Manual backup to the workstation');
  out.push(`${k} exec ${d.pod} -- pg_dump -U ${user} ${d.database} > backup_$(date +%Y%m%d_%H%M%S).sql`);
  out.push('');
  out.push('# Restore from a backup (stop writers first: scale the services to 0 or switch to maintenance)');
  out.push(`${k} exec -i ${d.pod} -- psql -U ${user} ${d.database} < backup_YYYYMMDD_HHMMSS.sql`);
  out.push('');
  out.push('# Verify');
  out.push(psql(ctx, 'SELECT count(*) FROM users;'));
  out.push('');
  out.push('# Configuration snapshot (Secrets are listed by name only, never exported)');
  out.push(`${k} get all,configmaps,networkpolicies,roles,rolebindings,serviceaccounts -o yaml > ${ctx.namespace}_backup_$(date +%Y%m%d_%H%M%S).yaml`);
  out.push(`${k} get secrets`);
  out.push('```');
  out.push('');
  out.push(...restoreSection(ctx, k));
  return out;
}

function restoreSection(ctx: RunbookContext, k: string): string[] {
  const r = ctx.restoreJob;
  if (!r) return [];
  const db = ctx.database.database;
  const backupJob = ctx.cronJobs.find((j) => j.task === 'backup');
  const arg = (value: string): string => `{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"${value}"}`;
  return [
    '### Restore a backup in the cluster',
    '',
    `\`aiaas-job restore\` (CronJob \`${r.name}\`, suspended: it runs only when started) checks the backup's sha256 first, `
      + 'restores it with `pg_restore --jobs` into a staging database, compares the row counts with the manifest, runs ANALYZE, '
      + `and only then renames it to the target. Exit 0: restored and counts match; 1: the backup is unusable or the counts differ `
      + '(the target is untouched); 2: could not run (target has data and no `--force`, server down): nothing changed. No retry.',
    '',
    '```bash',
    ...(backupJob ? [
      '# The backups on the volume: the report of the last backup run lists the ones kept',
      `${k} logs -l app.kubernetes.io/component=backup --tail=1 | jq -r '.data.kept[]'`,
    ] : []),
    `# The newest backup that verifies, into the new database ${r.targetDatabase} (${db} is not touched)`,
    `${k} create job --from=cronjob/${r.name} ${r.name}-manual-$(date +%s)`,
    `${k} logs -f job/<job name printed by create job>   # the report: file, row counts, objects skipped and why`,
    '',
    `# A chosen backup, replacing ${db} itself: stop the writers first (scale the services to 0 or switch to maintenance).`,
    `# --force first takes a safety backup of ${db} into the backup volume (named in the report). Flags added last win.`,
    `${k} create job --from=cronjob/${r.name} ${r.name}-manual-$(date +%s) --dry-run=client -o yaml \\`,
    `  | kubectl patch --local -f - --type=json -o yaml -p '[${arg('--backup=aiaas-' + db + '-YYYYMMDDTHHMMSSmmmZ.dump')},`,
    `      ${arg(`--target-database=${db}`)},`,
    `      ${arg('--force')}]' \\`,
    `  | ${k} create -f -`,
    '```',
    '',
  ];
}

function troubleshootingSection(ctx: RunbookContext, k: string): string[] {
  const first = ctx.services[0];
  return [
    '## Troubleshooting',
    '',
    '```bash',
    '# Services and endpoints',
    `${k} get services`,
    `${k} get endpoints`,
    ...(first ? [`${k} run dns-check-$(date +%s) -it --rm --image=busybox:1.36 --restart=Never -- nslookup ${first.service}.${ctx.namespace}.svc.cluster.local`] : []),
    '',
    '# Logs',
    ...ctx.services.map((s) => `${k} logs -l app=${s.name},version=${s.activeColor} --since=15m --prefix | grep -i error`),
    '',
    '# Resources, network policies, volumes',
    `${k} top pods`,
    'kubectl top nodes',
    `${k} get networkpolicies`,
    `${k} get pvc`,
    '',
    '# Access control',
    `${k} get roles,rolebindings,serviceaccounts`,
    '```',
    '',
  ];
}
