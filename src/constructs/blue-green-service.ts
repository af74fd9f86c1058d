import { ApiObject, Chart, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_SERVICE_CPU_REQUEST } from '../config/defaults';
import { DNS1123_LABEL, imageProblem } from '../config/validators';
import { cpu, memory } from './_quantity';
import {
  DEFAULT_IDENTITY,
  RestrictedIdentity,
  mountScratchTmp,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
} from './_restricted-pod';
import { EPHEMERAL_STORAGE, disruptionBudgetProblem, imagePullPolicyOf, spreadConstraints } from './_workload-policy';
import { REVISION_LABEL, REVISION_LABEL_POINTER, podTemplateRevision } from './_revision';
import {
  ColorWorkload,
  PROMOTION_OVERRIDE_ANNOTATION,
  PreviousOutput,
  PromotionOverride,
  PromotionRefusedError,
  PromotionRule,
  checkPromotion,
} from './promotion-guard';
import { SmokeTestJob } from './smoke-test-job';

/** One of the two colours of a blue-green service. */
export enum Color {
  BLUE = 'blue',
  GREEN = 'green',
}

/** What happens to the colour that does not receive traffic. */
export enum IdleColorPolicy {
  /** Keep it running at full size: instant rollback, smoke-testable. */
  KEEP = 'keep',
  /** Keep the Deployment, scaled to 0 replicas. */
  SCALE_TO_ZERO = 'scale-to-zero',
  /** Remove its Deployment. */
  REMOVE = 'remove',
}

/** How a colour's pods are spread over nodes. */
export enum NodeSpread {
  /** Never two pods of a colour on one node while another node can take it (from 2 replicas on). */
  REQUIRED = 'required',
  /** Prefer other nodes, but schedule anyway (e.g. fewer nodes than replicas). */
  PREFERRED = 'preferred',
}

/** The image each colour runs. */
export interface ColorImages {
  readonly blue: string;
  readonly green: string;
}

/** An environment variable read from a Secret by reference. */
export interface SecretEnvVar {
  /** Variable name in the container. */
  readonly name: string;
  /** Name of the Secret in the namespace. */
  readonly secretName: string;
  /** Key inside the Secret. */
  readonly key: string;
}

/** Requests and limits of the service's container, as Kubernetes quantities. */
export interface ServiceResources {
  /** @default '250m' */
  readonly cpuRequest?: string;
  /** @default '1' */
  readonly cpuLimit?: string;
  /** @default '256Mi' */
  readonly memoryRequest?: string;
  /** @default '512Mi' */
  readonly memoryLimit?: string;
  /** Whole gibibytes (cdk8s-plus writes ephemeral storage in Gi). @default '1Gi' */
  readonly ephemeralStorageRequest?: string;
  /** Whole gibibytes. @default '2Gi' */
  readonly ephemeralStorageLimit?: string;
}

/** Rolling updates inside one colour. */
export interface RollingUpdateOptions {
  /** @default '25%' */
  readonly maxSurge?: string | number;
  /** @default 0 */
  readonly maxUnavailable?: string | number;
  /** @default 600 */
  readonly progressDeadlineSeconds?: number;
  /** @default 5 */
  readonly revisionHistoryLimit?: number;
  /** @default 5 */
  readonly minReadySeconds?: number;
}

/** HorizontalPodAutoscaler of each running colour. */
export interface AutoscalingOptions {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** @default 70 */
  readonly targetCpuUtilizationPercent?: number;
}

export interface BlueGreenServiceProps {
  /** Service name (DNS-1123 label): names the Service, the `-blue`/`-green` Deployments and `-preview`. */
  readonly name: string;
  /** Image of each colour. */
  readonly images: ColorImages;
  /**
   * Colour the stable Service selects (the enum or its value, `'blue'`/`'green'`).
   * @default Color.BLUE
   */
  readonly activeColor?: Color | `${Color}`;
  /**
   * What to do with the idle colour (the enum or its value, `'keep'`, `'scale-to-zero'`, `'remove'`).
   * @default IdleColorPolicy.KEEP
   */
  readonly idleColorPolicy?: IdleColorPolicy | `${IdleColorPolicy}`;
  /**
   * The previous output of this service's chart (what is applied now), for the promotion guard:
   * a switch to a colour that did not run unchanged there, scaling down the colour that served
   * traffic in the same change, or an active colour without replicas throws `PromotionRefusedError`.
   * @default - no previous output: nothing is guarded (first synth)
   */
  readonly previousOutput?: PreviousOutput;
  /**
   * Emergency override of the promotion guard: the change is built anyway and the stable
   * Service carries the annotation `aiaas.io/promotion-guard-override` with the reason and the rules overridden.
   * @default - no override
   */
  readonly promotionOverride?: PromotionOverride;
  /**
   * Seconds a finished smoke-test Job (and its pod and logs) is kept before Kubernetes deletes it.
   * @default 86400
   */
  readonly smokeTestTtlSeconds?: number;
  /**
   * Pods per running colour (not rendered under autoscaling).
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Container port for HTTP, health and metrics; the Services' port is named `http`.
   * @default 8000
   */
  readonly port?: number;
  /**
   * Health endpoint for the readiness probe and the smoke test (may check dependencies).
   * @default '/health'
   */
  readonly healthPath?: string;
  /**
   * Liveness endpoint: must answer while the process works, whatever its dependencies do,
   * or a dependency outage restarts every pod.
   * @default - a TCP check of the port (process-only)
   */
  readonly livenessPath?: string;
  /**
   * Spreading of each colour's pods over nodes.
   * @default NodeSpread.REQUIRED
   */
  readonly nodeSpread?: NodeSpread;
  /**
   * Container resources.
   * @default - 250m/1 CPU, 256Mi/512Mi memory
   */
  readonly resources?: ServiceResources;
  /**
   * Rolling update settings inside a colour.
   * @default - maxSurge 25%, maxUnavailable 0, progress deadline 600 s, 5 old ReplicaSets, minReady 5 s
   */
  readonly rollout?: RollingUpdateOptions;
  /**
   * PodDisruptionBudget minAvailable of each running colour; must be below the replicas
   * (or autoscaling.minReplicas), or no node could ever be drained.
   * @default 1
   */
  readonly minAvailable?: number;
  /**
   * Autoscaling of each running colour.
   * @default - fixed replica count, no HorizontalPodAutoscaler
   */
  readonly autoscaling?: AutoscalingOptions;
  /**
   * Plain environment variables.
   * @default - none
   */
  readonly env?: Record<string, string>;
  /**
   * Environment variables from Secrets. A new secret name changes the pod template, which rolls the pods.
   * @default - none
   */
  readonly secretEnv?: SecretEnvVar[];
  /**
   * Create a smoke-test Job against the preview Service while the idle colour runs.
   * @default true
   */
  readonly smokeTest?: boolean;
  /**
   * Image of the smoke-test Job.
   * @default DEFAULT_SMOKE_TEST_IMAGE ('curlimages/curl:8.10.1')
   */
  readonly smokeTestImage?: string;
  /**
   * UID/GID of the pods.
   * @default - uid and gid 10001
   */
  readonly identity?: RestrictedIdentity;
}

/**
 * A service deployed as two colours. The stable Service `<name>` selects the active
 * colour by the `app` and `version` labels, `<name>-preview` the other one, so
 * promotion only changes Service selectors.
 */
export class BlueGreenService extends Construct {
  public readonly name: string;
  public readonly activeColor: Color;
  public readonly idleColor: Color;
  public readonly idleColorPolicy: IdleColorPolicy;
  public readonly port: number;
  public readonly healthPath: string;
  /** HTTP liveness path; undefined for the TCP (process-only) check. */
  public readonly livenessPath?: string;
  /** The stable Service. */
  public readonly service: kplus.Service;
  /** The Service selecting the idle colour. */
  public readonly previewService: kplus.Service;
  /** The ServiceAccount the pods of both colours use (its own, without a token). */
  public readonly serviceAccount: kplus.IServiceAccount;
  /** Deployments by colour (the idle one is absent under IdleColorPolicy.REMOVE). */
  public readonly deployments: Partial<Record<Color, kplus.Deployment>> = {};
  /** The smoke-test Job, when the idle colour is running. */
  public readonly smokeTest?: SmokeTestJob;
  /** Revision (hash of the pod template, label `aiaas.io/revision`) of each colour's Deployment. */
  public readonly revisions: Partial<Record<Color, string>> = {};
  /** Promotion guard rules the `promotionOverride` overrode in this build (empty: none). */
  public readonly overriddenRules: PromotionRule[] = [];

  constructor(scope: Construct, id: string, props: BlueGreenServiceProps) {
    super(scope, id);
    this.name = props.name;
    this.activeColor = (props.activeColor ?? Color.BLUE) as Color;
    this.idleColor = this.activeColor === Color.BLUE ? Color.GREEN : Color.BLUE;
    this.idleColorPolicy = (props.idleColorPolicy ?? IdleColorPolicy.KEEP) as IdleColorPolicy;
    this.port = props.port ?? 8000;
    this.healthPath = props.healthPath ?? '/health';
    this.livenessPath = props.livenessPath;
    validateProps(props);

    // L1, like the smoke-test Job's: one per service, and cdk8s-plus adds nothing to it
    const serviceAccount = new kplus.k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: props.name, labels: { app: props.name } },
      automountServiceAccountToken: false,
    });
    this.serviceAccount = kplus.ServiceAccount.fromServiceAccountName(this, 'ServiceAccountRef', serviceAccount.name);

    for (const color of [Color.BLUE, Color.GREEN]) {
      const isIdle = color === this.idleColor;
      if (isIdle && this.idleColorPolicy === IdleColorPolicy.REMOVE) {
        continue;
      }
      const replicas = isIdle && this.idleColorPolicy === IdleColorPolicy.SCALE_TO_ZERO ? 0 : props.replicas ?? 2;
      this.deployments[color] = this.addColor(color, replicas, props);
    }

    const workloads = this.labelRevisions();

    this.service = this.addService('Service', props.name, this.selectorOf(this.activeColor));
    // The preview selects the idle colour's current revision only: during its rolling update the
    // old pods stay Ready (maxUnavailable 0), and a smoke test must not reach them.
    const idleRevision = this.revisions[this.idleColor];
    this.previewService = this.addService('PreviewService', `${props.name}-preview`, {
      ...this.selectorOf(this.idleColor),
      ...(idleRevision ? { [REVISION_LABEL]: idleRevision } : {}),
    });
    this.guardPromotion(props, workloads);

    const idleRuns = this.idleColorPolicy === IdleColorPolicy.KEEP && (props.replicas ?? 2) > 0;
    if ((props.smokeTest ?? true) && idleRuns && idleRevision) {
      // Named by the revision it tests: a new pod template gets a new Job, and
      // `kubectl wait job/<name>` cannot match the Job of an older revision.
      this.smokeTest = new SmokeTestJob(this, 'SmokeTest', {
        name: `${props.name.slice(0, 63 - '-smoke-'.length - idleRevision.length)}-smoke-${idleRevision}`,
        ttlSecondsAfterFinished: props.smokeTestTtlSeconds,
        serviceName: props.name,
        url: `http://${props.name}-preview:${this.port}${this.healthPath}`,
        image: props.smokeTestImage,
        identity: props.identity,
      });
    }
  }

  /** Labels that select the pods of one colour. */
  public selectorOf(color: Color): Record<string, string> {
    return { app: this.name, version: color };
  }

  /**
   * Labels each Deployment's pod template with its revision and returns what the
   * promotion guard compares. A check at synth time refuses a template changed afterwards.
   */
  private labelRevisions(): Partial<Record<Color, ColorWorkload>> {
    const workloads: Partial<Record<Color, ColorWorkload>> = {};
    for (const [color, deployment] of Object.entries(this.deployments) as [Color, kplus.Deployment][]) {
      const api = ApiObject.of(deployment);
      const spec = api.toJson().spec;
      const revision = podTemplateRevision(spec.template);
      api.addJsonPatch(JsonPatch.add(`/spec/template/metadata/labels/${REVISION_LABEL_POINTER}`, revision));
      this.revisions[color] = revision;
      const template = { ...spec.template, metadata: { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, [REVISION_LABEL]: revision } } };
      workloads[color] = { replicas: spec.replicas, template };
      this.node.addValidation({
        validate: () => {
          const now = podTemplateRevision(api.toJson().spec.template);
          return now === revision
            ? []
            : [`Deployment ${deployment.name}: the pod template changed after BlueGreenService computed its revision (${revision}, now ${now}); change it through the props`];
        },
      });
    }
    return workloads;
  }

  /** Throws PromotionRefusedError, or records the override on the stable Service. */
  private guardPromotion(props: BlueGreenServiceProps, workloads: Partial<Record<Color, ColorWorkload>>): void {
    const previous = props.previousOutput;
    if (!previous) {
      return;
    }
    const problems = checkPromotion(previous, {
      service: this.name,
      namespace: Chart.of(this).namespace,
      engine: 'deployments',
      activeColor: this.activeColor,
      workloadNames: { blue: `${this.name}-${Color.BLUE}`, green: `${this.name}-${Color.GREEN}`, rollout: this.name },
      serviceName: this.name,
      colors: workloads,
    });
    if (problems.length === 0) {
      return;
    }
    if (!props.promotionOverride) {
      throw new PromotionRefusedError(problems, previous.source);
    }
    this.overriddenRules.push(...problems.map((p) => p.rule));
    this.service.metadata.addAnnotation(
      PROMOTION_OVERRIDE_ANNOTATION,
      `${props.promotionOverride.reason} (overrode: ${this.overriddenRules.join(', ')})`,
    );
  }

  private addColor(color: Color, replicas: number, props: BlueGreenServiceProps): kplus.Deployment {
    const group = new Construct(this, color === Color.BLUE ? 'Blue' : 'Green');
    const identity = props.identity ?? DEFAULT_IDENTITY;
    const rollout = props.rollout ?? {};
    const resources = props.resources ?? {};
    const selector = this.selectorOf(color);
    const autoscaled = props.autoscaling !== undefined && replicas > 0;

    const deployment = new kplus.Deployment(group, 'Resource', {
      metadata: { name: `${props.name}-${color}`, labels: selector },
      // Our own selector: cdk8s-plus' generated one would pin Services to one Deployment.
      select: false,
      // Under autoscaling the HPA owns the replica count; rendering one would fight it on every apply.
      replicas: autoscaled ? undefined : replicas,
      podMetadata: { labels: selector },
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: percentOrAbsolute(rollout.maxSurge ?? '25%'),
        maxUnavailable: percentOrAbsolute(rollout.maxUnavailable ?? 0),
      }),
      progressDeadline: Duration.seconds(rollout.progressDeadlineSeconds ?? 600),
      minReady: Duration.seconds(rollout.minReadySeconds ?? 5),
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: false,
      securityContext: restrictedPodSecurityContext(identity),
      containers: [
        {
          name: props.name,
          image: props.images[color],
          ports: [{ number: this.port, name: 'http' }],
          envVariables: this.envVariables(group, props),
          // Readiness (may check dependencies) reacts fast to take a pod out of the Service. Liveness is
          // another, process-only check and slower: a dependency outage must not restart every pod.
          readiness: kplus.Probe.fromHttpGet(this.healthPath, {
            port: this.port,
            periodSeconds: Duration.seconds(5),
            timeoutSeconds: Duration.seconds(2),
            failureThreshold: 3,
          }),
          liveness: this.livenessProbe(),
          resources: {
            cpu: { request: cpu(resources.cpuRequest ?? DEFAULT_SERVICE_CPU_REQUEST), limit: cpu(resources.cpuLimit ?? '1') },
            memory: { request: memory(resources.memoryRequest ?? '256Mi'), limit: memory(resources.memoryLimit ?? '512Mi') },
            ephemeralStorage: {
              request: memory(resources.ephemeralStorageRequest ?? EPHEMERAL_STORAGE.service.request),
              limit: memory(resources.ephemeralStorageLimit ?? EPHEMERAL_STORAGE.service.limit),
            },
          },
          imagePullPolicy: imagePullPolicyOf(props.images[color]) as kplus.ImagePullPolicy,
          securityContext: restrictedContainerSecurityContext(identity),
        },
      ],
    });
    deployment.select(kplus.LabelSelector.of({ labels: selector }));
    mountScratchTmp(group, deployment.containers[0]);
    const api = ApiObject.of(deployment);
    api.addJsonPatch(JsonPatch.add('/spec/revisionHistoryLimit', rollout.revisionHistoryLimit ?? 5));
    // Spread each colour across nodes (required from 2 pods on) and zones (soft). A one-node cluster
    // still schedules: with one hostname domain the skew is always 0.
    // The service's pod count, not this colour's: scaling an idle colour to 0 must not change its
    // pod template (its revision), or the promotion guard would see a new, unproven template.
    const servicePods = props.autoscaling?.minReplicas ?? props.replicas ?? 2;
    api.addJsonPatch(
      JsonPatch.add('/spec/template/spec/topologySpreadConstraints', spreadConstraints(selector, servicePods, props.nodeSpread ?? NodeSpread.REQUIRED)),
    );

    if (replicas > 0) {
      new kplus.k8s.KubePodDisruptionBudget(group, 'DisruptionBudget', {
        metadata: { name: `${props.name}-${color}`, labels: selector },
        spec: {
          minAvailable: kplus.k8s.IntOrString.fromNumber(props.minAvailable ?? 1),
          selector: { matchLabels: selector },
          // A pod that is not Ready gives no availability: evicting it must not block a drain.
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      });
    }
    if (autoscaled && props.autoscaling) {
      new kplus.HorizontalPodAutoscaler(group, 'Autoscaler', {
        metadata: { name: `${props.name}-${color}`, labels: selector },
        target: deployment,
        minReplicas: props.autoscaling.minReplicas,
        maxReplicas: props.autoscaling.maxReplicas,
        metrics: [kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(props.autoscaling.targetCpuUtilizationPercent ?? 70))],
      });
    }
    return deployment;
  }

  private livenessProbe(): kplus.Probe {
    const timing = {
      initialDelaySeconds: Duration.seconds(15),
      periodSeconds: Duration.seconds(20),
      timeoutSeconds: Duration.seconds(5),
      failureThreshold: 3,
    };
    return this.livenessPath !== undefined
      ? kplus.Probe.fromHttpGet(this.livenessPath, { port: this.port, ...timing })
      : kplus.Probe.fromTcpSocket({ port: this.port, ...timing });
  }

  private envVariables(scope: Construct, props: BlueGreenServiceProps): Record<string, kplus.EnvValue> {
    const env: Record<string, kplus.EnvValue> = {};
    for (const [key, value] of Object.entries(props.env ?? {})) {
      env[key] = kplus.EnvValue.fromValue(value);
    }
    for (const ref of props.secretEnv ?? []) {
      const secret = kplus.Secret.fromSecretName(scope, `Secret-${ref.name}`, ref.secretName);
      env[ref.name] = kplus.EnvValue.fromSecretValue({ secret, key: ref.key });
    }
    return env;
  }

  private addService(id: string, name: string, selector: Record<string, string>): kplus.Service {
    const service = new kplus.Service(this, id, {
      metadata: { name, labels: { app: this.name } },
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [{ name: 'http', port: this.port, targetPort: this.port }],
    });
    for (const [key, value] of Object.entries(selector)) {
      service.selectLabel(key, value);
    }
    return service;
  }
}

function percentOrAbsolute(value: string | number): kplus.PercentOrAbsolute {
  return typeof value === 'number' ? kplus.PercentOrAbsolute.absolute(value) : kplus.PercentOrAbsolute.percent(Number(value.replace('%', '')));
}

function validateProps(props: BlueGreenServiceProps): void {
  if (props.activeColor !== undefined && !Object.values(Color).includes(props.activeColor as Color)) {
    throw new Error(`'activeColor' (${props.activeColor}) must be one of ${Object.values(Color).join(', ')}`);
  }
  if (props.idleColorPolicy !== undefined && !Object.values(IdleColorPolicy).includes(props.idleColorPolicy as IdleColorPolicy)) {
    throw new Error(`'idleColorPolicy' (${props.idleColorPolicy}) must be one of ${Object.values(IdleColorPolicy).join(', ')}`);
  }
  if (props.promotionOverride !== undefined && props.promotionOverride.reason.trim() === '') {
    throw new Error("'promotionOverride.reason' ('') must say why the promotion guard is overridden (incident, ticket)");
  }
  if (props.smokeTestTtlSeconds !== undefined && (!Number.isInteger(props.smokeTestTtlSeconds) || props.smokeTestTtlSeconds < 0)) {
    throw new Error(`'smokeTestTtlSeconds' (${props.smokeTestTtlSeconds}) must be a whole number of seconds, 0 or more`);
  }
  if (!DNS1123_LABEL.test(props.name) || props.name.length > 50) {
    throw new Error(`'name' (${props.name}) must be a DNS-1123 label of at most 50 characters (room for '-preview', '-green')`);
  }
  if (props.replicas !== undefined && (!Number.isInteger(props.replicas) || props.replicas < 0)) {
    throw new Error(`'replicas' (${props.replicas}) must be a whole number of 0 or more`);
  }
  if (props.autoscaling && props.autoscaling.maxReplicas < props.autoscaling.minReplicas) {
    throw new Error(
      `'autoscaling.maxReplicas' (${props.autoscaling.maxReplicas}) must be at least 'autoscaling.minReplicas' (${props.autoscaling.minReplicas})`,
    );
  }
  if (props.livenessPath !== undefined && props.livenessPath === (props.healthPath ?? '/health')) {
    throw new Error(
      `'livenessPath' (${props.livenessPath}) must differ from 'healthPath': a liveness probe that checks dependencies restarts every pod in an outage`,
    );
  }
  const podsRunning = props.autoscaling?.minReplicas ?? props.replicas ?? 2;
  const budget = disruptionBudgetProblem(props.minAvailable ?? 1, podsRunning, props.autoscaling ? "'autoscaling.minReplicas'" : "'replicas'");
  if (budget) {
    throw new Error(`'minAvailable' (${props.minAvailable ?? 1}) ${budget}`);
  }
  for (const color of [Color.BLUE, Color.GREEN]) {
    const problem = imageProblem(props.images[color]);
    if (problem) {
      throw new Error(`'images.${color}' (${props.images[color]}): ${problem}`);
    }
  }
}
