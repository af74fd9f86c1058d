// Issue 10 "Proof": flows evaluated against the synthesized NetworkPolicies with Kubernetes'
// semantics (test/support/network-policy-model.ts). Pods of the platform come from the
// synthesized Deployments, Jobs and CronJobs themselves (their template labels and ports);
// the dependencies and the cluster's own pods are written here as a cluster would run them.
import { Endpoint, External, NetworkPolicyModel, Pod } from './support/network-policy-model';
import { K8sObject, ofKind, synthPlatformObjects } from './support/synth';

const API_SERVER_ENDPOINT = '172.20.0.10';
const objects = synthPlatformObjects({
  dbMaintenance: {
    configBackup: { enabled: true, image: `registry.example.com/kubectl@sha256:${'d'.repeat(64)}`, apiServer: { cidrs: [`${API_SERVER_ENDPOINT}/32`] } },
  },
});

let nextIp = 10;
const ip = () => `10.244.0.${nextIp++}`;
const pod = (name: string, namespace: string, labels: Record<string, string>, ports: Pod['ports'] = []): Pod => ({ name, namespace, labels, ip: ip(), ports });

/** One pod per synthesized workload, with its template's labels and container ports. */
function platformPods(all: K8sObject[]): Record<string, Pod> {
  const pods: Record<string, Pod> = {};
  const add = (name: string, template: any) =>
    (pods[name] = pod(name, 'aiaas', template.metadata.labels, template.spec.containers.flatMap((c: any) => c.ports ?? [])));
  ofKind(all, 'Deployment').forEach((d) => add(d.metadata.name, d.spec.template));
  ofKind(all, 'Job').forEach((j) => add(`job/${j.metadata.name}`, j.spec.template));
  ofKind(all, 'CronJob').forEach((c) => add(`cronjob/${c.metadata.name}`, c.spec.jobTemplate.spec.template));
  return pods;
}

const p = platformPods(objects);
const smokeOf = (service: string) => Object.values(p).find((x) => x.labels['aiaas.io/smoke-test-of'] === service)!;
const cluster = {
  ingress: pod('ingress-nginx', 'ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' }),
  dns: pod('coredns', 'kube-system', { 'k8s-app': 'kube-dns' }, [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53 }]),
  metricsServer: pod('metrics-server', 'kube-system', { 'k8s-app': 'metrics-server' }),
  prometheus: pod('prometheus-0', 'monitoring', { 'app.kubernetes.io/name': 'prometheus' }),
  grafana: pod('grafana', 'monitoring', { 'app.kubernetes.io/name': 'grafana' }),
  pushgateway: pod('pushgateway', 'monitoring', { 'app.kubernetes.io/name': 'prometheus-pushgateway' }),
  postgresPrimary: pod('postgres-0', 'aiaas', { app: 'postgres' }, [{ name: 'postgresql', containerPort: 5432 }, { name: 'metrics', containerPort: 9187 }]),
  postgresStandby: pod('postgres-1', 'aiaas', { app: 'postgres' }, [{ name: 'postgresql', containerPort: 5432 }, { name: 'metrics', containerPort: 9187 }]),
  redis: pod('redis-0', 'aiaas', { app: 'redis' }, [{ containerPort: 6379 }]),
  schemaRegistry: pod('schema-registry', 'aiaas', { app: 'schema-registry' }, [{ containerPort: 8080 }]),
  featureFlags: pod('feature-flags', 'aiaas', { app: 'feature-flags' }, [{ containerPort: 8000 }]),
};
const outside: Record<string, External> = {
  internet: { name: 'internet', ip: '93.184.216.34' },
  metadata: { name: 'cloud metadata', ip: '169.254.169.254' },
  apiServerService: { name: 'kubernetes Service', ip: '10.0.0.1' },
  apiServerEndpoint: { name: 'API server', ip: API_SERVER_ENDPOINT },
  publicDns: { name: 'public DNS', ip: '8.8.8.8' },
};

const model = new NetworkPolicyModel(ofKind(objects, 'NetworkPolicy') as any, {}, 'aiaas');
const SERVICES = ['api-gateway', 'orchestrator', 'tool-service', 'realtime-service'];
const colours = (service: string) => [p[`${service}-blue`], p[`${service}-green`]];
const everyPlatformPod = Object.values(p);

type Flow = [string, Endpoint, Endpoint, number, 'TCP' | 'UDP', boolean];
const flows: Flow[] = [];
const flow = (what: string, from: Endpoint, to: Endpoint, port: number, allowed: boolean, protocol: 'TCP' | 'UDP' = 'TCP') =>
  flows.push([what, from, to, port, protocol, allowed]);

// Ingress controller → the exposed services only.
for (const service of SERVICES) {
  for (const target of colours(service)) {
    flow('ingress controller → exposed services only', cluster.ingress, target, 8000, ['api-gateway', 'realtime-service'].includes(service));
  }
}
flow('ingress controller → postgres', cluster.ingress, cluster.postgresPrimary, 5432, false);
// The platform's own calls.
for (const gateway of colours('api-gateway')) {
  flow('api-gateway → orchestrator', gateway, p['orchestrator-green'], 8000, true);
  flow('api-gateway → schema-registry:8080', gateway, cluster.schemaRegistry, 8080, true);
  flow('api-gateway → feature-flags:8000', gateway, cluster.featureFlags, 8000, true);
  flow('api-gateway → redis', gateway, cluster.redis, 6379, true);
  flow('api-gateway → postgres (holds no DB credentials)', gateway, cluster.postgresPrimary, 5432, false);
  flow('api-gateway → tool-service (not its callee)', gateway, p['tool-service-blue'], 8000, false);
}
for (const orchestrator of colours('orchestrator')) {
  flow('orchestrator → tool-service', orchestrator, p['tool-service-blue'], 8000, true);
  flow('orchestrator → postgres:5432', orchestrator, cluster.postgresPrimary, 5432, true);
  flow('orchestrator → redis:6379', orchestrator, cluster.redis, 6379, true);
  flow('orchestrator → postgres exporter', orchestrator, cluster.postgresPrimary, 9187, false);
}
for (const realtime of colours('realtime-service')) {
  flow('realtime-service → redis', realtime, cluster.redis, 6379, true);
  flow('realtime-service → orchestrator', realtime, p['orchestrator-blue'], 8000, false);
}
for (const tool of colours('tool-service')) {
  flow('tool-service → public internet:443', tool, outside.internet, 443, true);
  flow('tool-service → public internet:80', tool, outside.internet, 80, false);
  flow('tool-service → postgres', tool, cluster.postgresPrimary, 5432, false);
  flow('tool-service → cloud metadata:80', tool, outside.metadata, 80, false);
  flow('tool-service → cloud metadata:443', tool, outside.metadata, 443, false);
  flow('tool-service → 10.0.0.1:443 (kubernetes Service)', tool, outside.apiServerService, 443, false);
  flow('tool-service → orchestrator', tool, p['orchestrator-blue'], 8000, false);
}
// DNS: UDP and TCP 53 to kube-dns only.
for (const from of [...everyPlatformPod, cluster.postgresPrimary, cluster.redis]) {
  flow('every pod → kube-dns UDP 53', from, cluster.dns, 53, true, 'UDP');
  flow('every pod → kube-dns TCP 53', from, cluster.dns, 53, true, 'TCP');
  flow('no pod → public DNS', from, outside.publicDns, 53, false, 'UDP');
  flow('no pod → another kube-system pod on 53', from, cluster.metricsServer, 53, false, 'UDP');
}
// Prometheus, and only Prometheus, scrapes.
for (const service of SERVICES) {
  for (const target of colours(service)) {
    flow('Prometheus → service metrics port', cluster.prometheus, target, 8000, true);
    flow('Grafana (other monitoring pod) → service', cluster.grafana, target, 8000, false);
  }
}
flow('Prometheus → postgres exporter 9187', cluster.prometheus, cluster.postgresPrimary, 9187, true);
flow('Prometheus → postgres exporter on the standby', cluster.prometheus, cluster.postgresStandby, 9187, true);
flow('Grafana → postgres exporter', cluster.grafana, cluster.postgresPrimary, 9187, false);
flow('Prometheus → postgres 5432', cluster.prometheus, cluster.postgresPrimary, 5432, false);
// Replication.
flow('postgres standby → primary:5432', cluster.postgresStandby, cluster.postgresPrimary, 5432, true);
flow('postgres primary → standby:5432 (after a failover)', cluster.postgresPrimary, cluster.postgresStandby, 5432, true);
flow('postgres → redis', cluster.postgresPrimary, cluster.redis, 6379, false);
// Database jobs: postgres and the pushgateway only.
const dbJobs = Object.values(p).filter((x) => x.labels['app.kubernetes.io/name'] === 'aiaas-job');
for (const job of dbJobs) {
  flow('database job → postgres', job, cluster.postgresPrimary, 5432, true);
  flow('database job → pushgateway', job, cluster.pushgateway, 9091, true);
  flow('database job → redis', job, cluster.redis, 6379, false);
  flow('database job → orchestrator', job, p['orchestrator-blue'], 8000, false);
  flow('database job → internet', job, outside.internet, 443, false);
}
// Smoke tests: their own service only.
for (const service of SERVICES) {
  const smoke = smokeOf(service);
  for (const target of SERVICES) {
    flow('smoke Job → its own service only', smoke, p[`${target}-green`], 8000, target === service);
  }
  flow('smoke Job → postgres', smoke, cluster.postgresPrimary, 5432, false);
}
// Colours never call each other.
for (const service of SERVICES) {
  flow('blue → green of the same service', p[`${service}-blue`], p[`${service}-green`], 8000, false);
  flow('green → blue of the same service', p[`${service}-green`], p[`${service}-blue`], 8000, false);
}
// The API server: only config-backup, only at the configured endpoint.
for (const from of [...everyPlatformPod, cluster.postgresPrimary, cluster.redis]) {
  const isConfigBackup = from.name === 'cronjob/config-backup';
  flow('→ API server endpoint:443', from, outside.apiServerEndpoint, 443, isConfigBackup);
  flow('→ API server endpoint:6443', from, outside.apiServerEndpoint, 6443, isConfigBackup);
  flow('→ kubernetes Service 10.0.0.1:443', from, outside.apiServerService, 443, false);
}
flow('config-backup → internet', p['cronjob/config-backup'], outside.internet, 443, false);
flow('config-backup → postgres', p['cronjob/config-backup'], cluster.postgresPrimary, 5432, false);
flow('nothing may connect to config-backup', cluster.prometheus, p['cronjob/config-backup'], 8080, false);

describe('reachability of the synthesized platform', () => {
  test('the inventory has every workload the flows need', () => {
    for (const name of [...SERVICES.flatMap((s) => [`${s}-blue`, `${s}-green`]), 'cronjob/db-backup', 'cronjob/config-backup']) {
      expect(p[name]).toBeDefined();
    }
    expect(dbJobs.length).toBeGreaterThanOrEqual(8);
    expect(SERVICES.every((s) => smokeOf(s) !== undefined)).toBe(true);
  });

  test.each(flows.map(([what, from, to, port, protocol, allowed]) => [`${what}: ${from.name} → ${to.name}:${port}/${protocol}`, from, to, port, protocol, allowed] as const))(
    '%s',
    (_label, from, to, port, protocol, allowed) => {
      const verdict = model.check(from, to, port, protocol);
      if (verdict.allowed !== allowed) {
        throw new Error(`expected ${allowed ? 'allowed' : 'denied'}, got ${verdict.allowed ? 'allowed' : 'denied'} (${verdict.reason})`);
      }
    },
  );
});

describe('reachability with postgres_exporter as its own Deployment (postgres.exporterPodLabels)', () => {
  const separate = synthPlatformObjects({ postgres: { exporterPodLabels: { 'app.kubernetes.io/name': 'postgres-exporter' } } });
  const exporterModel = new NetworkPolicyModel(ofKind(separate, 'NetworkPolicy') as any, {}, 'aiaas');
  const exporter = pod('postgres-exporter', 'aiaas', { 'app.kubernetes.io/name': 'postgres-exporter' }, [{ name: 'metrics', containerPort: 9187 }]);

  test.each([
    ['Prometheus → exporter:9187', cluster.prometheus, exporter, 9187, true],
    ['Grafana → exporter:9187', cluster.grafana, exporter, 9187, false],
    ['exporter → postgres:5432', exporter, cluster.postgresPrimary, 5432, true],
    ['exporter → redis', exporter, cluster.redis, 6379, false],
    ['Prometheus → postgres pods:9187 (no sidecar to scrape)', cluster.prometheus, cluster.postgresPrimary, 9187, false],
    ['orchestrator → postgres:5432 still', p['orchestrator-blue'], cluster.postgresPrimary, 5432, true],
  ] as const)('%s', (_label, from, to, port, allowed) => {
    expect(exporterModel.check(from, to, port).allowed).toBe(allowed);
  });

  test('fails on an empty exporter selector', () => {
    expect(() => synthPlatformObjects({ postgres: { exporterPodLabels: {} } })).toThrow(/postgres\.exporterPodLabels: expected at least one label/);
  });
});
