// Issue 12.1: every kubectl command of dist/RUNBOOK.md is allowed to the Roles its block names,
// evaluated on the synthesized Roles, ClusterRoles and their bindings in dist/; pod specs given
// on the command line pass Pod Security "restricted". An unknown command fails.
import { readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { Testing } from 'cdk8s';
import { PlatformChart } from '../src/constructs/platform-chart';
import { kubectlArgs, kubectlCommands, namespaceOf, RUNBOOK_ROLES } from '../src/runbook/command-roles';
import { NetworkPolicyModel, Pod } from './support/network-policy-model';
import { RUNBOOK_URL } from './support/reference';

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
interface Need { group: string; resource: string; verb: string; name?: string }

const dist = join(__dirname, '..', 'dist');
const runbook = readFileSync(join(dist, 'RUNBOOK.md'), 'utf8');
const objects: any[] = parseAllDocuments(readFileSync(join(dist, 'aiaas.k8s.yaml'), 'utf8')).map((d) => d.toJSON()).filter(Boolean);

/** Everything a person holding `roleName` gets: the rules of every Role/ClusterRole bound to the same groups. */
function personaRules(roleName: string, all: any[] = objects): Rule[] {
  const bindings = all.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
  const groups = new Set(bindings.filter((b) => b.roleRef.name === roleName).flatMap((b) => b.subjects.map((s: any) => s.name)));
  const bound = bindings.filter((b) => b.subjects.some((s: any) => groups.has(s.name))).map((b) => `${b.roleRef.kind}/${b.roleRef.name}`);
  return all.filter((o) => (o.kind === 'Role' || o.kind === 'ClusterRole') && bound.includes(`${o.kind}/${o.metadata.name}`)).flatMap((o) => o.rules);
}

const allows = (rules: Rule[], n: Need) =>
  rules.some(
    (r) => r.apiGroups.includes(n.group) && r.resources.includes(n.resource) && r.verbs.includes(n.verb) && (!r.resourceNames || (n.name !== undefined && r.resourceNames.includes(n.name))),
  );

const RESOURCES: Record<string, [string, string]> = {
  pod: ['', 'pods'], pods: ['', 'pods'], po: ['', 'pods'],
  service: ['', 'services'], services: ['', 'services'], svc: ['', 'services'],
  endpoints: ['', 'endpoints'], events: ['', 'events'], pvc: ['', 'persistentvolumeclaims'], persistentvolumeclaims: ['', 'persistentvolumeclaims'],
  serviceaccounts: ['', 'serviceaccounts'], configmaps: ['', 'configmaps'], nodes: ['', 'nodes'], node: ['', 'nodes'], pv: ['', 'persistentvolumes'],
  deployment: ['apps', 'deployments'], deployments: ['apps', 'deployments'], deploy: ['apps', 'deployments'],
  replicasets: ['apps', 'replicasets'], statefulset: ['apps', 'statefulsets'], statefulsets: ['apps', 'statefulsets'],
  job: ['batch', 'jobs'], jobs: ['batch', 'jobs'], cronjob: ['batch', 'cronjobs'], cronjobs: ['batch', 'cronjobs'],
  hpa: ['autoscaling', 'horizontalpodautoscalers'], pdb: ['policy', 'poddisruptionbudgets'], networkpolicies: ['networking.k8s.io', 'networkpolicies'],
  roles: ['rbac.authorization.k8s.io', 'roles'], rolebindings: ['rbac.authorization.k8s.io', 'rolebindings'],
  rollout: ['argoproj.io', 'rollouts'],
};

function resource(word: string, command: string): [string, string] {
  const r = RESOURCES[word.toLowerCase()];
  if (!r) throw new Error(`unknown resource '${word}' in: ${command}`);
  return r;
}

// Flags whose value is the next word (`-f` is `--follow` in logs; `create -f` is read as the subcommand).
const VALUE_FLAGS = new Set(['-o', '--output', '-l', '--selector', '-c', '--container', '-p', '--patch', '--type', '--tail', '--timeout', '--for', '--max-log-requests', '--image', '--restart']);
const positional = (args: string[]) => args.filter((w, i) => !w.startsWith('-') && !(i > 0 && VALUE_FLAGS.has(args[i - 1])));

/** The RBAC requests a kubectl command makes; throws on a command this table does not know. */
function needs(command: string, text: string = runbook): Need[] {
  const args = kubectlArgs(command);
  const [verb, sub] = args;
  const pos = positional(args.slice(1));
  const flag = (name: string) => args.find((w) => w.startsWith(`${name}=`))?.slice(name.length + 1);
  const hasFlag = (name: string) => args.some((w) => w === name || w.startsWith(`${name}=`));
  const read = (word: string, verbs = ['get', 'list']): Need[] => {
    const [type, name] = word.split('/');
    const [group, res] = resource(type, command);
    return verbs.map((v) => ({ group, resource: res, verb: name ? 'get' : v, name }));
  };
  switch (verb) {
    case 'get': {
      // `all` is unknown on purpose: it includes kinds no Role reads (DaemonSets, ReplicationControllers).
      const types = pos[0].split(',');
      return types.flatMap((t) => read(pos.length > 1 ? `${t}/${pos[1]}` : t, hasFlag('-w') || hasFlag('--watch') ? ['list', 'watch'] : ['list']));
    }
    case 'describe':
      return [...read(pos[0], ['list']), { group: '', resource: 'events', verb: 'list' }];
    case 'top':
      return [{ group: 'metrics.k8s.io', resource: resource(pos[0], command)[1], verb: 'list' }];
    case 'logs': {
      const target = pos[0];
      // `logs job/x` and `logs -l` list the pods by selector.
      const pods: Need[] = hasFlag('-l')
        ? [{ group: '', resource: 'pods', verb: 'list' }]
        : target.includes('/') ? [...read(target), { group: '', resource: 'pods', verb: 'list' }] : [{ group: '', resource: 'pods', verb: 'get', name: target }];
      return [...pods, { group: '', resource: 'pods/log', verb: 'get' }];
    }
    case 'wait':
      return [...read(pos[0]), { group: resource(pos[0].split('/')[0], command)[0], resource: resource(pos[0].split('/')[0], command)[1], verb: 'watch' }];
    case 'exec': {
      const pod = pos[0];
      // `exec deploy/x` resolves a pod through the Deployment's selector.
      if (pod.includes('/')) return [...read(pod), { group: '', resource: 'pods', verb: 'list' }, { group: '', resource: 'pods/exec', verb: 'create' }];
      return [{ group: '', resource: 'pods', verb: 'get', name: pod }, { group: '', resource: 'pods/exec', verb: 'create', name: pod }];
    }
    case 'port-forward':
      return [...read(pos[0]), { group: '', resource: 'pods', verb: 'list' }, { group: '', resource: 'pods/portforward', verb: 'create' }];
    case 'rollout': {
      const target = pos[1];
      if (sub === 'status' || sub === 'history') return [...read(target), { group: 'apps', resource: 'replicasets', verb: 'list' }];
      if (sub === 'restart' || sub === 'undo') return [...read(target), { group: 'apps', resource: 'deployments', verb: 'patch' }, { group: 'apps', resource: 'replicasets', verb: 'list' }];
      break;
    }
    case 'scale':
      return [{ group: 'apps', resource: 'deployments/scale', verb: 'patch' }];
    case 'set':
      if (sub === 'env') return [...read(pos[1]), { group: 'apps', resource: 'deployments', verb: 'patch' }];
      break;
    case 'delete':
      if (sub === 'pod') return [{ group: '', resource: 'pods', verb: 'delete' }];
      if (sub === 'secret') return [{ group: '', resource: 'secrets', verb: 'delete', name: pos[1] }];
      break;
    case 'create': {
      const from = flag('--from');
      const local = flag('--dry-run') === 'client';
      if (sub === 'job' && from?.startsWith('cronjob/')) return [...read(from), ...(local ? [] : [{ group: 'batch', resource: 'jobs', verb: 'create' }])];
      // `create -f -` of the runbook: only the Job piped from `create job --dry-run=client`.
      if (sub === '-f' && /create job --from=cronjob\/\S+ [^|]*--dry-run=client[\s\S]*\| kubectl -n \S+ create -f -/.test(text)) return [{ group: 'batch', resource: 'jobs', verb: 'create' }];
      // A rotation's new Secret: no person's Role may (README "Security defaults"), so only the applier's block names it.
      if (sub === 'secret' && pos[1] === 'generic') return [{ group: '', resource: 'secrets', verb: 'create' }];
      break;
    }
    case 'patch':
      if (hasFlag('--local')) return [];
      return [...read(`${sub}/${pos[1]}`), { group: resource(sub, command)[0], resource: resource(sub, command)[1], verb: 'patch', name: pos[1] }];
    case 'run':
      return [{ group: '', resource: 'pods', verb: 'create' }, { group: '', resource: 'pods/attach', verb: 'create' }, { group: '', resource: 'pods', verb: 'delete' }];
    case 'argo': {
      const [, , action, name] = args;
      const rollout: Need[] = [{ group: 'argoproj.io', resource: 'rollouts', verb: 'get', name }];
      if (action === 'status' || action === 'get') return [...rollout, { group: 'argoproj.io', resource: 'rollouts', verb: 'watch', name }];
      if (action === 'abort') return [...rollout, { group: 'argoproj.io', resource: 'rollouts/status', verb: 'patch', name }];
      if (action === 'promote' || action === 'undo') return [...rollout, { group: 'argoproj.io', resource: 'rollouts', verb: 'patch', name }];
      break;
    }
  }
  throw new Error(`no RBAC mapping for: ${command}`);
}

/** Pod Security Standards "restricted" on a pod spec: the violations, none when it passes. */
function restrictedViolations(spec: any): string[] {
  const out: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) out.push('host namespaces');
  if ((spec.volumes ?? []).some((v: any) => v.hostPath)) out.push('hostPath volume');
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) out.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${c.name}: allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${c.name}: capabilities must drop ALL`);
    if ((sc.capabilities?.add ?? []).some((a: string) => a !== 'NET_BIND_SERVICE')) out.push(`${c.name}: adds capabilities`);
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) out.push(`${c.name}: runAsNonRoot`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) out.push(`${c.name}: runAsUser 0`);
    const seccomp = (sc.seccompProfile ?? pod.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${c.name}: seccompProfile`);
  }
  return out;
}

const bashBlocks = (text: string) => [...text.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
const withRoles = (text: string) => bashBlocks(text).flatMap((body) => {
  const roles = body.match(/^# Roles: (.+)$/m)?.[1].split(', ') ?? [];
  return kubectlCommands(body).map((command) => ({ command, roles }));
});
const blocks = bashBlocks(runbook);
const commandsWithRoles = withRoles(runbook);
const PEOPLE = [RUNBOOK_ROLES.onCall, RUNBOOK_ROLES.responder, RUNBOOK_ROLES.deployer, RUNBOOK_ROLES.databaseOperator];

/**
 * The commands of a runbook its named Roles do not allow, each with what is missing. A command in
 * another namespace must be a port-forward for the monitoring stack, marked as such.
 */
function refused(text: string, all: any[], namespace: string, monitoringNamespaces: string[]): string[] {
  const out: string[] = [];
  for (const { command, roles } of withRoles(text)) {
    const ns = namespaceOf(command);
    if (ns !== undefined && ns !== namespace) {
      const ok = kubectlArgs(command)[0] === 'port-forward' && monitoringNamespaces.includes(ns) && roles.includes(RUNBOOK_ROLES.monitoring);
      if (!ok) out.push(`${command} [${roles.join(', ')}]: outside ${namespace}, not a port-forward to the monitoring stack`);
      continue;
    }
    const wanted = needs(command, text);
    const named = roles.filter((r) => PEOPLE.includes(r as any));
    const missing = wanted.filter((n) => !named.some((r) => allows(personaRules(r, all), n)));
    if (missing.length > 0) {
      const forApplier = roles.includes(RUNBOOK_ROLES.applier) && missing.every((n) => !PEOPLE.some((r) => allows(personaRules(r, all), n)));
      if (!forApplier) out.push(`${command} [${roles.join(', ')}]: ${missing.map((n) => `${n.verb} ${n.group || 'core'}/${n.resource}${n.name ? `/${n.name}` : ''}`).join('; ')}`);
    }
  }
  return out;
}

/** The `kubectl run` pod specs of a runbook: the overrides' spec and the `--labels`. */
function runPods(text: string): { command: string; spec: any; labels: Record<string, string> }[] {
  return withRoles(text)
    .filter(({ command }) => kubectlArgs(command)[0] === 'run')
    .map(({ command }) => {
      const args = kubectlArgs(command);
      const overrides = args.find((w) => w.startsWith('--overrides='));
      const labels = args.find((w) => w.startsWith('--labels='))?.slice('--labels='.length);
      return {
        command,
        spec: overrides ? JSON.parse(overrides.slice('--overrides='.length)).spec : undefined,
        labels: Object.fromEntries((labels ? labels.split(',') : []).map((kv) => kv.split('=') as [string, string])),
      };
    });
}

describe('issue 12.1: every RUNBOOK command runs under the Roles its block names', () => {
  test('the runbook has command blocks, each naming its Roles', () => {
    expect(commandsWithRoles.length).toBeGreaterThan(150);
    for (const body of blocks.filter((b) => kubectlCommands(b).length > 0)) {
      expect(body.split('\n')[0]).toMatch(/^# Roles: /);
    }
  });

  test('every kubectl command is granted to a Role its block names, or is for the applier and granted to no person', () => {
    expect(refused(runbook, objects, 'aiaas', ['monitoring'])).toEqual([]);
  });

  test('commands are found in pipelines, lists and continuation lines, not in comments', () => {
    const block = [
      '# kubectl -n aiaas delete deployment x (a comment)',
      "kubectl -n aiaas get pods | grep x; kubectl -n aiaas port-forward svc/a 80:80 >/dev/null & PF=$!",
      'kubectl -n aiaas create job --from=cronjob/db-restore j --dry-run=client -o yaml \\',
      "  | kubectl -n aiaas create -f -   # trailing comment",
      "kubectl -n aiaas run p --overrides='{\"a\":\"b c|d\"}'",
    ].join('\n');
    expect(kubectlCommands(block)).toEqual([
      'kubectl -n aiaas get pods',
      'kubectl -n aiaas port-forward svc/a 80:80',
      'kubectl -n aiaas create job --from=cronjob/db-restore j --dry-run=client -o yaml',
      'kubectl -n aiaas create -f -',
      "kubectl -n aiaas run p --overrides='{\"a\":\"b c|d\"}'",
    ]);
  });

  test('an unknown kubectl verb or resource fails the check', () => {
    expect(() => needs('kubectl -n aiaas cordon node-1')).toThrow(/no RBAC mapping/);
    expect(() => needs('kubectl -n aiaas get secrets')).toThrow(/unknown resource 'secrets'/);
    expect(() => needs('kubectl -n aiaas get all -o yaml')).toThrow(/unknown resource 'all'/);
    expect(() => needs('kubectl -n aiaas delete deployment api-gateway-blue')).toThrow(/no RBAC mapping/);
  });

  test('the check refuses what the Roles do not grant', () => {
    expect(allows(personaRules(RUNBOOK_ROLES.onCall), needs('kubectl -n aiaas rollout restart deployment/api-gateway-blue').find((n) => n.verb === 'patch')!)).toBe(false);
    expect(allows(personaRules(RUNBOOK_ROLES.responder), { group: '', resource: 'secrets', verb: 'list' })).toBe(false);
    expect(needs('kubectl -n aiaas exec postgres-0 -- psql').every((n) => allows(personaRules(RUNBOOK_ROLES.databaseOperator), n))).toBe(true);
    expect(needs('kubectl -n aiaas exec postgres-9 -- psql').every((n) => allows(personaRules(RUNBOOK_ROLES.databaseOperator), n))).toBe(false);
    // On-call's ClusterRole (bound to the same group) gives the node reads.
    expect(needs('kubectl describe nodes').every((n) => n.resource === 'events' || allows(personaRules(RUNBOOK_ROLES.onCall), n))).toBe(true);
  });

  test('pod specs given on the command line pass Pod Security "restricted"', () => {
    const runs = runPods(runbook);
    expect(runs.length).toBeGreaterThan(0);
    for (const { spec } of runs) {
      expect(spec).toBeDefined();
      expect(restrictedViolations(spec)).toEqual([]);
    }
    expect(restrictedViolations({ containers: [{ name: 'busybox' }] })).toEqual(expect.arrayContaining(['busybox: runAsNonRoot', 'busybox: seccompProfile']));
  });
});

// Issue 12.2: the optional procedures (external API checks, monitoring URLs, bucket restore and
// its credentials' rotation) exist only with their config: checked on a chart that has them all.
describe('issue 12.2: a RUNBOOK with every optional procedure runs under its Roles and policies', () => {
  const chart = new PlatformChart(Testing.app(), 'aiaas', {
    config: {
      monitoring: {
        runbookBaseUrl: RUNBOOK_URL,
        externalApiHealthUrls: ['https://api.search.example.com/health', 'https://api.weather.example.com/v1/status'],
        prometheusUrl: 'http://kube-prometheus-prometheus.observability.svc.cluster.local:9090/prometheus',
        grafanaUrl: 'https://grafana.example.com',
      },
      dbMaintenance: {
        backupBucket: {
          bucket: 'acme-db-backups', endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1',
          credentialsSecret: { secret: 'backup-bucket' }, egress: { cidrs: ['52.95.128.0/21'] },
        },
      },
    },
  });
  const all = chart.toJson();
  const text = chart.extraFiles()['RUNBOOK.md'];

  test('every command is allowed to the Roles of its block; the port-forwards go to the configured Prometheus namespace only', () => {
    expect(refused(text, all, 'aiaas', ['observability'])).toEqual([]);
    expect(text).toContain('kubectl -n observability port-forward svc/kube-prometheus-prometheus 9090:9090');
    expect(refused(text, all, 'aiaas', [])).toEqual(expect.arrayContaining([expect.stringContaining('kubectl -n observability port-forward')]));
  });

  test("the external API checks run in pods that pass \"restricted\" and that the tool service's NetworkPolicy lets out on 443", () => {
    const checks = runPods(text).filter(({ command }) => command.includes('external-api-check'));
    // Once per TOOL_DOWN alert section.
    expect([...new Set(checks.map(({ spec }) => spec.containers[0].args.at(-1)))]).toEqual(['https://api.search.example.com/health', 'https://api.weather.example.com/v1/status']);
    const model = new NetworkPolicyModel(all.filter((o: any) => o.kind === 'NetworkPolicy'), {}, 'aiaas');
    const dns: Pod = { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ip: '10.244.9.2', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] };
    const internet = { name: 'api', ip: '93.184.216.34' };
    for (const { spec, labels } of checks) {
      expect(restrictedViolations(spec)).toEqual([]);
      expect(spec.containers[0].image).toBe(chart.config.smokeTestImage);
      const pod: Pod = { name: 'external-api-check', namespace: 'aiaas', labels, ip: '10.244.9.3', ports: [] };
      expect(model.check(pod, internet, 443).allowed).toBe(true);
      expect(model.check(pod, dns, 53, 'UDP').allowed).toBe(true);
      // The same pod without the tool service's label is shut in by the default deny.
      expect(model.check({ ...pod, labels: {} }, internet, 443).allowed).toBe(false);
      // Not selected by the tool service's Services or PDBs (they all need `version`), so it never takes traffic or blocks a drain.
      for (const o of all.filter((x: any) => ['Service', 'PodDisruptionBudget'].includes(x.kind) && (x.spec.selector?.app ?? x.spec.selector?.matchLabels?.app) === 'tool-service')) {
        const selector = o.spec.selector.matchLabels ?? o.spec.selector;
        expect(Object.entries(selector).every(([key, value]) => labels[key] === value)).toBe(false);
      }
    }
  });
});
