// What the runbook names (this deployment's namespace, Services, Deployments, pod
// and CronJobs) and the command builders every procedure shares, so each alert's
// procedure can live in its record and still print real, copy-pasteable commands.
import type { EscalationConfig } from '../config/monitoring-config';
import type { AlertDefinition } from './alert-record';

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
  /**
   * The HorizontalPodAutoscaler bounds (one HPA per colour, named like its Deployment).
   * @default - not autoscaled: the runbook scales the Deployment
   */
  readonly autoscaling?: { readonly minReplicas: number; readonly maxReplicas: number };
  /** The Argo Rollout running the service (engine argo-rollouts). @default - two Deployments, `deployments` */
  readonly rollout?: string;
  /** The Rollout's AnalysisTemplates: pre-promotion, then post-promotion. @default - `<rollout>-pre-promotion`, no post-promotion */
  readonly analysisTemplates?: string[];
  /** Thresholds of the watch window (monitoring's error ratio and P95 latency for this service). @default - the watch step prints no queries */
  readonly watch?: { readonly errorRatio: number; readonly latencyP95Seconds: number };
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
  /**
   * A database outside the cluster: commands run psql/pg_isready against the host from
   * the responder's shell (role and password from PGUSER/PGPASSWORD or ~/.pgpass), never `exec` into a pod.
   * @default - the in-namespace StatefulSet (`exec` into `pod`)
   */
  readonly external?: RunbookExternalDatabase;
}

/** Where an outside database answers, and its exporter in the platform's namespace. */
export interface RunbookExternalDatabase {
  readonly host: string;
  readonly port: number;
  /** libpq sslmode the jobs use. */
  readonly sslmode: string;
  /** Labels of the postgres_exporter pods (a Deployment in the namespace). */
  readonly exporterPodLabels: Record<string, string>;
}

/** libpq connection string of an outside database (no credentials: libpq reads them from the environment). */
export function externalConninfo(d: RunbookDatabase & { external: RunbookExternalDatabase }): string {
  return `"host=${d.external.host} port=${d.external.port} dbname=${d.database} sslmode=${d.external.sslmode}"`;
}

/** `-l k=v,...` for a label selector. */
export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
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
  /** Alertmanager URL for amtool (e.g. through a port-forward). @default 'http://localhost:9093' */
  readonly alertmanagerUrl?: string;
}

/** `kubectl -n <namespace>`. */
export function kubectl(ctx: RunbookContext): string {
  return `kubectl -n ${ctx.namespace}`;
}

/** The service playing a role, by explicit name or the reference platform's name. */
export function pick(ctx: RunbookContext, explicit: string | undefined, preferred: string): RunbookService {
  const name = explicit ?? (ctx.services.some((s) => s.name === preferred) ? preferred : ctx.services[0]?.name);
  const svc = ctx.services.find((s) => s.name === name);
  if (!svc) {
    throw new Error(`runbook: unknown service '${name}'; expected one of ${ctx.services.map((s) => s.name).join(', ') || '(no services)'}`);
  }
  return svc;
}

/** The roles the runbook's procedures name. */
export function roles(ctx: RunbookContext): { gateway: RunbookService; orchestrator: RunbookService; tools: RunbookService; ws: RunbookService } {
  return {
    gateway: pick(ctx, ctx.gatewayService, 'api-gateway'),
    orchestrator: pick(ctx, ctx.orchestratorService, 'orchestrator'),
    tools: pick(ctx, ctx.toolService, 'tool-service'),
    ws: pick(ctx, ctx.websocketService, 'realtime-service'),
  };
}

/** Deployment of the active colour. */
export function active(svc: RunbookService): string {
  return svc.deployments[svc.activeColor as 'blue' | 'green'] ?? `${svc.name}-${svc.activeColor}`;
}

/** Deployment of the idle colour. */
export function idle(svc: RunbookService): string {
  return svc.deployments[svc.idleColor as 'blue' | 'green'] ?? `${svc.name}-${svc.idleColor}`;
}

/** Container port of a service. */
export function port(svc: RunbookService): number {
  return svc.port ?? 8000;
}

/** psql inside the database pod. */
export function psql(ctx: RunbookContext, sql: string): string {
  const d = ctx.database;
  if (d.external) {
    return `psql ${externalConninfo({ ...d, external: d.external })} -c "${sql}"`;
  }
  return `kubectl -n ${ctx.namespace} exec -it ${d.pod} -- psql -U ${d.user ?? 'postgres'} -d ${d.database} -c "${sql}"`;
}

/** Runs the CronJob of a task now, if the deployment has one. */
export function runJob(ctx: RunbookContext, task: string): string | undefined {
  const job = ctx.cronJobs.find((j) => j.task === task);
  return job ? `kubectl -n ${ctx.namespace} create job --from=cronjob/${job.name} ${job.name}-manual-$(date +%s)` : undefined;
}

/** `kubectl port-forward` then curl: works through the API server despite the default-deny NetworkPolicies. */
export function curlVia(ctx: RunbookContext, service: string, servicePort: number, path: string, extra = ''): string {
  return [
    `kubectl -n ${ctx.namespace} port-forward svc/${service} ${servicePort}:${servicePort} >/dev/null & PF=$!; sleep 2`,
    `curl -fsS ${extra}http://localhost:${servicePort}${path}; kill $PF`,
  ].join('\n');
}

/** The services a rule covers (every service for namespace-wide rules). */
export function scopeServices(ctx: RunbookContext, def: AlertDefinition): RunbookService[] {
  const names = def.scope.services.length ? def.scope.services : ctx.services.map((s) => s.name);
  return ctx.services.filter((s) => names.includes(s.name));
}

/** One block of commands per service, headed by its active Deployment. */
export function perServiceBlock(services: RunbookService[], block: (s: RunbookService) => string[]): string {
  return services.map((s) => [`# ${s.name} (active ${s.activeColor}: deployment ${active(s)})`, ...block(s)].join('\n')).join('\n\n');
}

/** One block of commands per CronJob the rules of an alert watch. */
export function cronJobBlocks(ctx: RunbookContext, rules: AlertDefinition[], lines: (cronJob: string) => string[]): string {
  return rules
    .map((a) => a.scope.cronJob)
    .filter((c): c is string => !!c)
    .map((c) => {
      const job = ctx.cronJobs.find((j) => j.name === c);
      return [`# CronJob ${c}${job ? ` (task ${job.task}, schedule "${job.schedule}")` : ''}`, ...lines(c)].join('\n');
    })
    .join('\n\n');
}

/** Logs of every pod of the active colour (`kubectl logs deployment/...` would read one pod only). */
export function logs(ctx: RunbookContext, svc: RunbookService, since = '15m'): string {
  return `kubectl -n ${ctx.namespace} logs -l app=${svc.name},version=${svc.activeColor} --prefix --since=${since}`;
}

/**
 * A throw-away pod that resolves `host`, with the securityContext the namespace's Pod
 * Security "restricted" enforcement demands (a plain `kubectl run` is refused).
 */
export function dnsCheck(ctx: RunbookContext, host: string): string {
  const overrides = {
    apiVersion: 'v1',
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'dns-check',
          image: 'busybox:1.36',
          args: ['nslookup', host],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          resources: { limits: { cpu: '100m', memory: '32Mi' } },
        },
      ],
    },
  };
  return `kubectl -n ${ctx.namespace} run dns-check --rm -i --restart=Never --image=busybox:1.36 --overrides='${JSON.stringify(overrides)}'`;
}
