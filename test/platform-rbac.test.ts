// PlatformRbac on its own: which Roles and bindings it writes for given groups, and what no
// Role may ever grant. What each RUNBOOK command needs is checked in runbook-rbac.test.ts.
import { Testing } from 'cdk8s';
import { PlatformRbac, PlatformRbacProps, platformRoleNames, RbacRule } from '../src/constructs/platform-rbac';
import { grants } from './support/rbac';
import { validateAll } from './support/validate-schema';

const PROPS: PlatformRbacProps = {
  namespace: 'team-a',
  onCallGroups: ['sre'],
  deployerGroups: ['ci-bots', 'release'],
  databaseOperatorGroups: ['dba'],
  postgresPods: ['postgres-0', 'postgres-1'],
};

function synth(props: Partial<PlatformRbacProps> = {}) {
  const chart = Testing.chart();
  const rbac = new PlatformRbac(chart, 'Rbac', { ...PROPS, ...props });
  const objects = Testing.synth(chart);
  const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  return { rbac, objects, named };
}

type Rule = RbacRule;

describe('PlatformRbac', () => {
  const { rbac, objects, named } = synth();

  test('four Roles and a node-reading ClusterRole, named from the prefix; the ClusterRole also by namespace', () => {
    validateAll(objects);
    expect(objects.filter((o) => o.kind === 'Role').map((o) => o.metadata.name).sort())
      .toEqual(['aiaas-database-operator', 'aiaas-deployer', 'aiaas-oncall', 'aiaas-responder']);
    expect(rbac.onCallRoleName).toBe(platformRoleNames().onCall);
    // two platforms in one cluster do not share (or overwrite) the cluster-wide part
    const cluster = named('ClusterRole', 'aiaas-team-a-oncall-nodes')!;
    expect(cluster.rules).toEqual([
      { apiGroups: [''], resources: ['nodes', 'persistentvolumes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['metrics.k8s.io'], resources: ['nodes'], verbs: ['get', 'list'] },
    ]);
    const other = synth({ namespace: 'team-b', namePrefix: 'ops' });
    expect(other.objects.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name)).toEqual(['ops-team-b-oncall-nodes']);
    expect(other.objects.filter((o) => o.kind === 'Role').map((o) => o.metadata.name).sort())
      .toEqual(['ops-database-operator', 'ops-deployer', 'ops-oncall', 'ops-responder']);
  });

  test('each Role is bound to its groups; a Role without groups (the responder by default) has no binding', () => {
    expect(named('RoleBinding', 'aiaas-deployer')!.subjects).toEqual([
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'ci-bots' },
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'release' },
    ]);
    expect(named('ClusterRoleBinding', 'aiaas-team-a-oncall-nodes')!.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'aiaas-team-a-oncall-nodes' });
    expect(named('RoleBinding', 'aiaas-responder')).toBeUndefined();
    expect(synth({ responderGroups: ['incident-commanders'] }).named('RoleBinding', 'aiaas-responder')!.subjects.map((s: any) => s.name))
      .toEqual(['incident-commanders']);
    expect(synth({ onCallGroups: [] }).named('RoleBinding', 'aiaas-oncall')).toBeUndefined();
  });

  test('no Role uses a wildcard or touches Secrets, RBAC objects beyond reading, or the namespace itself', () => {
    const rules: Rule[] = objects.filter((o) => /Role$/.test(o.kind)).flatMap((o) => o.rules);
    for (const rule of rules) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
      expect(rule.resources).not.toContain('secrets');
      expect(rule.resources).not.toContain('namespaces');
    }
    for (const verb of ['create', 'update', 'patch', 'delete', 'escalate', 'bind']) {
      expect([verb, grants(rules, 'rbac.authorization.k8s.io', 'roles', verb) || grants(rules, 'rbac.authorization.k8s.io', 'rolebindings', verb)]).toEqual([verb, false]);
    }
  });

  test('on-call reads; the deployer watches a release and cannot create or change workloads', () => {
    const oncall: Rule[] = named('Role', 'aiaas-oncall')!.rules;
    expect(grants(oncall, '', 'pods/log', 'get')).toBe(true);
    expect(grants(oncall, 'apps', 'deployments', 'patch')).toBe(false);
    expect(grants(oncall, '', 'pods/exec', 'create')).toBe(false);
    const deployer: Rule[] = named('Role', 'aiaas-deployer')!.rules;
    expect(grants(deployer, 'apps', 'deployments', 'watch')).toBe(true);
    for (const [group, resource, verb] of [['apps', 'deployments', 'patch'], ['apps', 'deployments', 'create'], ['', 'services', 'patch'], ['batch', 'jobs', 'create'], ['', 'pods', 'create']]) {
      expect([resource, verb, grants(deployer, group, resource, verb)]).toEqual([resource, verb, false]);
    }
  });

  test('the database operator may only read and exec into the named postgres pods', () => {
    expect(named('Role', 'aiaas-database-operator')!.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['postgres-0', 'postgres-1'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'], resourceNames: ['postgres-0', 'postgres-1'] },
    ]);
  });

  test('refuses a database operator without named pods (it would exec into any pod)', () => {
    expect(() => synth({ postgresPods: [] })).toThrow(/'postgresPods' \(\[\]\) must name at least one pod/);
  });
});
