import { createHash } from 'crypto';
import { ApiObject, Duration, JsonPatch } from 'cdk8s';
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
   * Colour the stable Service selects.
   * @default Color.BLUE
   */
  readonly activeColor?: Color;
  /**
   * What to do with the idle colour.
   * @default IdleColorPolicy.KEEP
   */
  readonly idleColorPolicy?: IdleColorPolicy;
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
   * Health endpoint for probes and the smoke test.
   * @default '/health'
   */
  readonly healthPath?: string;
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
   * PodDisruptionBudget minAvailable of each running colour.
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

  constructor(scope: Construct, id: string, props: BlueGreenServiceProps) {
    super(scope, id);
    this.name = props.name;
    this.activeColor = props.activeColor ?? Color.BLUE;
    this.idleColor = this.activeColor === Color.BLUE ? Color.GREEN : Color.BLUE;
    this.idleColorPolicy = props.idleColorPolicy ?? IdleColorPolicy.KEEP;
    this.port = props.port ?? 8000;
    this.healthPath = props.healthPath ?? '/health';
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

    this.service = this.addService('Service', props.name, this.activeColor);
    this.previewService = this.addService('PreviewService', `${props.name}-preview`, this.idleColor);

    const idleRuns = this.idleColorPolicy === IdleColorPolicy.KEEP && (props.replicas ?? 2) > 0;
    if ((props.smokeTest ?? true) && idleRuns) {
      // Named by both images: a new image gets a new Job, while a promotion (same images) leaves it unchanged.
      const digest = createHash('sha256').update(`${props.images.blue}\n${props.images.green}`).digest('hex').slice(0, 8);
      this.smokeTest = new SmokeTestJob(this, 'SmokeTest', {
        name: `${props.name}-smoke-${digest}`,
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
          // Readiness reacts fast to take a pod out of the Service; liveness is slower to avoid restart storms.
          readiness: kplus.Probe.fromHttpGet(this.healthPath, {
            port: this.port,
            periodSeconds: Duration.seconds(5),
            timeoutSeconds: Duration.seconds(2),
            failureThreshold: 3,
          }),
          liveness: kplus.Probe.fromHttpGet(this.healthPath, {
            port: this.port,
            initialDelaySeconds: Duration.seconds(15),
            periodSeconds: Duration.seconds(20),
            timeoutSeconds: Duration.seconds(5),
            failureThreshold: 3,
          }),
          resources: {
            cpu: { request: cpu(resources.cpuRequest ?? DEFAULT_SERVICE_CPU_REQUEST), limit: cpu(resources.cpuLimit ?? '1') },
            memory: { request: memory(resources.memoryRequest ?? '256Mi'), limit: memory(resources.memoryLimit ?? '512Mi') },
          },
          // Images are pinned to tags, so a node's cached copy is the right one.
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          securityContext: restrictedContainerSecurityContext(identity),
        },
      ],
    });
    deployment.select(kplus.LabelSelector.of({ labels: selector }));
    mountScratchTmp(group, deployment.containers[0]);
    const api = ApiObject.of(deployment);
    api.addJsonPatch(JsonPatch.add('/spec/revisionHistoryLimit', rollout.revisionHistoryLimit ?? 5));
    // Spread each colour across nodes and zones; "ScheduleAnyway" keeps single-node clusters schedulable.
    api.addJsonPatch(
      JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
      ]),
    );

    if (replicas > 0) {
      new kplus.k8s.KubePodDisruptionBudget(group, 'DisruptionBudget', {
        metadata: { name: `${props.name}-${color}`, labels: selector },
        spec: { minAvailable: kplus.k8s.IntOrString.fromNumber(props.minAvailable ?? 1), selector: { matchLabels: selector } },
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

  private addService(id: string, name: string, color: Color): kplus.Service {
    const service = new kplus.Service(this, id, {
      metadata: { name, labels: { app: this.name } },
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [{ name: 'http', port: this.port, targetPort: this.port }],
    });
    for (const [key, value] of Object.entries(this.selectorOf(color))) {
      service.selectLabel(key, value);
    }
    return service;
  }
}

function percentOrAbsolute(value: string | number): kplus.PercentOrAbsolute {
  return typeof value === 'number' ? kplus.PercentOrAbsolute.absolute(value) : kplus.PercentOrAbsolute.percent(Number(value.replace('%', '')));
}

function validateProps(props: BlueGreenServiceProps): void {
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
  for (const color of [Color.BLUE, Color.GREEN]) {
    const problem = imageProblem(props.images[color]);
    if (problem) {
      throw new Error(`'images.${color}' (${props.images[color]}): ${problem}`);
    }
  }
}
