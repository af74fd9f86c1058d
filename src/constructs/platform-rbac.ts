import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { clusterScoped } from './_cluster-scoped';

/** One RBAC rule: explicit API groups, resources and verbs, never wildcards. */
export interface RbacRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  /**
   * Restrict the rule to these object names.
   * @default - all objects of the resources
   */
  readonly resourceNames?: string[];
}

export interface PlatformRbacProps {
  /** Namespace the Roles grant access to. */
  readonly namespace: string;
  /** Groups bound to the on-call read-only access. */
  readonly onCallGroups: string[];
  /** Groups bound to the deployer Role. */
  readonly deployerGroups: string[];
  /** Groups bound to the database operator Role. */
  readonly databaseOperatorGroups: string[];
  /** Names of the postgres pods the database operator may exec into (`postgres-0`, ...). */
  readonly postgresPods: string[];
  /**
   * Prefix of the Role and binding names.
   * @default 'aiaas'
   */
  readonly namePrefix?: string;
}

const READ = ['get', 'list', 'watch'];

/** What on-call needs for the runbook's read commands, without Secrets. */
export const ON_CALL_RULES: RbacRule[] = [
  { apiGroups: [''], resources: ['pods', 'pods/log', 'events', 'services', 'endpoints', 'persistentvolumeclaims', 'serviceaccounts'], verbs: READ },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: READ },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: READ },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: READ },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
  { apiGroups: ['metrics.k8s.io'], resources: ['pods'], verbs: ['get', 'list'] },
];

/** Cluster-wide reads for `kubectl describe nodes`, `kubectl top nodes`, `kubectl get pv`. */
export const ON_CALL_CLUSTER_RULES: RbacRule[] = [
  { apiGroups: [''], resources: ['nodes', 'persistentvolumes'], verbs: READ },
  { apiGroups: ['metrics.k8s.io'], resources: ['nodes'], verbs: ['get', 'list'] },
];

/** Rollout restart, scale, image change, Service selector switch, smoke-test and manual Jobs. */
export const DEPLOYER_RULES: RbacRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: [...READ, 'patch', 'update'] },
  { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: READ },
  { apiGroups: [''], resources: ['services'], verbs: [...READ, 'patch'] },
  { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: [...READ, 'create', 'delete'] },
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: READ },
];

/**
 * Roles for on-call (read-only), deployers and database operators, each bound
 * to configurable groups. No rule uses a wildcard and none reads Secrets.
 */
export class PlatformRbac extends Construct {
  public readonly onCallRoleName: string;
  public readonly deployerRoleName: string;
  public readonly databaseOperatorRoleName: string;

  constructor(scope: Construct, id: string, props: PlatformRbacProps) {
    super(scope, id);
    const prefix = props.namePrefix ?? 'aiaas';
    if (props.postgresPods.length === 0) {
      throw new Error("'postgresPods' must name at least one pod: the database operator may only exec into named pods");
    }
    this.onCallRoleName = `${prefix}-oncall`;
    this.deployerRoleName = `${prefix}-deployer`;
    this.databaseOperatorRoleName = `${prefix}-database-operator`;

    this.grant('OnCall', 'Role', this.onCallRoleName, ON_CALL_RULES, props.onCallGroups);
    // The cluster-wide part is namespaced by name, so two platforms in one cluster don't collide.
    this.grant('OnCallCluster', 'ClusterRole', `${prefix}-${props.namespace}-oncall-nodes`, ON_CALL_CLUSTER_RULES, props.onCallGroups);
    this.grant('Deployer', 'Role', this.deployerRoleName, DEPLOYER_RULES, props.deployerGroups);
    this.grant(
      'DatabaseOperator',
      'Role',
      this.databaseOperatorRoleName,
      [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: props.postgresPods },
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'], resourceNames: props.postgresPods },
      ],
      props.databaseOperatorGroups,
    );
  }

  private grant(id: string, kind: 'Role' | 'ClusterRole', name: string, rules: RbacRule[], groups: string[]): void {
    const group = new Construct(this, id);
    for (const rule of rules) {
      for (const field of ['apiGroups', 'resources', 'verbs'] as const) {
        if (rule[field].includes('*')) {
          throw new Error(`${kind} '${name}': '${field}' must not contain '*'`);
        }
      }
    }
    const role = new ApiObject(group, 'Resource', { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name }, rules });
    const binding = groups.length === 0 ? undefined : new ApiObject(group, 'Binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: kind === 'Role' ? 'RoleBinding' : 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name },
      subjects: groups.map((g) => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: g })),
    });
    if (kind === 'ClusterRole') {
      clusterScoped(role);
      if (binding) {
        clusterScoped(binding);
      }
    }
  }
}
