// Issue 10: one test (or a few) per numbered item, each failing on the output before the fix.
import { find, K8sObject, ofKind, servicePatch, synthPlatformObjects } from './support/synth';
import { validateAll } from './support/validate-schema';
import { grants } from './support/rbac';

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
    const rotated = synthPlatformObjects({ dbMaintenance: { credentialsSecret: { secret: 'aiaas-job-db-credentials-v2' } } });
    for (const { container } of jobContainers(rotated)) {
      expect(JSON.stringify(container.env)).not.toContain('"aiaas-job-db-credentials"');
      expect(JSON.stringify(container.env)).toContain('aiaas-job-db-credentials-v2');
    }
  });

  test('fails if the jobs are given the application\'s Secret (one source of truth per credential, no shared user)', () => {
    expect(() => synthPlatformObjects({ dbMaintenance: { credentialsSecret: { secret: 'postgres-credentials' } } })).toThrow(
      /dbMaintenance\.credentialsSecret\.secret: 'postgres-credentials' is also secrets\.databaseCredentials/,
    );
    expect(() =>
      synthPlatformObjects({ secrets: { apiKeys: 'api-keys', databaseCredentials: 'db-v2' }, dbMaintenance: { credentialsSecret: { secret: 'db-v2' } } }),
    ).toThrow(/'db-v2' is also secrets\.databaseCredentials/);
  });

  test('sslmode verify-full mounts the CA from a Secret, read-only, as PGSSLROOTCERT', () => {
    const objects = synthPlatformObjects({
      dbMaintenance: { database: { sslmode: 'verify-full', caSecret: { secret: 'postgres-ca', key: 'root.pem' } } },
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

const podSpecsOf = (objects: K8sObject[]) => [
  ...ofKind(objects, 'Deployment').map((d) => d.spec.template.spec),
  ...ofKind(objects, 'Job').map((j) => j.spec.template.spec),
  ...ofKind(objects, 'CronJob').map((c) => c.spec.jobTemplate.spec.template.spec),
];
const deployment = (objects: K8sObject[], name: string) => find(objects, 'Deployment', name).spec.template.spec;

describe('issue 10.10: readiness and liveness are different checks', () => {
  test('readiness GETs the health path; liveness is a process-only TCP check by default, or its own path', () => {
    const container = deployment(reference, 'api-gateway-blue').containers[0];
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/health', port: 8000 });
    expect(container.livenessProbe.httpGet).toBeUndefined();
    expect(container.livenessProbe.tcpSocket).toEqual({ port: 8000 });
    const custom = synthPlatformObjects(servicePatch({ name: 'api-gateway', livenessPath: '/livez' }));
    expect(deployment(custom, 'api-gateway-blue').containers[0].livenessProbe.httpGet).toMatchObject({ path: '/livez', port: 8000 });
  });

  test('fails if the liveness path is the readiness path', () => {
    expect(() => synthPlatformObjects(servicePatch({ name: 'api-gateway', livenessPath: '/health' }))).toThrow(
      /services\[api-gateway\]\.livenessPath: expected a path other than healthPath/,
    );
  });
});

describe('issue 10.11: disruption budgets never block a drain', () => {
  test('every PDB lets unhealthy pods be evicted and keeps minAvailable below the pods that run', () => {
    const budgets = ofKind(reference, 'PodDisruptionBudget');
    expect(budgets.length).toBeGreaterThan(0);
    for (const pdb of budgets) {
      expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
      const deploymentSpec = find(reference, 'Deployment', pdb.metadata.name).spec;
      const hpa = ofKind(reference, 'HorizontalPodAutoscaler').find((h) => h.metadata.name === pdb.metadata.name);
      expect(pdb.spec.minAvailable).toBeLessThan(hpa ? hpa.spec.minReplicas : deploymentSpec.replicas);
    }
  });

  test.each([
    [{ name: 'api-gateway', minAvailable: 2 }, /services\[api-gateway\]\.minAvailable: must be below replicas \(2\)/],
    [{ name: 'api-gateway', replicas: 1 }, /services\[api-gateway\]\.minAvailable: must be below replicas \(1\)/],
    [{ name: 'realtime-service', minAvailable: 3 }, /services\[realtime-service\]\.minAvailable: must be below autoscaling\.minReplicas \(3\)/],
  ])('fails if %j', (patch, message) => {
    expect(() => synthPlatformObjects(servicePatch(patch))).toThrow(message);
  });
});

describe('issue 10.12: two replicas of a colour never share a node', () => {
  test('hostname spreading is required (DoNotSchedule) for 2+ replicas, zones stay soft, per ReplicaSet', () => {
    for (const name of ['api-gateway-blue', 'orchestrator-green', 'realtime-service-blue']) {
      const [hostname, zone] = deployment(reference, name).topologySpreadConstraints;
      expect(hostname).toMatchObject({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', maxSkew: 1, matchLabelKeys: ['pod-template-hash'] });
      expect(zone).toMatchObject({ topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' });
    }
  });

  test('configurable per service, and soft for a single replica', () => {
    const preferred = synthPlatformObjects(servicePatch({ name: 'api-gateway', nodeSpread: 'preferred' }));
    expect(deployment(preferred, 'api-gateway-blue').topologySpreadConstraints[0].whenUnsatisfiable).toBe('ScheduleAnyway');
    const single = synthPlatformObjects(servicePatch({ name: 'api-gateway', replicas: 1, minAvailable: 0 }));
    expect(deployment(single, 'api-gateway-blue').topologySpreadConstraints[0].whenUnsatisfiable).toBe('ScheduleAnyway');
  });
});

describe('issue 10.13: images by digest', () => {
  const digest = `@sha256:${'c'.repeat(64)}`;

  test('tags are re-resolved at every start (Always); digests use the cached copy (IfNotPresent)', () => {
    for (const pod of podSpecsOf(reference)) {
      for (const container of pod.containers) {
        expect(container.imagePullPolicy).toBe('Always');
      }
    }
    const pinned = synthPlatformObjects({ services: [{ name: 'api-gateway', images: { blue: `ghcr.io/aiaas/api-gateway:1.0.0${digest}`, green: `ghcr.io/aiaas/api-gateway${digest}` } }] });
    expect(deployment(pinned, 'api-gateway-blue').containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(deployment(pinned, 'api-gateway-green').containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  test('requireDigests refuses every tag-only image, naming each field', () => {
    let message = '';
    try {
      synthPlatformObjects({ imagePolicy: { requireDigests: true } });
    } catch (e) {
      message = (e as Error).message;
    }
    for (const field of ['services[api-gateway].images.blue', 'services[tool-service].images.green', 'smokeTestImage', 'dbMaintenance.image']) {
      expect(message).toContain(`${field}: imagePolicy.requireDigests is on`);
    }
  });

  test('requireDigests passes when every image is pinned by digest', () => {
    const services = ['api-gateway', 'orchestrator', 'tool-service', 'realtime-service'].map((name) => ({
      name,
      images: { blue: `ghcr.io/aiaas/${name}${digest}`, green: `ghcr.io/aiaas/${name}${digest}` },
    }));
    const objects = synthPlatformObjects({
      imagePolicy: { requireDigests: true },
      services,
      smokeTestImage: `curlimages/curl:8.10.1${digest}`,
      dbMaintenance: { image: `ghcr.io/aiaas/aiaas-job:0.1.0${digest}` },
    });
    for (const pod of podSpecsOf(objects)) {
      expect(pod.containers.every((c: any) => c.image.endsWith(digest) && c.imagePullPolicy === 'IfNotPresent')).toBe(true);
    }
  });

  test('fails on a malformed digest', () => {
    expect(() => synthPlatformObjects({ smokeTestImage: 'curlimages/curl@sha256:abc' })).toThrow(/smokeTestImage: expected a digest like registry\/app@sha256:<64 hex digits>/);
  });
});

describe('issue 10.14: ephemeral storage and the default ServiceAccount', () => {
  test('every container requests and limits ephemeral storage', () => {
    for (const pod of podSpecsOf(reference)) {
      for (const container of pod.containers) {
        expect(container.resources.requests['ephemeral-storage']).toBeDefined();
        expect(container.resources.limits['ephemeral-storage']).toBeDefined();
      }
    }
  });

  test('the namespace\'s default ServiceAccount is managed and mounts no token', () => {
    expect(find(reference, 'ServiceAccount', 'default')).toMatchObject({ metadata: { namespace: 'aiaas' }, automountServiceAccountToken: false });
  });
});

describe('issue 10.1: the deployer watches a GitOps promotion, it cannot run workloads', () => {
  const deployer = find(reference, 'Role', 'aiaas-deployer').rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  const oncall = find(reference, 'Role', 'aiaas-oncall').rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];

  test.each([
    ['batch', 'jobs', 'create'],
    ['', 'pods', 'create'],
    ['apps', 'deployments', 'patch'],
    ['apps', 'deployments', 'update'],
    ['apps', 'deployments/scale', 'patch'],
    ['', 'services', 'patch'],
    ['', 'services', 'update'],
    ['', 'secrets', 'get'],
  ])('no %s/%s %s', (group, resource, verb) => {
    expect(grants(deployer, group, resource, verb)).toBe(false);
    expect(grants(oncall, group, resource, verb)).toBe(false);
  });

  test('reads what `kubectl rollout status`, `kubectl wait job` and logs need', () => {
    for (const [group, resource] of [['apps', 'deployments'], ['apps', 'replicasets'], ['', 'pods'], ['', 'pods/log'], ['batch', 'jobs'], ['', 'events']]) {
      expect(grants(deployer, group, resource, 'watch') || resource === 'pods/log').toBe(true);
      expect(grants(deployer, group, resource, 'get')).toBe(true);
    }
  });

  test('exactly the verbs of `kubectl argo rollouts status|promote|abort|undo` on argoproj.io, and only under that engine', () => {
    const argo = (rules: typeof deployer) => rules.filter((r) => r.apiGroups.includes('argoproj.io'));
    const argoObjects = synthPlatformObjects({ blueGreen: { engine: 'argo-rollouts' } });
    const argoDeployer = find(argoObjects, 'Role', 'aiaas-deployer').rules as typeof deployer;
    expect(argo(argoDeployer)).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['rollouts', 'analysisruns', 'experiments', 'analysistemplates'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['argoproj.io'], resources: ['rollouts/status'], verbs: ['patch'] }, // promote, abort
      { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['patch'] }, // undo, promote of a paused Rollout
    ]);
    // On-call: status and abort (the brake), not undo or promote's spec patch.
    expect(argo(find(argoObjects, 'Role', 'aiaas-oncall').rules)).toEqual(argo(argoDeployer).slice(0, 2));
    // Engine deployments: nothing on argoproj.io.
    expect(argo(deployer)).toEqual([]);
    expect(argo(oncall)).toEqual([]);
  });

  test('every synthesized Role validates and binds only groups', () => {
    validateAll(ofKind(reference, 'Role'));
    for (const binding of ofKind(reference, 'RoleBinding').filter((b) => b.metadata.name.startsWith('aiaas-'))) {
      expect(binding.subjects.every((s: any) => s.kind === 'Group')).toBe(true);
    }
  });
});
