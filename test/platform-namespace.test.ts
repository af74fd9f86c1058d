import { Testing } from 'cdk8s';
import { PlatformNamespace } from '../src/constructs/platform-namespace';
import { validateAll } from './support/validate-schema';

describe('PlatformNamespace', () => {
  test('enforces, audits and warns on Pod Security "restricted" at the default version', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    new PlatformNamespace(chart, 'Namespace', { name: 'aiaas' });
    const objects = Testing.synth(chart);
    const ns = objects.find((o) => o.kind === 'Namespace');
    // THEN
    expect(objects.map((o) => o.kind).sort()).toEqual(['Namespace', 'ServiceAccount']);
    expect(ns.metadata.name).toEqual('aiaas');
    expect(ns.metadata.namespace).toBeUndefined();
    expect(ns.metadata.labels).toEqual({
      'kubernetes.io/metadata.name': 'aiaas',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'v1.28',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/audit-version': 'v1.28',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/warn-version': 'v1.28',
    });
    validateAll(objects);
  });

  test("the namespace's default ServiceAccount mounts no token", () => {
    const chart = Testing.chart();
    new PlatformNamespace(chart, 'Namespace', { name: 'aiaas' });
    const sa = Testing.synth(chart).find((o) => o.kind === 'ServiceAccount');
    expect(sa.metadata).toMatchObject({ name: 'default', namespace: 'aiaas' });
    expect(sa.automountServiceAccountToken).toBe(false);
  });

  test('is cluster-scoped even inside a namespaced chart, and retained on prune', () => {
    // GIVEN a chart with a namespace
    const chart = Testing.chart();
    (chart as any).namespace = 'elsewhere';
    // WHEN
    new PlatformNamespace(chart, 'Namespace', { name: 'aiaas', podSecurityVersion: 'v1.30' });
    const ns = Testing.synth(chart).find((o) => o.kind === 'Namespace');
    // THEN
    expect(ns.metadata.namespace).toBeUndefined();
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce-version']).toEqual('v1.30');
    expect(JSON.stringify(ns.metadata.annotations ?? {})).toMatch(/Prune=false|Delete=false|retain/i);
  });
});
