// Issue 12.1: every kubectl command of dist/RUNBOOK.md is allowed to the Roles its block names,
// evaluated on the synthesized Roles, ClusterRoles and their bindings in dist/; pod specs given
// on the command line pass Pod Security "restricted". An unknown command fails. The same holds
// for the RUNBOOK and Roles of the Argo Rollouts engine (issue 9.3).
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { Testing } from 'cdk8s';
import { PlatformChart } from '../src/constructs/platform-chart';
import { kubectlArgs, kubectlCommands, namespaceOf, RUNBOOK_ROLES } from '../src/runbook/command-roles';
import { NetworkPolicyModel, Pod } from './support/network-policy-model';
import { RUNBOOK_URL, withRunbookUrl } from './support/reference';

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
interface Need { group: string; resource: string; verb: string; name?: string }

const distDir = join(__dirname, '..', 'dist');
const runbook = readFileSync(join(distDir, 'RUNBOOK.md'), 'utf8');
const objects: any[] = parseAllDocuments(readFileSync(join(distDir, 'aiaas.k8s.yaml'), 'utf8')).map((d) => d.toJSON()).filter(Boolean);

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
  rollout: ['argoproj.io', 'rollouts'], rollouts: ['argoproj.io', 'rollouts'], analysisruns: ['argoproj.io', 'analysisruns'], analysistemplates: ['argoproj.io', 'analysistemplates'],
};

function resource(word: string, command: string): [string, string] {
  const r = RESOURCES[word.toLowerCase()];
  if (!r) throw new Error(`unknown resource '${word}' in: ${command}`);
  return r;
}

// Flags whose value is the next word (`-f` is `--follow` in logs; `create -f` is read as the subcommand).
const VALUE_FLAGS = new Set(['-o', '--output', '-l', '--selector', '-c', '--container', '-p', '--patch', '--type', '--tail', '--timeout', '--for', '--max-log-requests', '--image', '--restart']);
const positional = (args: string[]) => args.filter((w, i) => !w.startsWith('-') && !(i > 0 && VALUE_FLAGS.has(args[i - 1])));

/**
 * `kubectl argo rollouts status|get rollout`: the plugin's view controller starts namespace-wide
 * informers (pkg/kubectl-argo-rollouts/viewcontroller: Rollouts, Experiments, AnalysisRuns,
 * ReplicaSets, pods, Deployments), each a list then a watch.
 */
const ARGO_VIEW: Need[] = ([['argoproj.io', 'rollouts'], ['argoproj.io', 'experiments'], ['argoproj.io', 'analysisruns'], ['apps', 'replicasets'], ['', 'pods'], ['apps', 'deployments']] as const)
  .flatMap(([group, resource]) => ['list', 'watch'].map((verb) => ({ group, resource, verb })));

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
    case 'scale': {
      // Without --current-replicas or --resource-version, kubectl scale patches the scale subresource.
      const [group, res] = resource(pos[0], command);
      return [{ group, resource: `${res}/scale`, verb: 'patch', name: pos[1] }];
    }
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
      // What pkg/kubectl-argo-rollouts/cmd/<action> of argoproj/argo-rollouts calls.
      const [, , action] = args;
      const rest = positional(args.slice(3));
      const name = action === 'get' ? rest[1] : rest[0];
      const get: Need = { group: 'argoproj.io', resource: 'rollouts', verb: 'get', name };
      const patch: Need = { group: 'argoproj.io', resource: 'rollouts', verb: 'patch', name };
      const patchStatus: Need = { group: 'argoproj.io', resource: 'rollouts/status', verb: 'patch', name };
      if (action === 'status' || (action === 'get' && rest[0] === 'rollout')) return ARGO_VIEW;
      // Merge patch {"status":{"abort":true}} on the status subresource.
      if (action === 'abort') return [patchStatus];
      // Merge patch {"spec":{"restartAt":"<now>"}}: no read.
      if (action === 'restart') return [patch];
      // Get, clear status.pauseConditions through the status subresource, and unpause spec.paused if a person paused it.
      if (action === 'promote') return [get, patchStatus, patch];
      // Get, list the ReplicaSets for the previous revision, JSON-patch spec.template.
      if (action === 'undo') return [get, { group: 'apps', resource: 'replicasets', verb: 'list' }, patch];
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
      // https only: the tool service's egress opens 443 and nothing else (the config refuses other ports).
      expect(model.check(pod, internet, 80).allowed).toBe(false);
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

/** A RUNBOOK and the objects synthesized with it. */
interface Deployment { readonly runbook: string; readonly objects: any[] }
const dist: Deployment = { runbook, objects };
const argoChart = new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl({ blueGreen: { engine: 'argo-rollouts' } }) });
const argo: Deployment = { runbook: argoChart.extraFiles()['RUNBOOK.md'], objects: argoChart.toJson() };
const refusedCommands = (d: Deployment) => refused(d.runbook, d.objects, 'aiaas', ['monitoring']);

describe.each<[string, Deployment]>([
  ['dist/ (engine deployments)', dist],
  ['engine argo-rollouts', argo],
])('issues 9.3 and 12.1: commands that follow the live workload: %s', (_label, d) => {
  test('every block with commands names its Roles, and every command is allowed to them', () => {
    expect(withRoles(d.runbook).length).toBeGreaterThan(150);
    for (const body of bashBlocks(d.runbook).filter((b) => kubectlCommands(b).length > 0)) {
      expect(body.split('\n')[0]).toMatch(/^# Roles: /);
    }
    expect(refusedCommands(d)).toEqual([]);
  });

  test('every live variable a command uses is set earlier in the same block, from the stable Service, and none is used outside a block', () => {
    const uses = (text: string) => [...text.matchAll(/\$\{?([A-Z0-9_]+_(?:COLOR|STABLE_HASH))\b/g)].map((m) => m[1]);
    const blocks = bashBlocks(d.runbook);
    expect(blocks.some((b) => uses(b).length > 0)).toBe(true);
    for (const body of blocks) {
      for (const name of new Set(uses(body))) {
        const set = body.match(new RegExp(`^${name}=\\$\\(kubectl -n aiaas get service (\\S+) -o jsonpath='\\{\\.spec\\.selector\\.(version|rollouts-pod-template-hash)\\}'\\)`, 'm'));
        expect([name, set !== null]).toEqual([name, true]);
        expect(body.indexOf(set![0])).toBeLessThan(body.indexOf(`$${name}`, body.indexOf(set![0]) + set![0].length));
      }
    }
    expect(uses(d.runbook.replace(/```bash\n[\s\S]*?```/g, ''))).toEqual([]);
  });
});

/** The bash block of a RUNBOOK section (`### <heading>`). */
function sectionBlock(text: string, heading: string): string {
  const section = text.slice(text.indexOf(`### ${heading}\n`));
  return bashBlocks(section)[0];
}

/** Runs a RUNBOOK block in bash with `kubectl` a function that logs its arguments and answers `get service` with `selector`. */
function runWithFakeKubectl(block: string, selector: string): string[] {
  const fake = [
    'kubectl() { if [ "$3" = get ] && [ "$4" = service ]; then printf %s "' + selector + '"; else echo "kubectl $*" >&2; fi; }',
    'curl() { :; }; sleep() { :; }',
  ].join('\n');
  const result = spawnSync('bash', ['-c', `${fake}\n${block}`], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return result.stderr.trim().split('\n');
}

describe('issue 12.1: after an emergency switch, the RUNBOOK acts on the colour the Service selects now (engine deployments)', () => {
  test('the TIMEOUT block, run as is in bash, restarts the green Deployments when the Services select green', () => {
    // GIVEN the committed config says blue, and an emergency `kubectl patch service` switched to green
    expect(sectionBlock(runbook, 'AiaasResponseTimeCritical')).not.toMatch(/deployment\/\S+-(blue|green)\b/);
    // WHEN on-call pastes the block
    const calls = runWithFakeKubectl(sectionBlock(runbook, 'AiaasResponseTimeCritical'), 'green');
    // THEN every command on the serving pods names green
    expect(calls).toEqual(expect.arrayContaining([
      'kubectl -n aiaas logs -l app=api-gateway,version=green --prefix --since=15m',
      'kubectl -n aiaas rollout restart deployment/api-gateway-green',
      'kubectl -n aiaas rollout restart deployment/orchestrator-green',
      'kubectl -n aiaas rollout status deployment/api-gateway-green --timeout=5m',
    ]));
    expect(calls.join('\n')).not.toContain('blue');
  });

  test('the fallback-mode change and the HPA bounds follow the live colour too', () => {
    const tool = runWithFakeKubectl(sectionBlock(runbook, 'AiaasToolCallErrors'), 'green');
    expect(tool).toContain('kubectl -n aiaas set env deployment/orchestrator-green FALLBACK_MODE=true');
    const ws = runWithFakeKubectl(sectionBlock(runbook, 'AiaasWebSocketConnectionsNearLimit'), 'green');
    expect(ws.filter((c) => c.includes(' hpa realtime-service-'))).toEqual([
      expect.stringMatching(/^kubectl -n aiaas patch hpa realtime-service-green --type=merge -p /),
      'kubectl -n aiaas get hpa realtime-service-green --watch',
    ]);
  });
});

describe('issue 9.3: under the Argo Rollouts engine the RUNBOOK names what exists', () => {
  test('no Deployment of a colour anywhere: restart, status, undo, history, env and HPA act on the Rollout', () => {
    expect(argo.objects.filter((o) => o.kind === 'Deployment')).toEqual([]);
    expect(argo.runbook).not.toMatch(/\b(api-gateway|orchestrator|tool-service|realtime-service)-(blue|green)\b/);
    expect(argo.runbook).not.toMatch(/deployments?\/|\b(get|scale) deployments?\b(?!,)/);
    // The configuration snapshot keeps the Rollouts and their AnalysisTemplates.
    expect(argo.runbook).toContain('kubectl -n aiaas get rollouts,analysistemplates,deployments,statefulsets,');
    const timeout = sectionBlock(argo.runbook, 'AiaasResponseTimeCritical');
    expect(timeout).toContain('kubectl argo rollouts -n aiaas restart api-gateway\n');
    expect(timeout).toContain('kubectl argo rollouts -n aiaas status api-gateway --timeout 5m');
    const calls = runWithFakeKubectl(timeout, '5d4f8b9c7');
    expect(calls).toContain('kubectl -n aiaas logs -l app=api-gateway,rollouts-pod-template-hash=5d4f8b9c7 --prefix --since=15m');
    expect(sectionBlock(argo.runbook, 'AiaasEscalationManager')).toContain('kubectl argo rollouts -n aiaas undo orchestrator');
    expect(sectionBlock(argo.runbook, 'AiaasHighErrorRate')).toContain('kubectl argo rollouts -n aiaas get rollout api-gateway');
    // The HPA is named like the Rollout it scales.
    const ws = sectionBlock(argo.runbook, 'AiaasWebSocketConnectionsNearLimit');
    expect(ws).toContain("kubectl -n aiaas get rollout realtime-service -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name==\"WS_MAX_CONNECTIONS\")].value}'");
    expect(ws).toMatch(/kubectl -n aiaas patch hpa realtime-service --type=merge/);
    expect(argo.objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'realtime-service').spec.scaleTargetRef.kind).toBe('Rollout');
  });

  test('the fallback-mode change is a JSON patch of the Rollout whose test op checks the variable, then a promotion', () => {
    const block = sectionBlock(argo.runbook, 'AiaasToolCallErrors');
    const patch = kubectlCommands(block).find((c) => c.includes('patch rollout orchestrator'))!;
    const ops = JSON.parse(kubectlArgs(patch)[kubectlArgs(patch).indexOf('-p') + 1]);
    const rollout = argo.objects.find((o) => o.kind === 'Rollout' && o.metadata.name === 'orchestrator');
    const env = rollout.spec.template.spec.containers[0].env;
    const index = env.findIndex((e: any) => e.name === 'FALLBACK_MODE');
    expect(index).toBeGreaterThanOrEqual(0);
    expect(ops).toEqual([
      { op: 'test', path: `/spec/template/spec/containers/0/env/${index}/name`, value: 'FALLBACK_MODE' },
      { op: 'replace', path: `/spec/template/spec/containers/0/env/${index}/value`, value: 'true' },
    ]);
    expect(block).toContain('kubectl argo rollouts -n aiaas promote orchestrator');
  });

  test('the Roles grant exactly what the Rollout commands call on argoproj.io, and nothing on it under engine deployments', () => {
    const argoRules = (d: Deployment, role: string) =>
      d.objects.find((o) => o.kind === 'Role' && o.metadata.name === role).rules.filter((r: Rule) => r.apiGroups.includes('argoproj.io'));
    const view = { apiGroups: ['argoproj.io'], resources: ['rollouts', 'analysisruns', 'experiments', 'analysistemplates'], verbs: ['get', 'list', 'watch'] };
    const status = { apiGroups: ['argoproj.io'], resources: ['rollouts/status'], verbs: ['patch'] };
    expect(argoRules(argo, RUNBOOK_ROLES.onCall)).toEqual([view, status]);
    expect(argoRules(argo, RUNBOOK_ROLES.deployer)).toEqual([view, status, { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['patch'] }]);
    expect(argoRules(argo, RUNBOOK_ROLES.responder)).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'patch'] },
      { apiGroups: ['argoproj.io'], resources: ['rollouts/scale'], verbs: ['patch'] },
    ]);
    for (const role of PEOPLE) {
      expect(dist.objects.filter((o) => o.kind === 'Role' && o.metadata.name === role).flatMap((o) => o.rules.filter((r: Rule) => r.apiGroups.includes('argoproj.io')))).toEqual([]);
    }
    // The reads and the responder's patch are used: without one, some command of the Argo RUNBOOK is refused.
    // (On-call's abort is the brake by design, also granted to the deployer; `kubectl scale rollout` is printed
    // only for a service without autoscaling.)
    const patchRollouts = { apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'patch'] };
    for (const [role, rule] of [[RUNBOOK_ROLES.onCall, view], [RUNBOOK_ROLES.responder, patchRollouts]] as const) {
      const objects = argo.objects.map((o) => (o.kind === 'Role' && o.metadata.name === role ? { ...o, rules: o.rules.filter((r: Rule) => JSON.stringify(r) !== JSON.stringify(rule)) } : o));
      expect(refusedCommands({ runbook: argo.runbook, objects }).length).toBeGreaterThan(0);
    }
  });

  test('the request tables of the plugin: status watches namespace-wide, abort only patches the status subresource', () => {
    expect(needs('kubectl argo rollouts -n aiaas status api-gateway --timeout 5m')).toEqual(ARGO_VIEW);
    expect(needs('kubectl argo rollouts -n aiaas abort api-gateway')).toEqual([{ group: 'argoproj.io', resource: 'rollouts/status', verb: 'patch', name: 'api-gateway' }]);
    expect(needs('kubectl argo rollouts -n aiaas restart api-gateway')).toEqual([{ group: 'argoproj.io', resource: 'rollouts', verb: 'patch', name: 'api-gateway' }]);
    expect(allows(personaRules(RUNBOOK_ROLES.onCall, argo.objects), needs('kubectl argo rollouts -n aiaas restart api-gateway')[0])).toBe(false);
    expect(needs('kubectl -n aiaas scale rollout realtime-service --replicas=3')).toEqual([{ group: 'argoproj.io', resource: 'rollouts/scale', verb: 'patch', name: 'realtime-service' }]);
    expect(() => needs('kubectl argo rollouts -n aiaas set image api-gateway x=y')).toThrow(/no RBAC mapping/);
  });
});

describe('issue 12.2: under Argo Rollouts a Secret\'s readers are the Rollouts', () => {
  test('the rotation lists the Rollouts reading a Secret and restarts them in place with `kubectl argo rollouts restart`', () => {
    expect(argo.runbook).toContain('| `postgres-credentials` | `secrets.databaseCredentials` | `username`, `password` | Rollout orchestrator |');
    expect(argo.runbook).toContain('kubectl argo rollouts -n aiaas restart orchestrator');
    expect(argo.runbook).not.toMatch(/rollout restart deployment\/orchestrator-(blue|green)/);
  });
});
