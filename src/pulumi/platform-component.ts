import type * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { PlatformConfig, PlatformConfigInput } from '../config/platform-config';
import { PlatformChart } from '../constructs/platform-chart';
import type { PreviousOutput } from '../constructs/promotion-guard';
import { REFERENCE_CHART_ID } from '../synth-platform';
import { manifestResources, resourceNameOf } from './_manifest-resources';
import { KubernetesObject, ManifestObject } from './kubernetes-object';

/** Type token of the component. */
export const AIAAS_PLATFORM_TYPE = 'aiaas-ops:index:Platform';

export interface AiaasPlatformArgs {
  /**
   * The platform config: the same typed config as the cdk8s `PlatformChart`.
   * A plain value, not an `Input`, because it decides which resources exist. Everything has the
   * runbook's default except `monitoring.runbookBaseUrl`, which is required.
   * @default - the runbook's reference platform, refused for want of `monitoring.runbookBaseUrl`
   */
  readonly config?: PlatformConfigInput;
  /**
   * Kubernetes provider of every object.
   * @default - the provider given in `opts`, else Pulumi's default Kubernetes provider (ambient kubeconfig)
   */
  readonly provider?: k8s.Provider;
  /**
   * What is applied now, for the promotion guard, as with `PlatformChart`'s `previousOutput`:
   * `PreviousOutput.fromFile(<manifests of the last applied change>)` or
   * `PreviousOutput.fromObjects(<objects>)` (e.g. the `manifests` of the last update, kept with
   * the stack). An unsafe blue-green change throws `PromotionRefusedError` naming every refused
   * service, before any resource is registered.
   * @default - no previous output: nothing is guarded
   */
  readonly previousOutput?: PreviousOutput;
}

/**
 * The platform of `PlatformChart`, deployed by Pulumi. The chart is built in
 * memory from the same config and every object that `cdk8s synth` would write
 * for it becomes one child resource, named `<name>-<kind>-<namespace>-<object
 * name>` in lower case (no namespace part for cluster-scoped objects).
 *
 * Order: Namespaces and CustomResourceDefinitions, then the other built-in
 * objects, then objects of CRD kinds (PrometheusRule, …).
 */
export class AiaasPlatform extends pulumi.ComponentResource {
  /** The validated config with defaults applied. */
  public readonly config: PlatformConfig;
  /** The synthesized objects in cdk8s' order: what `cdk8s synth` writes for this config. */
  public readonly manifests: ManifestObject[];
  /** One child resource per manifest, in the same order. */
  public readonly objects: KubernetesObject[];
  /** The platform namespace; resolves once the Namespace object exists. */
  public readonly namespace: pulumi.Output<string>;
  /** Pulumi logical names of the children, in manifest order. */
  public readonly resourceNames: pulumi.Output<string[]>;

  constructor(name: string, args: AiaasPlatformArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    // Synthesize before registering anything: a bad config fails with nothing registered.
    // The chart id is the one of `npm run synth`, so every generated name matches dist/.
    const app = new App();
    const chart = new PlatformChart(app, REFERENCE_CHART_ID, { config: args.config, previousOutput: args.previousOutput });
    const manifests = app.charts.flatMap((c) => c.toJson() as ManifestObject[]);

    super(AIAAS_PLATFORM_TYPE, name, {}, opts);
    this.config = chart.config;
    this.manifests = manifests;
    this.objects = manifestResources(name, this.manifests, { parent: this, provider: args.provider });

    const namespaceIndex = this.manifests.findIndex(
      (m) => m.apiVersion === 'v1' && m.kind === 'Namespace' && m.metadata.name === this.config.namespace,
    );
    this.namespace =
      namespaceIndex >= 0 ? this.objects[namespaceIndex].metadata.apply((m) => m.name) : pulumi.output(this.config.namespace);
    this.resourceNames = pulumi.output(this.manifests.map((m) => resourceNameOf(name, m)));

    this.registerOutputs({
      namespace: this.namespace,
      resourceNames: this.resourceNames,
    });
  }
}
