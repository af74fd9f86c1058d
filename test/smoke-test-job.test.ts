import { Duration, Testing } from 'cdk8s';
import { SMOKE_TEST_OF_LABEL, SmokeTestJob } from '../src/constructs/smoke-test-job';
import { DEFAULT_SMOKE_TEST_IMAGE } from '../src/config/defaults';
import { validateAll } from './support/validate-schema';

function synth(props: Partial<ConstructorParameters<typeof SmokeTestJob>[2]> = {}) {
  const chart = Testing.chart();
  const smoke = new SmokeTestJob(chart, 'Smoke', { name: 'api-gateway-smoke-1', serviceName: 'api-gateway', url: 'http://api-gateway-preview:8000/health', ...props });
  const objects = Testing.synth(chart);
  return { smoke, objects, job: objects.find((o) => o.kind === 'Job'), sa: objects.find((o) => o.kind === 'ServiceAccount') };
}

describe('SmokeTestJob', () => {
  test('a Job that curls the URL and fails on non-2xx, with a tokenless ServiceAccount', () => {
    // WHEN
    const { objects, job, sa } = synth();
    // THEN
    expect(objects.map((o) => o.kind).sort()).toEqual(['Job', 'ServiceAccount']);
    validateAll(objects);
    const pod = job.spec.template.spec;
    const [container] = pod.containers;
    expect(container.image).toEqual(DEFAULT_SMOKE_TEST_IMAGE);
    expect(container.args[0]).toEqual('--fail');
    expect(container.args[container.args.length - 1]).toEqual('http://api-gateway-preview:8000/health');
    expect(job.spec.backoffLimit).toEqual(2);
    expect(job.spec.activeDeadlineSeconds).toEqual(300);
    expect(pod.restartPolicy).toEqual('Never');
    expect(sa.metadata.name).toEqual('api-gateway-smoke-test');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toEqual('api-gateway-smoke-test');
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test('pods carry the label network policies admit, and meet Pod Security "restricted"', () => {
    const { job } = synth();
    const pod = job.spec.template.spec;
    const [container] = pod.containers;
    expect(job.spec.template.metadata.labels[SMOKE_TEST_OF_LABEL]).toEqual('api-gateway');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    // Seccomp RuntimeDefault at pod or container level.
    expect(pod.securityContext.seccompProfile ?? container.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.limits).toMatchObject({ cpu: '100m', memory: '32Mi' });
    expect(container.resources.limits['ephemeral-storage']).toBeDefined();
  });

  test('image, attempts and identity can be set', () => {
    const { job } = synth({ image: 'registry.example/curl:8.11.0', backoffLimit: 0, identity: { runAsUser: 20000, runAsGroup: 20000 } });
    const pod = job.spec.template.spec;
    expect(pod.containers[0].image).toEqual('registry.example/curl:8.11.0');
    expect(job.spec.backoffLimit).toEqual(0);
    expect(pod.securityContext.runAsUser).toEqual(20000);
  });

  test('a finished Job is kept one day, or the Duration given (in whole seconds)', () => {
    expect(synth().job.spec.ttlSecondsAfterFinished).toEqual(86_400);
    expect(synth({ ttlAfterFinished: Duration.hours(2) }).job.spec.ttlSecondsAfterFinished).toEqual(7200);
  });

  test('fails if ttlAfterFinished is not a whole number of seconds, naming the prop and the value', () => {
    expect(() => synth({ ttlAfterFinished: Duration.millis(100) })).toThrow(/^'ttlAfterFinished' \(100 millis\) must be a whole number of seconds$/);
  });
});
