// The Pulumi component under pulumi.runtime.setMocks: no Pulumi CLI, no plugin, no cluster.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as YAML from 'yaml';
import { loadPlatformConfig } from '../src/config/load-config';
import { REFERENCE_SERVICES } from '../src/config/platform-config';
import { AiaasPlatform, KubernetesObject, ManifestObject, PreviousOutput, PromotionRefusedError, isBuiltInApiVersion, kubernetesTypeToken } from '../src/pulumi';
import { manifestResources, orderTierOf } from '../src/pulumi/_manifest-resources';
import { synthPlatform } from '../src/synth-platform';
import { REFERENCE_CONFIG_FILE, withRunbookUrl } from './support/reference';

/** The reference platform, as dist/ is built. */
const REFERENCE = loadPlatformConfig({ file: REFERENCE_CONFIG_FILE });

interface Registration {
  readonly order: number;
  readonly type: string;
  readonly name: string;
  readonly inputs: any;
  readonly custom: boolean;
  readonly provider?: string;
}

const registrations: Registration[] = [];
/** Parent URN and dependsOn URNs of each registration request, by resource name, as the engine would receive them. */
const requests = new Map<string, { parent: string; dependencies: string[]; retainOnDelete: boolean }>();

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registrations.push({
          order: registrations.length,
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          custom: args.custom ?? false,
          provider: args.provider,
        });
        return { id: args.custom ? `${args.name}-id` : undefined, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    'aiaas-test',
    'unit',
  );
  // Mocks pass neither parent nor dependencies to newResource: read them from the request.
  const monitor = pulumi.runtime.getMonitor() as any;
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    requests.set(req.getName(), { parent: req.getParent(), dependencies: req.getDependenciesList(), retainOnDelete: req.getRetainondelete() === true });
    return registerResource(req, callback);
  };
});

function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Waits until every child is registered; returns the children's registrations and URNs. */
async function settle(objects: KubernetesObject[]): Promise<{ regs: Registration[]; urns: string[] }> {
  const urns = await promiseOf(pulumi.all(objects.map((o) => o.urn)));
  const names = new Set(urns.map((urn) => urn.split('::').pop()!));
  return { regs: registrations.filter((r) => r.custom && names.has(r.name)), urns };
}

const keyOf = (o: { kind: string; metadata: { name: string; namespace?: string } }) =>
  `${o.kind}/${o.metadata.namespace ?? '-'}/${o.metadata.name}`;

/** What `npm run synth` writes to disk for the reference platform: every Kubernetes object of every YAML file. */
function synthesizedObjects(): ManifestObject[] {
  const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-pulumi-')), 'dist');
  synthPlatform({ outdir, file: REFERENCE_CONFIG_FILE });
  return fs
    .readdirSync(outdir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(path.join(outdir, f), 'utf8')).map((d) => d.toJSON()))
    .filter((o) => o && typeof o.apiVersion === 'string' && typeof o.kind === 'string');
}

/** Dotted paths where two JSON values differ. */
function diffPaths(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffPaths((a as any)[k], (b as any)[k], at ? `${at}.${k}` : k));
  }
  return a === b ? [] : [at];
}

describe('AiaasPlatform', () => {
  test('registers exactly the objects `cdk8s synth` writes, one to one, with their full content', async () => {
    // GIVEN
    const expected = synthesizedObjects();

    // WHEN
    const platform = new AiaasPlatform('ref', { config: REFERENCE });
    const { regs } = await settle(platform.objects);

    // THEN
    expect(expected.length).toBeGreaterThan(40);
    expect(regs).toHaveLength(expected.length);
    expect(regs.map((r) => keyOf(r.inputs)).sort()).toEqual(expected.map(keyOf).sort());
    const byKey = new Map(regs.map((r) => [keyOf(r.inputs), r]));
    for (const object of expected) {
      const reg = byKey.get(keyOf(object))!;
      expect(reg.inputs).toEqual(object);
      expect(reg.type).toBe(kubernetesTypeToken(object.apiVersion, object.kind));
      const ns = object.metadata.namespace;
      expect(reg.name).toBe(`ref-${object.kind}${ns ? `-${ns}` : ''}-${object.metadata.name}`.toLowerCase());
    }
    expect(platform.objects).toHaveLength(expected.length);
  });

  test('uses the type tokens of @pulumi/kubernetes classes, with core/v1 for the core group', async () => {
    const platform = new AiaasPlatform('tokens', { config: REFERENCE });
    const { regs } = await settle(platform.objects);
    const typeOf = (kind: string) => regs.find((r) => r.inputs.kind === kind)!.type;

    expect(typeOf('Namespace')).toBe('kubernetes:core/v1:Namespace');
    expect(typeOf('Service')).toBe('kubernetes:core/v1:Service');
    expect(typeOf('ServiceAccount')).toBe('kubernetes:core/v1:ServiceAccount');
    expect(typeOf('Deployment')).toBe('kubernetes:apps/v1:Deployment');
    expect(typeOf('NetworkPolicy')).toBe('kubernetes:networking.k8s.io/v1:NetworkPolicy');
    expect(typeOf('Role')).toBe('kubernetes:rbac.authorization.k8s.io/v1:Role');
    // The same tokens as the SDK's own classes.
    expect(typeOf('Namespace')).toBe((k8s.core.v1.Namespace as any).__pulumiType);
    expect(typeOf('Deployment')).toBe((k8s.apps.v1.Deployment as any).__pulumiType);
    expect(kubernetesTypeToken('monitoring.coreos.com/v1', 'PrometheusRule')).toBe('kubernetes:monitoring.coreos.com/v1:PrometheusRule');
  });

  test('engine argo-rollouts: registers the Rollouts and AnalysisTemplates, after the built-in objects', async () => {
    // WHEN
    const platform = new AiaasPlatform('argo', { config: withRunbookUrl({ blueGreen: { engine: 'argo-rollouts' } }) });
    const { regs } = await settle(platform.objects);

    // THEN
    const ofKind = (kind: string) => regs.filter((r) => r.inputs.kind === kind);
    expect(ofKind('Rollout').map((r) => [r.name, r.type]).sort()).toEqual(
      ['api-gateway', 'orchestrator', 'realtime-service', 'tool-service'].map((s) => [`argo-rollout-aiaas-${s}`, 'kubernetes:argoproj.io/v1alpha1:Rollout']),
    );
    expect(ofKind('AnalysisTemplate').map((r) => r.type)).toEqual(new Array(8).fill('kubernetes:argoproj.io/v1alpha1:AnalysisTemplate'));
    expect(ofKind('Deployment')).toEqual([]);
    const rollout = ofKind('Rollout').find((r) => r.inputs.metadata.name === 'api-gateway')!;
    expect(rollout.inputs).toEqual(platform.manifests.find((m) => m.kind === 'Rollout' && m.metadata.name === 'api-gateway'));
    // Objects of CRD kinds come after the built-in ones (the Services the Rollout points at exist first).
    expect(rollout.order).toBeGreaterThan(Math.max(...ofKind('Service').map((r) => r.order)));
  });

  test('every child has the component as parent and the given provider', async () => {
    // GIVEN
    const provider = new k8s.Provider('test-cluster', { kubeconfig: 'unused' });

    // WHEN
    const platform = new AiaasPlatform('parented', { config: REFERENCE });
    const withProvider = new AiaasPlatform('provided', { config: REFERENCE, provider });
    const { regs, urns } = await settle(platform.objects);
    const provided = await settle(withProvider.objects);

    // THEN
    const componentUrn = await promiseOf(platform.urn);
    expect(componentUrn).toBe('urn:pulumi:unit::aiaas-test::aiaas-ops:index:Platform::parented');
    expect(regs).toHaveLength(platform.manifests.length);
    for (const reg of regs) {
      expect(requests.get(reg.name)!.parent).toBe(componentUrn);
    }
    for (const urn of urns) {
      expect(urn).toMatch(/^urn:pulumi:unit::aiaas-test::aiaas-ops:index:Platform\$kubernetes:[^:]+:[A-Za-z]+::parented-/);
    }
    for (const reg of provided.regs) {
      expect(reg.provider).toMatch(/^urn:pulumi:unit::aiaas-test::pulumi:providers:kubernetes::test-cluster::/);
    }
  });

  test('the Namespace and the PVCs are retained on delete; nothing else is', async () => {
    const platform = new AiaasPlatform('retained', { config: REFERENCE });
    const { regs } = await settle(platform.objects);
    const retained = regs.filter((r) => requests.get(r.name)!.retainOnDelete).map((r) => r.name).sort();
    expect(retained).toEqual(['retained-namespace-aiaas', 'retained-persistentvolumeclaim-aiaas-aiaas-db-backups']);
  });

  test('outputs: the namespace and the children\'s names', async () => {
    const platform = new AiaasPlatform('outputs', { config: withRunbookUrl({ namespace: 'aiaas-staging' }) });
    const { regs } = await settle(platform.objects);

    expect(await promiseOf(platform.namespace)).toBe('aiaas-staging');
    const names = await promiseOf(platform.resourceNames);
    expect(names).toHaveLength(platform.manifests.length);
    expect([...names].sort()).toEqual(regs.map((r) => r.name).sort());
    expect(names).toContain('outputs-namespace-aiaas-staging');
    expect(names).toContain('outputs-deployment-aiaas-staging-api-gateway-blue');
    const clusterRole = platform.manifests.find((m) => m.kind === 'ClusterRole')!;
    expect(names).toContain(`outputs-clusterrole-${clusterRole.metadata.name}`);
  });

  test('every namespaced object depends on the Namespace, and objects of CRD kinds on the built-in ones', async () => {
    const platform = new AiaasPlatform('ordered', { config: REFERENCE });
    const { regs, urns } = await settle(platform.objects);

    const namespaceUrn = urns.find((u) => u.includes('kubernetes:core/v1:Namespace::'))!;
    const namespaced = regs.filter((r) => r.inputs.metadata.namespace !== undefined);
    expect(namespaced.length).toBeGreaterThan(40);
    for (const reg of namespaced) {
      expect(requests.get(reg.name)!.dependencies).toContain(namespaceUrn);
    }
    expect(requests.get('ordered-namespace-aiaas')!.dependencies).toEqual([]);

    // prometheus-operator objects (PrometheusRule, ServiceMonitor, …) wait for every built-in object
    const urnOf = new Map(urns.map((u) => [u.split('::').pop()!, u]));
    const builtIn = regs.filter((r) => isBuiltInApiVersion(r.inputs.apiVersion)).map((r) => urnOf.get(r.name));
    const custom = regs.filter((r) => !isBuiltInApiVersion(r.inputs.apiVersion));
    expect(custom.map((r) => r.inputs.apiVersion)).toContain('monitoring.coreos.com/v1');
    for (const reg of custom) {
      expect([...requests.get(reg.name)!.dependencies].sort()).toEqual([...builtIn].sort());
    }
  });

  test('objects of CRD kinds come after Namespaces, CRDs and built-in objects, whatever the manifest order', async () => {
    // GIVEN: a custom resource listed first, its CRD and namespace after it
    const manifests: ManifestObject[] = [
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'rules', namespace: 'ns' }, spec: { groups: [] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'ns' }, spec: { ports: [{ port: 80 }] } },
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'prometheusrules.monitoring.coreos.com' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } },
    ];
    const parent = new pulumi.ComponentResource('test:index:Parent', 'crd-order');

    // WHEN
    const objects = manifestResources('crd', manifests, { parent });
    const { regs } = await settle(objects);

    // THEN
    expect(manifests.map(orderTierOf)).toEqual([2, 1, 0, 0]);
    const order = (kind: string) => regs.find((r) => r.inputs.kind === kind)!.order;
    expect(order('Service')).toBeGreaterThan(order('Namespace'));
    expect(order('Service')).toBeGreaterThan(order('CustomResourceDefinition'));
    expect(order('PrometheusRule')).toBeGreaterThan(order('Service'));
    expect(regs.find((r) => r.inputs.kind === 'PrometheusRule')!.type).toBe('kubernetes:monitoring.coreos.com/v1:PrometheusRule');
    expect(objects.map((o, i) => o && manifests[i].kind)).toEqual(manifests.map((m) => m.kind));
  });

  test('promoting a service to green changes only the two Services\' selectors and the smoke Job', async () => {
    // GIVEN
    const promoted = REFERENCE_SERVICES.map((s) => (s.name === 'api-gateway' ? { ...s, activeColor: 'green' as const } : s));

    // WHEN
    const before = await settle(new AiaasPlatform('before', { config: withRunbookUrl({}) }).objects);
    const after = await settle(new AiaasPlatform('after', { config: withRunbookUrl({ services: promoted }) }).objects);

    // THEN
    const inputsOf = (regs: Registration[]) => new Map(regs.map((r) => [keyOf(r.inputs), r.inputs]));
    const was = inputsOf(before.regs);
    const now = inputsOf(after.regs);
    const isJob = (key: string) => key.startsWith('Job/');
    expect([...now.keys()].filter((k) => !isJob(k)).sort()).toEqual([...was.keys()].filter((k) => !isJob(k)).sort());
    const blueRevision = was.get('Deployment/aiaas/api-gateway-blue').spec.template.metadata.labels['aiaas.io/revision'];
    // The smoke test follows the idle colour: now blue's revision.
    expect([...now.keys()].filter(isJob).filter((k) => !was.has(k))).toEqual([`Job/aiaas/api-gateway-smoke-${blueRevision}`]);
    const changes = [...was.keys()].filter((k) => !isJob(k)).flatMap((key) => diffPaths(was.get(key), now.get(key)).map((p) => `${key} ${p}`));
    expect(changes.sort()).toEqual([
      'Service/aiaas/api-gateway spec.selector.version',
      'Service/aiaas/api-gateway-preview spec.selector.aiaas.io/revision',
      'Service/aiaas/api-gateway-preview spec.selector.version',
    ]);
    expect(now.get('Service/aiaas/api-gateway').spec.selector).toEqual({ app: 'api-gateway', version: 'green' });
    expect(now.get('Service/aiaas/api-gateway-preview').spec.selector).toEqual({ app: 'api-gateway', version: 'blue', 'aiaas.io/revision': blueRevision });
  });

  test('previousOutput: the promotion guard refuses an unsafe switch, naming the service, before registering anything', async () => {
    // GIVEN what was applied last: the reference platform (blue active, green kept running), kept in a file
    const applied = new AiaasPlatform('applied', { config: withRunbookUrl({}) }).manifests;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-pulumi-prev-')), 'applied.yaml');
    fs.writeFileSync(file, applied.map((m) => YAML.stringify(m)).join('---\n'));
    const before = registrations.length;

    // WHEN a change switches api-gateway to green AND gives green a new image in the same update
    const unsafe = REFERENCE_SERVICES.map((s) =>
      s.name === 'api-gateway' ? { ...s, activeColor: 'green' as const, images: { ...s.images, green: 'ghcr.io/aiaas/api-gateway:9.9.9' } } : s,
    );

    // THEN it throws, naming the service and the file, and registers nothing
    const refused = () => new AiaasPlatform('refused', { config: withRunbookUrl({ services: unsafe }), previousOutput: PreviousOutput.fromFile(file) });
    expect(refused).toThrow(PromotionRefusedError);
    expect(refused).toThrow(/applied\.yaml[\s\S]*api-gateway/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(registrations.slice(before).filter((r) => r.name.startsWith('refused'))).toEqual([]);

    // A switch to the green that ran unchanged is allowed, and given as objects as well
    const safe = REFERENCE_SERVICES.map((s) => (s.name === 'api-gateway' ? { ...s, activeColor: 'green' as const } : s));
    const promoted = new AiaasPlatform('promoted', { config: withRunbookUrl({ services: safe }), previousOutput: PreviousOutput.fromObjects(applied) });
    expect((promoted.manifests.find((m) => m.kind === 'Service' && m.metadata.name === 'api-gateway') as any).spec.selector).toEqual({ app: 'api-gateway', version: 'green' });
    // Without a previous output nothing is guarded (the first update).
    expect(() => new AiaasPlatform('unguarded', { config: withRunbookUrl({ services: unsafe }) })).not.toThrow();
  });

  test('fails if the config is invalid, naming the field, before registering anything', async () => {
    const before = registrations.length;
    expect(() => new AiaasPlatform('bad', { config: withRunbookUrl({ namespace: 'Not_A_Label' }) })).toThrow(/namespace/);
    expect(() => new AiaasPlatform('bad-color', { config: withRunbookUrl({ services: [{ ...REFERENCE_SERVICES[0], activeColor: 'red' as any }] }) })).toThrow(
      /activeColor: expected 'blue' or 'green'/,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(registrations.slice(before).filter((r) => r.name.startsWith('bad'))).toEqual([]);
  });

  test('fails if two objects map to the same resource name', () => {
    const parent = new pulumi.ComponentResource('test:index:Parent', 'dup');
    const a: ManifestObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b-c', namespace: 'a' } };
    const b: ManifestObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'a-b' } };
    expect(() => manifestResources('dup', [a, b], { parent })).toThrow(
      /objects ConfigMap a\/b-c and ConfigMap a-b\/c both map to the resource name 'dup-configmap-a-b-c'/,
    );
  });

  test('fails if a manifest lacks apiVersion, kind or metadata.name', () => {
    expect(() => new KubernetesObject('x', { kind: 'Service', metadata: { name: 'x' } } as any)).toThrow(/'apiVersion' \(undefined\) must be a non-empty string/);
    expect(() => new KubernetesObject('y', { apiVersion: 'v1', kind: '', metadata: { name: 'y' } })).toThrow(/'kind' \(\) must be a non-empty string/);
    expect(() => new KubernetesObject('z', { apiVersion: 'v1', kind: 'Service', metadata: {} } as any)).toThrow(/'metadata.name' \(undefined\) must be set/);
  });

  test('a Secret keeps data and stringData secret in state, as core.v1.Secret does', () => {
    // The engine applies additionalSecretOutputs (mocks do not), so check the option the engine receives.
    const seen: Record<string, pulumi.ResourceOptions> = {};
    const capture: pulumi.ResourceTransformation = (args) => {
      seen[args.name] = args.opts;
      return undefined;
    };
    const manifest = (kind: string): ManifestObject => ({ apiVersion: 'v1', kind, metadata: { name: 's', namespace: 'ns' } });

    new KubernetesObject('secret', manifest('Secret'), { transformations: [capture] });
    new KubernetesObject('config-map', manifest('ConfigMap'), { transformations: [capture] });

    expect((seen.secret as pulumi.CustomResourceOptions).additionalSecretOutputs).toEqual(['data', 'stringData']);
    expect((seen['config-map'] as pulumi.CustomResourceOptions).additionalSecretOutputs).toBeUndefined();
    expect(seen.secret.version).toBe(require('@pulumi/kubernetes/package.json').version);
  });
});

describe('installing @pulumi/kubernetes without the Pulumi CLI', () => {
  test('its plugin install script reports the missing CLI and exits 0, so `npm ci` succeeds', () => {
    // GIVEN: a PATH with node and no `pulumi`
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'no-pulumi-'));
    const script = require.resolve('@pulumi/kubernetes/scripts/install-pulumi-plugin.js');
    const version = require('@pulumi/kubernetes/package.json').version;

    // WHEN: npm's install hook, as package.json runs it
    const run = spawnSync(process.execPath, [script, 'resource', 'kubernetes', version], { env: { PATH: bin }, encoding: 'utf8' });

    // THEN
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/`pulumi` is not installed/);
    expect(run.stderr).toContain(`pulumi plugin install resource kubernetes ${version}`);
  });
});
