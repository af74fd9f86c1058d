import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { BlueGreenService, loadPlatformConfig, PlatformChart, headingAnchor } from '../src';
import { diffObjects, find, K8sObject, ofKind, servicePatch, synthPlatformObjects } from './support/synth';
import { validateAll } from './support/validate-schema';
import { REFERENCE_CONFIG_FILE, withRunbookUrl } from './support/reference';
import { grants } from './support/rbac';

const reference = synthPlatformObjects();

function podSpecs(objects: K8sObject[]): any[] {
  return objects.flatMap((o) => {
    if (o.kind === 'CronJob') {
      return [o.spec.jobTemplate.spec.template.spec];
    }
    return o.spec?.template?.spec ? [o.spec.template.spec] : [];
  });
}

describe('PlatformChart (reference platform)', () => {
  test('every synthesized object validates against its Kubernetes or prometheus-operator schema', () => {
    expect(reference.length).toBeGreaterThan(40);
    validateAll(reference);
  });

  test('the four runbook services, each blue and green, in namespace aiaas', () => {
    for (const name of ['api-gateway', 'orchestrator', 'tool-service', 'realtime-service']) {
      for (const color of ['blue', 'green']) {
        const deployment = find(reference, 'Deployment', `${name}-${color}`);
        expect(deployment.metadata.namespace).toBe('aiaas');
        expect(deployment.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 8000, name: 'http' }]);
      }
      expect(find(reference, 'Service', name).spec.selector).toEqual({ app: name, version: 'blue' });
    }
  });

  test('namespace enforces Pod Security "restricted" and every pod complies', () => {
    const namespace = find(reference, 'Namespace', 'aiaas');
    expect(namespace.metadata.namespace).toBeUndefined();
    expect(namespace.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    const pods = podSpecs(reference);
    expect(pods.length).toBeGreaterThanOrEqual(8);
    for (const pod of pods) {
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThanOrEqual(10000);
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
    }
  });

  test('runbook toggles become env vars of the right services', () => {
    const env = (deployment: string) => find(reference, 'Deployment', deployment).spec.template.spec.containers[0].env;
    expect(env('orchestrator-blue')).toContainEqual({ name: 'FALLBACK_MODE', value: 'false' });
    expect(env('api-gateway-blue')).toContainEqual({ name: 'STRICT_VALIDATION', value: 'true' });
    expect(env('realtime-service-green')).toContainEqual({ name: 'WS_MAX_CONNECTIONS', value: '10000' });
    const withFallback = synthPlatformObjects({ toggles: { fallbackMode: true } });
    // The orchestrator's pods, and what follows their revision: its preview and smoke Job.
    expect(diffObjects(reference, withFallback).every((c) => /^(Deployment\/orchestrator-|Service\/orchestrator-preview:|[-+]Job\/orchestrator-smoke-)/.test(c))).toBe(true);
  });

  test('no Secret is created and no secret value appears: only secretKeyRef by name', () => {
    expect(ofKind(reference, 'Secret')).toEqual([]);
    const env = podSpecs(reference).flatMap((p) => p.containers.flatMap((c: any) => c.env ?? []));
    const secretRefs = env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.valueFrom.secretKeyRef.name);
    expect(new Set(secretRefs)).toEqual(new Set(['api-keys', 'postgres-credentials', 'aiaas-job-db-credentials']));
  });

  test('rotating a secret is a new name in the config and rolls only the pods using it', () => {
    const rotated = synthPlatformObjects({ secrets: { apiKeys: 'api-keys-2026-11', databaseCredentials: 'postgres-credentials' } });
    const changed = new Set(diffObjects(reference, rotated).map((c) => c.split(':')[0]));
    // New pod templates are new revisions: the previews follow them and the smoke Jobs run again.
    expect([...changed].filter((c) => !/^[-+]Job\//.test(c)).sort()).toEqual([
      'Deployment/api-gateway-blue',
      'Deployment/api-gateway-green',
      'Deployment/tool-service-blue',
      'Deployment/tool-service-green',
      'Service/api-gateway-preview',
      'Service/tool-service-preview',
    ]);
    expect([...changed].filter((c) => /^[-+]Job\//.test(c)).map((c) => c.slice(0, 6)).sort()).toEqual(['+Job/a', '+Job/t', '-Job/a', '-Job/t']);
  });

  test('promoting one service via config changes only its two Services selectors and its smoke Job', () => {
    const promoted = synthPlatformObjects({ services: [{ name: 'orchestrator', activeColor: 'green' } as never] });
    const blueRevision = find(reference, 'Deployment', 'orchestrator-blue').spec.template.metadata.labels['aiaas.io/revision'];
    const greenRevision = find(reference, 'Deployment', 'orchestrator-green').spec.template.metadata.labels['aiaas.io/revision'];
    expect(diffObjects(reference, promoted)).toEqual([
      `+Job/orchestrator-smoke-${blueRevision}`,
      `-Job/orchestrator-smoke-${greenRevision}`,
      'Service/orchestrator-preview:/spec/selector/aiaas.io/revision',
      'Service/orchestrator-preview:/spec/selector/version',
      'Service/orchestrator:/spec/selector/version',
    ]);
    expect(find(promoted, 'Service', 'orchestrator-preview').spec.selector).toEqual({ app: 'orchestrator', version: 'blue', 'aiaas.io/revision': blueRevision });
  });

  describe('network policies', () => {
    const policy = (name: string) => find(reference, 'NetworkPolicy', name).spec;
    const fromLabels = (spec: any) => spec.ingress[0].from.map((p: any) => p.podSelector?.matchLabels);

    test('default deny of all ingress and egress, and DNS egress on UDP and TCP 53', () => {
      expect(policy('default-deny-all')).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      const dns = policy('allow-dns');
      expect(dns.egress[0].to).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
      ]);
      expect(dns.egress[0].ports).toEqual([
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ]);
    });

    test('ingress controller reaches only api-gateway and realtime-service', () => {
      const fromIngress = (name: string) =>
        policy(name).ingress[0].from.some((p: any) => p.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === 'ingress-nginx');
      expect(fromIngress('api-gateway')).toBe(true);
      expect(fromIngress('realtime-service')).toBe(true);
      expect(fromIngress('orchestrator')).toBe(false);
      expect(fromIngress('tool-service')).toBe(false);
    });

    test('api-gateway → orchestrator → tool-service, and nothing else between services', () => {
      expect(fromLabels(policy('orchestrator'))).toContainEqual({ app: 'api-gateway' });
      expect(fromLabels(policy('tool-service'))).toContainEqual({ app: 'orchestrator' });
      expect(fromLabels(policy('tool-service'))).not.toContainEqual({ app: 'api-gateway' });
      const egressTargets = (name: string) => policy(name).egress.map((e: any) => [e.to[0].podSelector?.matchLabels ?? e.to[0].ipBlock, e.ports[0].port]);
      expect(egressTargets('api-gateway')).toEqual([
        [{ app: 'orchestrator' }, 8000],
        [{ app: 'schema-registry' }, 8080],
        [{ app: 'feature-flags' }, 8000],
        [{ app: 'redis' }, 6379],
      ]);
      expect(egressTargets('tool-service')[1][0].cidr).toBe('0.0.0.0/0');
      expect(egressTargets('realtime-service')).toEqual([[{ app: 'redis' }, 6379]]);
    });

    test('Prometheus pods of the monitoring namespace reach the metrics port; dependencies accept only their clients', () => {
      expect(policy('orchestrator').ingress[0].from).toContainEqual({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      });
      expect(policy('orchestrator').ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8000 }]);
      expect(fromLabels(policy('redis-clients'))).toEqual(expect.arrayContaining([{ app: 'api-gateway' }, { app: 'realtime-service' }]));
      expect(fromLabels(policy('schema-registry-clients'))).toEqual([{ app: 'api-gateway' }]);
    });

    test('issue 10.2: tool-service reaches the public internet on 443 only, not private ranges or cloud metadata', () => {
      const external = policy('tool-service').egress.find((e: any) => e.to[0].ipBlock);
      expect(external).toEqual({
        to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] } }],
        ports: [{ protocol: 'TCP', port: 443 }],
      });
      // Narrowed in config: excepts outside the block are not written (the API server rejects them).
      const narrowed = synthPlatformObjects(servicePatch({ name: 'tool-service', externalEgressCidrs: ['203.0.113.0/24', '::/0'] }));
      expect(find(narrowed, 'NetworkPolicy', 'tool-service').spec.egress.find((e: any) => e.to[0].ipBlock).to).toEqual([
        { ipBlock: { cidr: '203.0.113.0/24' } },
        { ipBlock: { cidr: '::/0', except: ['fc00::/7', 'fe80::/10'] } },
      ]);
    });

    test('issue 10.4: other pods of the monitoring namespace (Grafana) are not admitted; the Prometheus labels are configurable', () => {
      for (const service of ['api-gateway', 'orchestrator', 'tool-service', 'realtime-service']) {
        const monitoringPeers = policy(service).ingress[0].from.filter((p: any) => p.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === 'monitoring');
        expect(monitoringPeers).toEqual([{ namespaceSelector: expect.anything(), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }]);
      }
      const objects = synthPlatformObjects({ network: { prometheusPodLabels: { app: 'prom' } } });
      expect(find(objects, 'NetworkPolicy', 'postgres-metrics').spec.ingress[0].from[0].podSelector).toEqual({ matchLabels: { app: 'prom' } });
    });

    test('issue 10.5: only the orchestrator and the database jobs reach postgres', () => {
      expect(fromLabels(policy('postgres-clients'))).toEqual([{ app: 'orchestrator' }, { 'app.kubernetes.io/name': 'aiaas-job' }]);
      for (const service of ['api-gateway', 'tool-service', 'realtime-service']) {
        expect(JSON.stringify(policy(service).egress)).not.toContain('postgres');
      }
    });

    test('issue 10.5: fails if a service without database credentials is given egress to postgres', () => {
      expect(() => synthPlatformObjects(servicePatch({ name: 'tool-service', egressTo: ['postgres'] }))).toThrow(
        /services\[tool-service\]\.egressTo\.0: 'postgres' is reachable only by services holding the database credentials/,
      );
    });

    test('issue 10.6: postgres standby ↔ primary on 5432 and Prometheus → postgres_exporter 9187', () => {
      expect(policy('postgres-replication')).toEqual({
        podSelector: { matchLabels: { app: 'postgres' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'postgres' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
        egress: [{ to: [{ podSelector: { matchLabels: { app: 'postgres' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
      });
      expect(policy('postgres-metrics').ingress[0].ports).toEqual([{ protocol: 'TCP', port: 9187 }]);
      // Replicas with their own labels, an exporter port, redis metrics and postgres' WAL archive egress, all in config.
      const objects = synthPlatformObjects({
        postgres: { replicaPodLabels: { app: 'postgres-standby' }, exporterPort: 9188, egress: [{ cidrs: ['198.51.100.0/24'], ports: [443] }] },
        redis: { metricsPort: 9121, replicaPodLabels: { app: 'redis-replica' } },
      });
      const names = ofKind(objects, 'NetworkPolicy').map((p) => p.metadata.name);
      expect(names).toEqual(expect.arrayContaining(['postgres-replication', 'postgres-replication-replicas', 'postgres-egress', 'redis-metrics', 'redis-replication']));
      expect(find(objects, 'NetworkPolicy', 'postgres-replication-replicas').spec.podSelector).toEqual({ matchLabels: { app: 'postgres-standby' } });
      expect(find(objects, 'NetworkPolicy', 'postgres-metrics').spec.ingress[0].ports[0].port).toBe(9188);
      expect(find(objects, 'NetworkPolicy', 'redis-metrics').spec.ingress[0].ports[0].port).toBe(9121);
      expect(find(objects, 'NetworkPolicy', 'postgres-egress').spec.egress).toEqual([
        { to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ]);
    });

    test('issue 10.6: fails on an empty replica selector or a dependency egress naming both CIDRs and pods', () => {
      expect(() => synthPlatformObjects({ postgres: { replicaPodLabels: {} } })).toThrow(/postgres\.replicaPodLabels: expected at least one label/);
      expect(() => synthPlatformObjects({ redis: { egress: [{ cidrs: ['10.0.0.0/8'], namespace: 'kafka', ports: [9092] }] } })).toThrow(
        /redis\.egress\.0: expected either cidrs, or namespace/,
      );
    });

    test('peers and namespaces are configurable', () => {
      const objects = synthPlatformObjects({
        network: { ingressNamespace: 'traefik', ingressPodLabels: { app: 'traefik' }, monitoringNamespace: 'observability' },
        redis: { podLabels: { 'app.kubernetes.io/name': 'redis' }, port: 6380 },
      });
      const gateway = find(objects, 'NetworkPolicy', 'api-gateway').spec;
      expect(gateway.ingress[0].from[0]).toEqual({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } },
        podSelector: { matchLabels: { app: 'traefik' } },
      });
      expect(gateway.egress).toContainEqual({ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }], ports: [{ protocol: 'TCP', port: 6380 }] });
    });
  });

  describe('RBAC', () => {
    const roles = [...ofKind(reference, 'Role'), ...ofKind(reference, 'ClusterRole')];

    test('no wildcard verbs, resources or API groups, and no access to Secrets', () => {
      expect(roles.map((r) => r.metadata.name).sort()).toEqual(['aiaas-aiaas-oncall-nodes', 'aiaas-database-operator', 'aiaas-deployer', 'aiaas-oncall', 'aiaas-responder']);
      for (const role of roles) {
        for (const rule of role.rules) {
          expect([...rule.verbs, ...rule.resources, ...rule.apiGroups]).not.toContain('*');
          expect(rule.resources).not.toContain('secrets');
        }
      }
    });

    test('on-call reads what the runbook commands need, cluster-wide nodes and PVs', () => {
      const oncall = find(reference, 'Role', 'aiaas-oncall');
      const resources = oncall.rules.flatMap((r: any) => r.resources);
      expect(resources).toEqual(expect.arrayContaining(['pods', 'pods/log', 'events', 'deployments', 'services', 'endpoints', 'networkpolicies', 'persistentvolumeclaims']));
      expect(oncall.rules.find((r: any) => r.apiGroups.includes('metrics.k8s.io')).resources).toEqual(['pods']);
      // Read-only (under engine argo-rollouts, also `kubectl argo rollouts abort`: test/runbook-rbac.test.ts).
      const writes = oncall.rules.filter((r: any) => !r.verbs.every((v: string) => ['get', 'list', 'watch'].includes(v)));
      expect(writes).toEqual([]);
      const cluster = ofKind(reference, 'ClusterRole')[0];
      expect(cluster.metadata.namespace).toBeUndefined();
      expect(cluster.rules[0].resources).toEqual(['nodes', 'persistentvolumes']);
      expect(find(reference, 'RoleBinding', 'aiaas-oncall').subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'aiaas-oncall' }]);
    });

    test('the responder restarts, scales, sets HPA bounds, deletes and execs into pods, port-forwards and runs jobs, never reads Secrets', () => {
      const responder = find(reference, 'Role', 'aiaas-responder').rules;
      const can = (group: string, resource: string, verb: string) => grants(responder, group, resource, verb);
      for (const [group, resource, verb] of [
        ['apps', 'deployments', 'patch'],
        ['apps', 'deployments/scale', 'patch'],
        ['autoscaling', 'horizontalpodautoscalers', 'patch'],
        ['', 'pods', 'delete'],
        ['', 'pods/exec', 'create'],
        ['', 'pods/portforward', 'create'],
        ['batch', 'jobs', 'create'],
        ['batch', 'cronjobs', 'get'],
      ]) {
        expect([group, resource, verb, can(group, resource, verb)]).toEqual([group, resource, verb, true]);
      }
      for (const [group, resource, verb] of [
        ['', 'secrets', 'get'],
        ['', 'secrets', 'list'],
        ['', 'services', 'patch'],
        ['apps', 'deployments', 'create'],
        ['apps', 'deployments', 'delete'],
        ['rbac.authorization.k8s.io', 'roles', 'get'],
      ]) {
        expect([group, resource, verb, can(group, resource, verb)]).toEqual([group, resource, verb, false]);
      }
      expect(find(reference, 'RoleBinding', 'aiaas-responder').subjects.map((s: any) => s.name)).toEqual(['aiaas-responders']);
      // Separate from the read-only on-call role: none of its writes leak into it.
      const oncallWrites = find(reference, 'Role', 'aiaas-oncall').rules.filter((r: any) => r.verbs.some((v: string) => !['get', 'list', 'watch'].includes(v)));
      expect(oncallWrites).toEqual([]);
    });

    test('database operator execs only into named postgres pods', () => {
      const operator = find(reference, 'Role', 'aiaas-database-operator').rules;
      expect(operator).toContainEqual({ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'], resourceNames: ['postgres-0'] });
      const twoPods = find(synthPlatformObjects({ postgres: { replicas: 2 } }), 'Role', 'aiaas-database-operator');
      expect(twoPods.rules[1].resourceNames).toEqual(['postgres-0', 'postgres-1']);
    });

    test('replication-lag expects postgres.replicas − 1 standbys: none in the reference config', () => {
      const standbys = (objects: any[]): string => {
        const args: string[] = find(objects, 'CronJob', 'db-replication-lag').spec.jobTemplate.spec.template.spec.containers[0].args;
        return args[args.indexOf('--expected-standbys') + 1];
      };
      expect(standbys(reference)).toEqual('0');
      expect(standbys(synthPlatformObjects({ postgres: { replicas: 3 } }))).toEqual('2');
    });

    test('groups are configurable', () => {
      const objects = synthPlatformObjects({ rbac: { deployerGroups: ['ci-bots', 'release-team'] } });
      expect(find(objects, 'RoleBinding', 'aiaas-deployer').subjects.map((s: any) => s.name)).toEqual(['ci-bots', 'release-team']);
    });
  });
});

describe('monitoring of the reference platform', () => {
  const chart = new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl() });
  const objects = chart.toJson() as K8sObject[];

  test('one PrometheusRule, one AlertmanagerConfig and a ServiceMonitor per service', () => {
    const rule = find(objects, 'PrometheusRule', 'aiaas-alerts');
    expect(rule.metadata.namespace).toBe('aiaas');
    const alerts = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
    for (const incident of ['TIMEOUT', 'TOOL_DOWN', 'VALIDATION_FAIL', 'WS_OVERLOAD']) {
      expect(rule.spec.groups.flatMap((g: any) => g.rules).some((r: any) => r.labels.incident === incident)).toBe(true);
    }
    expect(alerts).toContain('AiaasBackupTooOld');
    expect(find(objects, 'AlertmanagerConfig', 'aiaas-escalation').metadata.namespace).toBe('aiaas');
    expect(ofKind(objects, 'ServiceMonitor').map((m) => m.metadata.name).sort()).toEqual(['api-gateway', 'orchestrator', 'realtime-service', 'tool-service']);
  });

  test('job alerts cover every CronJob the chart schedules, the backup by age', () => {
    const rules = find(objects, 'PrometheusRule', 'aiaas-alerts').spec.groups.flatMap((g: any) => g.rules);
    // db-restore is suspended for good: it runs only when a person starts it, and they watch it
    const cronJobs = ofKind(objects, 'CronJob').map((c) => c.metadata.name).filter((n) => n !== 'db-restore');
    expect(cronJobs).toContain('db-backup');
    for (const name of cronJobs) {
      expect(rules.some((r: any) => r.alert === 'AiaasDatabaseJobFailed' && r.labels.cronjob === name)).toBe(true);
    }
    const backup = rules.find((r: any) => r.alert === 'AiaasBackupTooOld');
    expect(backup.expr).toContain('db-backup');
    expect(backup.expr).toContain('absent(');
  });

  test('every runbook_url anchor resolves to a heading of the generated RUNBOOK.md, which uses real names', () => {
    const runbook = chart.extraFiles()['RUNBOOK.md'];
    const anchors = new Set([...runbook.matchAll(/^#+ (.+)$/gm)].map((m) => headingAnchor(m[1])));
    const urls = find(objects, 'PrometheusRule', 'aiaas-alerts').spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.annotations.runbook_url));
    expect(urls.length).toBeGreaterThan(20);
    for (const url of urls) {
      expect(anchors).toContain(url.split('#')[1]);
    }
    expect(runbook).toContain('kubectl -n aiaas rollout restart deployment/api-gateway-$API_GATEWAY_COLOR');
    expect(runbook).toContain('create job --from=cronjob/db-backup');
    // the in-cluster restore: the suspended CronJob, the default target, and replacing the real database
    expect(runbook).toContain('kubectl -n aiaas create job --from=cronjob/db-restore db-restore-manual-$(date +%s)\n');
    expect(runbook).toContain('into the new database aiaas_restored (aiaas is not touched)');
    expect(runbook).toMatch(/--from=cronjob\/db-restore .*--dry-run=client -o yaml \\\n {2}\| kubectl patch --local -f - --type=json/);
    expect(runbook).toContain('"value":"--target-database=aiaas"');
    expect(runbook).toContain('"value":"--force"');
  });
});

describe('using the constructs from another stack', () => {
  test('a separate chart with its own namespace and one extra service synthesizes', () => {
    // GIVEN another team's chart
    const app = Testing.app();
    const chart = new Chart(app, 'billing', { namespace: 'billing' });
    // WHEN it adds our BlueGreenService next to its own cdk8s-plus workload
    const billing = new BlueGreenService(chart, 'Billing', { name: 'billing', images: { blue: 'r.example/billing:3.1.0', green: 'r.example/billing:3.2.0' }, activeColor: 'green' as never });
    new kplus.ConfigMap(chart, 'Settings', { metadata: { name: 'billing-settings' }, data: { currency: 'EUR' } });
    const objects = Testing.synth(chart) as K8sObject[];
    // THEN
    expect(objects.every((o) => o.metadata.namespace === 'billing')).toBe(true);
    expect(find(objects, 'Service', 'billing').spec.selector).toEqual({ app: 'billing', version: 'green' });
    expect(billing.previewService.name).toBe('billing-preview');
    validateAll(objects);
  });
});

describe('PlatformChart config', () => {
  test('a config from the loader is used as is, not parsed again; a copy is parsed', () => {
    // GIVEN
    const config = loadPlatformConfig({ file: REFERENCE_CONFIG_FILE });
    // WHEN
    const chart = new PlatformChart(Testing.app(), 'aiaas', { config });
    const copied = new PlatformChart(Testing.app(), 'aiaas', { config: { ...config } });
    // THEN
    expect(chart.config).toBe(config);
    expect(copied.config).not.toBe(config);
    expect(copied.config).toEqual(config);
  });
});
