import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DbMaintenanceConfig } from '../config/db-maintenance-config';
import { maxIntervalSeconds, toCdk8sCron } from './_cron';
import { cpu, memory } from './_quantity';
import { dnsEgressRule } from './_network-rules';
import { DEFAULT_IDENTITY, RestrictedIdentity, mountScratchTmp, restrictedContainerSecurityContext, restrictedPodSecurityContext } from './_restricted-pod';
import { storageSize } from './_storage';

/** The `aiaas-job` tasks run on a schedule. */
export enum DbTask {
  DB_HEALTH = 'db-health',
  SLOW_QUERIES = 'slow-queries',
  TABLE_SIZES = 'table-sizes',
  BACKUP = 'backup',
  VACUUM_ANALYZE = 'vacuum-analyze',
  LONG_TRANSACTIONS = 'long-transactions',
  REPLICATION_LAG = 'replication-lag',
  RESTORE_VERIFY = 'restore-verify',
}

/** Labels of every `aiaas-job` pod (NetworkPolicies select them). */
export const AIAAS_JOB_POD_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'aiaas-job' };

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
  readonly task: DbTask;
  /** Key under `config.tasks`. */
  readonly key: TaskKey;
  /** Construct id under the 'CronJobs' group. */
  readonly id: string;
  readonly cronJobName: string;
  readonly usesBackupVolume: boolean;
  /** CLI flags after the task name (the contract with src/jobs). */
  readonly flags: (config: DbMaintenanceConfig, derived: DerivedSettings) => string[];
}

const TASKS: readonly TaskDefinition[] = [
  {
    task: DbTask.DB_HEALTH,
    key: 'dbHealth',
    id: 'DbHealth',
    cronJobName: 'db-health',
    usesBackupVolume: false,
    flags: (c) => ['--max-connection-ratio', String(c.tasks.dbHealth.maxConnectionRatio)],
  },
  {
    task: DbTask.SLOW_QUERIES,
    key: 'slowQueries',
    id: 'SlowQueries',
    cronJobName: 'db-slow-queries',
    usesBackupVolume: false,
    flags: (c) => ['--limit', String(c.tasks.slowQueries.limit), '--min-mean-ms', String(c.tasks.slowQueries.minMeanMs)],
  },
  {
    task: DbTask.TABLE_SIZES,
    key: 'tableSizes',
    id: 'TableSizes',
    cronJobName: 'db-table-sizes',
    usesBackupVolume: false,
    flags: (c) => [
      '--limit', String(c.tasks.tableSizes.limit),
      '--schema', c.tasks.tableSizes.schema,
      '--max-dead-ratio', String(c.tasks.tableSizes.maxDeadRatio),
    ],
  },
  {
    task: DbTask.BACKUP,
    key: 'backup',
    id: 'Backup',
    cronJobName: 'db-backup',
    usesBackupVolume: true,
    // The row counts restore-verify compares are taken in the dump's own snapshot.
    flags: (c) => [
      '--dir', BACKUP_MOUNT_PATH,
      '--keep', String(c.tasks.backup.keep),
      '--count-tables', c.tasks.restoreVerify.tables.join(','),
    ],
  },
  {
    task: DbTask.VACUUM_ANALYZE,
    key: 'vacuumAnalyze',
    id: 'VacuumAnalyze',
    cronJobName: 'db-vacuum-analyze',
    usesBackupVolume: false,
    flags: (c) => [
      '--parallel', String(c.tasks.vacuumAnalyze.parallel),
      '--lock-timeout-ms', String(c.tasks.vacuumAnalyze.lockTimeoutMs),
      '--statement-timeout-ms', String(c.tasks.vacuumAnalyze.statementTimeoutMs),
      '--schema', c.tasks.vacuumAnalyze.schema,
    ],
  },
  {
    task: DbTask.LONG_TRANSACTIONS,
    key: 'longTransactions',
    id: 'LongTransactions',
    cronJobName: 'db-long-transactions',
    usesBackupVolume: false,
    flags: (c) => [
      '--threshold-seconds', String(c.tasks.longTransactions.thresholdSeconds),
      '--action', c.tasks.longTransactions.action,
    ],
  },
  {
    task: DbTask.REPLICATION_LAG,
    key: 'replicationLag',
    id: 'ReplicationLag',
    cronJobName: 'db-replication-lag',
    usesBackupVolume: false,
    flags: (c, d) => [
      '--max-lag-bytes', String(c.tasks.replicationLag.maxLagBytes),
      '--max-lag-seconds', String(c.tasks.replicationLag.maxLagSeconds),
      '--expected-standbys', String(d.expectedStandbys),
    ],
  },
  {
    task: DbTask.RESTORE_VERIFY,
    key: 'restoreVerify',
    id: 'RestoreVerify',
    cronJobName: 'db-restore-verify',
    usesBackupVolume: true,
    flags: (c) => [
      '--dir', BACKUP_MOUNT_PATH,
      '--tables', c.tasks.restoreVerify.tables.join(','),
      '--scratch-database', c.tasks.restoreVerify.scratchDatabase,
    ],
  },
];

const CONTAINER_NAME = 'aiaas-job';
/** Exit code of a run that found something beyond a threshold: reported, not retried. */
const FINDING_EXIT_CODE = 1;

/**
 * The runbook's daily and weekly PostgreSQL work and the database backup as one
 * CronJob per task (`aiaas-job <task> <flags>`), with a ServiceAccount without
 * token, a backup PersistentVolumeClaim and a NetworkPolicy letting the job pods
 * reach only postgres, DNS and the pushgateway.
 */
export class DbMaintenance extends Construct {
  /** What was scheduled, for alerts on a missing success. */
  public readonly cronJobs: ScheduledJob[] = [];
  public readonly serviceAccount: kplus.ServiceAccount;
  public readonly backupVolume: kplus.PersistentVolumeClaim;
  public readonly namespace?: string;
  public readonly postgresPodLabels: Record<string, string>;
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
    this.allowPostgresIngress = props.allowPostgresIngress ?? true;
    this.dnsNamespace = props.dnsNamespace ?? 'kube-system';
    this.dnsPodLabels = props.dnsPodLabels ?? { 'k8s-app': 'kube-dns' };
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

    const credentials = kplus.Secret.fromSecretName(this, 'CredentialsSecret', config.credentialsSecret.name);
    const cronJobs = new Construct(this, 'CronJobs');
    for (const definition of TASKS) {
      this.addTask(cronJobs, definition, config, credentials);
    }

    this.addNetworkPolicies(config);
  }

  private addTask(group: Construct, definition: TaskDefinition, config: DbMaintenanceConfig, credentials: kplus.ISecret): void {
    const task = config.tasks[definition.key];
    const schedulePath = `dbMaintenance.tasks.${definition.key}.schedule`;
    const activeDeadlineSeconds = task.activeDeadlineSeconds ?? config.job.activeDeadlineSeconds;
    const labels = { ...AIAAS_JOB_POD_LABELS, 'app.kubernetes.io/component': definition.task };

    const cronJob = new kplus.CronJob(group, definition.id, {
      metadata: { name: definition.cronJobName, namespace: this.namespace, labels },
      podMetadata: { labels },
      schedule: toCdk8sCron(task.schedule, schedulePath),
      timeZone: config.timeZone,
      concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
      startingDeadline: Duration.seconds(config.job.startingDeadlineSeconds),
      suspend: task.suspend,
      successfulJobsRetained: config.job.successfulJobsHistoryLimit,
      failedJobsRetained: config.job.failedJobsHistoryLimit,
      activeDeadline: Duration.seconds(activeDeadlineSeconds),
      backoffLimit: config.job.backoffLimit,
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
          args: [definition.task, ...definition.flags(config, { expectedStandbys: this.expectedStandbys })],
          envVariables: {
            PGHOST: kplus.EnvValue.fromValue(config.database.host),
            PGPORT: kplus.EnvValue.fromValue(String(config.database.port)),
            PGDATABASE: kplus.EnvValue.fromValue(config.database.database),
            PGSSLMODE: kplus.EnvValue.fromValue(config.database.sslmode),
            PGUSER: kplus.EnvValue.fromSecretValue({ secret: credentials, key: config.credentialsSecret.usernameKey }),
            PGPASSWORD: kplus.EnvValue.fromSecretValue({ secret: credentials, key: config.credentialsSecret.passwordKey }),
            PUSHGATEWAY_URL: kplus.EnvValue.fromValue(config.pushgateway.url),
          },
          securityContext: restrictedContainerSecurityContext(this.identity),
          resources: {
            cpu: { request: cpu(config.resources.cpuRequest), limit: cpu(config.resources.cpuLimit) },
            memory: { request: memory(config.resources.memoryRequest), limit: memory(config.resources.memoryLimit) },
          },
        },
      ],
    });
    const container = cronJob.containers[0];
    mountScratchTmp(cronJob, container);
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
          // A finding is an answer, not a failure to run: retrying would only repeat it.
          { action: 'FailJob', onExitCodes: { containerName: CONTAINER_NAME, operator: 'In', values: [FINDING_EXIT_CODE] } },
          // Evictions and preemptions do not use up the retries.
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      }),
    );

    this.cronJobs.push({
      task: definition.task,
      name: definition.cronJobName,
      schedule: cronJob.schedule.expressionString,
      timeZone: config.timeZone,
      maxAgeSeconds: maxIntervalSeconds(task.schedule) + config.job.startingDeadlineSeconds + activeDeadlineSeconds + MAX_AGE_SLACK_SECONDS,
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
          { to: [{ podSelector: { matchLabels: { ...this.postgresPodLabels } } }], ports: [postgresPort] },
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

    if (this.allowPostgresIngress) {
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
