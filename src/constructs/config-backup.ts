import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { maxIntervalSeconds } from '../config/cron';
import { ARGO_ROLLOUTS_BACKUP_RESOURCE_TYPES, CONFIG_BACKUP_RESOURCE_GROUPS, DbMaintenanceConfig } from '../config/db-maintenance-config';
import { DEFAULT_DNS_NAMESPACE, DEFAULT_DNS_POD_LABELS } from '../config/defaults';
import { toCdk8sCron } from './_cron';
import { dnsEgressRule } from './_network-rules';
import { DEFAULT_IDENTITY, RestrictedIdentity, mountScratchTmp, restrictedContainerSecurityContext, restrictedPodSecurityContext } from './_restricted-pod';
import { retain } from './retained';
import { EPHEMERAL_STORAGE, imagePullPolicyOf, isDigestPinned } from './_workload-policy';
import { memory } from './_quantity';
import { storageSize } from './_storage';
import { MAX_AGE_SLACK_SECONDS, ScheduledJob } from './db-maintenance';

/** Labels of the config-backup pods (deliberately not the `aiaas-job` ones: other egress). */
export const CONFIG_BACKUP_POD_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'aiaas-config-backup',
  'app.kubernetes.io/component': 'config-backup',
};

/** Where the config backup volume is mounted. */
export const CONFIG_BACKUP_MOUNT_PATH = '/backups';

export interface ConfigBackupProps {
  /** The `dbMaintenance` config section: `configBackup`, `timeZone` and `job` are used. */
  readonly config: DbMaintenanceConfig;
  /**
   * Namespace backed up, and of every object created.
   * @default - the chart's namespace (an error when the chart has none)
   */
  readonly namespace?: string;
  /**
   * Namespace of cluster DNS.
   * @default 'kube-system'
   */
  readonly dnsNamespace?: string;
  /**
   * Labels of the cluster DNS pods.
   * @default { 'k8s-app': 'kube-dns' }
   */
  readonly dnsPodLabels?: Record<string, string>;
  /**
   * UID/GID the pod runs as.
   * @default - uid and gid 10001
   */
  readonly identity?: RestrictedIdentity;
  /**
   * The services run as Argo Rollouts (`blueGreen.engine: argo-rollouts`): their Rollouts and
   * AnalysisTemplates are backed up too (and the Role may read them). Their CRDs must be installed.
   * @default false
   */
  readonly argoRollouts?: boolean;
}

/**
 * Writes a timestamped name, atomically: the file appears complete or not at all.
 * Retention keeps the newest `KEEP` files (names sort by time).
 */
const BACKUP_SCRIPT = [
  'set -euo pipefail',
  'umask 027',
  'stamp="$(date -u +%Y%m%dT%H%M%SZ)"',
  `final="${CONFIG_BACKUP_MOUNT_PATH}/\${NAMESPACE}_config_\${stamp}.yaml"`,
  `tmp="${CONFIG_BACKUP_MOUNT_PATH}/.\${NAMESPACE}_config_\${stamp}.yaml.tmp"`,
  'trap \'rm -f "${tmp}"\' EXIT',
  'kubectl get "${RESOURCE_TYPES}" --namespace "${NAMESPACE}" --output yaml > "${tmp}"',
  'sync "${tmp}"',
  'mv "${tmp}" "${final}"',
  'echo "wrote ${final} ($(wc -c < "${final}") bytes)"',
  `ls -1 ${CONFIG_BACKUP_MOUNT_PATH}/"\${NAMESPACE}"_config_*.yaml | sort -r | tail -n +"$((KEEP + 1))" | xargs -r rm -f --`,
].join('\n');

/**
 * The runbook's configuration backup (`kubectl get all -n aiaas -o yaml`) as a
 * CronJob writing timestamped YAML to its own volume, with a Role that may only
 * get and list the chosen resource types. Secrets are never read: their plain YAML
 * would put every credential on a disk.
 */
export class ConfigBackup extends Construct {
  /** What was scheduled, for alerts on a missing success (kube-state-metrics: it pushes no metrics). */
  public readonly cronJob: ScheduledJob;
  public readonly namespace: string;
  public readonly serviceAccount: kplus.ServiceAccount;
  public readonly volume: kplus.PersistentVolumeClaim;
  public readonly dnsNamespace: string;
  public readonly dnsPodLabels: Record<string, string>;
  public readonly identity: RestrictedIdentity;

  constructor(scope: Construct, id: string, props: ConfigBackupProps) {
    super(scope, id);
    const config = props.config;
    const backup = config.configBackup;
    const namespace = props.namespace ?? Chart.of(this).namespace;
    if (namespace === undefined) {
      throw new Error("'namespace' (undefined) is required when the chart has no namespace: the Role, its binding and the backup are namespaced");
    }
    this.namespace = namespace;
    this.dnsNamespace = props.dnsNamespace ?? DEFAULT_DNS_NAMESPACE;
    this.dnsPodLabels = props.dnsPodLabels ?? { ...DEFAULT_DNS_POD_LABELS };
    this.identity = props.identity ?? DEFAULT_IDENTITY;
    // Under Argo Rollouts the workloads are Rollouts: a backup without them would restore no service.
    const resourceTypes = [...new Set([...backup.resourceTypes, ...(props.argoRollouts ? ARGO_ROLLOUTS_BACKUP_RESOURCE_TYPES : [])])];
    for (const resource of resourceTypes) {
      // The schema refuses these; the check stays here for configs built without it.
      if (!Object.prototype.hasOwnProperty.call(CONFIG_BACKUP_RESOURCE_GROUPS, resource)) {
        throw new Error(
          `'configBackup.resourceTypes' ('${resource}') is not allowed; expected one of ${Object.keys(CONFIG_BACKUP_RESOURCE_GROUPS).join(', ')} (never secrets)`,
        );
      }
    }
    // The schema checks these; the construct checks again for configs built without it.
    if (backup.image === undefined || !isDigestPinned(backup.image)) {
      throw new Error(
        `'configBackup.image' (${backup.image}) must be an image pinned by digest (registry/kubectl@sha256:<64 hex digits>): the pod runs with an API token`,
      );
    }
    const apiServerCidrs = backup.apiServer.cidrs ?? [];
    if (apiServerCidrs.length === 0 || apiServerCidrs.some((c) => /\/0$/.test(c))) {
      throw new Error(`'configBackup.apiServer.cidrs' (${JSON.stringify(backup.apiServer.cidrs)}) must list the API server address(es), not a catch-all block`);
    }
    const image = backup.image;
    const metadata = { namespace: this.namespace, labels: { ...CONFIG_BACKUP_POD_LABELS } };

    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: 'config-backup', ...metadata },
      // kubectl needs a token; the Role below is all it can do with it.
      automountToken: true,
    });

    const role = new kplus.k8s.KubeRole(this, 'Role', {
      metadata: { name: 'config-backup', ...metadata },
      rules: roleRules(resourceTypes),
    });
    new kplus.k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: 'config-backup', ...metadata },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccount.name, namespace: this.namespace }],
    });

    // Its own claim: the YAML stays apart from the database dumps (whose retention
    // manages that directory), and the two ReadWriteOnce jobs never wait on each other.
    this.volume = new kplus.PersistentVolumeClaim(this, 'Volume', {
      metadata: { name: 'aiaas-config-backups', ...metadata },
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
      storage: storageSize(backup.volume.size),
      storageClassName: backup.volume.storageClassName,
    });
    retain(ApiObject.of(this.volume));

    const cronJob = new kplus.CronJob(this, 'Resource', {
      metadata: { name: 'config-backup', ...metadata },
      podMetadata: { labels: { ...CONFIG_BACKUP_POD_LABELS } },
      schedule: toCdk8sCron(backup.schedule, 'dbMaintenance.configBackup.schedule'),
      timeZone: config.timeZone,
      concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
      startingDeadline: Duration.seconds(config.job.startingDeadlineSeconds),
      suspend: backup.suspend,
      successfulJobsRetained: config.job.successfulJobsHistoryLimit,
      failedJobsRetained: config.job.failedJobsHistoryLimit,
      activeDeadline: Duration.seconds(config.job.activeDeadlineSeconds),
      backoffLimit: config.job.backoffLimit,
      restartPolicy: kplus.RestartPolicy.NEVER,
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: true,
      securityContext: { ...restrictedPodSecurityContext(this.identity), fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH },
      containers: [
        {
          name: 'config-backup',
          image,
          command: ['/bin/bash', '-c', BACKUP_SCRIPT],
          envVariables: {
            NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
            RESOURCE_TYPES: kplus.EnvValue.fromValue(qualifiedResourceTypes(resourceTypes)),
            KEEP: kplus.EnvValue.fromValue(String(backup.keep)),
            // kubectl's discovery cache must go to a writable place.
            HOME: kplus.EnvValue.fromValue('/tmp'),
          },
          securityContext: restrictedContainerSecurityContext(this.identity),
          resources: {
            cpu: { request: kplus.Cpu.millis(20), limit: kplus.Cpu.millis(500) },
            memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
            ephemeralStorage: { request: memory(EPHEMERAL_STORAGE.configBackup.request), limit: memory(EPHEMERAL_STORAGE.configBackup.limit) },
          },
          imagePullPolicy: imagePullPolicyOf(image) as kplus.ImagePullPolicy,
        },
      ],
    });
    const container = cronJob.containers[0];
    mountScratchTmp(cronJob, container);
    container.mount(CONFIG_BACKUP_MOUNT_PATH, kplus.Volume.fromPersistentVolumeClaim(cronJob, 'BackupVolume', this.volume, { name: 'backups' }));
    // See DbMaintenance: cdk8s-plus refuses the TTL next to history limits; Kubernetes takes both.
    ApiObject.of(cronJob).addJsonPatch(JsonPatch.add('/spec/jobTemplate/spec/ttlSecondsAfterFinished', config.job.ttlSecondsAfterFinished));

    new kplus.k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: 'config-backup', ...metadata },
      spec: {
        podSelector: { matchLabels: { ...CONFIG_BACKUP_POD_LABELS } },
        // No ingress rule: nothing may connect to the pod.
        policyTypes: ['Ingress', 'Egress'],
        egress: [
          {
            to: apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })),
            ports: backup.apiServer.ports.map((p) => ({ protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(p) })),
          },
          dnsEgressRule(this.dnsNamespace, this.dnsPodLabels),
        ],
      },
    });

    this.cronJob = {
      task: 'config-backup',
      name: cronJob.name,
      schedule: cronJob.schedule.expressionString,
      timeZone: config.timeZone,
      maxAgeSeconds:
        maxIntervalSeconds(backup.schedule) + config.job.startingDeadlineSeconds + config.job.activeDeadlineSeconds + MAX_AGE_SLACK_SECONDS,
    };
  }
}

/** `get` and `list` on exactly the chosen resources, one rule per API group, in a stable order. */
function roleRules(resourceTypes: readonly string[]): kplus.k8s.PolicyRule[] {
  const byGroup = new Map<string, string[]>();
  for (const resource of [...new Set(resourceTypes)].sort()) {
    const group = CONFIG_BACKUP_RESOURCE_GROUPS[resource];
    byGroup.set(group, [...(byGroup.get(group) ?? []), resource]);
  }
  return [...byGroup.keys()].sort().map((group) => ({ apiGroups: [group], resources: byGroup.get(group)!, verbs: ['get', 'list'] }));
}

/** `deployments.apps,services,...`: qualified names, so kubectl never picks another group's resource. */
function qualifiedResourceTypes(resourceTypes: readonly string[]): string {
  return [...new Set(resourceTypes)]
    .map((resource) => (CONFIG_BACKUP_RESOURCE_GROUPS[resource] === '' ? resource : `${resource}.${CONFIG_BACKUP_RESOURCE_GROUPS[resource]}`))
    .join(',');
}
