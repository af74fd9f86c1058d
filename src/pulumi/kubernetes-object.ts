import * as pulumi from '@pulumi/pulumi';

/** One Kubernetes object as cdk8s synthesizes it (`chart.toJson()` element). */
export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    /** @default - cluster-scoped object */
    readonly namespace?: string;
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}

/**
 * API groups served by Kubernetes itself that have no `.k8s.io` suffix. Every
 * other built-in group ends in `.k8s.io`; the core group is empty (`apiVersion: v1`).
 */
const UNSUFFIXED_BUILT_IN_GROUPS = ['', 'apps', 'batch', 'autoscaling', 'policy', 'extensions'];

/** The API group of an `apiVersion` (`''` for the core group). */
export function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Whether an `apiVersion` belongs to Kubernetes' own API, rather than to a
 * CustomResourceDefinition (prometheus-operator's `monitoring.coreos.com`, …).
 */
export function isBuiltInApiVersion(apiVersion: string): boolean {
  const group = apiGroupOf(apiVersion);
  return UNSUFFIXED_BUILT_IN_GROUPS.includes(group) || group.endsWith('.k8s.io');
}

/**
 * The Pulumi type token of a Kubernetes object, the one @pulumi/kubernetes' own
 * classes use: `kubernetes:<group>/<version>:<Kind>`, with `core` for the core
 * group (`kubernetes:core/v1:Service`, `kubernetes:apps/v1:Deployment`,
 * `kubernetes:monitoring.coreos.com/v1:PrometheusRule`).
 *
 * `k8s.apiextensions.CustomResource` forms `kubernetes:${apiVersion}:${kind}`,
 * which is right for every group but the core one (`kubernetes:v1:Service`).
 */
export function kubernetesTypeToken(apiVersion: string, kind: string): string {
  const groupVersion = apiVersion.includes('/') ? apiVersion : `core/${apiVersion}`;
  return `kubernetes:${groupVersion}:${kind}`;
}

// The provider plugin version the default provider uses, as @pulumi/kubernetes' own classes set it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KUBERNETES_SDK_VERSION: string = require('@pulumi/kubernetes/package.json').version.replace(/^v/, '');

/**
 * Any Kubernetes object, registered with the same type token and inputs as the
 * matching @pulumi/kubernetes class (`core.v1.Service`, `apps.v1.Deployment`,
 * or `apiextensions.CustomResource` for CRD kinds), so the provider treats it
 * the same, and unit tests with mocks see it (unlike the children of the
 * provider-side `yaml.v2.ConfigGroup`).
 */
export class KubernetesObject extends pulumi.CustomResource {
  // `declare`: Pulumi sets these in the base constructor; a class field would reset them.
  declare public readonly apiVersion: pulumi.Output<string>;
  declare public readonly kind: pulumi.Output<string>;
  declare public readonly metadata: pulumi.Output<{ name: string; namespace?: string; [field: string]: unknown }>;

  /**
   * @param name Pulumi logical name.
   * @param manifest The object as `kubectl apply` would take it.
   * @param opts Resource options (`parent`, `provider`, `dependsOn`, …).
   */
  constructor(name: string, manifest: ManifestObject, opts: pulumi.CustomResourceOptions = {}) {
    if (typeof manifest.apiVersion !== 'string' || manifest.apiVersion === '') {
      throw new Error(`Kubernetes object '${name}': 'apiVersion' (${String(manifest.apiVersion)}) must be a non-empty string`);
    }
    if (typeof manifest.kind !== 'string' || manifest.kind === '') {
      throw new Error(`Kubernetes object '${name}': 'kind' (${String(manifest.kind)}) must be a non-empty string`);
    }
    if (typeof manifest.metadata?.name !== 'string' || manifest.metadata.name === '') {
      throw new Error(`Kubernetes object '${name}': 'metadata.name' (${String(manifest.metadata?.name)}) must be set`);
    }
    // Secret data stays secret in Pulumi state, as core.v1.Secret does it.
    const isSecret = manifest.apiVersion === 'v1' && manifest.kind === 'Secret';
    const defaults: pulumi.CustomResourceOptions = {
      version: KUBERNETES_SDK_VERSION,
      ...(isSecret ? { additionalSecretOutputs: ['data', 'stringData'] } : {}),
    };
    super(kubernetesTypeToken(manifest.apiVersion, manifest.kind), name, { ...manifest, status: undefined }, pulumi.mergeOptions(defaults, opts));
  }
}
