import { ApiObject, Chart, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_SERVICE_CPU_REQUEST } from '../config/defaults';
import { ENV_VAR_NAME, SECRET_KEY, SecretEnvVar } from '../config/secret-ref';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN, imageProblem } from '../config/validators';
import { disruptionBudgetProblem } from '../config/workload-rules';
import { wholeMinutes, wholeSeconds } from './_duration';
import { cpu, memory } from './_quantity';
import {
  DEFAULT_IDENTITY,
  RestrictedIdentity,
  mountScratchTmp,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
} from './_restricted-pod';
import { ARGO_API_VERSION, RevisionAnalysis, postPromotionTemplate, prePromotionTemplate, rolloutFromDeployment } from './_argo-rollout';
import { REVISION_LABEL, REVISION_LABEL_POINTER, podTemplateRevision } from './_revision';
import { EPHEMERAL_STORAGE, imagePullPolicyOf, spreadConstraints } from './_workload-policy';
import {
  ColorWorkload,
  PROMOTION_OVERRIDE_ANNOTATION,
  PreviousOutput,
  PromotionOverride,
  PromotionRefusedError,
  PromotionRule,
  checkPromotion,
} from './promotion-guard';
import { SmokeTestJob, smokeTestJobSpec, smokeTestLabels, smokeTestServiceAccount } from './smoke-test-job';

export type { RevisionAnalysis } from './_argo-rollout';

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

/** What runs a blue-green service. */
export enum BlueGreenEngine {
  /** Two Deployments `<name>-blue`/`<name>-green`; the switch is `activeColor`, guarded against the previous output. */
  DEPLOYMENTS = 'deployments',
  /** One Argo Rollout `<name>` with the blueGreen strategy: Argo previews, analyses, promotes and scales down. */
  ARGO_ROLLOUTS = 'argo-rollouts',
}

/** The blueGreen strategy of the Rollout (engine ARGO_ROLLOUTS). */
export interface ArgoRolloutsOptions {
  /**
   * Promote as soon as the pre-promotion analysis passed, without `kubectl argo rollouts promote`.
   * @default false
   */
  readonly autoPromotionEnabled?: boolean;
  /**
   * How long the old ReplicaSet keeps running after the switch, so an abort is instant (whole seconds).
   * Argo cancels the post-promotion analysis at scale-down, so it must cover `watch`.
   * @default Duration.seconds(900)
   */
  readonly scaleDownDelay?: Duration;
  /**
   * How long the preview ReplicaSet keeps running after an abort (whole seconds).
   * @default Duration.seconds(30)
   */
  readonly abortScaleDownDelay?: Duration;
  /**
   * Pods of the preview before promotion (scaled to full size before the switch).
   * @default - full size
   */
  readonly previewReplicaCount?: number;
  /**
   * Post-promotion analysis (one measurement a minute, so whole minutes), when `analysis` is set.
   * @default Duration.minutes(10)
   */
  readonly watch?: Duration;
  /**
   * Prometheus analysis of the new revision: before the switch (with the smoke test) and after it (the watch).
   * @default - only the smoke test gates the promotion; no post-promotion analysis
   */
  readonly analysis?: RevisionAnalysis;
}

const DEFAULT_SCALE_DOWN_DELAY = Duration.seconds(900);
const DEFAULT_ABORT_SCALE_DOWN_DELAY = Duration.seconds(30);
const DEFAULT_WATCH = Duration.minutes(10);

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
  /**
   * Pods allowed above the colour's size during a rolling update.
   * @default PercentOrAbsolute.percent(25)
   */
  readonly maxSurge?: kplus.PercentOrAbsolute;
  /**
   * Pods that may be unavailable during a rolling update.
   * @default PercentOrAbsolute.absolute(0)
   */
  readonly maxUnavailable?: kplus.PercentOrAbsolute;
  /**
   * Time after which a rollout that makes no progress is reported as failed (whole seconds).
   * @default Duration.seconds(600)
   */
  readonly progressDeadline?: Duration;
  /**
   * Old ReplicaSets kept for `kubectl rollout undo`.
   * @default 5
   */
  readonly revisionHistoryLimit?: number;
  /**
   * Time a new pod must be ready before it counts as available (whole seconds).
   * @default Duration.seconds(5)
   */
  readonly minReady?: Duration;
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
   * What runs the service: two Deployments or one Argo Rollout (the enum or its value).
   * Under ARGO_ROLLOUTS the Rollout runs `images[activeColor]`, `idleColorPolicy` must be KEEP, and
   * Argo keeps the previous ReplicaSet for `argoRollouts.scaleDownDelay`.
   * @default BlueGreenEngine.DEPLOYMENTS
   */
  readonly engine?: BlueGreenEngine | `${BlueGreenEngine}`;
  /**
   * The Rollout's blueGreen strategy (engine ARGO_ROLLOUTS).
   * @default - manual promotion, 900 s scale-down delay, 30 s abort scale-down delay, full-size preview, smoke test only
   */
  readonly argoRollouts?: ArgoRolloutsOptions;
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
   * How long a finished smoke-test Job (and its pod and logs) is kept before Kubernetes deletes it (whole seconds).
   * @default Duration.days(1)
   */
  readonly smokeTestTtl?: Duration;
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
  public readonly engine: BlueGreenEngine;
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
  /** The Rollout (engine ARGO_ROLLOUTS). */
  public readonly rollout?: ApiObject;
  /** The Rollout's AnalysisTemplates: pre-promotion, and post-promotion when analysed (engine ARGO_ROLLOUTS). */
  public readonly analysisTemplates: ApiObject[] = [];
  /** Revision (hash of the pod template, label `aiaas.io/revision`) of each colour's Deployment. */
  public readonly revisions: Partial<Record<Color, string>> = {};
  /** Promotion guard rules the `promotionOverride` overrode in this build (empty: none). */
  public readonly overriddenRules: PromotionRule[] = [];

  constructor(scope: Construct, id: string, props: BlueGreenServiceProps) {
    super(scope, id);
    this.name = props.name;
    this.engine = (props.engine ?? BlueGreenEngine.DEPLOYMENTS) as BlueGreenEngine;
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

    if (this.engine === BlueGreenEngine.ARGO_ROLLOUTS) {
      this.service = this.addService('Service', props.name, this.selectorOf(this.activeColor));
      this.previewService = this.addService('PreviewService', `${props.name}-preview`, this.selectorOf(this.idleColor));
      this.rollout = this.addRollout(props);
      this.guardPromotion(props, {});
      return;
    }

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
        ttlAfterFinished: props.smokeTestTtl,
        serviceName: props.name,
        url: `http://${props.name}-preview:${this.port}${this.healthPath}`,
        image: props.smokeTestImage,
        identity: props.identity,
      });
    }
  }

  /**
   * Labels that select the pods of one colour; under ARGO_ROLLOUTS, all the Rollout's pods
   * (Argo adds `rollouts-pod-template-hash` to the Services' selectors itself).
   */
  public selectorOf(color: Color): Record<string, string> {
    return this.engine === BlueGreenEngine.ARGO_ROLLOUTS ? { app: this.name } : { app: this.name, version: color };
  }

  /** Name of a colour's workload (and its PDB and HPA): `<name>-<color>`, or the Rollout's `<name>`. */
  public workloadName(color: Color): string {
    return this.engine === BlueGreenEngine.ARGO_ROLLOUTS ? this.name : `${this.name}-${color}`;
  }

  /**
   * The active colour's Deployment converted into a Rollout (same pod template, probes,
   * PDB), its HPA retargeted, and the AnalysisTemplates gating and watching the promotion.
   */
  private addRollout(props: BlueGreenServiceProps): ApiObject {
    const argo = props.argoRollouts ?? {};
    const deployment = this.addColor(this.activeColor, props.replicas ?? 2, props);
    const group = deployment.node.scope as Construct;
    const labels = { app: this.name };
    const smokeAccount = smokeTestServiceAccount(this, 'SmokeTestServiceAccount', this.name);
    const smokeProps = {
      serviceName: this.name,
      url: `http://${this.name}-preview:${this.port}${this.healthPath}`,
      image: props.smokeTestImage,
      identity: props.identity,
      ttlAfterFinished: props.smokeTestTtl,
    };
    const pre = prePromotionTemplate(this, 'PrePromotionAnalysis', {
      name: `${this.name}-pre-promotion`,
      labels,
      smokeJob: smokeTestJobSpec(smokeProps, smokeAccount.name),
      smokeLabels: smokeTestLabels(this.name),
      analysis: argo.analysis,
    });
    this.analysisTemplates.push(pre);
    const post = argo.analysis
      ? postPromotionTemplate(this, 'PostPromotionAnalysis', {
          name: `${this.name}-post-promotion`,
          labels,
          analysis: argo.analysis,
          watchMinutes: wholeMinutes('argoRollouts.watch', argo.watch ?? DEFAULT_WATCH),
        })
      : undefined;
    if (post) {
      this.analysisTemplates.push(post);
    }
    const rollout = rolloutFromDeployment(group, 'Rollout', {
      deployment: ApiObject.of(deployment),
      name: this.name,
      labels,
      strategy: {
      activeService: this.name,
      previewService: `${this.name}-preview`,
      autoPromotionEnabled: argo.autoPromotionEnabled ?? false,
      scaleDownDelaySeconds: wholeSeconds('argoRollouts.scaleDownDelay', argo.scaleDownDelay ?? DEFAULT_SCALE_DOWN_DELAY),
      abortScaleDownDelaySeconds: wholeSeconds('argoRollouts.abortScaleDownDelay', argo.abortScaleDownDelay ?? DEFAULT_ABORT_SCALE_DOWN_DELAY),
      previewReplicaCount: argo.previewReplicaCount,
      prePromotionTemplate: pre.name,
      postPromotionTemplate: post?.name,
      },
    });
    // The Deployment only lends its spec to the Rollout: out of the tree, it is not synthesized.
    group.node.tryRemoveChild(deployment.node.id);
    const autoscaler = group.node.tryFindChild('Autoscaler');
    if (autoscaler) {
      ApiObject.of(autoscaler).addJsonPatch(
        JsonPatch.replace('/spec/scaleTargetRef', { apiVersion: ARGO_API_VERSION, kind: 'Rollout', name: this.name }),
      );
    }
    return rollout;
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
    const argo = this.engine === BlueGreenEngine.ARGO_ROLLOUTS;
    const previous = props.previousOutput;
    if (!previous) {
      return;
    }
    const problems = checkPromotion(previous, {
      service: this.name,
      namespace: Chart.of(this).namespace,
      engine: this.engine,
      activeColor: this.activeColor,
      workloadNames: { blue: `${this.name}-${Color.BLUE}`, green: `${this.name}-${Color.GREEN}`, rollout: this.name },
      serviceName: this.name,
      colors: workloads,
      rolloutReplicas: argo && !props.autoscaling ? props.replicas ?? 2 : undefined,
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
    const group = new Construct(this, this.engine === BlueGreenEngine.ARGO_ROLLOUTS ? 'Rollout' : color === Color.BLUE ? 'Blue' : 'Green');
    const identity = props.identity ?? DEFAULT_IDENTITY;
    const rollout = props.rollout ?? {};
    const resources = props.resources ?? {};
    const selector = this.selectorOf(color);
    const autoscaled = props.autoscaling !== undefined && replicas > 0;

    const deployment = new kplus.Deployment(group, 'Resource', {
      metadata: { name: this.workloadName(color), labels: selector },
      // Our own selector: cdk8s-plus' generated one would pin Services to one Deployment.
      select: false,
      // Under autoscaling the HPA owns the replica count; rendering one would fight it on every apply.
      replicas: autoscaled ? undefined : replicas,
      podMetadata: { labels: selector },
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: rollout.maxSurge ?? kplus.PercentOrAbsolute.percent(25),
        maxUnavailable: rollout.maxUnavailable ?? kplus.PercentOrAbsolute.absolute(0),
      }),
      progressDeadline: Duration.seconds(wholeSeconds('rollout.progressDeadline', rollout.progressDeadline ?? Duration.seconds(600))),
      minReady: Duration.seconds(wholeSeconds('rollout.minReady', rollout.minReady ?? Duration.seconds(5))),
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
        metadata: { name: this.workloadName(color), labels: selector },
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
        metadata: { name: this.workloadName(color), labels: selector },
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
      const secret = kplus.Secret.fromSecretName(scope, `Secret-${ref.env}`, ref.secret);
      env[ref.env] = kplus.EnvValue.fromSecretValue({ secret, key: ref.key });
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

function validateArgoProps(props: BlueGreenServiceProps): void {
  if ((props.idleColorPolicy ?? IdleColorPolicy.KEEP) !== IdleColorPolicy.KEEP) {
    throw new Error(
      `'idleColorPolicy' (${props.idleColorPolicy}) applies to engine deployments; under argo-rollouts the old ReplicaSet is scaled down after 'argoRollouts.scaleDownDelay' (expected keep)`,
    );
  }
  const argo = props.argoRollouts ?? {};
  const scaleDownDelay = wholeSeconds('argoRollouts.scaleDownDelay', argo.scaleDownDelay ?? DEFAULT_SCALE_DOWN_DELAY);
  wholeSeconds('argoRollouts.abortScaleDownDelay', argo.abortScaleDownDelay ?? DEFAULT_ABORT_SCALE_DOWN_DELAY);
  const watch = argo.watch ?? DEFAULT_WATCH;
  const watchMinutes = wholeMinutes('argoRollouts.watch', watch);
  if (argo.previewReplicaCount !== undefined && (!Number.isInteger(argo.previewReplicaCount) || argo.previewReplicaCount < 1)) {
    throw new Error(`'argoRollouts.previewReplicaCount' (${argo.previewReplicaCount}) must be a whole number of 1 or more`);
  }
  if (argo.analysis && scaleDownDelay < watchMinutes * 60) {
    throw new Error(
      `'argoRollouts.scaleDownDelay' (${Duration.seconds(scaleDownDelay).toHumanString()}) must be at least the watch (${watch.toHumanString()}): Argo cancels the post-promotion analysis when it scales the old ReplicaSet down`,
    );
  }
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
  if (props.engine !== undefined && !Object.values(BlueGreenEngine).includes(props.engine as BlueGreenEngine)) {
    throw new Error(`'engine' (${props.engine}) must be one of ${Object.values(BlueGreenEngine).join(', ')}`);
  }
  if ((props.engine ?? BlueGreenEngine.DEPLOYMENTS) === BlueGreenEngine.ARGO_ROLLOUTS) {
    validateArgoProps(props);
  }
  if (props.smokeTestTtl !== undefined) {
    wholeSeconds('smokeTestTtl', props.smokeTestTtl);
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
  (props.secretEnv ?? []).forEach((ref, i) => {
    if (!ENV_VAR_NAME.test(ref.env)) {
      throw new Error(`'secretEnv[${i}].env' (${ref.env}) must be an environment variable name (letters, digits, '_', not starting with a digit)`);
    }
    if (!DNS1123_SUBDOMAIN.test(ref.secret)) {
      throw new Error(`'secretEnv[${i}].secret' (${ref.secret}) must be the name of a Secret (a DNS-1123 subdomain)`);
    }
    if (!SECRET_KEY.test(ref.key)) {
      throw new Error(`'secretEnv[${i}].key' (${ref.key}) must be a Secret key of letters, digits, '-', '_' or '.'`);
    }
  });
  for (const color of [Color.BLUE, Color.GREEN]) {
    const problem = imageProblem(props.images[color]);
    if (problem) {
      throw new Error(`'images.${color}' (${props.images[color]}): ${problem}`);
    }
  }
}
