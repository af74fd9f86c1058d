import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_SMOKE_TEST_IMAGE } from '../config/defaults';
import {
  DEFAULT_IDENTITY,
  RestrictedIdentity,
  SCRATCH_TMP_MOUNT,
  SCRATCH_TMP_VOLUME,
  restrictedContainerSecurityContextSpec,
  restrictedPodSecurityContextSpec,
} from './_restricted-pod';
import { wholeSeconds } from './_duration';
import { EPHEMERAL_STORAGE, imagePullPolicyOf } from './_workload-policy';

/** Label carried by smoke-test pods, so network policies can let them reach the service they test. */
export const SMOKE_TEST_OF_LABEL = 'aiaas.io/smoke-test-of';

export interface SmokeTestJobProps {
  /** Job name. */
  readonly name: string;
  /** Service under test: its pods must accept the smoke test's traffic. */
  readonly serviceName: string;
  /** URL that must answer 2xx, e.g. http://api-gateway-preview:8000/health. */
  readonly url: string;
  /**
   * Image providing `curl` as entrypoint.
   * @default DEFAULT_SMOKE_TEST_IMAGE ('curlimages/curl:8.10.1')
   */
  readonly image?: string;
  /**
   * Attempts before the Job fails (curl retries inside each attempt too).
   * @default 2
   */
  readonly backoffLimit?: number;
  /**
   * How long a finished Job is kept (with its pod and logs) before Kubernetes deletes it (whole seconds).
   * @default Duration.days(1)
   */
  readonly ttlAfterFinished?: Duration;
  /**
   * UID/GID the pod runs as.
   * @default - uid and gid 10001
   */
  readonly identity?: RestrictedIdentity;
}

/**
 * A Job that calls a health URL and fails unless it answers 2xx, so a pipeline can
 * `kubectl wait --for=condition=complete job/<name>` before switching traffic.
 *
 * Built from the L1 Job and ServiceAccount: cdk8s-plus adds nothing to one container
 * with every field set, and there is one of these per service, so its synth cost adds up.
 */
export class SmokeTestJob extends Construct {
  public readonly job: k8s.KubeJob;
  /** The Job's own ServiceAccount, without a token: the test needs no API access. */
  public readonly serviceAccount: k8s.KubeServiceAccount;

  constructor(scope: Construct, id: string, props: SmokeTestJobProps) {
    super(scope, id);
    this.serviceAccount = smokeTestServiceAccount(this, 'ServiceAccount', props.serviceName);
    this.job = new k8s.KubeJob(this, 'Resource', {
      metadata: { name: props.name, labels: smokeTestLabels(props.serviceName) },
      spec: smokeTestJobSpec(props, this.serviceAccount.name),
    });
  }
}

/** Labels of a smoke-test Job and its pods. */
export function smokeTestLabels(serviceName: string): Record<string, string> {
  return { 'app.kubernetes.io/component': 'smoke-test', [SMOKE_TEST_OF_LABEL]: serviceName };
}

/** The smoke test's ServiceAccount `<service>-smoke-test`, without a token. */
export function smokeTestServiceAccount(scope: Construct, id: string, serviceName: string): k8s.KubeServiceAccount {
  return new k8s.KubeServiceAccount(scope, id, {
    metadata: { name: `${serviceName}-smoke-test`, labels: { [SMOKE_TEST_OF_LABEL]: serviceName } },
    automountServiceAccountToken: false,
  });
}

/**
 * The smoke test's Job spec, also run by Argo Rollouts' job metric provider
 * (`AnalysisTemplate.spec.metrics[].provider.job.spec`).
 */
export function smokeTestJobSpec(props: Omit<SmokeTestJobProps, 'name'>, serviceAccountName: string): k8s.JobSpec {
  const identity = props.identity ?? DEFAULT_IDENTITY;
  return {
    backoffLimit: props.backoffLimit ?? 2,
    activeDeadlineSeconds: 300,
    // Finished Jobs of old revisions go away on their own (an apply without prune leaves them).
    ttlSecondsAfterFinished: wholeSeconds('ttlAfterFinished', props.ttlAfterFinished ?? Duration.days(1)),
    template: {
      metadata: { labels: smokeTestLabels(props.serviceName) },
      spec: {
        restartPolicy: 'Never',
        serviceAccountName,
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurityContextSpec(identity),
        containers: [
          {
            name: 'smoke-test',
            image: props.image ?? DEFAULT_SMOKE_TEST_IMAGE,
            // -f turns any non-2xx into a failure. The preview Service has no endpoints until the new
            // revision's pods are Ready: retries (connection refused included) cover up to 4 minutes of that.
            args: ['--fail', '--silent', '--show-error', '--max-time', '5', '--retry', '40', '--retry-connrefused', '--retry-delay', '5', '--retry-max-time', '240', props.url],
            imagePullPolicy: imagePullPolicyOf(props.image ?? DEFAULT_SMOKE_TEST_IMAGE),
            securityContext: restrictedContainerSecurityContextSpec(identity),
            resources: {
              requests: {
                'cpu': k8s.Quantity.fromString('10m'),
                'memory': k8s.Quantity.fromString('16Mi'),
                'ephemeral-storage': k8s.Quantity.fromString(EPHEMERAL_STORAGE.smokeTest.request),
              },
              limits: {
                'cpu': k8s.Quantity.fromString('100m'),
                'memory': k8s.Quantity.fromString('32Mi'),
                'ephemeral-storage': k8s.Quantity.fromString(EPHEMERAL_STORAGE.smokeTest.limit),
              },
            },
            volumeMounts: [SCRATCH_TMP_MOUNT],
          },
        ],
        volumes: [SCRATCH_TMP_VOLUME],
      },
    },
  };
}
