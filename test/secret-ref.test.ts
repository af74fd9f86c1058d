import { parsePlatformConfig } from '../src/config/load-config';
import { MonitoringConfigInput, parseMonitoringConfig } from '../src/config/monitoring-config';
import { databaseCredentialsSchema, SecretCredentials, SecretEnvVar, SecretKeyRef, secretKeyRefSchema } from '../src/config/secret-ref';
import { problemsOf } from './support/config-problems';
import { RUNBOOK_URL } from './support/reference';

const BUCKET = { bucket: 'aiaas-backups', egress: { cidrs: ['10.96.12.0/24'] } };

describe('one shape for a key of a Secret', () => {
  test('every secret reference of the config reads { secret, key... }', () => {
    // GIVEN
    const config = parsePlatformConfig({
      monitoring: {
        runbookBaseUrl: RUNBOOK_URL,
        escalation: {
          manager: {
            notify: {
              pagerduty: { secret: 'pd', key: 'manager' },
              email: { to: 'm@example.com', from: 'am@example.com', smarthost: 'smtp.example.com:587', authPassword: { secret: 'smtp', key: 'password' } },
            },
          },
        },
      },
      dbMaintenance: {
        database: { sslmode: 'verify-full', caSecret: { secret: 'postgres-ca' } },
        credentialsSecret: { secret: 'jobs-db' },
        backupBucket: { ...BUCKET, credentialsSecret: { secret: 'bucket-keys' } },
      },
    });

    // THEN
    expect(config.monitoring.escalation.manager.notify.pagerduty).toEqual({ secret: 'pd', key: 'manager' });
    expect(config.monitoring.escalation.manager.notify.email?.authPassword).toEqual({ secret: 'smtp', key: 'password' });
    expect(config.monitoring.escalation.onCall.notify.pagerduty).toEqual({ secret: 'alertmanager-pagerduty', key: 'oncall-routing-key' });
    expect(config.dbMaintenance.database.caSecret).toEqual({ secret: 'postgres-ca', key: 'ca.crt' });
    expect(config.dbMaintenance.credentialsSecret).toEqual({ secret: 'jobs-db', usernameKey: 'username', passwordKey: 'password' });
    expect(config.dbMaintenance.backupBucket?.credentialsSecret).toEqual({
      secret: 'bucket-keys',
      accessKeyIdKey: 'access-key-id',
      secretAccessKeyKey: 'secret-access-key',
    });
    expect(config.services.find((s) => s.name === 'api-gateway')?.secretEnv).toEqual([{ env: 'API_KEY', secret: 'apiKeys', key: 'key' }]);

    // The parsed config is the shared interfaces (a schema drifting from them fails to compile).
    const shapes: [SecretKeyRef | undefined, SecretKeyRef | undefined, SecretCredentials, SecretEnvVar[]] = [
      config.monitoring.escalation.manager.notify.pagerduty,
      config.dbMaintenance.database.caSecret,
      config.dbMaintenance.credentialsSecret,
      config.services[0].secretEnv,
    ];
    expect(shapes).toHaveLength(4);
  });

  test.each<[string, unknown, string]>([
    [
      'monitoring secretName',
      { monitoring: { escalation: { onCall: { notify: { pagerduty: { secretName: 'pd', key: 'oncall' } } } } } },
      "monitoring.escalation.onCall.notify.pagerduty.secretName: renamed 'secret': expected { secret: <Secret name>, key } (got secretName: 'pd')",
    ],
    [
      'the e-mail password secretName',
      {
        monitoring: {
          escalation: {
            manager: { notify: { email: { to: 'm@example.com', from: 'a@example.com', smarthost: 'smtp.example.com:587', authPassword: { secretName: 'smtp', key: 'p' } } } },
          },
        },
      },
      "monitoring.escalation.manager.notify.email.authPassword.secretName: renamed 'secret': expected { secret: <Secret name>, key } (got secretName: 'smtp')",
    ],
    [
      'the CA certificate name',
      { dbMaintenance: { database: { sslmode: 'verify-full', caSecret: { name: 'postgres-ca' } } } },
      "dbMaintenance.database.caSecret.name: renamed 'secret': expected { secret: <Secret name>, key } (got name: 'postgres-ca')",
    ],
    [
      "the jobs' credentials name",
      { dbMaintenance: { credentialsSecret: { name: 'jobs-db-v2' } } },
      "dbMaintenance.credentialsSecret.name: renamed 'secret': expected { secret: <Secret name>, usernameKey, passwordKey } (got name: 'jobs-db-v2')",
    ],
    [
      "the bucket's credentials name",
      { dbMaintenance: { backupBucket: { ...BUCKET, credentialsSecret: { name: 'bucket-keys' } } } },
      "dbMaintenance.backupBucket.credentialsSecret.name: renamed 'secret': expected { secret: <Secret name>, accessKeyIdKey, secretAccessKeyKey } (got name: 'bucket-keys')",
    ],
  ])('fails if a reference uses the old field name (%s), naming the new one', (_, input, message) => {
    // WHEN
    const problems = problemsOf(input);

    // THEN: one problem, the rename (the old value stands in for `secret`: no second "secret: Required")
    expect(problems).toEqual([message]);
  });

  test('fails if the old name holds a bad value too: both are reported', () => {
    const result = secretKeyRefSchema.safeParse({ name: 'Bad_Name', key: 'k' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      "name: renamed 'secret': expected { secret: <Secret name>, key } (got name: 'Bad_Name')",
      'secret: expected a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit',
    ]);
  });

  test('fails if a key without a default is missing (at compile time too)', () => {
    // @ts-expect-error: `key` has no default here
    const input: MonitoringConfigInput = { escalation: { onCall: { notify: { pagerduty: { secret: 'pd' } } } } };
    expect(() => parseMonitoringConfig(input)).toThrow(/^invalid monitoring config:\nmonitoring\.escalation\.onCall\.notify\.pagerduty\.key: Required$/);
  });

  test('fails if a key is not a Secret key, naming the value', () => {
    const result = databaseCredentialsSchema.safeParse({ secret: 's', usernameKey: 'user name' });
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      "usernameKey: expected a Secret key of letters, digits, '-', '_' or '.' (got 'user name')",
    ]);
  });

  test('fails if a service reads a Secret key that Kubernetes would refuse', () => {
    expect(problemsOf({ services: [{ name: 'api-gateway', secretEnv: [{ env: 'API_KEY', secret: 'apiKeys', key: 'a key' }] }] })).toContain(
      "services[api-gateway].secretEnv.0.key: expected a Secret key of letters, digits, '-', '_' or '.' (got 'a key')",
    );
  });
});
