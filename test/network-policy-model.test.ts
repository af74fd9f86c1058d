// The reachability evaluator itself, on hand-made policies whose Kubernetes meaning is known.
import { Endpoint, NetworkPolicyModel, NetworkPolicyObject, Pod } from './support/network-policy-model';

const pod = (name: string, namespace: string, labels: Record<string, string>, ip: string, ports: Pod['ports'] = []): Pod => ({ name, namespace, labels, ip, ports });
const np = (name: string, namespace: string, spec: NetworkPolicyObject['spec']): NetworkPolicyObject => ({ kind: 'NetworkPolicy', metadata: { name, namespace }, spec });

const web = pod('web', 'app', { app: 'web' }, '10.244.0.10', [{ name: 'http', containerPort: 8080 }]);
const db = pod('db', 'app', { app: 'db', tier: 'data' }, '10.244.0.11', [{ name: 'pg', containerPort: 5432 }]);
const other = pod('other', 'app', { app: 'other' }, '10.244.0.12');
const prom = pod('prom', 'mon', { app: 'prometheus' }, '10.244.1.10');
const grafana = pod('grafana', 'mon', { app: 'grafana' }, '10.244.1.11');
const internet: Endpoint = { name: 'internet', ip: '93.184.216.34' };
const metadata: Endpoint = { name: 'metadata', ip: '169.254.169.254' };
const namespaces = { app: {}, mon: { team: 'obs' } };

describe('NetworkPolicyModel', () => {
  test('no policy: everything is allowed (pods are non-isolated)', () => {
    const model = new NetworkPolicyModel([], namespaces, 'app');
    expect(model.check(web, db, 5432).allowed).toBe(true);
    expect(model.check(web, internet, 443).allowed).toBe(true);
  });

  test('default deny {} with Ingress and Egress isolates every pod of its namespace only', () => {
    const model = new NetworkPolicyModel([np('deny', 'app', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })], namespaces, 'app');
    expect(model.check(web, db, 5432)).toMatchObject({ allowed: false, reason: 'egress of web denied' });
    expect(model.check(prom, web, 8080)).toMatchObject({ allowed: false, reason: 'ingress of web denied' });
    expect(model.check(prom, grafana, 3000).allowed).toBe(true);
  });

  test('both sides must allow: an ingress rule alone does not open an egress-isolated source', () => {
    const policies = [
      np('deny', 'app', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      np('db-in', 'app', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] }),
    ];
    expect(new NetworkPolicyModel(policies, namespaces, 'app').check(web, db, 5432).allowed).toBe(false);
    const withEgress = [...policies, np('web-out', 'app', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { tier: 'data' } } }] }] })];
    const model = new NetworkPolicyModel(withEgress, namespaces, 'app');
    expect(model.check(web, db, 5432).allowed).toBe(true);
    expect(model.check(web, db, 5433).allowed).toBe(false); // the ingress rule names 5432 only
    expect(model.check(other, db, 5432).allowed).toBe(false);
  });

  test('policyTypes default: Ingress only, unless the policy has egress rules', () => {
    const ingressOnly = np('p', 'app', { podSelector: { matchLabels: { app: 'web' } }, ingress: [] });
    expect(new NetworkPolicyModel([ingressOnly], namespaces, 'app').check(web, internet, 443).allowed).toBe(true);
    const withEgress = np('p', 'app', { podSelector: { matchLabels: { app: 'web' } }, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    const model = new NetworkPolicyModel([withEgress], namespaces, 'app');
    expect(model.check(web, internet, 443).allowed).toBe(false);
    expect(model.check(web, internet, 53, 'UDP').allowed).toBe(true);
    expect(model.check(web, internet, 53, 'TCP').allowed).toBe(false);
  });

  test('namespaceSelector with podSelector is an AND; namespaceSelector alone admits every pod there', () => {
    const and = np('and', 'app', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mon' } }, podSelector: { matchLabels: { app: 'prometheus' } } }] }],
    });
    const model = new NetworkPolicyModel([and], namespaces, 'app');
    expect(model.check(prom, web, 8080).allowed).toBe(true);
    expect(model.check(grafana, web, 8080).allowed).toBe(false);
    const nsOnly = np('ns', 'app', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'obs' } } }] }] });
    expect(new NetworkPolicyModel([nsOnly], namespaces, 'app').check(grafana, web, 8080).allowed).toBe(true);
    // A podSelector alone means the policy's own namespace: a prometheus-labelled pod elsewhere does not match.
    const podOnly = np('pod', 'app', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'prometheus' } } }] }] });
    expect(new NetworkPolicyModel([podOnly], namespaces, 'app').check(prom, web, 8080).allowed).toBe(false);
  });

  test('matchExpressions operators', () => {
    const policy = np('exp', 'app', {
      podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }, { key: 'tier', operator: 'Exists' }] },
      ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['other'] }] } }] }],
    });
    const model = new NetworkPolicyModel([policy], namespaces, 'app');
    expect(model.check(web, db, 5432).allowed).toBe(true);
    expect(model.check(other, db, 5432).allowed).toBe(false);
    expect(model.check(other, web, 8080).allowed).toBe(true); // web is not selected by the policy
  });

  test('ipBlock with except: the metadata endpoint and private ranges are cut out', () => {
    const policy = np('out', 'app', {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '169.254.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 443 }] }],
    });
    const model = new NetworkPolicyModel([policy], namespaces, 'app');
    expect(model.check(web, internet, 443).allowed).toBe(true);
    expect(model.check(web, metadata, 80).allowed).toBe(false);
    expect(model.check(web, metadata, 443).allowed).toBe(false);
    expect(model.check(web, { name: 'api', ip: '10.0.0.1' }, 443).allowed).toBe(false);
    expect(model.check(web, db, 443).allowed).toBe(false); // pod IPs in 10/8 are excepted too
  });

  test('named ports resolve on the destination pod; endPort gives a range', () => {
    const policy = np('named', 'app', {
      podSelector: { matchLabels: { app: 'db' } },
      ingress: [{ ports: [{ port: 'pg' }] }],
    });
    const model = new NetworkPolicyModel([policy], namespaces, 'app');
    expect(model.check(web, db, 5432).allowed).toBe(true);
    expect(model.check(web, db, 8080).allowed).toBe(false);
    const range = np('range', 'app', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ port: 5000, endPort: 5500 }] }] });
    expect(new NetworkPolicyModel([range], namespaces, 'app').check(web, db, 5432).allowed).toBe(true);
    expect(new NetworkPolicyModel([range], namespaces, 'app').check(web, db, 5501).allowed).toBe(false);
  });

  test('policies are additive: a second policy opens what the first does not', () => {
    const a = np('a', 'app', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] });
    const b = np('b', 'app', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'other' } } }] }] });
    const model = new NetworkPolicyModel([a, b], namespaces, 'app');
    expect(model.check(web, db, 5432).allowed).toBe(true);
    expect(model.check(other, db, 5432).allowed).toBe(true);
    expect(model.check(prom, db, 5432).allowed).toBe(false);
  });
});
