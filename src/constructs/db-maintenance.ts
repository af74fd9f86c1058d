import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { maxIntervalSeconds } from '../config/cron';
import { bucketPorts, DbMaintenanceConfig } from '../config/db-maintenance-config';
import { DEFAULT_DNS_NAMESPACE, DEFAULT_DNS_POD_LABELS } from '../config/defaults';
import { argsOf, BUCKET_OPTIONS, EXIT_CODES, GLOBAL_OPTIONS, OptionValues, pickOptions, TaskName, TaskOptions } from '../jobs/contract';
import { NAMESPACE_ENV } from '../jobs/metrics';
import { toCdk8sCron } from './_cron';
import { cpu, memory } from './_quantity';
import { dnsEgressRule } from './_network-rules';
import { DEFAULT_IDENTITY, RestrictedIdentity, mountScratchTmp, restrictedContainerSecurityContext, restrictedPodSecurityContext } from './_restricted-pod';
import { retain } from './retained';
import { EPHEMERAL_STORAGE, imagePullPolicyOf } from './_workload-policy';
import { storageSize } from './_storage';

/** An `aiaas-job` task run on a schedule (`'db-health'`, `'backup'`...; see src/jobs/contract.ts). */
export type DbTask = TaskName;

/** Labels of every `aiaas-job` pod (NetworkPolicies select them). */
export const AIAAS_JOB_POD_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'aiaas-job' };

/** Where the database CA certificate is mounted (PGSSLROOTCERT is `<path>/ca.crt`). */
export const CA_MOUNT_PATH = '/etc/aiaas-job/postgres-ca';
const CA_FILE = 'ca.crt';

/** Where the backup volume is mounted. */
export const BACKUP_MOUNT_PATH = '/backups';

/**
 * Slack added to the longest interval between two runs before a missing success
 * alerts: one hour for daylight-saving shifts (the job's start and active deadlines
 * are added too).
 */
export const MAX_AGE_SLACK_SECONDS = 3600;

/** A CronJob and how fresh its last success must be, for alerting. */
export interface ScheduledJob {
  /** Task name (`db-health`, `backup`, `config-backup`…). */
  readonly task: string;
  /** CronJob name. */
  readonly name: string;
  /** Five-field cron expression. */
  readonly schedule: string;
  /** IANA time zone of the schedule. */
  readonly timeZone: string;
  /**
   * How old the last success may be before it is an alert: longest interval
   * between two runs + starting deadline + active deadline + MAX_AGE_SLACK_SECONDS.
   */
  readonly maxAgeSeconds: number;
}

export interface DbMaintenanceProps {
  /** The `dbMaintenance` config section, parsed by `dbMaintenanceConfigSchema`. */
  readonly config: DbMaintenanceConfig;
  /**
   * Namespace of every object (the database's namespace).
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Labels of the postgres pods, in the same namespace (NetworkPolicy peer).
   * @default { app: 'postgres' }
   */
  readonly postgresPodLabels?: Record<string, string>;
  /**
   * Addresses of a database outside the cluster: the jobs' egress goes to these
   * blocks on the database port instead of to `postgresPodLabels`, and no policy
   * is written on postgres pods.
   * @default - the in-namespace postgres pods
   */
  readonly postgresCidrs?: string[];
  /**
   * Also create a NetworkPolicy on the postgres pods admitting the jobs on the
   * database port, needed when the namespace denies ingress by default.
   * @default true
   */
  readonly allowPostgresIngress?: boolean;
  /**
   * Namespace of cluster DNS.
   * @default 'kube-system'
   */
  readonly dnsNamespace?: string;
  /**
   * Labels of the cluster DNS pods.
   * @default { 'k8s-app': 'kube-dns' }
   */
  readonly dnsPodLabels?: Record<string, string>;
  /**
   * Number of postgres pods (primary and streaming standbys): replication-lag expects
   * this − 1 standbys unless `tasks.replicationLag.expectedStandbys` is set.
   * @default 1
   */
  readonly postgresReplicas?: number;
  /**
   * UID/GID the job pods run as.
   * @default - uid and gid 10001
   */
  readonly identity?: RestrictedIdentity;
}

type TaskKey = keyof DbMaintenanceConfig['tasks'];

/** Task settings that come from the rest of the platform, not from `dbMaintenance`. */
interface DerivedSettings {
  readonly expectedStandbys: number;
}

interface TaskDefinition {
  /** Key under `config.tasks`. */
  readonly key: TaskKey;
  /** Construct id under the 'CronJobs' group. */
  readonly id: string;
  readonly cronJobName: string;
  readonly usesBackupVolume: boolean;
  /** `aiaas-job` arguments: the task and its flags, built from the contract. */
  readonly args: (config: DbMaintenanceConfig, derived: DerivedSettings) => string[];
  /** Run by a person only: suspended for good, no retry, no freshness alert. @default false */
  readonly manual?: boolean;
}

/** A task whose flags are the config fields of the same name (`tasks.<key>.<option>`). */
function fromConfig<T extends TaskName>(task: T, key: TaskKey, id: string, cronJobName: string,
  options: (config: DbMaintenanceConfig, derived: DerivedSettings) => Partial<TaskOptions<T>>, usesBackupVolume = false): TaskDefinition {
  return { key, id, cronJobName, usesBackupVolume, args: (config, derived) => argsOf(task, options(config, derived)) };
}

const TASKS: { readonly [T in TaskName]: TaskDefinition } = {
  'db-health': fromConfig('db-health', 'dbHealth', 'DbHealth', 'db-health', (c) => pickOptions('db-health', c.tasks.dbHealth)),
  'slow-queries': fromConfig('slow-queries', 'slowQueries', 'SlowQueries', 'db-slow-queries',
    (c) => pickOptions('slow-queries', c.tasks.slowQueries)),
  'table-sizes': fromConfig('table-sizes', 'tableSizes', 'TableSizes', 'db-table-sizes', (c) => pickOptions('table-sizes', c.tasks.tableSizes)),
  // The row counts restore-verify compares are taken in the dump's own snapshot.
  'backup': fromConfig('backup', 'backup', 'Backup', 'db-backup',
    (c) => ({ ...pickOptions('backup', c.tasks.backup), dir: BACKUP_MOUNT_PATH, countTables: c.tasks.restoreVerify.tables, ...bucketOptions(c) }), true),
  'vacuum-analyze': fromConfig('vacuum-analyze', 'vacuumAnalyze', 'VacuumAnalyze', 'db-vacuum-analyze',
    (c) => pickOptions('vacuum-analyze', c.tasks.vacuumAnalyze)),
  'long-transactions': fromConfig('long-transactions', 'longTransactions', 'LongTransactions', 'db-long-transactions',
    (c) => pickOptions('long-transactions', c.tasks.longTransactions)),
  'replication-lag': fromConfig('replication-lag', 'replicationLag', 'ReplicationLag', 'db-replication-lag',
    (c, d) => ({ ...pickOptions('replication-lag', c.tasks.replicationLag), expectedStandbys: d.expectedStandbys })),
  // A backup older than the backup CronJob's own alert threshold is a finding too.
  'restore-verify': fromConfig('restore-verify', 'restoreVerify', 'RestoreVerify', 'db-restore-verify',
    (c) => ({
      ...pickOptions('restore-verify', c.tasks.restoreVerify),
      dir: BACKUP_MOUNT_PATH,
      maxBackupAgeSeconds: c.tasks.restoreVerify.maxBackupAgeSeconds ?? maxAgeSeconds(c, 'backup'),
      ...bucketOptions(c),
    }), true),
  // A person starts it (`kubectl create job --from=cronjob/db-restore`); it never names a backup or
  // forces on its own: the RUNBOOK shows how to add --backup and --force to one run.
  'restore': {
    ...fromConfig('restore', 'restore', 'Restore', 'db-restore',
      (c) => ({
        dir: BACKUP_MOUNT_PATH, targetDatabase: c.tasks.restore.targetDatabase, jobs: c.tasks.restore.jobs,
        fromBucket: c.tasks.restore.fromBucket, ...bucketOptions(c),
      }), true),
    manual: true,
  },
};

/** The tasks that write or read the off-cluster copy: the only ones given its credentials and its egress. */
const BUCKET_TASKS: readonly TaskName[] = ['backup', 'restore-verify', 'restore'];

/** Flags of the off-cluster copy from `dbMaintenance.backupBucket` (none without one). */
function bucketOptions(c: DbMaintenanceConfig): Partial<OptionValues<typeof BUCKET_OPTIONS>> {
  const b = c.backupBucket;
  if (!b) return {};
  return { bucket: b.bucket, bucketEndpoint: b.endpoint, bucketRegion: b.region, bucketPrefix: b.prefix, bucketPathStyle: b.pathStyle };
}

/** Schedule of a manual-only CronJob: it is suspended, so it never fires; Kubernetes still wants one. */
const MANUAL_SCHEDULE = '0 0 1 1 *';

/**
 * How old a task's last success may be: longest interval between two runs +
 * starting deadline + active deadline + MAX_AGE_SLACK_SECONDS.
 */
export function maxAgeSeconds(config: DbMaintenanceConfig, key: Exclude<TaskKey, 'restore'>): number {
  const task = config.tasks[key];
  return maxIntervalSeconds(task.schedule) + config.job.startingDeadlineSeconds
    + (task.activeDeadlineSeconds ?? config.job.activeDeadlineSeconds) + MAX_AGE_SLACK_SECONDS;
}

const CONTAINER_NAME = 'aiaas-job';

/**
 * The runbook's daily and weekly PostgreSQL work and the database backup as one
 * CronJob per task (`aiaas-job <task> <flags>`), with a ServiceAccount without
 * token, a backup PersistentVolumeClaim and a NetworkPolicy letting the job pods
 * reach only postgres, DNS and the pushgateway.
 */
export class DbMaintenance extends Construct {
  /** What was scheduled, for alerts on a missing success. */
  public readonly cronJobs: ScheduledJob[] = [];
  /** The suspended CronJob `restore` runs from, and the database it restores into by default. */
  public readonly restoreJob: { readonly name: string; readonly targetDatabase: string; readonly fromBucket: boolean };
  public readonly serviceAccount: kplus.ServiceAccount;
  public readonly backupVolume: kplus.PersistentVolumeClaim;
  public readonly namespace?: string;
  public readonly postgresPodLabels: Record<string, string>;
  /** Addresses of an outside database, when the jobs reach it by CIDR. */
  public readonly postgresCidrs?: string[];
  public readonly allowPostgresIngress: boolean;
  public readonly dnsNamespace: string;
  public readonly dnsPodLabels: Record<string, string>;
  public readonly identity: RestrictedIdentity;
  public readonly postgresReplicas: number;
  /** Standbys replication-lag expects: the config's value, else postgresReplicas − 1. */
  public readonly expectedStandbys: number;

  constructor(scope: Construct, id: string, props: DbMaintenanceProps) {
    super(scope, id);
    const config = props.config;
    this.namespace = props.namespace;
    this.postgresPodLabels = props.postgresPodLabels ?? { app: 'postgres' };
    this.postgresCidrs = props.postgresCidrs;
    if (this.postgresCidrs !== undefined && this.postgresCidrs.length === 0) {
      throw new Error("'postgresCidrs' ([]) must name at least one CIDR of the database, or be left out for the in-namespace postgres pods");
    }
    this.allowPostgresIngress = props.allowPostgresIngress ?? true;
    this.dnsNamespace = props.dnsNamespace ?? DEFAULT_DNS_NAMESPACE;
    this.dnsPodLabels = props.dnsPodLabels ?? { ...DEFAULT_DNS_POD_LABELS };
    this.identity = props.identity ?? DEFAULT_IDENTITY;
    this.postgresReplicas = props.postgresReplicas ?? 1;
    if (!Number.isInteger(this.postgresReplicas) || this.postgresReplicas < 1) {
      throw new Error(`'postgresReplicas' (${this.postgresReplicas}) must be an integer of at least 1 (the primary)`);
    }
    this.expectedStandbys = config.tasks.replicationLag.expectedStandbys ?? this.postgresReplicas - 1;
    if (Object.keys(this.postgresPodLabels).length === 0) {
      throw new Error("'postgresPodLabels' ({}) must not be empty: an empty selector would let the jobs reach every pod in the namespace");
    }

    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: 'aiaas-job', namespace: this.namespace, labels: { ...AIAAS_JOB_POD_LABELS } },
      automountToken: false,
    });

    this.backupVolume = new kplus.PersistentVolumeClaim(this, 'BackupVolume', {
      metadata: { name: 'aiaas-db-backups', namespace: this.namespace, labels: { ...AIAAS_JOB_POD_LABELS } },
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
      storage: storageSize(config.backupVolume.size),
      storageClassName: config.backupVolume.storageClassName,
    });
    retain(ApiObject.of(this.backupVolume));

    const credentials = kplus.Secret.fromSecretName(this, 'CredentialsSecret', config.credentialsSecret.secret);
    const cronJobs = new Construct(this, 'CronJobs');
    for (const [task, definition] of Object.entries(TASKS) as [TaskName, TaskDefinition][]) {
      this.addTask(cronJobs, task, definition, config, credentials);
    }

    this.restoreJob = { name: TASKS.restore.cronJobName, targetDatabase: config.tasks.restore.targetDatabase, fromBucket: config.tasks.restore.fromBucket };
    this.addNetworkPolicies(config);
  }

  private addTask(group: Construct, taskName: TaskName, definition: TaskDefinition, config: DbMaintenanceConfig, credentials: kplus.ISecret): void {
    const task = config.tasks[definition.key];
    const schedule = 'schedule' in task ? task.schedule : MANUAL_SCHEDULE;
    const schedulePath = `dbMaintenance.tasks.${definition.key}.schedule`;
    const activeDeadlineSeconds = task.activeDeadlineSeconds ?? config.job.activeDeadlineSeconds;
    const labels = { ...AIAAS_JOB_POD_LABELS, 'app.kubernetes.io/component': taskName };

    const cronJob = new kplus.CronJob(group, definition.id, {
      metadata: { name: definition.cronJobName, namespace: this.namespace, labels },
      podMetadata: { labels },
      schedule: toCdk8sCron(schedule, schedulePath),
      timeZone: config.timeZone,
      concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
      startingDeadline: Duration.seconds(config.job.startingDeadlineSeconds),
      suspend: definition.manual || ('suspend' in task && task.suspend),
      successfulJobsRetained: config.job.successfulJobsHistoryLimit,
      failedJobsRetained: config.job.failedJobsHistoryLimit,
      activeDeadline: Duration.seconds(activeDeadlineSeconds),
      // a restore is watched by the person who started it: no second attempt behind their back
      backoffLimit: definition.manual ? 0 : config.job.backoffLimit,
      restartPolicy: kplus.RestartPolicy.NEVER,
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: false,
      // Only the volume root is checked: a full chown of the backups at every run would be slow.
      securityContext: { ...restrictedPodSecurityContext(this.identity), fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH },
      containers: [
        {
          name: CONTAINER_NAME,
          image: config.image,
          command: ['aiaas-job'],
          args: definition.args(config, { expectedStandbys: this.expectedStandbys }),
          envVariables: {
            [GLOBAL_OPTIONS.host.env]: kplus.EnvValue.fromValue(config.database.host),
            [GLOBAL_OPTIONS.port.env]: kplus.EnvValue.fromValue(String(config.database.port)),
            [GLOBAL_OPTIONS.dbname.env]: kplus.EnvValue.fromValue(config.database.database),
            [GLOBAL_OPTIONS.sslmode.env]: kplus.EnvValue.fromValue(config.database.sslmode),
            [GLOBAL_OPTIONS.username.env]: kplus.EnvValue.fromSecretValue({ secret: credentials, key: config.credentialsSecret.usernameKey }),
            // The CLI reads the password from this variable only (never a flag).
            PGPASSWORD: kplus.EnvValue.fromSecretValue({ secret: credentials, key: config.credentialsSecret.passwordKey }),
            [GLOBAL_OPTIONS.pushgatewayUrl.env]: kplus.EnvValue.fromValue(config.pushgateway.url),
            // the `namespace` grouping label of the pushed metrics, which the alerts match on
            [NAMESPACE_ENV]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
            // the report stays JSON for log collectors even if someone gives the pod a TTY
            [GLOBAL_OPTIONS.output.env]: kplus.EnvValue.fromValue('json'),
            ...(config.database.caSecret
              ? { [GLOBAL_OPTIONS.sslrootcert.env]: kplus.EnvValue.fromValue(`${CA_MOUNT_PATH}/${CA_FILE}`) } : {}),
          },
          securityContext: restrictedContainerSecurityContext(this.identity),
          resources: {
            cpu: { request: cpu(config.resources.cpuRequest), limit: cpu(config.resources.cpuLimit) },
            memory: { request: memory(config.resources.memoryRequest), limit: memory(config.resources.memoryLimit) },
            ephemeralStorage: { request: memory(EPHEMERAL_STORAGE.job.request), limit: memory(EPHEMERAL_STORAGE.job.limit) },
          },
          imagePullPolicy: imagePullPolicyOf(config.image) as kplus.ImagePullPolicy,
        },
      ],
    });
    const container = cronJob.containers[0];
    const bucket = config.backupBucket;
    if (bucket && BUCKET_TASKS.includes(taskName)) {
      // by Secret reference only: the keys never appear in the manifest
      const secret = kplus.Secret.fromSecretName(cronJob, 'BucketCredentials', bucket.credentialsSecret.secret);
      container.env.addVariable('AWS_ACCESS_KEY_ID', kplus.EnvValue.fromSecretValue({ secret, key: bucket.credentialsSecret.accessKeyIdKey }));
      container.env.addVariable('AWS_SECRET_ACCESS_KEY', kplus.EnvValue.fromSecretValue({ secret, key: bucket.credentialsSecret.secretAccessKeyKey }));
    }
    mountScratchTmp(cronJob, container);
    const ca = config.database.caSecret;
    if (ca) {
      // Only the CA key, read-only: verify-full checks the server's certificate against it.
      const secret = kplus.Secret.fromSecretName(cronJob, 'CaSecret', ca.secret);
      const volume = kplus.Volume.fromSecret(cronJob, 'CaVolume', secret, { name: 'postgres-ca', items: { [ca.key]: { path: CA_FILE } } });
      container.mount(CA_MOUNT_PATH, volume, { readOnly: true });
    }
    if (definition.usesBackupVolume) {
      container.mount(BACKUP_MOUNT_PATH, kplus.Volume.fromPersistentVolumeClaim(cronJob, 'BackupVolume', this.backupVolume, { name: 'backups' }));
    }

    // cdk8s-plus refuses ttlAfterFinished next to history limits; Kubernetes takes both
    // (the history limits prune by count, the TTL by age), and has no podFailurePolicy prop.
    const apiObject = ApiObject.of(cronJob);
    apiObject.addJsonPatch(JsonPatch.add('/spec/jobTemplate/spec/ttlSecondsAfterFinished', config.job.ttlSecondsAfterFinished));
    apiObject.addJsonPatch(
      JsonPatch.add('/spec/jobTemplate/spec/podFailurePolicy', {
        rules: [
          // A finding is an answer and a usage error a mistake in the manifest, not failures to run:
          // retrying would only repeat them. (podFailurePolicy needs restartPolicy Never, set above.)
          {
            action: 'FailJob',
            onExitCodes: { containerName: CONTAINER_NAME, operator: 'In', values: [EXIT_CODES.finding, EXIT_CODES.usage] },
          },
          // Evictions and preemptions do not use up the retries.
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      }),
    );

    if (definition.manual) return;
    this.cronJobs.push({
      task: taskName,
      name: definition.cronJobName,
      schedule: cronJob.schedule.expressionString,
      timeZone: config.timeZone,
      maxAgeSeconds: maxAgeSeconds(config, definition.key as Exclude<TaskKey, 'restore'>),
    });
  }

  private addNetworkPolicies(config: DbMaintenanceConfig): void {
    const postgresPort = { protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(config.database.port) };
    new kplus.k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: 'aiaas-job', namespace: this.namespace, labels: { ...AIAAS_JOB_POD_LABELS } },
      spec: {
        podSelector: { matchLabels: { ...AIAAS_JOB_POD_LABELS } },
        // No ingress rule: nothing may connect to the job pods.
        policyTypes: ['Ingress', 'Egress'],
        egress: [
          {
            to: this.postgresCidrs
              ? this.postgresCidrs.map((cidr) => ({ ipBlock: { cidr } }))
              : [{ podSelector: { matchLabels: { ...this.postgresPodLabels } } }],
            ports: [postgresPort],
          },
          dnsEgressRule(this.dnsNamespace, this.dnsPodLabels),
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': config.pushgateway.namespace } },
                podSelector: { matchLabels: { ...config.pushgateway.podLabels } },
              },
            ],
            ports: [{ protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(config.pushgateway.port) }],
          },
        ],
      },
    });

    const bucket = config.backupBucket;
    if (bucket) {
      // NetworkPolicies add up: only the pods that upload or download reach the bucket endpoint
      new kplus.k8s.KubeNetworkPolicy(this, 'BucketEgress', {
        metadata: { name: 'aiaas-job-bucket', namespace: this.namespace, labels: { ...AIAAS_JOB_POD_LABELS } },
        spec: {
          podSelector: {
            matchLabels: { ...AIAAS_JOB_POD_LABELS },
            matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: [...BUCKET_TASKS] }],
          },
          policyTypes: ['Egress'],
          egress: [{
            to: bucket.egress.cidrs.map((cidr) => ({ ipBlock: { cidr } })),
            ports: bucketPorts(bucket).map((p) => ({ protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(p) })),
          }],
        },
      });
    }

    if (this.allowPostgresIngress && !this.postgresCidrs) {
      new kplus.k8s.KubeNetworkPolicy(this, 'PostgresIngress', {
        metadata: { name: 'postgres-from-aiaas-job', namespace: this.namespace, labels: { ...AIAAS_JOB_POD_LABELS } },
        spec: {
          podSelector: { matchLabels: { ...this.postgresPodLabels } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { ...AIAAS_JOB_POD_LABELS } } }], ports: [postgresPort] }],
        },
      });
    }
  }
}
