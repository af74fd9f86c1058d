// Issue 10: one test (or a few) per numbered item, each failing on the output before the fix.
import { find, K8sObject, ofKind, synthPlatformObjects } from './support/synth';
import { validateAll } from './support/validate-schema';

const reference = synthPlatformObjects();
const jobContainers = (objects: K8sObject[]) =>
  ofKind(objects, 'CronJob')
    .filter((c) => c.metadata.labels?.['app.kubernetes.io/name'] === 'aiaas-job')
    .map((c) => ({ cronJob: c, pod: c.spec.jobTemplate.spec.template.spec, container: c.spec.jobTemplate.spec.template.spec.containers[0] }));

describe('issue 10.7 and 10.8: database credentials', () => {
  test('every database CronJob reads the jobs\' own Secret, which the application does not use', () => {
    const jobs = jobContainers(reference);
    expect(jobs.length).toBeGreaterThan(0);
    for (const { container } of jobs) {
      const secretNames = container.env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.valueFrom.secretKeyRef.name);
      expect(new Set(secretNames)).toEqual(new Set(['aiaas-job-db-credentials']));
    }
    const orchestrator = find(reference, 'Deployment', 'orchestrator-blue').spec.template.spec.containers[0];
    expect(orchestrator.env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.valueFrom.secretKeyRef.name)).toEqual([
      'postgres-credentials',
      'postgres-credentials',
    ]);
  });

  test('rotating the jobs\' Secret is one field and moves all the CronJobs', () => {
    const rotated = synthPlatformObjects({ dbMaintenance: { credentialsSecret: { name: 'aiaas-job-db-credentials-v2' } } });
    for (const { container } of jobContainers(rotated)) {
      expect(JSON.stringify(container.env)).not.toContain('"aiaas-job-db-credentials"');
      expect(JSON.stringify(container.env)).toContain('aiaas-job-db-credentials-v2');
    }
  });

  test('fails if the jobs are given the application\'s Secret (one source of truth per credential, no shared user)', () => {
    expect(() => synthPlatformObjects({ dbMaintenance: { credentialsSecret: { name: 'postgres-credentials' } } })).toThrow(
      /dbMaintenance\.credentialsSecret\.name: 'postgres-credentials' is also secrets\.databaseCredentials/,
    );
    expect(() =>
      synthPlatformObjects({ secrets: { apiKeys: 'api-keys', databaseCredentials: 'db-v2' }, dbMaintenance: { credentialsSecret: { name: 'db-v2' } } }),
    ).toThrow(/'db-v2' is also secrets\.databaseCredentials/);
  });

  test('sslmode verify-full mounts the CA from a Secret, read-only, as PGSSLROOTCERT', () => {
    const objects = synthPlatformObjects({
      dbMaintenance: { database: { sslmode: 'verify-full', caSecret: { name: 'postgres-ca', key: 'root.pem' } } },
    });
    validateAll(objects);
    for (const { pod, container } of jobContainers(objects)) {
      expect(container.env).toContainEqual({ name: 'PGSSLMODE', value: 'verify-full' });
      expect(container.env).toContainEqual({ name: 'PGSSLROOTCERT', value: '/etc/aiaas-job/postgres-ca/ca.crt' });
      const mount = container.volumeMounts.find((m: any) => m.mountPath === '/etc/aiaas-job/postgres-ca');
      expect(mount.readOnly).toBe(true);
      const volume = pod.volumes.find((v: any) => v.name === mount.name);
      expect(volume.secret).toMatchObject({ secretName: 'postgres-ca', items: [{ key: 'root.pem', path: 'ca.crt' }] });
    }
  });

  test('fails if sslmode verifies the server without a CA Secret', () => {
    expect(() => synthPlatformObjects({ dbMaintenance: { database: { sslmode: 'verify-ca' } } })).toThrow(
      /dbMaintenance\.database\.caSecret: required when sslmode is 'verify-ca'/,
    );
  });
});
