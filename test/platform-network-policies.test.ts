// PlatformNetworkPolicies on its own, with a small hand-written platform: the exact objects it
// writes, and the flows they allow when evaluated with Kubernetes' semantics
// (support/network-policy-model.ts). The reference platform's ~300 flows are in reachability.test.ts.
import { Testing } from 'cdk8s';
import { PlatformNetworkPolicies, PlatformNetworkPoliciesProps, PRIVATE_RANGES } from '../src/constructs/platform-network-policies';
import { SMOKE_TEST_OF_LABEL } from '../src/constructs/smoke-test-job';
import { External, NetworkPolicyModel, Pod } from './support/network-policy-model';
import { validateAll } from './support/validate-schema';

const SMALL_PLATFORM: PlatformNetworkPoliciesProps = {
  services: [
    { name: 'web', podLabels: { app: 'web' }, port: 8000, exposedToIngress: true, egressTo: ['api'] },
    { name: 'api', podLabels: { app: 'api' }, port: 9000, egressTo: ['db'], externalEgressCidrs: ['0.0.0.0/0'] },
  ],
  dependencies: [{ name: 'db', podLabels: { app: 'db' }, port: 5432, metricsPort: 9187, replicaPodLabels: { app: 'db' } }],
  dependencyClients: { db: [{ job: 'backup' }] },
  ingressController: { namespace: 'ingress', podLabels: { app: 'nginx' } },
  monitoringNamespace: 'monitoring',
};

function synth(props: PlatformNetworkPoliciesProps = SMALL_PLATFORM) {
  const chart = Testing.chart();
  const policies = new PlatformNetworkPolicies(chart, 'Policies', props);
  const objects = Testing.synth(chart);
  return { policies, objects, byName: (name: string) => objects.find((o) => o.metadata.name === name)! };
}

let nextIp = 1;
const pod = (name: string, namespace: string, labels: Record<string, string>, ports: number[] = []): Pod =>
  ({ name, namespace, labels, ip: `10.244.1.${nextIp++}`, ports: ports.map((containerPort) => ({ containerPort })) });

describe('PlatformNetworkPolicies', () => {
  const { policies, objects, byName } = synth();

  test('one default deny, DNS, and one policy per service, smoke test and dependency need, named after it', () => {
    expect(policies.policyNames).toEqual([
      'default-deny-all', 'allow-dns', 'web', 'web-smoke-test', 'api', 'api-smoke-test', 'db-clients', 'db-replication', 'db-metrics',
    ]);
    expect(objects.map((o) => o.metadata.name)).toEqual(policies.policyNames);
    validateAll(objects);
    expect(byName('default-deny-all').spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('DNS goes to kube-dns in kube-system by default, on UDP and TCP 53', () => {
    expect(byName('allow-dns').spec.egress).toEqual([{
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
      ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
    }]);
  });

  test('external egress cuts out private, CGNAT and link-local ranges, on 443 only', () => {
    expect(byName('api').spec.egress).toContainEqual({
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE_RANGES.filter((r) => !r.includes(':')) } }],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
    // an except outside the block is left out: Kubernetes rejects it
    const narrow = synth({ ...SMALL_PLATFORM, services: [{ name: 'api', podLabels: { app: 'api' }, port: 9000, externalEgressCidrs: ['93.184.216.0/24'] }], dependencies: [], dependencyClients: {} });
    expect(narrow.byName('api').spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '93.184.216.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] }]);
  });

  describe('flows, evaluated as a CNI would', () => {
    const model = new NetworkPolicyModel(objects as any, {}, 'platform');
    const web = pod('web', 'platform', { app: 'web' }, [8000]);
    const api = pod('api', 'platform', { app: 'api' }, [9000]);
    const db0 = pod('db-0', 'platform', { app: 'db' }, [5432, 9187]);
    const db1 = pod('db-1', 'platform', { app: 'db' }, [5432, 9187]);
    const backupJob = pod('backup', 'platform', { job: 'backup' });
    const webSmoke = pod('web-smoke', 'platform', { [SMOKE_TEST_OF_LABEL]: 'web' });
    const nginx = pod('nginx', 'ingress', { app: 'nginx' });
    const otherIngressPod = pod('other', 'ingress', { app: 'other' });
    const prometheus = pod('prometheus', 'monitoring', { 'app.kubernetes.io/name': 'prometheus' });
    const grafana = pod('grafana', 'monitoring', { 'app.kubernetes.io/name': 'grafana' });
    const coredns = pod('coredns', 'kube-system', { 'k8s-app': 'kube-dns' }, [53]);
    const internet: External = { name: 'internet', ip: '93.184.216.34' };
    const metadata: External = { name: 'metadata', ip: '169.254.169.254' };

    test.each<[string, Pod, Pod | External, number, boolean]>([
      ['ingress controller → web', nginx, web, 8000, true],
      ['another pod of the ingress namespace → web', otherIngressPod, web, 8000, false],
      ['ingress controller → api (not exposed)', nginx, api, 9000, false],
      ['web → api (egressTo)', web, api, 9000, true],
      ['api → web (not in its egressTo)', api, web, 8000, false],
      ['web → db (not its dependency)', web, db0, 5432, false],
      ['api → db', api, db0, 5432, true],
      ['backup job → api', backupJob, api, 9000, false],
      ['standby → primary (replication)', db1, db0, 5432, true],
      ['primary → standby (after a failover)', db0, db1, 5432, true],
      ['prometheus → db exporter', prometheus, db0, 9187, true],
      ['grafana → db exporter', grafana, db0, 9187, false],
      ['prometheus → api metrics', prometheus, api, 9000, true],
      ['web smoke test → web', webSmoke, web, 8000, true],
      ['web smoke test → api', webSmoke, api, 9000, false],
      ['api → internet on 443', api, internet, 443, true],
      ['api → internet on 80', api, internet, 80, false],
      ['api → cloud metadata', api, metadata, 443, false],
      ['web → internet', web, internet, 443, false],
      ['db → internet', db0, internet, 443, false],
    ])('%s: allowed %s', (_what, from, to, port, allowed) => {
      expect(model.check(from, to, port).allowed).toBe(allowed);
    });

    test('a dependency client is admitted by the dependency; its own egress is its own construct\'s policy', () => {
      expect(model.check(backupJob, db0, 5432)).toEqual({ allowed: false, reason: 'egress of backup denied' });
      const withEgress = new NetworkPolicyModel([...objects, {
        kind: 'NetworkPolicy', metadata: { name: 'backup-egress' },
        spec: { podSelector: { matchLabels: { job: 'backup' } }, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'TCP', port: 5432 }] }] },
      }] as any, {}, 'platform');
      expect(withEgress.check(backupJob, db0, 5432).allowed).toBe(true);
      expect(withEgress.check(backupJob, api, 5432).allowed).toBe(false);
    });

    test('every pod resolves names: DNS on UDP 53 to kube-dns only', () => {
      for (const p of [web, api, db0, backupJob, webSmoke]) {
        expect(model.check(p, coredns, 53, 'UDP').allowed).toBe(true);
        expect(model.check(p, { name: 'public dns', ip: '8.8.8.8' }, 53, 'UDP').allowed).toBe(false);
      }
    });
  });

  test('an outside database is reached by CIDR, and its exporter here by Prometheus only', () => {
    const { objects: outside, byName: named } = synth({
      services: [{ name: 'api', podLabels: { app: 'api' }, port: 9000, egressTo: ['db'] }],
      externalPeers: [{ name: 'db', cidrs: ['10.20.0.0/24'], port: 5432, metricsPort: 9187, metricsPodLabels: { app: 'db-exporter' } }],
      ingressController: { namespace: 'ingress' },
      monitoringNamespace: 'monitoring',
    });
    validateAll(outside);
    expect(named('api').spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '10.20.0.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }]);
    expect(named('db-metrics').spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '10.20.0.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }] }]);
    expect(outside.some((o) => o.metadata.name === 'db-clients')).toBe(false);
  });

  test.each<[string, Partial<PlatformNetworkPoliciesProps>, RegExp]>([
    ['a flow to an unknown service', { services: [{ name: 'a', podLabels: { app: 'a' }, port: 80, egressTo: ['nope'] }], dependencies: [], dependencyClients: {} },
      /'a.egressTo' names unknown service 'nope'; expected one of a/],
    ['clients of an unknown dependency', { services: [], dependencies: [], dependencyClients: { postgres: [{ app: 'x' }] } },
      /'dependencyClients.postgres' names unknown dependency/],
    ['an empty selector, which would select every pod', { dependencies: [{ name: 'db', podLabels: { app: 'db' }, port: 5432, replicaPodLabels: {} }] },
      /'dependencies\[db\]\.replicaPodLabels' \(\{\}\) must not be empty/],
    ['two peers with one name', { externalPeers: [{ name: 'db', cidrs: ['10.0.0.1/32'], port: 5432 }] },
      /'db' is both an external peer and another peer; expected one peer per name/],
    ['an outside peer without addresses', { dependencies: [], dependencyClients: {}, services: [], externalPeers: [{ name: 'ext', cidrs: [], port: 5432 }] },
      /'externalPeers\[ext\]\.cidrs' \(\[\]\) must name at least one CIDR block/],
  ])('refuses %s, naming the field', (_what, patch, message) => {
    expect(() => synth({ ...SMALL_PLATFORM, ...patch })).toThrow(message);
  });
});
