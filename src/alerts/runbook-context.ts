// What the runbook names (this deployment's namespace, Services, Deployments, pod
// and CronJobs) and the command builders every procedure shares, so each alert's
// procedure can live in its record and still print real, copy-pasteable commands.
import { inClusterService, type EscalationConfig } from '../config/monitoring-config';
import type { SecretCredentials } from '../config/secret-ref';
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
  /**
   * Names of the container's env variables in the Rollout's pod template, in order: a JSON patch
   * of one variable needs its index (engine argo-rollouts).
   * @default - none known: a variable is appended
   */
  readonly containerEnv?: string[];
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
  /** It restores from the bucket unless told otherwise (`tasks.restore.fromBucket`). @default false */
  readonly fromBucket?: boolean;
}

/** Where a procedure sends a responder who needs a backup restored. */
export function restoreLink(ctx: RunbookContext): string {
  return ctx.restoreJob ? '[Restore a backup in the cluster](#restore-a-backup-in-the-cluster)' : '[Backups and restore](#backups-and-restore)';
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
  /** Prometheus the runbook queries (in-cluster URLs are reached through a port-forward). @default - no Prometheus checks */
  readonly prometheusUrl?: string;
  /** Grafana the runbook checks. @default - no Grafana check */
  readonly grafanaUrl?: string;
  /** Health URLs of the external APIs the tool service calls (TOOL_DOWN). @default - none: the step says where to set them */
  readonly externalApiHealthUrls?: string[];
  /** Image with curl as entrypoint, for throw-away check pods. @default DEFAULT_CHECK_IMAGE */
  readonly curlImage?: string;
  /** The Secrets the platform's workloads read, for the rotation procedure. @default - no rotation section */
  readonly secrets?: RunbookSecret[];
  /** Where the off-cluster copies are (`s3://bucket/prefix`), when `dbMaintenance.backupBucket` is set. @default - backups on the volume only */
  readonly backupBucket?: string;
}

/** A Secret the platform reads by name (never its value). */
export interface RunbookSecret {
  /** Secret name (`secret`, as in every Secret reference: src/config/secret-ref.ts). */
  readonly secret: string;
  /** The config field naming it (a rotation points this field at a new Secret). */
  readonly field: string;
  /** Keys the readers use. */
  readonly keys: string[];
  /** Deployments that read it as env vars (both colours). */
  readonly deployments: string[];
  /** CronJobs that read it (from their next run). */
  readonly cronJobs: string[];
  /** Database credentials (the password changes in PostgreSQL too): the keys of the role and its password. @default - not database credentials */
  readonly database?: Omit<SecretCredentials, 'secret'>;
}

/** Image of the throw-away check pods when the context names none (the smoke tests' default). */
export const DEFAULT_CHECK_IMAGE = 'curlimages/curl:8.10.1';

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

/** Deployment of the active colour at synth time (an emergency switch may have changed it since: see `workload`). */
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

/** One block of commands per service, headed by the workload that serves its traffic. */
export function perServiceBlock(services: RunbookService[], block: (s: RunbookService) => string[]): string {
  const head = (s: RunbookService) =>
    s.rollout
      ? `# ${s.name} (Rollout ${s.rollout})`
      : `# ${s.name} (deployment ${s.name}-$${liveVar(s)}: the colour its Service selects now; ${s.activeColor} at synth time)`;
  return services.map((s) => [head(s), ...block(s)].join('\n')).join('\n\n');
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

/** Logs of every pod serving traffic (`kubectl logs deployment/...` would read one pod only). */
export function logs(ctx: RunbookContext, svc: RunbookService, since = '15m'): string {
  return servingLogs(ctx, svc, since);
}

// ---------------------------------------------------------------------------------------------
// The live workload of a service. The RUNBOOK is static, but traffic can move without a synth
// (an emergency `kubectl patch service`, `kubectl argo rollouts abort|undo`): commands acting on
// the serving pods read the stable Service's selector when they run, never the colour at synth time.

/**
 * Pod label of the stable Service's selector that tells the serving pods apart: the colour
 * (`version`, BlueGreenService.selectorOf) with two Deployments; the pod template hash Argo
 * Rollouts injects into its activeService's selector.
 */
function liveLabel(svc: RunbookService): string {
  return svc.rollout ? 'rollouts-pod-template-hash' : 'version';
}

/** Shell variable holding that label's live value: `API_GATEWAY_COLOR`, `API_GATEWAY_STABLE_HASH`. */
export function liveVar(svc: RunbookService): string {
  return `${svc.name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_${svc.rollout ? 'STABLE_HASH' : 'COLOR'}`;
}

/** The kubectl command printing the live value of `liveVar(svc)` (a read of the Service). */
function liveLookup(ctx: RunbookContext, svc: RunbookService): string {
  return `kubectl -n ${ctx.namespace} get service ${svc.service} -o jsonpath='{.spec.selector.${liveLabel(svc).replace(/\./g, '\\.')}}'`;
}

/**
 * A bash block with the shell lines that set every live variable it uses, first: copy-paste
 * the block whole. Blocks using none are returned unchanged.
 */
export function withLiveLookups(ctx: RunbookContext, block: string): string {
  const used = ctx.services.filter((s) => new RegExp(`\\$\\{?${liveVar(s)}\\b`).test(block));
  if (used.length === 0) {
    return block;
  }
  return [
    '# What each Service selects now (traffic may have moved since this file was generated)',
    ...used.map((s) => `${liveVar(s)}=$(${liveLookup(ctx, s)}); echo "${s.service} selects ${liveLabel(s)}=$${liveVar(s)}"`),
    '',
    block,
  ].join('\n');
}

/** Inline text (outside a bash block) with each live variable replaced by its lookup: `$(kubectl ... get service ...)`. */
export function inlineLive(ctx: RunbookContext, text: string): string {
  return ctx.services.reduce((t, s) => t.replace(new RegExp(`\\$${liveVar(s)}\\b`, 'g'), () => `$(${liveLookup(ctx, s)})`), text);
}

/**
 * The commands of the runbook on a service's serving workload, for its engine: two Deployments
 * (the one of the colour the Service selects now) or one Argo Rollout. Procedures use these and
 * never name `deployment/<svc>-<colour>` themselves. Each returns whole lines.
 */
export interface WorkloadCommands {
  /** `get deployments` / `get rollouts`. */
  readonly list: string;
  /** Name of the serving workload's HorizontalPodAutoscaler. */
  readonly hpa: string;
  /** Restart every serving pod. */
  restart(): string[];
  /** Wait for the workload to be available. */
  status(timeout: string): string;
  /** Revisions of the workload. */
  history(): string;
  /** Back to the previous revision. */
  undo(): string[];
  /** Set one env variable of the serving pods (an emergency change: the next sync reverts it). */
  setEnv(name: string, value: string): string[];
  /** Print one env variable of the pod template. */
  getEnv(name: string): string;
  /** Set the replica count (not autoscaled). */
  scale(replicas: number): string;
}

/** The engine-dependent commands of one service (see WorkloadCommands). */
export function workload(ctx: RunbookContext, svc: RunbookService): WorkloadCommands {
  return svc.rollout ? rolloutCommands(ctx, svc, svc.rollout) : deploymentCommands(ctx, svc);
}

function deploymentCommands(ctx: RunbookContext, svc: RunbookService): WorkloadCommands {
  const k = kubectl(ctx);
  const prefix = deploymentPrefix(svc);
  const d = `${prefix}$${liveVar(svc)}`;
  return {
    list: `${k} get deployments`,
    // One HPA per colour, named like its Deployment.
    hpa: d,
    restart: () => [`${k} rollout restart deployment/${d}`],
    status: (timeout) => `${k} rollout status deployment/${d} --timeout=${timeout}`,
    history: () => `${k} rollout history deployment/${d}`,
    undo: () => [`${k} rollout undo deployment/${d}`],
    setEnv: (name, value) => [`${k} set env deployment/${d} ${name}=${value}`],
    getEnv: (name) => `${k} get deployment ${d} -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="${name}")].value}'; echo`,
    scale: (replicas) => `${k} scale deployment ${d} --replicas=${replicas}`,
  };
}

/** Logs of the pods the stable Service selects now, by its live selector label. */
function servingLogs(ctx: RunbookContext, svc: RunbookService, since: string): string {
  return `${kubectl(ctx)} logs -l app=${svc.name},${liveLabel(svc)}=$${liveVar(svc)} --prefix --since=${since}`;
}

/** `<name>-` of the colours' Deployments `<name>-blue` and `<name>-green`. */
function deploymentPrefix(svc: RunbookService): string {
  const prefix = svc.deployments.blue.slice(0, -'blue'.length);
  if (svc.deployments.blue !== `${prefix}blue` || svc.deployments.green !== `${prefix}green`) {
    throw new Error(
      `runbook: deployments of '${svc.name}' (${svc.deployments.blue}, ${svc.deployments.green}) must be named <prefix>blue and <prefix>green, so commands can follow the live colour`,
    );
  }
  return prefix;
}

function rolloutCommands(ctx: RunbookContext, svc: RunbookService, rollout: string): WorkloadCommands {
  const k = kubectl(ctx);
  const argo = `kubectl argo rollouts -n ${ctx.namespace}`;
  // A changed pod template is a new revision: Argo runs it behind the preview Service through the
  // pre-promotion analysis, then waits for a promotion (autoPromotionEnabled is false by default).
  const promoteNewRevision = [
    `# A new revision: Argo brings it up behind ${svc.previewService} and runs the pre-promotion analysis; watch until it pauses (or is promoted), Ctrl-C`,
    `${argo} get rollout ${rollout} --watch`,
    '# Switch traffic to it once the analysis passed',
    `${argo} promote ${rollout}`,
  ];
  return {
    list: `${k} get rollouts`,
    // The HPA targets the Rollout and carries its name.
    hpa: rollout,
    // Sets spec.restartAt: the controller evicts the pods one at a time (PDBs hold), no new revision.
    restart: () => [`${argo} restart ${rollout}`],
    status: (timeout) => `${argo} status ${rollout} --timeout ${timeout}`,
    history: () => `${argo} get rollout ${rollout}`,
    undo: () => [
      '# Before the old ReplicaSet is scaled down (scaleDownDelaySeconds after a promotion) traffic switches back at once;',
      '# later it is a new revision that needs the analysis and a promotion. Then revert the config to match.',
      `${argo} undo ${rollout}`,
      `${argo} get rollout ${rollout}`,
    ],
    setEnv: (name, value) => [
      // kubectl set env does not know Rollouts; a JSON patch whose `test` refuses if the variable moved.
      rolloutEnvPatch(ctx, svc, rollout, name, value),
      ...promoteNewRevision,
    ],
    getEnv: (name) => `${k} get rollout ${rollout} -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="${name}")].value}'; echo`,
    scale: (replicas) => `${k} scale rollout ${rollout} --replicas=${replicas}`,
  };
}

/** `kubectl patch rollout` of one env variable of the first container: replace it in place, or append it. */
function rolloutEnvPatch(ctx: RunbookContext, svc: RunbookService, rollout: string, name: string, value: string): string {
  const env = '/spec/template/spec/containers/0/env';
  const index = svc.containerEnv?.indexOf(name) ?? -1;
  const ops =
    index >= 0
      ? [
          { op: 'test', path: `${env}/${index}/name`, value: name },
          { op: 'replace', path: `${env}/${index}/value`, value },
        ]
      : [{ op: 'add', path: `${env}/-`, value: { name, value } }];
  return `${kubectl(ctx)} patch rollout ${rollout} --type=json -p '${JSON.stringify(ops)}'`;
}

/** A throw-away pod run by `kubectl run`: its image, arguments and labels. */
export interface CheckPod {
  readonly name: string;
  readonly image: string;
  readonly args: string[];
  /** Pod labels (the NetworkPolicies that select them give the pod its egress). @default - none */
  readonly labels?: Record<string, string>;
}

/**
 * `kubectl run` of a throw-away pod with the securityContext the namespace's Pod Security
 * "restricted" enforcement demands (a plain `kubectl run` is refused), removed when it ends.
 */
export function restrictedRun(ctx: RunbookContext, pod: CheckPod): string {
  const overrides = {
    apiVersion: 'v1',
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: pod.name,
          image: pod.image,
          args: pod.args,
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          resources: { limits: { cpu: '100m', memory: '32Mi' } },
        },
      ],
    },
  };
  const labels = pod.labels ? ` --labels=${labelSelector(pod.labels)}` : '';
  return `kubectl -n ${ctx.namespace} run ${pod.name} --rm -i --restart=Never --image=${pod.image}${labels} --overrides='${JSON.stringify(overrides)}'`;
}

/** A throw-away pod that resolves `host`. */
export function dnsCheck(ctx: RunbookContext, host: string): string {
  return restrictedRun(ctx, { name: 'dns-check', image: 'busybox:1.36', args: ['nslookup', host] });
}

/**
 * The external APIs' health, from a throw-away pod carrying the tool service's `app` label, so
 * the tool service's NetworkPolicy gives it the same egress (https on 443) and nothing more; it
 * lacks the `version` label, so no Service, PDB or HPA counts it.
 */
export function externalApiChecks(ctx: RunbookContext, tools: RunbookService): string[] {
  return (ctx.externalApiHealthUrls ?? []).map((url) => restrictedRun(ctx, {
    name: 'external-api-check',
    image: ctx.curlImage ?? DEFAULT_CHECK_IMAGE,
    args: ['--fail', '--silent', '--show-error', '--max-time', '10', '--output', '/dev/null', '--write-out', '%{http_code} %{url_effective}\\n', url],
    labels: { app: tools.name },
  }));
}

/** One HTTP request of a monitoring check: path under the URL, curl arguments, what the output goes through. */
export interface MonitoringRequest {
  /** API path (`/api/v1/alerts`). */
  readonly path: string;
  /** curl arguments before the URL (`-G --data-urlencode ...`). @default - none */
  readonly args?: string;
  /** Appended to the curl command (`| jq ...`). @default - none */
  readonly then?: string;
}

/**
 * curls of a monitoring URL: an in-cluster Service through one `kubectl port-forward` in its own
 * namespace (the responder's access there, not a platform Role), any other URL directly.
 */
export function monitoringCurl(url: string, requests: MonitoringRequest[]): string {
  const svc = inClusterService(url);
  // A port below 1024 would need root on the workstation.
  const local = svc && (svc.port < 1024 ? svc.port + 8000 : svc.port);
  const base = svc ? `http://localhost:${local}${svc.path}` : url.replace(/\/+$/, '');
  const curls = requests.map((r) => `curl -fsS ${r.args ? `${r.args} ` : ''}'${base}${r.path}'${r.then ?? ''}`);
  if (!svc) return curls.join('\n');
  return [`kubectl -n ${svc.namespace} port-forward svc/${svc.service} ${local}:${svc.port} >/dev/null & PF=$!; sleep 2`, ...curls, 'kill $PF'].join('\n');
}

/** The alerts of the namespace as Prometheus sees them (name, state, since), or nothing without a Prometheus URL. */
export function prometheusAlertsRequest(ctx: RunbookContext): MonitoringRequest {
  return { path: '/api/v1/alerts', then: ` | jq -r '.data.alerts[] | select(.labels.namespace == "${ctx.namespace}") | [.labels.alertname, .state, .activeAt, .labels.service // ""] | @tsv'` };
}

/** An instant PromQL query printing each series' labels and value. */
export function promQuery(query: string, labels: string[]): MonitoringRequest {
  const fields = labels.map((l) => `\\(.metric.${l})`).join(' ');
  return { path: '/api/v1/query', args: `-G --data-urlencode 'query=${query}'`, then: ` | jq -r '.data.result[] | "${fields} \\(.value[1])"'` };
}
