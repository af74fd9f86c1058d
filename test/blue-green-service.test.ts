import { Duration, Testing } from 'cdk8s';
import { PercentOrAbsolute } from 'cdk8s-plus-28';
import { BlueGreenService, BlueGreenServiceProps, Color, IdleColorPolicy } from '../src/constructs/blue-green-service';
import { diffObjects, find, K8sObject, ofKind } from './support/synth';
import { validateAll } from './support/validate-schema';
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT } from './support/expected';

const images = { blue: 'registry.example/api:1.0.0', green: 'registry.example/api:1.1.0' };

function synth(props: Partial<BlueGreenServiceProps> = {}): K8sObject[] {
  const chart = Testing.chart();
  new BlueGreenService(chart, 'Api', { name: 'api', images, ...props });
  return Testing.synth(chart) as K8sObject[];
}

describe('BlueGreenService', () => {
  test('two Deployments, a stable and a preview Service selecting colours by app/version labels', () => {
    // WHEN
    const objects = synth();

    // THEN
    expect(Testing.synth(Testing.chart())).toEqual([]);
    const blue = find(objects, 'Deployment', 'api-blue');
    const green = find(objects, 'Deployment', 'api-green');
    expect(blue.spec.selector.matchLabels).toEqual({ app: 'api', version: 'blue' });
    expect(green.spec.selector.matchLabels).toEqual({ app: 'api', version: 'green' });
    expect(blue.spec.template.metadata.labels).toMatchObject({ app: 'api', version: 'blue' });
    expect(blue.spec.template.spec.containers[0].image).toBe(images.blue);
    expect(green.spec.template.spec.containers[0].image).toBe(images.green);
    expect(find(objects, 'Service', 'api').spec.selector).toEqual({ app: 'api', version: 'blue' });
    const greenRevision = green.spec.template.metadata.labels['aiaas.io/revision'];
    expect(greenRevision).toMatch(/^[0-9a-f]{10}$/);
    expect(blue.spec.template.metadata.labels['aiaas.io/revision']).not.toBe(greenRevision);
    // The preview reaches only the idle colour's current revision; the stable Service the whole colour.
    expect(find(objects, 'Service', 'api-preview').spec.selector).toEqual({ app: 'api', version: 'green', 'aiaas.io/revision': greenRevision });
    validateAll(objects);
    expect(objects).toMatchSnapshot();
  });

  test('promotion changes only the Services selectors and which colour the smoke Job tests', () => {
    // GIVEN
    const before = synth({ activeColor: Color.BLUE });
    // WHEN
    const after = synth({ activeColor: Color.GREEN });
    // THEN
    const revision = (color: string) => find(before, 'Deployment', `api-${color}`).spec.template.metadata.labels['aiaas.io/revision'];
    expect(diffObjects(before, after)).toEqual([
      `+Job/api-smoke-${revision('blue')}`,
      `-Job/api-smoke-${revision('green')}`,
      'Service/api-preview:/spec/selector/aiaas.io/revision',
      'Service/api-preview:/spec/selector/version',
      'Service/api:/spec/selector/version',
    ]);
    expect(find(after, 'Service', 'api').spec.selector).toEqual({ app: 'api', version: 'green' });
    expect(find(after, 'Service', 'api-preview').spec.selector).toEqual({ app: 'api', version: 'blue', 'aiaas.io/revision': revision('blue') });
  });

  test('the string values of the colour and policy enums are accepted', () => {
    expect(synth({ activeColor: 'green', idleColorPolicy: 'scale-to-zero' })).toEqual(
      synth({ activeColor: Color.GREEN, idleColorPolicy: IdleColorPolicy.SCALE_TO_ZERO }),
    );
  });

  test('rollback is the reverse of promotion and restores the original output', () => {
    const original = synth({ activeColor: Color.BLUE });
    const promoted = synth({ activeColor: Color.GREEN });
    const rolledBack = synth({ activeColor: Color.BLUE });
    expect(diffObjects(promoted, rolledBack)).toHaveLength(5);
    expect(diffObjects(original, rolledBack)).toEqual([]);
  });

  test('cleanup by scale-to-zero changes only the old colour: replicas 0, its PDB and smoke test go', () => {
    const promoted = synth({ activeColor: Color.GREEN });
    const cleaned = synth({ activeColor: Color.GREEN, idleColorPolicy: IdleColorPolicy.SCALE_TO_ZERO });
    const changes = diffObjects(promoted, cleaned);
    expect(changes).toContain('Deployment/api-blue:/spec/replicas');
    expect(changes).toContain('-PodDisruptionBudget/api-blue');
    expect(changes.filter((c) => c.startsWith('-Job/'))).toHaveLength(1);
    expect(changes).toContain('-ServiceAccount/api-smoke-test');
    expect(changes.every((c) => c.includes('api-blue') || c.startsWith('-Job/') || c === '-ServiceAccount/api-smoke-test')).toBe(true);
    expect(find(cleaned, 'Deployment', 'api-blue').spec.replicas).toBe(0);
    expect(find(cleaned, 'Deployment', 'api-green').spec.replicas).toBe(2);
  });

  test('cleanup by removal drops the old Deployment; the preview Service stays (selecting nothing)', () => {
    const cleaned = synth({ activeColor: Color.GREEN, idleColorPolicy: IdleColorPolicy.REMOVE });
    expect(ofKind(cleaned, 'Deployment').map((d) => d.metadata.name)).toEqual(['api-green']);
    expect(find(cleaned, 'Service', 'api').spec.selector.version).toBe('green');
    expect(find(cleaned, 'Service', 'api-preview').spec.selector.version).toBe('blue');
    expect(ofKind(cleaned, 'Job')).toEqual([]);
  });

  test('smoke-test Job calls the preview Service health path and is named by the idle revision', () => {
    const objects = synth();
    const [job] = ofKind(objects, 'Job');
    const greenRevision = find(objects, 'Deployment', 'api-green').spec.template.metadata.labels['aiaas.io/revision'];
    expect(job.metadata.name).toBe(`api-smoke-${greenRevision}`);
    expect(job.spec.ttlSecondsAfterFinished).toBe(86400);
    expect(ofKind(synth({ smokeTestTtl: Duration.minutes(10) }), 'Job')[0].spec.ttlSecondsAfterFinished).toBe(600);
    const container = job.spec.template.spec.containers[0];
    expect(container.args).toContain('http://api-preview:8000/health');
    expect(container.args).toContain('--fail');
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.serviceAccountName).toBe('api-smoke-test');
    expect(find(objects, 'ServiceAccount', 'api-smoke-test').automountServiceAccountToken).toBe(false);
    const newImage = ofKind(synth({ images: { ...images, green: 'registry.example/api:1.2.0' } }), 'Job')[0];
    expect(newImage.metadata.name).not.toBe(job.metadata.name);
  });

  test('the smoke Job name stays a 63-character label for the longest service name', () => {
    const name = 'a'.repeat(50);
    const [job] = ofKind(synth({ name }), 'Job');
    expect(job.metadata.name).toMatch(/^a{46}-smoke-[0-9a-f]{10}$/);
    expect(job.metadata.name.length).toBe(63);
  });

  test('rolling update, probes, resources, PDB and spread inside a colour', () => {
    const objects = synth({ rollout: { maxSurge: PercentOrAbsolute.absolute(1), maxUnavailable: PercentOrAbsolute.percent(10), progressDeadline: Duration.minutes(5), revisionHistoryLimit: 3, minReady: Duration.seconds(10) } });
    const spec = find(objects, 'Deployment', 'api-blue').spec;
    expect(spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: '10%' });
    expect(spec.progressDeadlineSeconds).toBe(300);
    expect(spec.minReadySeconds).toBe(10);
    expect(spec.revisionHistoryLimit).toBe(3);
    const container = spec.template.spec.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe('/health');
    expect(container.livenessProbe).not.toEqual(container.readinessProbe);
    expect(container.resources).toEqual({ requests: { 'cpu': '250m', 'memory': '256Mi', 'ephemeral-storage': '1Gi' }, limits: { 'cpu': '1000m', 'memory': '512Mi', 'ephemeral-storage': '2Gi' } });
    expect(spec.template.spec.topologySpreadConstraints.map((c: any) => c.topologyKey)).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    expect(find(objects, 'PodDisruptionBudget', 'api-blue').spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: { app: 'api', version: 'blue' } },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });

  test('autoscaling adds an HPA per running colour and leaves replicas to it', () => {
    const objects = synth({ autoscaling: { minReplicas: 3, maxReplicas: 10 } });
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'api-blue');
    expect(hpa.spec.minReplicas).toBe(3);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api-blue' });
    expect(find(objects, 'Deployment', 'api-blue').spec.replicas).toBeUndefined();
    const scaledDown = synth({ autoscaling: { minReplicas: 3, maxReplicas: 10 }, idleColorPolicy: IdleColorPolicy.SCALE_TO_ZERO });
    expect(ofKind(scaledDown, 'HorizontalPodAutoscaler').map((h) => h.metadata.name)).toEqual(['api-blue']);
    expect(find(scaledDown, 'Deployment', 'api-green').spec.replicas).toBe(0);
  });

  test('every pod meets Pod Security "restricted"', () => {
    const objects = synth();
    const podSpecs = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'Job')].map((o) => o.spec.template.spec);
    expect(podSpecs).toHaveLength(3);
    for (const pod of podSpecs) {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const container of pod.containers) {
        expect(container.securityContext).toEqual(RESTRICTED_CONTAINER_SECURITY_CONTEXT);
        expect(container.volumeMounts).toContainEqual({ mountPath: '/tmp', name: 'tmp' });
      }
    }
  });

  test('secrets are referenced by name; a new secret name changes the pod template', () => {
    const ref = (secret: string) => synth({ secretEnv: [{ env: 'API_KEY', secret, key: 'key' }] });
    const before = ref('api-keys');
    const env = find(before, 'Deployment', 'api-blue').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'api-keys', key: 'key' } } });
    expect(ofKind(before, 'Secret')).toEqual([]);
    const changes = diffObjects(before, ref('api-keys-v2'));
    // Both colours: the env var and the revision label.
    expect(changes.filter((c) => c.includes('/spec/template/')).sort()).toEqual([
      'Deployment/api-blue:/spec/template/metadata/labels/aiaas.io/revision',
      'Deployment/api-blue:/spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/name',
      'Deployment/api-green:/spec/template/metadata/labels/aiaas.io/revision',
      'Deployment/api-green:/spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/name',
    ]);
  });

  test.each([
    ['name', { name: 'Api_Gateway' }, /'name' \(Api_Gateway\) must be a DNS-1123 label/],
    ['replicas', { replicas: -1 }, /'replicas' \(-1\) must be a whole number of 0 or more/],
    ['latest image', { images: { ...images, green: 'registry.example/api:latest' } }, /'images.green' .*':latest' is not reproducible/],
    ['untagged image', { images: { ...images, blue: 'registry.example/api' } }, /'images.blue' .*explicit tag or digest/],
    ['autoscaling bounds', { autoscaling: { minReplicas: 5, maxReplicas: 2 } }, /'autoscaling.maxReplicas' \(2\) must be at least/],
    ['secretEnv env', { secretEnv: [{ env: '1KEY', secret: 'api-keys', key: 'key' }] }, /^'secretEnv\[0\]\.env' \(1KEY\) must be an environment variable name/],
    ['secretEnv secret', { secretEnv: [{ env: 'KEY', secret: 'API_Keys', key: 'key' }] }, /^'secretEnv\[0\]\.secret' \(API_Keys\) must be the name of a Secret \(a DNS-1123 subdomain\)$/],
    ['secretEnv key', { secretEnv: [{ env: 'KEY', secret: 'api-keys', key: 'a key' }] }, /^'secretEnv\[0\]\.key' \(a key\) must be a Secret key of letters, digits, '-', '_' or '\.'$/],
    ['smokeTestTtl', { smokeTestTtl: Duration.millis(1500) }, /^'smokeTestTtl' \(1 second 500 millis\) must be a whole number of seconds$/],
    ['rollout.progressDeadline', { rollout: { progressDeadline: Duration.millis(600_500) } }, /^'rollout.progressDeadline' \(10 minutes 500 millis\) must be a whole number of seconds$/],
    ['rollout.minReady', { rollout: { minReady: Duration.millis(2500) } }, /^'rollout.minReady' \(2 seconds 500 millis\) must be a whole number of seconds$/],
  ])('fails if %s is invalid', (_, props, message) => {
    expect(() => synth(props as Partial<BlueGreenServiceProps>)).toThrow(message);
  });
});
