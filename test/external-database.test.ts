// Issue 12.5: one switch (postgres.external) moves everything that talks to the database
// to a host outside the cluster: services' env, jobs' PGHOST, NetworkPolicies (checked
// with Kubernetes' semantics by the reachability model), the runbook and the alerts.
import { parsePlatformConfig } from '../src/config/load-config';
import { problemsOf } from './support/config-problems';
import { PlatformConfigInput } from '../src/config/platform-config';
import { PlatformChart } from '../src/constructs/platform-chart';
import { Testing } from 'cdk8s';
import { External, NetworkPolicyModel, Pod } from './support/network-policy-model';
import { K8sObject, ofKind, synthPlatformObjects } from './support/synth';
import { validateAll } from './support/validate-schema';
import { withRunbookUrl } from './support/reference';

const HOST = 'aiaas.cluster-abc.eu-west-1.rds.amazonaws.com';
const external: PlatformConfigInput = {
  postgres: { external: { host: HOST, cidrs: ['10.20.30.0/24'] }, exporterPodLabels: { app: 'postgres-exporter' } },
};
const objects = synthPlatformObjects(external);
const reference = synthPlatformObjects();

const envOf = (container: any): Record<string, string | undefined> => Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));
const deployment = (all: K8sObject[], name: string) => all.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!;
const cronJobContainers = (all: K8sObject[]) => ofKind(all, 'CronJob').flatMap((c) => c.spec.jobTemplate.spec.template.spec.containers);

describe('a database outside the cluster (postgres.external)', () => {
  test('every synthesized object still validates against its schema', () => {
    validateAll(objects);
  });

  test('services holding the database credentials get its host, port and name; the others nothing', () => {
    for (const colour of ['blue', 'green']) {
      const env = envOf(deployment(objects, `orchestrator-${colour}`).spec.template.spec.containers[0]);
      expect(env).toMatchObject({ DATABASE_HOST: HOST, DATABASE_PORT: '5432', DATABASE_NAME: 'aiaas' });
      expect(envOf(deployment(objects, `api-gateway-${colour}`).spec.template.spec.containers[0]).DATABASE_HOST).toBeUndefined();
    }
  });

  test('in-cluster (the default), the services get the in-namespace Service as DATABASE_HOST', () => {
    expect(envOf(deployment(reference, 'orchestrator-blue').spec.template.spec.containers[0])).toMatchObject({ DATABASE_HOST: 'postgres' });
  });

  test("every job's PGHOST is the outside host", () => {
    const containers = cronJobContainers(objects).filter((c) => envOf(c).PGHOST !== undefined);
    expect(containers.length).toBeGreaterThanOrEqual(5);
    expect(new Set(containers.map((c) => envOf(c).PGHOST))).toEqual(new Set([HOST]));
  });

  test('no NetworkPolicy selects or admits postgres pods that do not exist', () => {
    const policies = ofKind(objects, 'NetworkPolicy');
    const text = JSON.stringify(policies);
    expect(text).not.toContain('"app":"postgres"');
    const names = policies.map((p) => p.metadata.name);
    expect(names).not.toEqual(expect.arrayContaining(['postgres-clients']));
    expect(names.filter((n) => /^postgres-(clients|replication|from-aiaas-job|egress)/.test(n))).toEqual([]);
    // In-cluster, the same policies exist (the switch, not a regression, removed them).
    expect(ofKind(reference, 'NetworkPolicy').map((p) => p.metadata.name)).toEqual(expect.arrayContaining(['postgres-clients', 'postgres-replication']));
  });

  describe('reachability (Kubernetes NetworkPolicy semantics)', () => {
    let nextIp = 10;
    const pod = (name: string, labels: Record<string, string>, ports: Pod['ports'] = [], namespace = 'aiaas'): Pod => ({
      name,
      namespace,
      labels,
      ip: `10.244.0.${nextIp++}`,
      ports,
    });
    const templatePod = (name: string, template: any) => pod(name, template.metadata.labels, template.spec.containers.flatMap((c: any) => c.ports ?? []));
    const model = new NetworkPolicyModel(ofKind(objects, 'NetworkPolicy') as any, {}, 'aiaas');
    const orchestrator = templatePod('orchestrator-blue', deployment(objects, 'orchestrator-blue').spec.template);
    const gateway = templatePod('api-gateway-blue', deployment(objects, 'api-gateway-blue').spec.template);
    const toolService = templatePod('tool-service-blue', deployment(objects, 'tool-service-blue').spec.template);
    const backup = templatePod('backup', ofKind(objects, 'CronJob').find((c) => c.metadata.name === 'db-backup')!.spec.jobTemplate.spec.template);
    const exporter = pod('postgres-exporter', { app: 'postgres-exporter' }, [{ name: 'metrics', containerPort: 9187 }]);
    const prometheus = pod('prometheus-0', { 'app.kubernetes.io/name': 'prometheus' }, [], 'monitoring');
    const grafana = pod('grafana', { 'app.kubernetes.io/name': 'grafana' }, [], 'monitoring');
    const database: External = { name: 'managed postgres', ip: '10.20.30.5' };
    const otherPrivateHost: External = { name: 'another private host', ip: '10.20.31.5' };

    const flows: [string, Pod, Pod | External, number, boolean][] = [
      ['orchestrator → database', orchestrator, database, 5432, true],
      ['backup job → database', backup, database, 5432, true],
      ['exporter → database', exporter, database, 5432, true],
      ['Prometheus → exporter', prometheus, exporter, 9187, true],
      ['Grafana → exporter', grafana, exporter, 9187, false],
      ['api-gateway (no DB credentials) → database', gateway, database, 5432, false],
      ['tool-service (public egress only) → database', toolService, database, 5432, false],
      ['orchestrator → database on another port', orchestrator, database, 5433, false],
      ['orchestrator → another host of the private range', orchestrator, otherPrivateHost, 5432, false],
      ['backup job → another host of the private range', backup, otherPrivateHost, 5432, false],
    ];
    test.each(flows.map(([what, ...rest]) => [`${what}: ${rest[3] ? 'allowed' : 'denied'}`, ...rest] as const))('%s', (_, from, to, port, allowed) => {
      expect(model.check(from, to, port).allowed).toBe(allowed);
    });
  });

  test('the runbook runs psql and pg_isready against the host, never exec into a postgres pod', () => {
    const runbook = new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl(external) }).extraFiles()['RUNBOOK.md'];
    expect(runbook).not.toMatch(/exec[^\n]*postgres-0/);
    expect(runbook).toContain(`pg_isready -h ${HOST} -p 5432 -d aiaas`);
    expect(runbook).toContain(`psql "host=${HOST} port=5432 dbname=aiaas sslmode=require" -c "SELECT count(*) FROM pg_stat_activity;"`);
    expect(runbook).toContain(`pg_dump "host=${HOST} port=5432 dbname=aiaas sslmode=require" > backup_`);
    expect(runbook).toContain('kubectl -n aiaas logs -l app=postgres-exporter --tail=200');
    // In-cluster, the runbook still execs into the StatefulSet's pod.
    const inCluster = new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl() }).extraFiles()['RUNBOOK.md'];
    expect(inCluster).toContain('exec -it postgres-0 -- pg_isready');
  });

  test('AiaasPostgresDown names the outside host', () => {
    const rules = ofKind(objects, 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules));
    const down = rules.find((r: any) => r.alert === 'AiaasPostgresDown');
    expect(down.annotations.summary).toContain(`PostgreSQL (${HOST})`);
    expect(down.expr).toBe('pg_up{namespace="aiaas"} == 0 or absent(pg_up{namespace="aiaas"})');
  });
});

describe('config of the database switch', () => {
  const problems = problemsOf;

  test('an outside host in dbMaintenance.database.host alone is refused (it would move only the jobs)', () => {
    expect(problems({ dbMaintenance: { database: { host: HOST } } })).toEqual([
      `dbMaintenance.database.host: '${HOST}' is not an in-cluster Service name; expected a Service of the in-namespace postgres, or a database outside the cluster declared as postgres.external {host, cidrs} (README "A database outside the cluster")`,
    ]);
  });

  test.each(['postgres-primary', 'postgres.aiaas.svc', 'postgres.aiaas.svc.cluster.local'])('an in-cluster host %s passes', (host) => {
    expect(parsePlatformConfig(withRunbookUrl({ dbMaintenance: { database: { host } } })).dbMaintenance.database.host).toBe(host);
  });

  test('fails on two different hosts, or an outside database without its exporter, all in one run', () => {
    expect(problems({ postgres: { external: { host: HOST, cidrs: ['10.20.30.0/24'] } }, dbMaintenance: { database: { host: 'db.example.com' } } })).toEqual([
      expect.stringMatching(/^postgres\.exporterPodLabels: missing: with postgres\.external there are no postgres pods/),
      `dbMaintenance.database.host: 'db.example.com' differs from postgres.external.host '${HOST}'; expected it left out (the jobs follow postgres.external.host) or the same host`,
    ]);
  });

  test.each<[string, unknown, RegExp]>([
    ['no CIDR', { host: HOST, cidrs: [] }, /^postgres\.external\.cidrs: expected at least one CIDR/],
    ['a malformed CIDR', { host: HOST, cidrs: ['10.20.30.0/33'] }, /^postgres\.external\.cidrs\.0: expected a CIDR block/],
    ['no host', { cidrs: ['10.20.30.0/24'] }, /^postgres\.external\.host: Required/],
    ['a host that is no DNS name (it is written into shell commands)', { host: 'db.example.com; rm -rf ~', cidrs: ['10.20.30.0/24'] }, /^postgres\.external\.host: expected a DNS name like db\.example\.com or an IP address/],
  ])('fails on an external database with %s, naming the field', (_, externalInput, message) => {
    expect(problems({ postgres: { external: externalInput, exporterPodLabels: { app: 'postgres-exporter' } } })).toEqual([expect.stringMatching(message)]);
  });
});
