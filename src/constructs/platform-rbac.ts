import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { platformRoleNames } from '../config/defaults';
import { clusterScoped } from './_cluster-scoped';

export { platformRoleNames } from '../config/defaults';

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
  /**
   * Groups bound to the responder Role (the runbook's first-response writes).
   * @default - no binding: the Role exists, nobody holds it
   */
  readonly responderGroups?: string[];
  /** Names of the postgres pods the database operator may exec into (`postgres-0`, ...). */
  readonly postgresPods: string[];
  /**
   * Prefix of the Role and binding names.
   * @default 'aiaas'
   */
  readonly namePrefix?: string;
  /**
   * The services run as Argo Rollouts (`blueGreen.engine: argo-rollouts`): the Roles also get
   * exactly what the runbook's `kubectl argo rollouts ...` and Rollout commands call.
   * @default false - no rule on `argoproj.io`
   */
  readonly argoRollouts?: boolean;
}

const READ = ['get', 'list', 'watch'];

/** Argo Rollouts' API group (engine argo-rollouts). */
const ARGO = 'argoproj.io';

/**
 * `kubectl argo rollouts status|get rollout`: the plugin's view controller runs namespace-wide
 * informers (list and watch) on Rollouts, AnalysisRuns and Experiments (and on ReplicaSets,
 * pods and Deployments, which every Role below already reads); `get rollouts|analysisruns`, and
 * the RUNBOOK's configuration snapshot reads the AnalysisTemplates.
 */
const ROLLOUT_STATUS_RULES: RbacRule[] = [{ apiGroups: [ARGO], resources: ['rollouts', 'analysisruns', 'experiments', 'analysistemplates'], verbs: READ }];

/**
 * `promote` merge-patches `status.pauseConditions` and `abort` sets `status.abort`, both
 * through the `rollouts/status` subresource: neither can change the pod template.
 */
const ROLLOUT_PROMOTE_ABORT_RULES: RbacRule[] = [{ apiGroups: [ARGO], resources: ['rollouts/status'], verbs: ['patch'] }];

/**
 * `patch` on `rollouts` itself: `undo` JSON-patches `spec.template` back to an older
 * ReplicaSet's template, `promote` patches `spec.paused` when a person paused the Rollout,
 * `restart` merge-patches `spec.restartAt`, and the runbook's emergency env change is a JSON
 * patch of the template. RBAC cannot narrow a patch to a field: this grant can change a pod
 * template, like `patch` on Deployments (see README "Security defaults").
 */
const ROLLOUT_PATCH_RULES: RbacRule[] = [{ apiGroups: [ARGO], resources: ['rollouts'], verbs: ['patch'] }];

/** On-call's Rollout rules: `status|get` and `abort`, the emergency brake (traffic back to the stable ReplicaSet; it cannot change what runs). */
export const ON_CALL_ARGO_RULES: RbacRule[] = [...ROLLOUT_STATUS_RULES, ...ROLLOUT_PROMOTE_ABORT_RULES];

/** The deployer's Rollout rules: `status|get|promote|abort|undo`. */
export const DEPLOYER_ARGO_RULES: RbacRule[] = [...ROLLOUT_STATUS_RULES, ...ROLLOUT_PROMOTE_ABORT_RULES, ...ROLLOUT_PATCH_RULES];

/**
 * The responder's Rollout rules: `restart`, the env patch (`kubectl patch rollout`, which reads
 * the Rollout first) and `kubectl scale rollout` (the `rollouts/scale` subresource).
 */
export const RESPONDER_ARGO_RULES: RbacRule[] = [
  { apiGroups: [ARGO], resources: ['rollouts'], verbs: ['get', 'patch'] },
  { apiGroups: [ARGO], resources: ['rollouts/scale'], verbs: ['patch'] },
];

/** What on-call needs for the runbook's read commands, without Secrets (plus ON_CALL_ARGO_RULES under Argo Rollouts). */
export const ON_CALL_RULES: RbacRule[] = [
  { apiGroups: [''], resources: ['pods', 'pods/log', 'events', 'services', 'endpoints', 'persistentvolumeclaims', 'serviceaccounts'], verbs: READ },
  // The runbook's configuration snapshot (`kubectl get ...,configmaps,... -o yaml`): ConfigMaps hold no Secrets here.
  { apiGroups: [''], resources: ['configmaps'], verbs: READ },
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

/**
 * Promotion is a GitOps change (config → synth → review → apply by Argo CD or CI, which hold
 * their own rights). The person deploying watches it: `kubectl rollout status`, `kubectl wait job`
 * on the smoke test, logs; and with Argo Rollouts `status|promote|abort|undo`. No create or
 * patch of Deployments, Services, Jobs or pods: any of them would run any image with any
 * labels, ServiceAccount, Secret or volume, or expose a Service outside the cluster.
 */
export const DEPLOYER_RULES: RbacRule[] = [
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: READ },
  { apiGroups: [''], resources: ['services', 'endpoints', 'pods', 'pods/log', 'events'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
];

/**
 * What the runbook's first-response steps change, and nothing else: `rollout restart|undo` and
 * `set env` (patch Deployments), `scale` (the scale subresource), HPA bounds (patch HPAs),
 * `delete pod`, `exec` and `port-forward`, `kubectl run` of the restricted DNS-check pod, and
 * `create job --from=cronjob/...` for the runbook's manual job runs. Never Secrets. Patching a
 * Deployment or creating a Job/pod can run any pod template: the namespace's "restricted" Pod
 * Security still applies, GitOps puts the committed template back at its next sync, and the
 * Role is held by few people (see README "Security defaults").
 */
export const RESPONDER_RULES: RbacRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: [...READ, 'patch'] },
  { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] },
  { apiGroups: ['apps'], resources: ['replicasets', 'statefulsets'], verbs: READ },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: [...READ, 'patch'] },
  { apiGroups: [''], resources: ['pods'], verbs: [...READ, 'create', 'delete'] },
  { apiGroups: [''], resources: ['pods/log', 'events', 'services', 'endpoints'], verbs: READ },
  { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['create'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: [...READ, 'create'] },
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: READ },
];

/**
 * Roles for on-call (read-only), responders, deployers and database operators, each bound
 * to configurable groups. No rule uses a wildcard and none reads Secrets.
 */
export class PlatformRbac extends Construct {
  public readonly onCallRoleName: string;
  public readonly deployerRoleName: string;
  public readonly databaseOperatorRoleName: string;
  public readonly responderRoleName: string;

  constructor(scope: Construct, id: string, props: PlatformRbacProps) {
    super(scope, id);
    const prefix = props.namePrefix ?? 'aiaas';
    if (props.postgresPods.length === 0) {
      throw new Error("'postgresPods' ([]) must name at least one pod: the database operator may only exec into named pods");
    }
    const names = platformRoleNames(prefix);
    this.onCallRoleName = names.onCall;
    this.deployerRoleName = names.deployer;
    this.databaseOperatorRoleName = names.databaseOperator;
    this.responderRoleName = names.responder;

    // Rules on argoproj.io only where the services are Rollouts: nothing broader than the runbook's commands.
    const argo = (rules: RbacRule[]) => (props.argoRollouts ? rules : []);
    this.grant('OnCall', 'Role', this.onCallRoleName, [...ON_CALL_RULES, ...argo(ON_CALL_ARGO_RULES)], props.onCallGroups);
    // The cluster-wide part is namespaced by name, so two platforms in one cluster don't collide.
    this.grant('OnCallCluster', 'ClusterRole', `${prefix}-${props.namespace}-oncall-nodes`, ON_CALL_CLUSTER_RULES, props.onCallGroups);
    this.grant('Deployer', 'Role', this.deployerRoleName, [...DEPLOYER_RULES, ...argo(DEPLOYER_ARGO_RULES)], props.deployerGroups);
    this.grant('Responder', 'Role', this.responderRoleName, [...RESPONDER_RULES, ...argo(RESPONDER_ARGO_RULES)], props.responderGroups ?? []);
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
