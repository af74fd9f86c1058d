import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { clusterScoped } from './_cluster-scoped';
import { retain } from './retained';

export interface PlatformNamespaceProps {
  /** Namespace name. */
  readonly name: string;
  /**
   * Pod Security Standards version the namespace enforces.
   * @default 'v1.28'
   */
  readonly podSecurityVersion?: string;
}

/**
 * The platform namespace, labelled so the API server enforces (and warns and
 * audits) the Pod Security Standards "restricted" profile on every pod in it.
 */
export class PlatformNamespace extends Construct {
  public readonly name: string;

  constructor(scope: Construct, id: string, props: PlatformNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    const version = props.podSecurityVersion ?? 'v1.28';
    const labels: Record<string, string> = { 'kubernetes.io/metadata.name': props.name };
    for (const mode of ['enforce', 'audit', 'warn']) {
      labels[`pod-security.kubernetes.io/${mode}`] = 'restricted';
      labels[`pod-security.kubernetes.io/${mode}-version`] = version;
    }
    // Retained: deleting the Namespace would delete postgres and the backup volume with it.
    // The namespace's `default` ServiceAccount, managed so it mounts no token: a pod that names no
    // ServiceAccount gets no API credentials. Every platform pod has its own account anyway.
    new ApiObject(this, 'DefaultServiceAccount', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: props.name },
      automountServiceAccountToken: false,
    });
    retain(clusterScoped(new ApiObject(this, 'Resource', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: props.name, labels } })));
  }
}
