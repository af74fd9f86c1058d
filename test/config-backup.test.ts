import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { CronJob } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PersistentVolumeClaim, ServiceAccount } from 'kubernetes-models/v1';
import { CONFIG_BACKUP_RESOURCE_GROUPS, DbMaintenanceConfigInput, dbMaintenanceConfigSchema } from '../src/config/db-maintenance-config';
import { ConfigBackup, ConfigBackupProps } from '../src/constructs/config-backup';
import { K8sObject, find } from './support/synth';
import { validateAll } from './support/validate-schema';
import { KUBE_DNS_EGRESS, RESTRICTED_CONTAINER_SECURITY_CONTEXT } from './support/expected';

/** A digest-pinned kubectl image and API server address: config backup has no defaults for either. */
const KUBECTL_IMAGE = `registry.example.com/kubectl@sha256:${'a'.repeat(64)}`;
const ENABLED = { enabled: true, image: KUBECTL_IMAGE, apiServer: { cidrs: ['10.0.0.10/32'] } };

function synth(config: DbMaintenanceConfigInput = {}, props: Partial<ConfigBackupProps> = {}) {
  const chart = Testing.chart();
  const merged = { ...config, configBackup: { ...ENABLED, ...config.configBackup } };
  const construct = new ConfigBackup(chart, 'ConfigBackup', { namespace: 'aiaas', config: dbMaintenanceConfigSchema.parse(merged), ...props });
  return { objects: Testing.synth(chart) as K8sObject[], construct };
}

describe('ConfigBackup', () => {
  // GIVEN / WHEN the defaults
  const { objects, construct } = synth();
  const cronJob = find(objects, 'CronJob', 'config-backup');
  const pod = cronJob.spec.jobTemplate.spec.template.spec;
  const container = pod.containers[0];

  test('synthesizes the CronJob, its ServiceAccount, Role, RoleBinding, claim and NetworkPolicy', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'CronJob/config-backup',
      'NetworkPolicy/config-backup',
      'PersistentVolumeClaim/aiaas-config-backups',
      'Role/config-backup',
      'RoleBinding/config-backup',
      'ServiceAccount/config-backup',
    ]);
    expect(objects.every((o) => o.metadata.namespace === 'aiaas')).toBe(true);
  });

  test('every object validates against the Kubernetes schemas', () => {
    expect(() => new CronJob(cronJob as any).validate()).not.toThrow();
    expect(() => new NetworkPolicy(find(objects, 'NetworkPolicy', 'config-backup') as any).validate()).not.toThrow();
    expect(() => new Role(find(objects, 'Role', 'config-backup') as any).validate()).not.toThrow();
    expect(() => new RoleBinding(find(objects, 'RoleBinding', 'config-backup') as any).validate()).not.toThrow();
    expect(() => new ServiceAccount(find(objects, 'ServiceAccount', 'config-backup') as any).validate()).not.toThrow();
    expect(() => new PersistentVolumeClaim(find(objects, 'PersistentVolumeClaim', 'aiaas-config-backups') as any).validate()).not.toThrow();
    validateAll(objects);
  });

  test('the Role may only get and list the chosen resources: no secrets, no wildcard', () => {
    const role = find(objects, 'Role', 'config-backup');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps', 'persistentvolumeclaims', 'serviceaccounts', 'services'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: ['get', 'list'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list'] },
      { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get', 'list'] },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: ['get', 'list'] },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: ['get', 'list'] },
    ]);
    const all = role.rules.flatMap((r: any) => [...r.apiGroups, ...r.resources, ...r.verbs]);
    expect(all).not.toContain('secrets');
    expect(all).not.toContain('*');
    expect(JSON.stringify(objects)).not.toMatch(/secrets/);
    expect(Object.keys(CONFIG_BACKUP_RESOURCE_GROUPS)).not.toContain('secrets');
  });

  test('under Argo Rollouts it backs up the Rollouts and AnalysisTemplates too (the workloads are Rollouts there)', () => {
    const argo = synth({}, { argoRollouts: true }).objects;
    expect(find(argo, 'Role', 'config-backup').rules).toContainEqual(
      { apiGroups: ['argoproj.io'], resources: ['analysistemplates', 'rollouts'], verbs: ['get', 'list'] });
    const env = find(argo, 'CronJob', 'config-backup').spec.jobTemplate.spec.template.spec.containers[0].env;
    const types: string = env.find((e: any) => e.name === 'RESOURCE_TYPES').value;
    expect(types.split(',')).toEqual(expect.arrayContaining(['deployments.apps', 'rollouts.argoproj.io', 'analysistemplates.argoproj.io']));
    // without the engine, no Argo kinds: kubectl get fails on a resource type the cluster does not know
    expect(JSON.stringify(objects)).not.toMatch(/rollouts|analysistemplates/);
  });

  test('the RoleBinding gives the Role to the ServiceAccount only', () => {
    const binding = find(objects, 'RoleBinding', 'config-backup');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'config-backup' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'config-backup', namespace: 'aiaas' }]);
  });

  test('the CronJob runs kubectl on its schedule with the job settings', () => {
    expect(cronJob.spec).toMatchObject({
      schedule: '30 2 * * *',
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      suspend: false,
    });
    expect(cronJob.spec.jobTemplate.spec).toMatchObject({ activeDeadlineSeconds: 3600, backoffLimit: 2, ttlSecondsAfterFinished: 691_200 });
    expect(pod.restartPolicy).toEqual('Never');
    expect(container.image).toEqual(KUBECTL_IMAGE);
    // Pinned by digest: the cached copy is the right one.
    expect(container.imagePullPolicy).toEqual('IfNotPresent');
    expect(container.command.slice(0, 2)).toEqual(['/bin/bash', '-c']);
    expect(container.env).toEqual([
      { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      {
        name: 'RESOURCE_TYPES',
        value:
          'deployments.apps,statefulsets.apps,services,configmaps,cronjobs.batch,networkpolicies.networking.k8s.io,' +
          'ingresses.networking.k8s.io,poddisruptionbudgets.policy,horizontalpodautoscalers.autoscaling,serviceaccounts,' +
          'roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,persistentvolumeclaims',
      },
      { name: 'KEEP', value: '14' },
      { name: 'HOME', value: '/tmp' },
    ]);
  });

  test('the script writes a temp file, then renames it to a timestamped name', () => {
    const script: string = container.command[2];
    expect(script).toContain('set -euo pipefail');
    expect(script).toContain('kubectl get "${RESOURCE_TYPES}" --namespace "${NAMESPACE}" --output yaml > "${tmp}"');
    expect(script.indexOf('> "${tmp}"')).toBeLessThan(script.indexOf('mv "${tmp}" "${final}"'));
    expect(script).toContain('final="/backups/${NAMESPACE}_config_${stamp}.yaml"');
    expect(script).toContain('stamp="$(date -u +%Y%m%dT%H%M%SZ)"');
  });

  test('the pod meets Pod Security "restricted", with a token for the API only', () => {
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, fsGroupChangePolicy: 'OnRootMismatch' });
    expect(container.securityContext).toEqual(RESTRICTED_CONTAINER_SECURITY_CONTEXT);
    expect(pod.serviceAccountName).toEqual('config-backup');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(find(objects, 'ServiceAccount', 'config-backup').automountServiceAccountToken).toBe(true);
    expect(container.resources).toEqual({ requests: { 'cpu': '20m', 'memory': '64Mi', 'ephemeral-storage': '1Gi' }, limits: { 'cpu': '500m', 'memory': '256Mi', 'ephemeral-storage': '1Gi' } });
  });

  test('writes to its own claim at /backups, scratch in /tmp', () => {
    expect(find(objects, 'PersistentVolumeClaim', 'aiaas-config-backups').spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      volumeMode: 'Filesystem',
    });
    expect(container.volumeMounts).toEqual([
      { mountPath: '/tmp', name: 'tmp' },
      { mountPath: '/backups', name: 'backups' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'backups', persistentVolumeClaim: { claimName: 'aiaas-config-backups', readOnly: false } },
    ]);
  });

  test('egress only to the API server and DNS; no ingress', () => {
    const policy = find(objects, 'NetworkPolicy', 'config-backup');
    expect(policy.spec.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'aiaas-config-backup', 'app.kubernetes.io/component': 'config-backup' },
    });
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress ?? []).toEqual([]);
    expect(policy.spec.egress).toEqual([
      {
        to: [{ ipBlock: { cidr: '10.0.0.10/32' } }],
        ports: [
          { protocol: 'TCP', port: 443 },
          { protocol: 'TCP', port: 6443 },
        ],
      },
      KUBE_DNS_EGRESS,
    ]);
    // Not the aiaas-job labels: the database jobs' policy must not apply here.
    expect(cronJob.spec.jobTemplate.spec.template.metadata.labels['app.kubernetes.io/name']).toEqual('aiaas-config-backup');
  });

  test('exposes what it scheduled', () => {
    expect(construct.cronJob).toEqual({
      task: 'config-backup',
      name: 'config-backup',
      schedule: '30 2 * * *',
      timeZone: 'Etc/UTC',
      maxAgeSeconds: 86_400 + 600 + 3600 + 3600,
    });
  });

  test('the output is stable', () => {
    expect(objects).toMatchSnapshot();
  });
});

describe('issue 10.3: config backup needs an image you control and the API server address', () => {
  test('off by default: the reference platform has no API token anywhere', () => {
    expect(dbMaintenanceConfigSchema.parse({}).configBackup.enabled).toBe(false);
  });

  test.each([
    [{ enabled: true, apiServer: { cidrs: ['10.0.0.10/32'] } }, 'configBackup.image: required when configBackup is enabled'],
    [{ enabled: true, image: KUBECTL_IMAGE }, 'configBackup.apiServer.cidrs: required when configBackup is enabled'],
    [{ ...ENABLED, image: 'bitnami/kubectl:1.28.15' }, 'configBackup.image: expected an image pinned by digest'],
    [{ ...ENABLED, apiServer: { cidrs: ['0.0.0.0/0'] } }, 'configBackup.apiServer.cidrs.0: expected the API server address(es), not a catch-all block'],
  ])('fails if %j', (configBackup, message) => {
    const result = dbMaintenanceConfigSchema.safeParse({ configBackup });
    expect(result.success).toBe(false);
    const found = result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(found.some((p) => p.startsWith(message))).toBe(true);
  });

  test('the construct refuses a tag-pinned image or a catch-all API block given without the schema', () => {
    const parsed = dbMaintenanceConfigSchema.parse({ configBackup: ENABLED });
    const withImage = { ...parsed, configBackup: { ...parsed.configBackup, image: 'bitnami/kubectl:1.28.15' } };
    expect(() => new ConfigBackup(Testing.chart(), 'B', { namespace: 'aiaas', config: withImage })).toThrow(
      /'configBackup.image' \(bitnami\/kubectl:1.28.15\) must be an image pinned by digest/,
    );
    const withCidr = { ...parsed, configBackup: { ...parsed.configBackup, apiServer: { cidrs: ['0.0.0.0/0'], ports: [443] } } };
    expect(() => new ConfigBackup(Testing.chart(), 'B', { namespace: 'aiaas', config: withCidr })).toThrow(
      /'configBackup.apiServer.cidrs' \(\["0.0.0.0\/0"\]\) must list the API server address/,
    );
  });
});

describe('ConfigBackup with overrides', () => {
  test('config and props reach the manifest', () => {
    const { objects } = synth(
      {
        timeZone: 'Europe/Berlin',
        configBackup: {
          schedule: '0 */12 * * *',
          image: `registry.example.com/kubectl:1.30.4@sha256:${'b'.repeat(64)}`,
          resourceTypes: ['configmaps', 'deployments', 'configmaps'],
          keep: 3,
          volume: { size: '5Gi', storageClassName: 'standard' },
          apiServer: { cidrs: ['10.0.0.10/32', '10.0.0.11/32'], ports: [6443] },
        },
      },
      { dnsNamespace: 'dns', dnsPodLabels: { app: 'coredns' }, identity: { runAsUser: 20000, runAsGroup: 20000 } },
    );
    validateAll(objects);
    const cronJob = find(objects, 'CronJob', 'config-backup');
    const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
    expect(cronJob.spec.schedule).toEqual('0 */12 * * *');
    expect(cronJob.spec.timeZone).toEqual('Europe/Berlin');
    expect(container.image).toEqual(`registry.example.com/kubectl:1.30.4@sha256:${'b'.repeat(64)}`);
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'RESOURCE_TYPES', value: 'configmaps,deployments.apps' },
        { name: 'KEEP', value: '3' },
      ]),
    );
    expect(container.securityContext).toMatchObject({ runAsUser: 20000, runAsGroup: 20000 });
    expect(find(objects, 'Role', 'config-backup').rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list'] },
    ]);
    expect(find(objects, 'PersistentVolumeClaim', 'aiaas-config-backups').spec).toMatchObject({
      storageClassName: 'standard',
      resources: { requests: { storage: '5Gi' } },
    });
    const egress = find(objects, 'NetworkPolicy', 'config-backup').spec.egress;
    expect(egress[0]).toEqual({ to: [{ ipBlock: { cidr: '10.0.0.10/32' } }, { ipBlock: { cidr: '10.0.0.11/32' } }], ports: [{ protocol: 'TCP', port: 6443 }] });
    expect(egress[1].to[0]).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } },
      podSelector: { matchLabels: { app: 'coredns' } },
    });
  });

  test('without a namespace prop, uses the chart namespace for objects and the binding subject', () => {
    const chart = new Chart(Testing.app(), 'c', { namespace: 'aiaas-staging' });
    new ConfigBackup(chart, 'ConfigBackup', { config: dbMaintenanceConfigSchema.parse({ configBackup: ENABLED }) });
    const objects = chart.toJson() as K8sObject[];
    expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set(['aiaas-staging']));
    expect(find(objects, 'RoleBinding', 'config-backup').subjects[0].namespace).toEqual('aiaas-staging');
  });

  test('fails if neither the prop nor the chart gives a namespace', () => {
    expect(() => new ConfigBackup(Testing.chart(), 'ConfigBackup', { config: dbMaintenanceConfigSchema.parse({ configBackup: ENABLED }) })).toThrow(
      "'namespace' (undefined) is required when the chart has no namespace",
    );
  });

  test('fails if secrets are asked for in a config that bypassed the schema', () => {
    const config = dbMaintenanceConfigSchema.parse({ configBackup: ENABLED });
    const broken = { ...config, configBackup: { ...config.configBackup, resourceTypes: ['deployments', 'secrets'] } };
    expect(() => new ConfigBackup(Testing.chart(), 'ConfigBackup', { namespace: 'aiaas', config: broken })).toThrow(
      "'configBackup.resourceTypes' ('secrets') is not allowed; expected one of configmaps",
    );
  });

  test('fails if the schedule of a config that bypassed the schema is invalid', () => {
    const config = dbMaintenanceConfigSchema.parse({ configBackup: ENABLED });
    const broken = { ...config, configBackup: { ...config.configBackup, schedule: '* * * * 8' } };
    expect(() => new ConfigBackup(Testing.chart(), 'ConfigBackup', { namespace: 'aiaas', config: broken })).toThrow(
      "'dbMaintenance.configBackup.schedule' ('* * * * 8'): day-of-week 8 is out of range",
    );
  });
});

// The script itself, run by bash against a fake kubectl: atomic write, naming, retention, failure.
const bash = (() => {
  try {
    execFileSync('bash', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

(bash ? describe : describe.skip)('ConfigBackup script', () => {
  const { objects } = synth({ configBackup: { keep: 2 } });
  const container = find(objects, 'CronJob', 'config-backup').spec.jobTemplate.spec.template.spec.containers[0];
  const script: string = container.command[2].replace(/\/backups/g, '${BACKUPS}');

  function run(dir: string, kubectlBody: string): { status: number; files: string[] } {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/bash\n${kubectlBody}\n`, { mode: 0o755 });
    const backups = path.join(dir, 'backups');
    fs.mkdirSync(backups, { recursive: true });
    let status = 0;
    try {
      execFileSync('bash', ['-c', script], {
        env: { PATH: `${bin}:${process.env.PATH}`, BACKUPS: backups, NAMESPACE: 'aiaas', RESOURCE_TYPES: 'deployments.apps', KEEP: '2' },
        stdio: 'pipe',
      });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    return { status, files: fs.readdirSync(backups).sort() };
  }

  test('writes a timestamped YAML file and keeps the newest KEEP files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-backup-'));
    fs.mkdirSync(path.join(dir, 'backups'));
    for (const stamp of ['20240101T000000Z', '20240102T000000Z', '20240103T000000Z']) {
      fs.writeFileSync(path.join(dir, 'backups', `aiaas_config_${stamp}.yaml`), 'old');
    }
    const { status, files } = run(dir, 'echo "$@" | grep -q -- "get deployments.apps --namespace aiaas --output yaml" && echo "kind: List"');
    expect(status).toBe(0);
    expect(files).toHaveLength(2);
    expect(files[0]).toEqual('aiaas_config_20240103T000000Z.yaml');
    expect(files[1]).toMatch(/^aiaas_config_\d{8}T\d{6}Z\.yaml$/);
    expect(fs.readFileSync(path.join(dir, 'backups', files[1]), 'utf8')).toEqual('kind: List\n');
  });

  test('a failing kubectl leaves no file that looks complete and keeps earlier backups', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-backup-'));
    fs.mkdirSync(path.join(dir, 'backups'));
    fs.writeFileSync(path.join(dir, 'backups', 'aiaas_config_20240101T000000Z.yaml'), 'old');
    const { status, files } = run(dir, 'echo "kind: List"; echo "items:"; echo "forbidden" >&2; exit 1');
    expect(status).not.toBe(0);
    expect(files).toEqual(['aiaas_config_20240101T000000Z.yaml']);
  });
});
