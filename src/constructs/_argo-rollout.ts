// Argo Rollouts objects of a blue-green service: the Rollout (a Deployment's spec
// with Argo's apiVersion, kind and blueGreen strategy, as Argo's own migration guide
// converts one) and the AnalysisTemplates gating and watching the promotion.
import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';

export const ARGO_API_VERSION = 'argoproj.io/v1alpha1';

/** The analysis argument carrying the pod template hash of the revision under test. */
const REVISION_ARG = 'revision';

/** Prometheus analysis of one revision's pods. */
export interface RevisionAnalysis {
  /** Prometheus base URL. */
  readonly prometheusAddress: string;
  /** Error ratio query of one revision; `{{args.revision}}` stands for its pod template hash. */
  readonly errorRatioQuery: string;
  /** P95 latency (seconds) query of one revision, same placeholder. */
  readonly latencyP95Query: string;
  /** Highest error ratio that passes. */
  readonly errorRatio: number;
  /** Highest P95 latency (seconds) that passes. */
  readonly latencyP95Seconds: number;
}

/** `spec.strategy.blueGreen` of a Rollout. */
export interface BlueGreenStrategy {
  readonly activeService: string;
  readonly previewService: string;
  readonly autoPromotionEnabled: boolean;
  readonly scaleDownDelaySeconds: number;
  readonly abortScaleDownDelaySeconds: number;
  readonly previewReplicaCount?: number;
  readonly prePromotionTemplate: string;
  readonly postPromotionTemplate?: string;
}

/**
 * A Rollout with the spec of a Deployment (pod template, selector, replicas, minReadySeconds,
 * progressDeadlineSeconds, revisionHistoryLimit), read when synthesized, and the blueGreen
 * strategy in place of the rolling update. The Deployment itself must not be synthesized.
 */
export function rolloutFromDeployment(
  scope: Construct,
  id: string,
  props: { deployment: ApiObject; name: string; labels: Record<string, string>; strategy: BlueGreenStrategy },
): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: ARGO_API_VERSION,
    kind: 'Rollout',
    metadata: { name: props.name, labels: props.labels },
    spec: Lazy.any({ produce: () => rolloutSpec(props.deployment.toJson().spec, props.strategy) }),
  });
}

function rolloutSpec(deploymentSpec: Record<string, unknown>, strategy: BlueGreenStrategy): Record<string, unknown> {
  const latest = [{ name: REVISION_ARG, valueFrom: { podTemplateHashValue: 'Latest' } }];
  return {
    ...deploymentSpec,
    // A new revision that never becomes available is aborted, not left half-deployed.
    progressDeadlineAbort: true,
    strategy: {
      blueGreen: {
        activeService: strategy.activeService,
        previewService: strategy.previewService,
        autoPromotionEnabled: strategy.autoPromotionEnabled,
        scaleDownDelaySeconds: strategy.scaleDownDelaySeconds,
        abortScaleDownDelaySeconds: strategy.abortScaleDownDelaySeconds,
        ...(strategy.previewReplicaCount !== undefined ? { previewReplicaCount: strategy.previewReplicaCount } : {}),
        prePromotionAnalysis: { templates: [{ templateName: strategy.prePromotionTemplate }], args: latest },
        ...(strategy.postPromotionTemplate
          ? { postPromotionAnalysis: { templates: [{ templateName: strategy.postPromotionTemplate }], args: latest } }
          : {}),
      },
    },
  };
}

/** The smoke test as Argo's job metric, and Prometheus metrics of the preview revision. */
export function prePromotionTemplate(
  scope: Construct,
  id: string,
  props: { name: string; labels: Record<string, string>; smokeJob: k8s.JobSpec; smokeLabels: Record<string, string>; analysis?: RevisionAnalysis },
): ApiObject {
  const metrics: unknown[] = [
    {
      name: 'smoke-test',
      provider: { job: { metadata: { labels: props.smokeLabels }, spec: k8s.toJson_JobSpec(props.smokeJob) } },
    },
  ];
  if (props.analysis) {
    // The preview only gets the smoke test's traffic: no requests at all passes (the smoke test gates);
    // a measured ratio or latency over its threshold fails. Three measurements, a minute apart.
    metrics.push(...prometheusMetrics(props.analysis, { count: 3, failureLimit: 0, passWithoutData: true }));
  }
  return analysisTemplate(scope, id, props.name, props.labels, metrics);
}

/** The watch after the switch: error ratio and latency of the new revision, once a minute. */
export function postPromotionTemplate(
  scope: Construct,
  id: string,
  props: { name: string; labels: Record<string, string>; analysis: RevisionAnalysis; watchMinutes: number },
): ApiObject {
  // Real traffic now: no data is inconclusive (the Rollout pauses for a human), three bad minutes abort.
  const metrics = prometheusMetrics(props.analysis, { count: props.watchMinutes, failureLimit: 2, passWithoutData: false });
  return analysisTemplate(scope, id, props.name, props.labels, metrics);
}

function prometheusMetrics(analysis: RevisionAnalysis, opts: { count: number; failureLimit: number; passWithoutData: boolean }): unknown[] {
  const metric = (name: string, query: string, threshold: number) => {
    const measured = 'len(result) > 0 && !isNaN(result[0])';
    return {
      name,
      interval: '1m',
      count: opts.count,
      failureLimit: opts.failureLimit,
      successCondition: opts.passWithoutData ? `!(${measured}) || result[0] <= ${threshold}` : `${measured} && result[0] <= ${threshold}`,
      failureCondition: `${measured} && result[0] > ${threshold}`,
      provider: { prometheus: { address: analysis.prometheusAddress, query } },
    };
  };
  return [
    metric('error-ratio', analysis.errorRatioQuery, analysis.errorRatio),
    metric('latency-p95', analysis.latencyP95Query, analysis.latencyP95Seconds),
  ];
}

function analysisTemplate(scope: Construct, id: string, name: string, labels: Record<string, string>, metrics: unknown[]): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: ARGO_API_VERSION,
    kind: 'AnalysisTemplate',
    metadata: { name, labels },
    // The Rollout always passes the revision; a template without Prometheus metrics ignores it.
    spec: { args: [{ name: REVISION_ARG }], metrics },
  });
}

/** The PromQL placeholder Argo replaces with the revision under test. */
export const REVISION_ARG_PLACEHOLDER = `{{args.${REVISION_ARG}}}`;
