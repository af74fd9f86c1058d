// The `dbMaintenance` config section: the runbook's daily and weekly PostgreSQL
// work, the database backup and the Kubernetes config backup as scheduled jobs.
// Every field has the runbook's default; messages say what was expected (the
// loader prefixes them with the dotted field path).
import { z } from 'zod';
import { BUCKET_NAME_PATTERN, BUCKET_OPTIONS, BUCKET_PREFIX_PATTERN, ChoiceFlag, IntFlag, NameFlag, RatioFlag, SSL_MODES, SwitchFlag, TablesFlag, TASK_SPECS } from '../jobs/contract';
import { cronProblem } from './cron';
import { bucketCredentialsSchema, caCertificateRefSchema, databaseCredentialsSchema } from './secret-ref';
import { cidr, cpuQuantity, dns1123Label, labels, memoryQuantity, nonNegativeInt, pinnedImage, port, positiveInt, ratio } from './validators';

/** A five-field cron expression, checked field by field. */
const cronSchedule = z.string().superRefine((expression, ctx) => {
  const problem = cronProblem(expression);
  if (problem) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `invalid cron schedule: ${problem}` });
  }
});

/** IANA time zone name as Kubernetes (Go's tz database) reads it: case-sensitive. */
const timeZone = z.string().superRefine((zone, ctx) => {
  if (!isTimeZone(zone)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `expected an IANA time zone name like 'Etc/UTC' or 'Europe/Berlin' (got '${zone}')`,
    });
  }
});

export function isTimeZone(zone: string): boolean {
  if (!/^[A-Z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) {
    return false;
  }
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return false;
  }
  // Intl ignores case ('europe/berlin' → 'Europe/Berlin'); the zoneinfo files do not.
  return resolved === zone || resolved.toLowerCase() !== zone.toLowerCase();
}

/** Storage quantity for a PersistentVolumeClaim. */
const storageQuantity = z.string().regex(/^[1-9]\d*(Mi|Gi|Ti)$/, "expected a storage size like '512Mi', '20Gi' or '1Ti'");

/** A PostgreSQL identifier the jobs pass on the command line (schema, table, database). */
const sqlIdentifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'expected a PostgreSQL identifier: a letter or "_", then letters, digits, "_" or "$" (at most 63)');

/** A table name, optionally schema-qualified (`users`, `public.users`). */
const tableName = z
  .string()
  .regex(
    /^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/,
    'expected a table name like users or public.users (letters, digits, "_", "$")',
  );

/** `expected one of 'a', 'b', 'c'` for enum fields. */
function oneOf<V extends string>(values: readonly [V, ...V[]]): z.ZodEnum<[V, ...V[]]> {
  const message = `expected one of ${values.map((v) => `'${v}'`).join(', ')}`;
  return z.enum(values as [V, ...V[]], { errorMap: () => ({ message }) });
}

// Task options are the `aiaas-job` flags of the same name (src/jobs/contract.ts):
// the same bounds and defaults as the CLI, so a config the CronJob passes on is one the CLI takes.
const boundedInt = (spec: IntFlag): z.ZodNumber => z
  .number()
  .int('expected a whole number')
  .min(spec.min, `expected ${spec.min} or more`)
  .max(spec.max, `expected at most ${spec.max}${spec.unit ? ` ${spec.unit}` : ''}`);
const O = {
  int: (spec: IntFlag & { readonly default: number }) => boundedInt(spec).default(spec.default),
  /** An int the construct derives when it is not set (its @default says from what). */
  derivedInt: (spec: IntFlag) => boundedInt(spec).optional(),
  ratio: (spec: RatioFlag & { readonly default: number }) => ratio.default(spec.default),
  name: (spec: NameFlag & { readonly default: string }) => sqlIdentifier.default(spec.default),
  tables: (spec: TablesFlag & { readonly default: readonly string[] }) => z
    .array(tableName)
    .min(1, 'expected at least one table')
    .default([...spec.default]),
  bool: (spec: SwitchFlag) => z.boolean().default(spec.default),
  choice: <V extends string>(spec: ChoiceFlag & { readonly choices: readonly [V, ...V[]]; readonly default: V }) =>
    oneOf(spec.choices).default(spec.default),
};
const DB_HEALTH = TASK_SPECS['db-health'].options;
const SLOW_QUERIES = TASK_SPECS['slow-queries'].options;
const TABLE_SIZES = TASK_SPECS['table-sizes'].options;
const VACUUM = TASK_SPECS['vacuum-analyze'].options;
const LONG_TX = TASK_SPECS['long-transactions'].options;
const REPLICATION = TASK_SPECS['replication-lag'].options;
const BACKUP = TASK_SPECS.backup.options;
const RESTORE_VERIFY = TASK_SPECS['restore-verify'].options;
const RESTORE = TASK_SPECS.restore.options;

/** Fields every task has. */
const taskBase = (schedule: string) => ({
  /** Five-field cron expression (minute hour day-of-month month day-of-week) in `timeZone`. */
  schedule: cronSchedule.default(schedule),
  /** Stops future runs without removing the CronJob (e.g. replication-lag on a single server). */
  suspend: z.boolean().default(false),
  /**
   * Seconds a run may take before Kubernetes stops it; overrides `job.activeDeadlineSeconds`.
   * @default - job.activeDeadlineSeconds
   */
  activeDeadlineSeconds: positiveInt.optional(),
});

const tasksSchema = z
  .object({
    /** Daily: pg_stat_database figures and connections in use (`db-health`). */
    dbHealth: z
      .object({
        ...taskBase('0 1 * * *'),
        /** Connections in use over max_connections above which it is a finding (runbook: 80 % of pool). */
        maxConnectionRatio: O.ratio(DB_HEALTH.maxConnectionRatio),
      })
      .strict()
      .default({}),
    /** Daily: top statements by mean execution time from pg_stat_statements (`slow-queries`). */
    slowQueries: z
      .object({
        ...taskBase('15 1 * * *'),
        /** Statements reported (runbook: LIMIT 10). */
        limit: O.int(SLOW_QUERIES.limit),
        /** Mean execution time in ms above which a reported statement is a finding. */
        minMeanMs: O.int(SLOW_QUERIES.minMeanMs),
      })
      .strict()
      .default({}),
    /** Daily: largest relations and their dead-tuple ratio (`table-sizes`). */
    tableSizes: z
      .object({
        ...taskBase('30 1 * * *'),
        /** Relations reported. */
        limit: O.int(TABLE_SIZES.limit),
        /** Schema examined (runbook: public). */
        schema: O.name(TABLE_SIZES.schema),
        /** Dead tuples over live + dead above which a table is a finding. */
        maxDeadRatio: O.ratio(TABLE_SIZES.maxDeadRatio),
        /** Tables with fewer dead tuples than this are not judged by their dead ratio. */
        minDeadTuples: O.int(TABLE_SIZES.minDeadTuples),
        /** lock_timeout in ms for sizing each relation; one still locked after it is skipped and named. */
        lockTimeoutMs: O.int(TABLE_SIZES.lockTimeoutMs),
      })
      .strict()
      .default({}),
    /** Daily: pg_dump in custom format to the backup volume, with retention (`backup`). */
    backup: z
      .object({
        ...taskBase('0 2 * * *'),
        /** Backups kept; older ones are deleted after a good backup, the newest good one never. */
        keep: O.int(BACKUP.keep),
        /** Milliseconds pg_dump (and the row counts) wait for a table's lock before the run fails naming the table. */
        lockWaitTimeoutMs: O.int(BACKUP.lockWaitTimeoutMs),
        /** Good backups kept in the bucket (`backupBucket`); older ones are deleted after an upload, the newest good one never. */
        bucketKeep: O.int(BACKUP.bucketKeep),
        /** pg_dump format: 'custom' (one file) or 'directory' (one file per table, dumped `jobs` at a time). */
        format: O.choice(BACKUP.format),
        /** Tables dumped at the same time with the directory format (each one more connection). */
        jobs: O.int(BACKUP.jobs),
        /** gzip level of pg_dump: 1 is several times faster than the default 6 for a slightly larger dump. */
        compress: O.int(BACKUP.compress),
        /** Seconds a dump may take before it is stopped (a stopped dump leaves no complete-looking file). */
        activeDeadlineSeconds: positiveInt.default(7200),
      })
      .strict()
      .default({}),
    /** Weekly: VACUUM (ANALYZE) table by table (`vacuum-analyze`). */
    vacuumAnalyze: z
      .object({
        ...taskBase('30 3 * * 0'),
        /** Tables vacuumed at the same time. */
        parallel: O.int(VACUUM.parallel),
        /** lock_timeout per table, in milliseconds: a locked table is skipped, not waited for. */
        lockTimeoutMs: O.int(VACUUM.lockTimeoutMs),
        /** statement_timeout per table, in milliseconds. */
        statementTimeoutMs: O.int(VACUUM.statementTimeoutMs),
        /** Schema vacuumed. */
        schema: O.name(VACUUM.schema),
        /** Seconds the whole vacuum may take (each table is bounded by statementTimeoutMs). */
        activeDeadlineSeconds: positiveInt.default(14_400),
      })
      .strict()
      .default({}),
    /** Weekly: transactions open longer than a threshold (`long-transactions`). */
    longTransactions: z
      .object({
        ...taskBase('0 3 * * 0'),
        /** Age in seconds from which a transaction is reported (runbook: 5 minutes). */
        thresholdSeconds: O.int(LONG_TX.thresholdSeconds),
        /** What to do with them: only report, or cancel the query, or terminate the backend. */
        action: O.choice(LONG_TX.action),
      })
      .strict()
      .default({}),
    /** Weekly: standby lag in bytes and seconds (`replication-lag`). */
    replicationLag: z
      .object({
        ...taskBase('15 3 * * 0'),
        /** Lag in bytes above which a standby is a finding (16 MiB: one WAL segment). */
        maxLagBytes: O.int(REPLICATION.maxLagBytes),
        /** Replay lag in seconds above which a standby is a finding. */
        maxLagSeconds: O.int(REPLICATION.maxLagSeconds),
        /**
         * Streaming standbys that must be connected to the primary.
         * @default - `postgres.replicas` − 1 (the postgres pods other than the primary): a single server expects none
         */
        expectedStandbys: O.derivedInt(REPLICATION.expectedStandbys),
      })
      .strict()
      .default({}),
    /** Weekly: restore the newest backup into a scratch database and compare row counts (`restore-verify`). */
    restoreVerify: z
      .object({
        ...taskBase('0 4 * * 0'),
        /** Tables whose row counts must match the source (runbook: users). */
        tables: O.tables(RESTORE_VERIFY.tables),
        /** Scratch database created, restored into and dropped: never the real database. */
        scratchDatabase: O.name(RESTORE_VERIFY.scratchDatabase),
        /**
         * Age in seconds of the newest complete backup above which it is a finding.
         * @default - the backup's schedule: its longest interval + starting and active deadlines + 1 h
         */
        maxBackupAgeSeconds: O.derivedInt(RESTORE_VERIFY.maxBackupAgeSeconds),
        /** pg_restore --jobs: tables and indexes restored at the same time. */
        jobs: O.int(RESTORE_VERIFY.jobs),
        /**
         * Verify the newest good backup in the bucket (`backupBucket`, downloaded and checked) instead of the
         * volume's: the copy that survives the cluster is the one that must restore.
         */
        fromBucket: O.bool(RESTORE_VERIFY.fromBucket),
        /** Seconds the restore and the comparison may take. */
        activeDeadlineSeconds: positiveInt.default(7200),
      })
      .strict()
      .default({}),
    /**
     * On demand: restore a backup into a database (`restore`), as a suspended CronJob that a
     * person runs with `kubectl create job --from=cronjob/db-restore` (no schedule, no retry).
     */
    restore: z
      .object({
        /** Database restored into; it must not exist or be empty (`--force` for one run replaces it). */
        targetDatabase: O.name(RESTORE.targetDatabase),
        /** Parallel pg_restore jobs (each one a session on the server). */
        jobs: O.int(RESTORE.jobs),
        /**
         * Restore from the bucket (`backupBucket`, newest good copy downloaded and checked) instead of the
         * volume: what is left when the namespace or its volume is gone.
         */
        fromBucket: O.bool(RESTORE.fromBucket),
        /** Seconds the restore may take. */
        activeDeadlineSeconds: positiveInt.default(14_400),
      })
      .strict()
      .default({}),
  })
  .strict();

const pattern = (re: RegExp, expected: string) => z.string().regex(re, `expected ${expected}`);
const BUCKET = BUCKET_OPTIONS;

const backupBucketSchema = z
  .object({
    /** Bucket name (created beforehand, ideally with versioning or object lock, and a lifecycle rule aborting incomplete multipart uploads). */
    bucket: pattern(BUCKET_NAME_PATTERN, BUCKET.bucket.expected),
    /**
     * S3 API endpoint: `https://storage.googleapis.com` (GCS), `http://minio.minio.svc:9000` (MinIO)...
     * @default - AWS S3 of `region`
     */
    endpoint: z.string().url('expected an http(s) URL like https://storage.googleapis.com')
      .regex(/^https?:\/\//, 'expected an http(s) URL like https://storage.googleapis.com').optional(),
    /** Region, which signs the requests (GCS: 'auto'; MinIO: its region, usually us-east-1). */
    region: pattern(BUCKET.bucketRegion.pattern, BUCKET.bucketRegion.expected).default('us-east-1'),
    /** Key prefix of this platform's backups: the IAM policy grants this prefix only. */
    prefix: pattern(BUCKET_PREFIX_PATTERN, BUCKET.bucketPrefix.expected).default('aiaas/'),
    /** Path-style URLs (endpoint/bucket/key): MinIO and Ceph RGW usually need it. */
    pathStyle: z.boolean().default(false),
    /**
     * Existing Secret with the bucket's access key, referenced by name; never created here:
     * `secret`, and the keys holding AWS_ACCESS_KEY_ID (`accessKeyIdKey`) and AWS_SECRET_ACCESS_KEY (`secretAccessKeyKey`).
     */
    credentialsSecret: bucketCredentialsSchema,
    /** Where the endpoint is, for the NetworkPolicy egress rule of `backup` and `restore-verify` (and nothing else). */
    egress: z
      .object({
        /** CIDRs of the endpoint (AWS: the S3 ranges of the region from ip-ranges.json; MinIO: its Service's pod CIDR). */
        cidrs: z.array(cidr).min(1, 'expected at least one CIDR of the bucket endpoint'),
        /**
         * Ports of the endpoint.
         * @default - the endpoint URL's port (443 for https, 80 for http)
         */
        ports: z.array(port).min(1, 'expected at least one port').optional(),
      })
      .strict(),
    /**
     * Seconds the newest good backup in the bucket may age before it alerts.
     * @default - like the backup's age alert: longest interval of `tasks.backup.schedule` plus deadlines and an hour
     */
    maxAgeSeconds: positiveInt.optional(),
  })
  .strict();

/** The ports of the bucket endpoint: configured, else its URL's. */
export function bucketPorts(b: z.output<typeof backupBucketSchema>): number[] {
  if (b.egress.ports) return b.egress.ports;
  if (!b.endpoint) return [443];
  const u = new URL(b.endpoint);
  return [u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443];
}

/** Resource names `ConfigBackup` may read, with their API group ('' is the core group). Secrets are deliberately absent. */
export const CONFIG_BACKUP_RESOURCE_GROUPS: Readonly<Record<string, string>> = {
  configmaps: '',
  services: '',
  serviceaccounts: '',
  persistentvolumeclaims: '',
  deployments: 'apps',
  statefulsets: 'apps',
  daemonsets: 'apps',
  cronjobs: 'batch',
  jobs: 'batch',
  networkpolicies: 'networking.k8s.io',
  ingresses: 'networking.k8s.io',
  poddisruptionbudgets: 'policy',
  horizontalpodautoscalers: 'autoscaling',
  roles: 'rbac.authorization.k8s.io',
  rolebindings: 'rbac.authorization.k8s.io',
  // Argo Rollouts' CRDs (engine argo-rollouts): only where they are installed, or kubectl get fails.
  rollouts: 'argoproj.io',
  analysistemplates: 'argoproj.io',
};

/** What the config backup adds under the Argo Rollouts engine: the workloads are Rollouts there. */
export const ARGO_ROLLOUTS_BACKUP_RESOURCE_TYPES: readonly string[] = ['rollouts', 'analysistemplates'];

const backupResourceType = z.string().superRefine((resource, ctx) => {
  if (resource === 'secrets') {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: 'secrets cannot be backed up: plain YAML would expose their data; keep them in a secret manager',
    });
  } else if (!Object.prototype.hasOwnProperty.call(CONFIG_BACKUP_RESOURCE_GROUPS, resource)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `unknown resource '${resource}'; expected one of ${Object.keys(CONFIG_BACKUP_RESOURCE_GROUPS).join(', ')}`,
    });
  }
});

const configBackupSchema = z
  .object({
    /** When `kubectl get ... -o yaml` runs (daily, after the database backup). */
    schedule: cronSchedule.default('30 2 * * *'),
    /** Stops future runs without removing the CronJob. */
    suspend: z.boolean().default(false),
    /**
     * Runs `kubectl get ... -o yaml` of the namespace to its own volume. Off by default: it needs
     * a mounted token, an image you control and your API server's addresses (no safe defaults exist).
     */
    enabled: z.boolean().default(false),
    /**
     * Image with `kubectl`, `bash` and coreutils, pinned by digest (it runs with an API token,
     * so a re-pushed tag must not change what runs). Required when enabled; no default.
     * @default - none
     */
    image: z
      .string()
      .regex(/^[^@\s]+@sha256:[0-9a-f]{64}$/, 'expected an image pinned by digest like registry.example.com/kubectl@sha256:<64 hex digits>: it runs with an API token')
      .optional(),
    /** Resources written to the backup, by plural name. Secrets are refused. */
    resourceTypes: z
      .array(backupResourceType)
      .min(1, 'expected at least one resource type')
      .default([
        'deployments',
        'statefulsets',
        'services',
        'configmaps',
        'cronjobs',
        'networkpolicies',
        'ingresses',
        'poddisruptionbudgets',
        'horizontalpodautoscalers',
        'serviceaccounts',
        'roles',
        'rolebindings',
        'persistentvolumeclaims',
      ]),
    /** Backup files kept; older ones are deleted after a successful backup. */
    keep: z.number().int('expected a whole number of backups').min(1, 'expected at least 1 backup to keep').default(14),
    /** Its own volume (config YAML stays apart from database dumps and their retention). */
    volume: z
      .object({
        /** Requested size. */
        size: storageQuantity.default('1Gi'),
        /**
         * StorageClass of the claim.
         * @default - the cluster's default StorageClass
         */
        storageClassName: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    /** Where the Kubernetes API server is, for the NetworkPolicy egress rule. */
    apiServer: z
      .object({
        /**
         * Addresses of the API server endpoints (`kubectl get endpoints kubernetes -n default`:
         * the control-plane addresses after the `kubernetes` Service's DNAT), as /32 or small CIDRs.
         * Required when enabled; no default, and never the whole internet.
         * @default - none
         */
        cidrs: z
          .array(cidr.refine((c) => !/\/0$/.test(c), 'expected the API server address(es), not a catch-all block'))
          .min(1, 'expected at least one CIDR')
          .optional(),
        /** Ports of the API server: 443 (Service) and 6443 (endpoints). */
        ports: z.array(port).min(1, 'expected at least one port').default([443, 6443]),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((backup, ctx) => {
    if (!backup.enabled) {
      return;
    }
    if (backup.image === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['image'],
        message: 'required when configBackup is enabled: an image with kubectl and bash, pinned by digest (registry/kubectl@sha256:<64 hex digits>)',
      });
    }
    if (backup.apiServer.cidrs === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['apiServer', 'cidrs'],
        message: "required when configBackup is enabled: the API server's addresses (kubectl get endpoints kubernetes -n default), e.g. ['10.0.0.10/32']",
      });
    }
  });

export const dbMaintenanceConfigSchema = z
  .object({
    /** Image of the `aiaas-job` CLI (src/jobs/Dockerfile), pinned to a tag or digest. */
    image: pinnedImage.default('ghcr.io/aiaas/aiaas-job:0.1.0'),
    /** Time zone of every schedule (CronJob `timeZone`). */
    timeZone: timeZone.default('Etc/UTC'),
    /** The database the jobs connect to (libpq PGHOST, PGPORT, PGDATABASE, PGSSLMODE). */
    database: z
      .object({
        /** Host name, usually the postgres Service. */
        host: z.string().min(1, 'expected a host name').default('postgres'),
        /** Port (also the NetworkPolicy egress port). */
        port: port.default(5432),
        /** Database maintained and backed up (runbook: aiaas). */
        database: sqlIdentifier.default('aiaas'),
        /**
         * libpq sslmode. `require` encrypts without checking who answers; `verify-full` with the CA
         * of the server certificate (`caSecret`, given as PGSSLROOTCERT) also checks the chain and host
         * name. Not `prefer`, which would connect in plaintext to a server without TLS.
         */
        sslmode: oneOf(SSL_MODES).default('require'),
        /**
         * Secret holding the CA certificate that signed the server's certificate, mounted
         * read-only and given to the jobs as PGSSLROOTCERT (required for verify-ca and verify-full).
         * @default - none
         */
        caSecret: caCertificateRefSchema.optional(),
      })
      .strict()
      .default({}),
    /**
     * Existing Secret with the jobs' own database credentials (their own role, not the
     * application's), referenced by name (PGUSER from `usernameKey`, PGPASSWORD from `passwordKey`);
     * never created here. `secret` is the one place it is named (every CronJob follows it).
     * Rotation: point `secret` at a new Secret.
     */
    credentialsSecret: databaseCredentialsSchema.default({}),
    /**
     * Off-cluster copies in an S3-compatible bucket (AWS S3, GCS interoperability, MinIO, Ceph RGW):
     * `backup` uploads each finished backup there and applies `tasks.backup.bucketKeep`.
     * @default - no off-cluster copy
     */
    backupBucket: backupBucketSchema.optional(),
    /** PersistentVolumeClaim (ReadWriteOnce) mounted at /backups by `backup` and `restore-verify`. */
    backupVolume: z
      .object({
        /** Requested size: room for `tasks.backup.keep` dumps plus one in progress. */
        size: storageQuantity.default('20Gi'),
        /**
         * StorageClass of the claim.
         * @default - the cluster's default StorageClass
         */
        storageClassName: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    /** Prometheus Pushgateway the jobs push their metrics (last success) to. */
    pushgateway: z
      .object({
        /** URL given to the jobs as PUSHGATEWAY_URL. */
        url: z
          .string()
          .url('expected an http(s) URL like http://prometheus-pushgateway.monitoring.svc:9091')
          .regex(/^https?:\/\//, 'expected an http(s) URL like http://prometheus-pushgateway.monitoring.svc:9091')
          .default('http://prometheus-pushgateway.monitoring.svc:9091'),
        /** Namespace of the pushgateway (NetworkPolicy egress peer). */
        namespace: dns1123Label.default('monitoring'),
        /** Labels of the pushgateway pods (NetworkPolicy egress peer). */
        podLabels: labels.default({ 'app.kubernetes.io/name': 'prometheus-pushgateway' }),
        /** Port of the pushgateway pods (NetworkPolicy egress port). */
        port: port.default(9091),
      })
      .strict()
      .default({}),
    /** Settings shared by every CronJob. */
    job: z
      .object({
        /** Seconds after a missed schedule during which the run may still start. */
        startingDeadlineSeconds: z
          .number()
          .int('expected a whole number of seconds')
          .min(10, 'expected at least 10 seconds: the CronJob controller checks every 10 seconds')
          .default(600),
        /** Seconds a run may take before it is stopped (tasks may override). */
        activeDeadlineSeconds: positiveInt.default(3600),
        /** Retries after a failure to run (exit 2); a finding (exit 1) is never retried. */
        backoffLimit: nonNegativeInt.default(2),
        /** Seconds a finished Job is kept (8 days: a weekly run stays visible until the next). */
        ttlSecondsAfterFinished: nonNegativeInt.default(691_200),
        /** Successful Jobs kept per CronJob. */
        successfulJobsHistoryLimit: nonNegativeInt.default(3),
        /** Failed Jobs kept per CronJob. */
        failedJobsHistoryLimit: nonNegativeInt.default(3),
      })
      .strict()
      .default({}),
    /** Requests and limits of every job container. */
    resources: z
      .object({
        cpuRequest: cpuQuantity.default('50m'),
        cpuLimit: cpuQuantity.default('1'),
        memoryRequest: memoryQuantity.default('128Mi'),
        /** pg_dump and the Node process together (the backup streams, it does not buffer). */
        memoryLimit: memoryQuantity.default('512Mi'),
      })
      .strict()
      .default({}),
    /** The tasks and their options. */
    tasks: tasksSchema.default({}),
    /** The runbook's `kubectl get ... -o yaml` backup, without Secrets. */
    configBackup: configBackupSchema.default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const [key, task] of [['restoreVerify', 'restore-verify'], ['restore', 'restore']] as const) {
      if (config.tasks[key].fromBucket && !config.backupBucket) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['tasks', key, 'fromBucket'],
          message: `${task} from the bucket needs dbMaintenance.backupBucket; expected false, or a backupBucket section`,
        });
      }
    }
    const { sslmode, caSecret } = config.database;
    if ((sslmode === 'verify-ca' || sslmode === 'verify-full') && caSecret === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['database', 'caSecret'],
        message: `required when sslmode is '${sslmode}': expected { secret: <Secret with the CA certificate>, key: ca.crt }`,
      });
    }
    if (config.tasks.restoreVerify.scratchDatabase === config.database.database) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['tasks', 'restoreVerify', 'scratchDatabase'],
        message: `'${config.database.database}' is the maintained database, which restore-verify would drop; expected another name`,
      });
    }
  });

export type DbMaintenanceConfigInput = z.input<typeof dbMaintenanceConfigSchema>;
export type DbMaintenanceConfig = z.output<typeof dbMaintenanceConfigSchema>;
export type ConfigBackupConfig = DbMaintenanceConfig['configBackup'];
export type BackupBucketConfig = NonNullable<DbMaintenanceConfig['backupBucket']>;
