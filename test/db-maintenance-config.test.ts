import { formatIssues } from '../src/config/load-config';
import { dbMaintenanceConfigSchema, isTimeZone } from '../src/config/db-maintenance-config';

/** The messages the lead's loader prints (`dotted.path: message`). */
function problems(input: unknown): string[] {
  const result = dbMaintenanceConfigSchema.safeParse(input);
  if (result.success) {
    return [];
  }
  return formatIssues(result.error.issues);
}

describe('dbMaintenanceConfigSchema', () => {
  test('defaults follow the runbook, with staggered schedules', () => {
    // WHEN
    const config = dbMaintenanceConfigSchema.parse({});

    // THEN
    expect(config.image).toEqual('ghcr.io/aiaas/aiaas-job:0.1.0');
    expect(config.timeZone).toEqual('Etc/UTC');
    expect(config.database).toEqual({ host: 'postgres', port: 5432, database: 'aiaas', sslmode: 'require' });
    expect(config.credentialsSecret).toEqual({ secret: 'aiaas-job-db-credentials', usernameKey: 'username', passwordKey: 'password' });
    expect(config.backupVolume).toEqual({ size: '20Gi' });
    expect(config.pushgateway).toEqual({
      url: 'http://prometheus-pushgateway.monitoring.svc:9091',
      namespace: 'monitoring',
      podLabels: { 'app.kubernetes.io/name': 'prometheus-pushgateway' },
      port: 9091,
    });
    expect(config.job).toEqual({
      startingDeadlineSeconds: 600,
      activeDeadlineSeconds: 3600,
      backoffLimit: 2,
      ttlSecondsAfterFinished: 691_200,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    // restore has no schedule: it only runs when a person starts it
    expect(config.tasks.restore).toEqual({ targetDatabase: 'aiaas_restored', jobs: 2, fromBucket: false, activeDeadlineSeconds: 14_400 });
    expect(Object.fromEntries(Object.entries(config.tasks).filter(([k]) => k !== 'restore')
      .map(([k, t]) => [k, 'schedule' in t ? t.schedule : undefined]))).toEqual({
      dbHealth: '0 1 * * *',
      slowQueries: '15 1 * * *',
      tableSizes: '30 1 * * *',
      backup: '0 2 * * *',
      longTransactions: '0 3 * * 0',
      replicationLag: '15 3 * * 0',
      vacuumAnalyze: '30 3 * * 0',
      restoreVerify: '0 4 * * 0',
    });
    expect(config.tasks.dbHealth.maxConnectionRatio).toEqual(0.8);
    expect(config.tasks.slowQueries.limit).toEqual(10);
    expect(config.tasks.longTransactions).toMatchObject({ thresholdSeconds: 300, action: 'report' });
    expect(config.tasks.backup).toMatchObject({ keep: 7, suspend: false, activeDeadlineSeconds: 7200 });
    expect(config.tasks.dbHealth.activeDeadlineSeconds).toBeUndefined();
    expect(config.tasks.restoreVerify).toMatchObject({ tables: ['users'], scratchDatabase: 'aiaas_restore_verify' });
    expect(config.configBackup).toMatchObject({ enabled: false, schedule: '30 2 * * *', keep: 14 });
    expect(config.configBackup.image).toBeUndefined();
    expect(config.configBackup.resourceTypes).not.toContain('secrets');
  });

  test('accepts overrides', () => {
    const config = dbMaintenanceConfigSchema.parse({
      timeZone: 'Europe/Berlin',
      image: 'ghcr.io/aiaas/aiaas-job@sha256:' + 'a'.repeat(64),
      tasks: { backup: { schedule: '0 23 * * *', keep: 3 }, restoreVerify: { tables: ['users', 'public.orders'] } },
      backupVolume: { size: '1Ti', storageClassName: 'fast' },
    });
    expect(config.tasks.backup).toMatchObject({ schedule: '0 23 * * *', keep: 3 });
    expect(config.backupVolume).toEqual({ size: '1Ti', storageClassName: 'fast' });
  });

  test.each([
    [{ image: 'ghcr.io/aiaas/aiaas-job:latest' }, "image: expected a pinned tag: ':latest' is not reproducible (got 'ghcr.io/aiaas/aiaas-job:latest')"],
    [{ image: 'ghcr.io/aiaas/aiaas-job' }, 'image: expected an image with an explicit tag or digest, like registry/app:1.2.3'],
    [{ timeZone: 'Mars/Olympus_Mons' }, "timeZone: expected an IANA time zone name like 'Etc/UTC' or 'Europe/Berlin' (got 'Mars/Olympus_Mons')"],
    [{ timeZone: 'europe/berlin' }, 'timeZone: expected an IANA time zone name'],
    [{ tasks: { backup: { schedule: '0 2 * *' } } }, "tasks.backup.schedule: invalid cron schedule: expected 5 fields 'minute hour day-of-month month day-of-week' separated by spaces, got 4 in '0 2 * *'"],
    [{ tasks: { dbHealth: { schedule: '60 1 * * *' } } }, 'tasks.dbHealth.schedule: invalid cron schedule: minute 60 is out of range; expected 0-59'],
    [{ tasks: { backup: { keep: -1 } } }, 'tasks.backup.keep: expected 1 or more'],
    [{ tasks: { backup: { keep: 0 } } }, 'tasks.backup.keep: expected 1 or more'],
    [{ tasks: { vacuumAnalyze: { lockTimeoutMs: 3_600_001 } } }, 'tasks.vacuumAnalyze.lockTimeoutMs: expected at most 3600000 ms'],
    [{ tasks: { backup: { keep: 1.5 } } }, 'tasks.backup.keep: expected a whole number'],
    [{ tasks: { slowQueries: { limit: 0 } } }, 'tasks.slowQueries.limit: expected 1 or more'],
    [{ tasks: { dbHealth: { maxConnectionRatio: 1.5 } } }, 'tasks.dbHealth.maxConnectionRatio: expected a ratio in (0, 1], e.g. 0.05 for 5 % (got 1.5)'],
    [{ tasks: { tableSizes: { maxDeadRatio: 0 } } }, 'tasks.tableSizes.maxDeadRatio: expected a ratio in (0, 1], e.g. 0.05 for 5 % (got 0)'],
    [{ tasks: { tableSizes: { schema: 'public; drop' } } }, 'tasks.tableSizes.schema: expected a PostgreSQL identifier'],
    [{ tasks: { longTransactions: { action: 'kill' } } }, "tasks.longTransactions.action: expected one of 'report', 'cancel', 'terminate'"],
    [{ tasks: { replicationLag: { expectedStandbys: -1 } } }, 'tasks.replicationLag.expectedStandbys: expected 0 or more'],
    [{ tasks: { restoreVerify: { tables: [] } } }, 'tasks.restoreVerify.tables: expected at least one table'],
    [{ tasks: { restoreVerify: { tables: ['users,orders'] } } }, 'tasks.restoreVerify.tables.0: expected a table name like users or public.users'],
    [{ tasks: { restoreVerify: { scratchDatabase: 'aiaas' } } }, "tasks.restoreVerify.scratchDatabase: 'aiaas' is the maintained database, which restore-verify would drop; expected another name"],
    [{ tasks: { vacuum: {} } }, "tasks: unknown field(s) 'vacuum'"],
    [{ tasks: { backup: { retention: 3 } } }, "tasks.backup: unknown field(s) 'retention'"],
    [{ database: { sslmode: 'on' } }, "database.sslmode: expected one of 'disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'"],
    [{ database: { port: 70000 } }, 'database.port: expected a port from 1 to 65535'],
    [{ credentialsSecret: { secret: 'Postgres_Creds' } }, 'credentialsSecret.secret: expected a DNS-1123 label'],
    [{ credentialsSecret: { passwordKey: 'pass word' } }, 'credentialsSecret.passwordKey: expected a Secret key'],
    [{ backupVolume: { size: '20GB' } }, "backupVolume.size: expected a storage size like '512Mi', '20Gi' or '1Ti'"],
    [{ pushgateway: { url: 'pushgateway:9091' } }, 'pushgateway.url: expected an http(s) URL like http://prometheus-pushgateway.monitoring.svc:9091'],
    [{ job: { startingDeadlineSeconds: 5 } }, 'job.startingDeadlineSeconds: expected at least 10 seconds: the CronJob controller checks every 10 seconds'],
    [{ job: { backoffLimit: -1 } }, 'job.backoffLimit: expected 0 or more'],
    [{ resources: { memoryLimit: '1G' } }, "resources.memoryLimit: expected a memory quantity like '256Mi' or '1Gi'"],
    [{ configBackup: { resourceTypes: ['deployments', 'secrets'] } }, 'configBackup.resourceTypes.1: secrets cannot be backed up: plain YAML would expose their data'],
    [{ configBackup: { resourceTypes: ['*'] } }, "configBackup.resourceTypes.0: unknown resource '*'; expected one of configmaps, services"],
    [{ configBackup: { resourceTypes: [] } }, 'configBackup.resourceTypes: expected at least one resource type'],
    [{ configBackup: { image: 'bitnami/kubectl:latest' } }, 'configBackup.image: expected an image pinned by digest'],
    [{ configBackup: { apiServer: { cidrs: ['10.0.0.1'] } } }, "configBackup.apiServer.cidrs.0: expected a CIDR block like 203.0.113.0/24 (got '10.0.0.1')"],
    [{ configBackup: { keep: 0 } }, 'configBackup.keep: expected at least 1 backup to keep'],
  ])('fails if %j', (input, message) => {
    const found = problems(input);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((p) => p.startsWith(message))).toBe(true);
  });
});

describe('isTimeZone', () => {
  test.each(['Etc/UTC', 'UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'US/Pacific'])('accepts %p', (zone) => {
    expect(isTimeZone(zone)).toBe(true);
  });
  test.each(['utc', 'europe/berlin', 'Europe/Nowhere', 'Local', '', 'Europe/Berlin '])('refuses %p', (zone) => {
    expect(isTimeZone(zone)).toBe(false);
  });
});
