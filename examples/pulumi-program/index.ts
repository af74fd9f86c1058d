// A Pulumi program deploying the AIaaS platform with the same typed config as
// the cdk8s chart. Promotion is one stack-config field:
//   pulumi config set --path 'overrides["services.api-gateway.activeColor"]' green
//   pulumi up
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { loadPlatformConfig } from 'aiaas-ops';
import { AiaasPlatform } from 'aiaas-ops/pulumi';

const stack = new pulumi.Config();

// Required: where this platform's RUNBOOK.md is published (every alert's runbook_url links into it).
// Optional: a YAML file of config fields, and dotted-path overrides (as `cdk8s synth -c`).
const config = loadPlatformConfig({
  file: stack.get('platformFile'),
  context: { 'monitoring.runbookBaseUrl': stack.require('runbookBaseUrl'), ...stack.getObject<Record<string, string>>('overrides') },
});

// Optional: an explicit cluster; without it Pulumi uses the ambient kubeconfig.
const kubeconfig = stack.get('kubeconfig');
const provider = kubeconfig ? new k8s.Provider('cluster', { kubeconfig }) : undefined;

const platform = new AiaasPlatform('aiaas', { config, provider });

export const namespace = platform.namespace;
export const resourceNames = platform.resourceNames;
export const activeColors = Object.fromEntries(platform.config.services.map((s) => [s.name, s.activeColor]));
