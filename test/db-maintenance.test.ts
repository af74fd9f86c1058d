import { Chart, Testing } from 'cdk8s';
import { CronJob } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PersistentVolumeClaim, ServiceAccount } from 'kubernetes-models/v1';
import { DbMaintenanceConfigInput, dbMaintenanceConfigSchema } from '../src/config/db-maintenance-config';
import { AIAAS_JOB_POD_LABELS, DbMaintenance, DbMaintenanceProps } from '../src/constructs/db-maintenance';
import { K8sObject, find, ofKind } from './support/synth';
import { validateAll } from './support/validate-schema';
import { KUBE_DNS_EGRESS, RESTRICTED_CONTAINER_SECURITY_CONTEXT } from './support/expected';

function synth(
  config: DbMaintenanceConfigInput = {},
  props: Partial<DbMaintenanceProps> = {},
): { objects: K8sObject[]; construct: DbMaintenance } {
  const chart = Testing.chart();
  const construct = new DbMaintenance(chart, 'DbMaintenance', {
    namespace: 'aiaas',
    config: dbMaintenanceConfigSchema.parse(config),
    ...props,
  });
  return { objects: Testing.synth(chart) as K8sObject[], construct };
}

const jobSpec = (cronJob: K8sObject) => cronJob.spec.jobTemplate.spec;
const podSpec = (cronJob: K8sObject) => cronJob.spec.jobTemplate.spec.template.spec;
const container = (cronJob: K8sObject) => podSpec(cronJob).containers[0];

describe('DbMaintenance', () => {
  // GIVEN / WHEN the runbook defaults
  const { objects, construct } = synth();
  const cronJobs = ofKind(objects, 'CronJob');

  test('synthesizes one CronJob per task, a ServiceAccount, the backup claim and two NetworkPolicies', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'CronJob/db-backup',
      'CronJob/db-health',
      'CronJob/db-long-transactions',
      'CronJob/db-replication-lag',
      'CronJob/db-restore',
      'CronJob/db-restore-verify',
      'CronJob/db-slow-queries',
      'CronJob/db-table-sizes',
      'CronJob/db-vacuum-analyze',
      'NetworkPolicy/aiaas-job',
      'NetworkPolicy/postgres-from-aiaas-job',
      'PersistentVolumeClaim/aiaas-db-backups',
      'ServiceAccount/aiaas-job',
    ]);
    expect(objects.every((o) => o.metadata.namespace === 'aiaas')).toBe(true);
  });

  test('every object validates against the Kubernetes schemas', () => {
    for (const o of cronJobs) {
      expect(() => new CronJob(o as any).validate()).not.toThrow();
    }
    for (const o of ofKind(objects, 'NetworkPolicy')) {
      expect(() => new NetworkPolicy(o as any).validate()).not.toThrow();
    }
    expect(() => new PersistentVolumeClaim(find(objects, 'PersistentVolumeClaim', 'aiaas-db-backups') as any).validate()).not.toThrow();
    expect(() => new ServiceAccount(find(objects, 'ServiceAccount', 'aiaas-job') as any).validate()).not.toThrow();
    validateAll(objects);
  });

  test.each([
    ['db-health', 'db-health', '0 1 * * *', ['--max-connection-ratio', '0.8']],
    ['db-slow-queries', 'slow-queries', '15 1 * * *', ['--limit', '10', '--min-mean-ms', '1000']],
    [
      'db-table-sizes',
      'table-sizes',
      '30 1 * * *',
      ['--limit', '20', '--schema', 'public', '--max-dead-ratio', '0.2', '--min-dead-tuples', '1000', '--lock-timeout-ms', '2000'],
    ],
    ['db-backup', 'backup', '0 2 * * *', ['--dir', '/backups', '--keep', '7', '--count-tables', 'users', '--lock-wait-timeout-ms', '300000',
      '--format', 'custom', '--jobs', '2', '--compress', '1']],
    ['db-long-transactions', 'long-transactions', '0 3 * * 0', ['--threshold-seconds', '300', '--action', 'report']],
    [
      'db-replication-lag',
      'replication-lag',
      '15 3 * * 0',
      // one postgres pod by default: no standby expected
      ['--max-lag-bytes', '16777216', '--max-lag-seconds', '60', '--expected-standbys', '0'],
    ],
    [
      'db-vacuum-analyze',
      'vacuum-analyze',
      '30 3 * * 0',
      ['--parallel', '2', '--lock-timeout-ms', '5000', '--statement-timeout-ms', '3600000', '--schema', 'public'],
    ],
    [
      'db-restore-verify',
      'restore-verify',
      '0 4 * * 0',
      // a daily backup: 24 h + starting deadline 600 s + its active deadline 2 h + 1 h slack
      ['--dir', '/backups', '--tables', 'users', '--scratch-database', 'aiaas_restore_verify', '--max-backup-age-seconds', '97800',
        '--jobs', '2'],
    ],
  ])('%s runs `aiaas-job %s` on %p with its flags', (name, task, schedule, flags) => {
    const cronJob = find(objects, 'CronJob', name);
    expect(cronJob.spec.schedule).toEqual(schedule);
    expect(container(cronJob).command).toEqual(['aiaas-job']);
    expect(container(cronJob).args).toEqual([task, ...flags]);
    expect(cronJob.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'aiaas-job', 'app.kubernetes.io/component': task });
    expect(cronJob.spec.jobTemplate.spec.template.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'aiaas-job',
      'app.kubernetes.io/component': task,
    });
  });

  test('CronJob and Job settings', () => {
    for (const cronJob of cronJobs) {
      const manual = cronJob.metadata.name === 'db-restore';
      expect(cronJob.spec).toMatchObject({
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        // the restore runs only when a person creates a Job from it, and is not retried behind their back
        suspend: manual,
        timeZone: 'Etc/UTC',
      });
      expect(jobSpec(cronJob)).toMatchObject({ backoffLimit: manual ? 0 : 2, ttlSecondsAfterFinished: 691_200 });
      expect(podSpec(cronJob).restartPolicy).toEqual('Never');
      // A finding (exit 1) and a usage error (exit 64) fail the Job at once; evictions do not count.
      expect(jobSpec(cronJob).podFailurePolicy.rules).toEqual([
        { action: 'FailJob', onExitCodes: { containerName: 'aiaas-job', operator: 'In', values: [1, 64] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ]);
    }
    const deadlines = Object.fromEntries(cronJobs.map((c) => [c.metadata.name, jobSpec(c).activeDeadlineSeconds]));
    expect(deadlines).toEqual({
      'db-health': 3600,
      'db-slow-queries': 3600,
      'db-table-sizes': 3600,
      'db-backup': 7200,
      'db-vacuum-analyze': 14_400,
      'db-long-transactions': 3600,
      'db-replication-lag': 3600,
      'db-restore-verify': 7200,
      'db-restore': 14_400,
    });
  });

  test('connection from config, credentials only by Secret reference', () => {
    for (const cronJob of cronJobs) {
      expect(container(cronJob).env).toEqual([
        { name: 'PGHOST', value: 'postgres' },
        { name: 'PGPORT', value: '5432' },
        { name: 'PGDATABASE', value: 'aiaas' },
        { name: 'PGSSLMODE', value: 'require' },
        { name: 'PGUSER', valueFrom: { secretKeyRef: { name: 'aiaas-job-db-credentials', key: 'username' } } },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'aiaas-job-db-credentials', key: 'password' } } },
        { name: 'PUSHGATEWAY_URL', value: 'http://prometheus-pushgateway.monitoring.svc:9091' },
        // the pod's namespace, pushed as the `namespace` grouping label the job alerts match on
        { name: 'AIAAS_JOB_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'JOB_OUTPUT', value: 'json' },
      ]);
    }
    expect(ofKind(objects, 'Secret')).toEqual([]);
  });

  test('no literal password anywhere in the manifest', () => {
    const text = JSON.stringify(objects);
    expect(text).not.toMatch(/postgres:\/\/|PGPASSWORD","value"|password=/i);
    for (const cronJob of cronJobs) {
      const env = container(cronJob).env as { name: string; value?: string }[];
      expect(env.filter((e) => /PASS|USER/.test(e.name)).every((e) => e.value === undefined)).toBe(true);
    }
  });

  test('every container and pod meets Pod Security "restricted"', () => {
    for (const cronJob of cronJobs) {
      const pod = podSpec(cronJob);
      expect(pod.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        fsGroup: 10001,
        fsGroupChangePolicy: 'OnRootMismatch',
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toEqual('aiaas-job');
      expect(pod.hostNetwork).toBe(false);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(c.securityContext).toEqual(RESTRICTED_CONTAINER_SECURITY_CONTEXT);
        expect(c.resources).toEqual({ requests: { 'cpu': '50m', 'memory': '128Mi', 'ephemeral-storage': '1Gi' }, limits: { 'cpu': '1000m', 'memory': '512Mi', 'ephemeral-storage': '2Gi' } });
      }
    }
  });

  test('the backup claim is mounted at /backups by backup, restore-verify and restore only; /tmp everywhere', () => {
    const claim = find(objects, 'PersistentVolumeClaim', 'aiaas-db-backups');
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } }, volumeMode: 'Filesystem' });
    for (const cronJob of cronJobs) {
      const mounts = container(cronJob).volumeMounts;
      const volumes = podSpec(cronJob).volumes;
      const usesBackups = ['db-backup', 'db-restore-verify', 'db-restore'].includes(cronJob.metadata.name);
      expect(mounts).toEqual([
        { mountPath: '/tmp', name: 'tmp' },
        ...(usesBackups ? [{ mountPath: '/backups', name: 'backups' }] : []),
      ]);
      expect(volumes).toEqual([
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
        ...(usesBackups ? [{ name: 'backups', persistentVolumeClaim: { claimName: 'aiaas-db-backups', readOnly: false } }] : []),
      ]);
    }
  });

  test('the ServiceAccount mounts no token', () => {
    expect(find(objects, 'ServiceAccount', 'aiaas-job').automountServiceAccountToken).toBe(false);
  });

  test('job pods may reach only postgres, DNS and the pushgateway, and nothing may reach them', () => {
    const policy = find(objects, 'NetworkPolicy', 'aiaas-job');
    expect(policy.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'aiaas-job' } });
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress ?? []).toEqual([]);
    expect(policy.spec.egress).toEqual([
      { to: [{ podSelector: { matchLabels: { app: 'postgres' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
      KUBE_DNS_EGRESS,
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus-pushgateway' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 9091 }],
      },
    ]);
  });

  test('postgres admits the job pods on its port', () => {
    const policy = find(objects, 'NetworkPolicy', 'postgres-from-aiaas-job');
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { app: 'postgres' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'aiaas-job' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
    });
  });

  test('exposes what it scheduled, with the age after which a missing success alerts', () => {
    // daily: 1 day + starting deadline (600) + active deadline + 1 h slack
    expect(construct.cronJobs).toEqual([
      { task: 'db-health', name: 'db-health', schedule: '0 1 * * *', timeZone: 'Etc/UTC', maxAgeSeconds: 86_400 + 600 + 3600 + 3600 },
      { task: 'slow-queries', name: 'db-slow-queries', schedule: '15 1 * * *', timeZone: 'Etc/UTC', maxAgeSeconds: 94_200 },
      { task: 'table-sizes', name: 'db-table-sizes', schedule: '30 1 * * *', timeZone: 'Etc/UTC', maxAgeSeconds: 94_200 },
      { task: 'backup', name: 'db-backup', schedule: '0 2 * * *', timeZone: 'Etc/UTC', maxAgeSeconds: 86_400 + 600 + 7200 + 3600 },
      {
        task: 'vacuum-analyze',
        name: 'db-vacuum-analyze',
        schedule: '30 3 * * 0',
        timeZone: 'Etc/UTC',
        maxAgeSeconds: 7 * 86_400 + 600 + 14_400 + 3600,
      },
      { task: 'long-transactions', name: 'db-long-transactions', schedule: '0 3 * * 0', timeZone: 'Etc/UTC', maxAgeSeconds: 7 * 86_400 + 600 + 3600 + 3600 },
      { task: 'replication-lag', name: 'db-replication-lag', schedule: '15 3 * * 0', timeZone: 'Etc/UTC', maxAgeSeconds: 612_600 },
      { task: 'restore-verify', name: 'db-restore-verify', schedule: '0 4 * * 0', timeZone: 'Etc/UTC', maxAgeSeconds: 7 * 86_400 + 600 + 7200 + 3600 },
    ]);
    // every CronJob but the restore, which never runs on its own (no freshness to alert on)
    expect(construct.cronJobs.map((c) => c.name).sort()).toEqual(cronJobs.map((c) => c.metadata.name).filter((n) => n !== 'db-restore').sort());
    expect(construct.restoreJob).toEqual({ name: 'db-restore', targetDatabase: 'aiaas_restored', fromBucket: false });
    const restore = find(objects, 'CronJob', 'db-restore');
    expect(restore.spec.suspend).toBe(true);
    expect(container(restore).args).toEqual(['restore', '--dir', '/backups', '--target-database', 'aiaas_restored', '--jobs', '2']);
  });

  // One CronJob's pod spec: the other CronJobs are built the same way, and dist/ pins the whole output.
  test('the backup CronJob pod spec is stable', () => {
    const backup = objects.find((o: any) => o.kind === 'CronJob' && o.metadata.name === 'db-backup');
    expect(backup!.spec.jobTemplate.spec.template.spec).toMatchSnapshot();
  });
});

describe('DbMaintenance with overrides', () => {
  test('config and props reach the manifest', () => {
    // GIVEN
    const { objects, construct } = synth(
      {
        image: 'registry.example.com/aiaas-job:2.0.0',
        timeZone: 'Europe/Berlin',
        database: { host: 'db.aiaas.svc', port: 6432, database: 'app', sslmode: 'require' },
        credentialsSecret: { secret: 'postgres-credentials-v2', usernameKey: 'user', passwordKey: 'pass' },
        backupVolume: { size: '50Gi', storageClassName: 'fast-ssd' },
        pushgateway: { url: 'http://pgw.obs:9091', namespace: 'obs', podLabels: { app: 'pushgateway' }, port: 9092 },
        job: { startingDeadlineSeconds: 300, activeDeadlineSeconds: 1800, backoffLimit: 0, ttlSecondsAfterFinished: 3600 },
        tasks: {
          backup: { schedule: '0 */6 * * *', keep: 28 },
          dbHealth: { activeDeadlineSeconds: 120 },
          replicationLag: { suspend: true, expectedStandbys: 0 },
          restoreVerify: { tables: ['users', 'public.orders'] },
          longTransactions: { action: 'cancel', thresholdSeconds: 900 },
        },
      },
      {
        postgresPodLabels: { 'app.kubernetes.io/name': 'postgresql' },
        dnsNamespace: 'dns',
        dnsPodLabels: { app: 'coredns' },
        identity: { runAsUser: 20000, runAsGroup: 20001 },
        allowPostgresIngress: false,
      },
    );

    // THEN
    validateAll(objects);
    const backup = find(objects, 'CronJob', 'db-backup');
    expect(backup.spec.schedule).toEqual('0 */6 * * *');
    expect(backup.spec.timeZone).toEqual('Europe/Berlin');
    expect(backup.spec.startingDeadlineSeconds).toEqual(300);
    expect(jobSpec(backup)).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 3600, activeDeadlineSeconds: 7200 });
    expect(container(backup).image).toEqual('registry.example.com/aiaas-job:2.0.0');
    expect(container(backup).args).toEqual(['backup', '--dir', '/backups', '--keep', '28', '--count-tables', 'users,public.orders',
      '--lock-wait-timeout-ms', '300000', '--format', 'custom', '--jobs', '2', '--compress', '1']);
    expect(container(find(objects, 'CronJob', 'db-restore-verify')).args).toContain('users,public.orders');
    // the backup every 6 h: a newest backup older than 6 h + 300 s + 2 h + 1 h is a finding of restore-verify
    expect(container(find(objects, 'CronJob', 'db-restore-verify')).args.join(' ')).toContain('--max-backup-age-seconds 32700');
    expect(container(find(objects, 'CronJob', 'db-long-transactions')).args).toEqual(['long-transactions', '--threshold-seconds', '900', '--action', 'cancel']);
    expect(jobSpec(find(objects, 'CronJob', 'db-health')).activeDeadlineSeconds).toEqual(120);
    expect(jobSpec(find(objects, 'CronJob', 'db-slow-queries')).activeDeadlineSeconds).toEqual(1800);
    expect(find(objects, 'CronJob', 'db-replication-lag').spec.suspend).toBe(true);
    expect(container(backup).env).toEqual(
      expect.arrayContaining([
        { name: 'PGHOST', value: 'db.aiaas.svc' },
        { name: 'PGPORT', value: '6432' },
        { name: 'PGDATABASE', value: 'app' },
        { name: 'PGSSLMODE', value: 'require' },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'postgres-credentials-v2', key: 'pass' } } },
        { name: 'PUSHGATEWAY_URL', value: 'http://pgw.obs:9091' },
      ]),
    );
    expect(podSpec(backup).securityContext).toMatchObject({ runAsUser: 20000, runAsGroup: 20001, fsGroup: 20001 });
    expect(container(backup).securityContext).toMatchObject({ runAsUser: 20000, runAsGroup: 20001 });
    expect(find(objects, 'PersistentVolumeClaim', 'aiaas-db-backups').spec).toMatchObject({
      storageClassName: 'fast-ssd',
      resources: { requests: { storage: '50Gi' } },
    });
    const egress = find(objects, 'NetworkPolicy', 'aiaas-job').spec.egress;
    expect(egress[0]).toEqual({ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgresql' } } }], ports: [{ protocol: 'TCP', port: 6432 }] });
    expect(egress[1].to).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } }, podSelector: { matchLabels: { app: 'coredns' } } },
    ]);
    expect(egress[2]).toEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'obs' } }, podSelector: { matchLabels: { app: 'pushgateway' } } }],
      ports: [{ protocol: 'TCP', port: 9092 }],
    });
    expect(ofKind(objects, 'NetworkPolicy').map((p) => p.metadata.name)).toEqual(['aiaas-job']);
    // every 6 hours: 6 h + 300 + 7200 + 1 h
    expect(construct.cronJobs.find((c) => c.task === 'backup')!.maxAgeSeconds).toEqual(6 * 3600 + 300 + 7200 + 3600);
  });

  test.each([
    [{}, {}, '0'],
    [{}, { postgresReplicas: 3 }, '2'],
    // an explicit value wins over the derived one, also 0 with replicas
    [{ tasks: { replicationLag: { expectedStandbys: 0 } } }, { postgresReplicas: 3 }, '0'],
    [{ tasks: { replicationLag: { expectedStandbys: 4 } } }, {}, '4'],
  ])('replication-lag --expected-standbys from config %j and props %j is %s', (config, props, expected) => {
    const { objects, construct } = synth(config as DbMaintenanceConfigInput, props);
    const args: string[] = container(find(objects, 'CronJob', 'db-replication-lag')).args;
    expect(args[args.indexOf('--expected-standbys') + 1]).toEqual(expected);
    expect(construct.expectedStandbys).toEqual(Number(expected));
  });

  test.each([0, 1.5])('fails if postgresReplicas is %p', (n) => {
    expect(() => synth({}, { postgresReplicas: n })).toThrow(`'postgresReplicas' (${n}) must be an integer of at least 1 (the primary)`);
  });

  test('without a namespace, objects take the chart namespace', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'aiaas-staging' });
    new DbMaintenance(chart, 'DbMaintenance', { config: dbMaintenanceConfigSchema.parse({}) });
    const objects = chart.toJson() as K8sObject[];
    expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set(['aiaas-staging']));
  });

  test('the pod labels constant matches the NetworkPolicy selector', () => {
    expect(AIAAS_JOB_POD_LABELS).toEqual({ 'app.kubernetes.io/name': 'aiaas-job' });
  });

  test('fails if postgresPodLabels is empty', () => {
    expect(() => synth({}, { postgresPodLabels: {} })).toThrow(
      "'postgresPodLabels' ({}) must not be empty: an empty selector would let the jobs reach every pod in the namespace",
    );
  });

  test('fails if a schedule bypassing the schema is invalid, naming the field', () => {
    // GIVEN a config built without the schema
    const config = dbMaintenanceConfigSchema.parse({});
    const broken = { ...config, tasks: { ...config.tasks, vacuumAnalyze: { ...config.tasks.vacuumAnalyze, schedule: '0 3 * *' } } };

    // THEN
    expect(() => new DbMaintenance(Testing.chart(), 'DbMaintenance', { config: broken })).toThrow(
      "'dbMaintenance.tasks.vacuumAnalyze.schedule' ('0 3 * *'): expected 5 fields",
    );
  });

  test('fails if the backup size bypassing the schema is invalid', () => {
    const config = dbMaintenanceConfigSchema.parse({});
    expect(
      () => new DbMaintenance(Testing.chart(), 'DbMaintenance', { config: { ...config, backupVolume: { size: '20GB' } } }),
    ).toThrow("storage size '20GB' is not valid; expected a size like '512Mi', '20Gi' or '1Ti'");
  });
});

describe('DbMaintenance with an off-cluster copy (backupBucket)', () => {
  const backupBucket = {
    bucket: 'acme-db-backups', endpoint: 'http://minio.minio.svc:9000', pathStyle: true, prefix: 'aiaas/prod/',
    credentialsSecret: { secret: 'backup-bucket' }, egress: { cidrs: ['10.96.12.0/24'] },
  };
  const { objects } = synth({ backupBucket, tasks: { backup: { bucketKeep: 30 }, restoreVerify: { fromBucket: true }, restore: { fromBucket: true } } });
  const cronJob = (name: string) => find(objects, 'CronJob', name);

  test('backup, restore-verify and restore get the bucket flags, and its keys by Secret reference only', () => {
    expect(container(cronJob('db-backup')).args).toEqual(expect.arrayContaining([
      '--bucket-keep', '30', '--bucket', 'acme-db-backups', '--bucket-endpoint', 'http://minio.minio.svc:9000',
      '--bucket-region', 'us-east-1', '--bucket-prefix', 'aiaas/prod/', '--bucket-path-style',
    ]));
    expect(container(cronJob('db-restore-verify')).args).toEqual(expect.arrayContaining(['--from-bucket', '--bucket', 'acme-db-backups']));
    expect(container(cronJob('db-restore')).args).toEqual(expect.arrayContaining(['--from-bucket', '--bucket', 'acme-db-backups', '--bucket-path-style']));
    // without fromBucket the restore CronJob still knows the bucket: one run can add --from-bucket
    const plainRestore = find(synth({ backupBucket }).objects, 'CronJob', 'db-restore');
    expect(container(plainRestore).args).toEqual(expect.arrayContaining(['--bucket', 'acme-db-backups']));
    expect(container(plainRestore).args).not.toContain('--from-bucket');
    for (const name of ['db-backup', 'db-restore-verify', 'db-restore']) {
      const env = container(cronJob(name)).env;
      expect(env).toEqual(expect.arrayContaining([
        { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'backup-bucket', key: 'access-key-id' } } },
        { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'backup-bucket', key: 'secret-access-key' } } },
      ]));
    }
    // the other tasks never see the bucket's keys
    for (const c of ofKind(objects, 'CronJob').filter((o) => !['db-backup', 'db-restore-verify', 'db-restore'].includes(o.metadata.name))) {
      expect(JSON.stringify(container(c))).not.toMatch(/AWS_|bucket/);
    }
    validateAll(objects);
  });

  test('only the backup, restore-verify and restore pods may reach the endpoint, on its CIDRs and its URL port', () => {
    const np = find(objects, 'NetworkPolicy', 'aiaas-job-bucket');
    expect(np.spec).toEqual({
      podSelector: {
        matchLabels: AIAAS_JOB_POD_LABELS,
        matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['backup', 'restore-verify', 'restore'] }],
      },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.96.12.0/24' } }], ports: [{ protocol: 'TCP', port: 9000 }] }],
    });
    expect(() => new NetworkPolicy(np as any).validate()).not.toThrow();
    const aws = synth({ backupBucket: { ...backupBucket, endpoint: undefined, egress: { cidrs: ['52.95.128.0/21'] } } }).objects;
    expect(find(aws, 'NetworkPolicy', 'aiaas-job-bucket').spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 443 }]);
  });

  test('no bucket section: no bucket flags, keys or egress', () => {
    const plain = synth().objects;
    expect(plain.some((o) => o.metadata.name === 'aiaas-job-bucket')).toBe(false);
    expect(JSON.stringify(plain)).not.toMatch(/AWS_|--bucket"/);
    expect(JSON.stringify(plain)).not.toContain('--bucket-keep');
  });

  test.each([
    [{ tasks: { restoreVerify: { fromBucket: true } } }, /tasks\.restoreVerify\.fromBucket.*needs dbMaintenance\.backupBucket/],
    [{ tasks: { restore: { fromBucket: true } } }, /tasks\.restore\.fromBucket.*restore from the bucket needs dbMaintenance\.backupBucket/],
    [{ backupBucket: { ...backupBucket, bucket: 'Acme_Backups' } }, /backupBucket\.bucket.*expected a bucket name/],
    [{ backupBucket: { ...backupBucket, prefix: '/aiaas' } }, /backupBucket\.prefix.*ending in '\/'/],
    [{ backupBucket: { ...backupBucket, egress: { cidrs: [] } } }, /backupBucket\.egress\.cidrs.*at least one CIDR/],
    [{ backupBucket: { ...backupBucket, credentialsSecret: {} } }, /backupBucket\.credentialsSecret\.secret/],
    [{ backupBucket: { ...backupBucket, accessKey: 'AKIA...' } }, /backupBucket.*accessKey/],
  ])('a misconfigured bucket is refused, naming the field (%#)', (config, message) => {
    const r = dbMaintenanceConfigSchema.safeParse(config);
    expect(r.success).toBe(false);
    const text = r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message} ${JSON.stringify(i)}`).join('\n');
    expect(text).toMatch(message);
  });
});
