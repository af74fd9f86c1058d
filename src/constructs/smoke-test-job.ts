import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_IDENTITY, RestrictedIdentity, mountScratchTmp, restrictedContainerSecurityContext, restrictedPodSecurityContext } from './_restricted-pod';

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
   * @default 'curlimages/curl:8.10.1'
   */
  readonly image?: string;
  /**
   * Attempts before the Job fails (curl retries inside each attempt too).
   * @default 2
   */
  readonly backoffLimit?: number;
  /**
   * UID/GID the pod runs as.
   * @default - uid and gid 10001
   */
  readonly identity?: RestrictedIdentity;
}

/**
 * A Job that calls a health URL and fails unless it answers 2xx, so a pipeline can
 * `kubectl wait --for=condition=complete job/<name>` before switching traffic.
 */
export class SmokeTestJob extends Construct {
  public readonly job: kplus.Job;
  /** The Job's own ServiceAccount, without a token: the test needs no API access. */
  public readonly serviceAccount: kplus.ServiceAccount;

  constructor(scope: Construct, id: string, props: SmokeTestJobProps) {
    super(scope, id);
    const identity = props.identity ?? DEFAULT_IDENTITY;
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: `${props.serviceName}-smoke-test`, labels: { [SMOKE_TEST_OF_LABEL]: props.serviceName } },
      automountToken: false,
    });
    this.job = new kplus.Job(this, 'Resource', {
      metadata: { name: props.name, labels: { 'app.kubernetes.io/component': 'smoke-test', [SMOKE_TEST_OF_LABEL]: props.serviceName } },
      podMetadata: { labels: { 'app.kubernetes.io/component': 'smoke-test', [SMOKE_TEST_OF_LABEL]: props.serviceName } },
      backoffLimit: props.backoffLimit ?? 2,
      activeDeadline: Duration.minutes(5),
      restartPolicy: kplus.RestartPolicy.NEVER,
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: false,
      securityContext: restrictedPodSecurityContext(identity),
      containers: [
        {
          name: 'smoke-test',
          image: props.image ?? 'curlimages/curl:8.10.1',
          // -f turns any non-2xx into a failure; retries cover pods that are still starting.
          args: ['--fail', '--silent', '--show-error', '--max-time', '5', '--retry', '10', '--retry-connrefused', '--retry-delay', '3', props.url],
          // Images are pinned to tags, so a node's cached copy is the right one.
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          securityContext: restrictedContainerSecurityContext(identity),
          resources: {
            cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
            memory: { request: Size.mebibytes(16), limit: Size.mebibytes(32) },
          },
        },
      ],
    });
    mountScratchTmp(this, this.job.containers[0]);
  }
}
