// The cdk8s app of the reference platform: `npm run synth` (or `npx cdk8s synth`).
//   npm run synth -- --config my-platform.yaml -c services.api-gateway.activeColor=green
// Everything is built and validated before anything is written, and the output
// directory is replaced in one rename, so a bad config leaves dist/ as it was.
import { Command } from 'commander';
import { synthPlatform } from './synth-platform';

function collectContext(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) {
    throw new Error(`-c '${value}': expected key=value, like services.api-gateway.activeColor=green`);
  }
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function contextFromEnv(): Record<string, string> {
  // cdk8s synth has no -c flag: AIAAS_OPS_CONTEXT="k=v,k=v" carries context through `npx cdk8s synth`.
  const raw = process.env.AIAAS_OPS_CONTEXT ?? '';
  return raw
    .split(',')
    .filter((pair) => pair.trim() !== '')
    .reduce((acc, pair) => collectContext(pair.trim(), acc), {} as Record<string, string>);
}

async function main(): Promise<void> {
  const program = new Command()
    .name('aiaas-synth')
    .description('Synthesize the AIaaS reference platform into Kubernetes manifests, RUNBOOK.md and alertmanager.yaml')
    .option('--config <file>', 'YAML file overriding the runbook defaults (env AIAAS_OPS_CONFIG); the reference platform is platform.yaml', process.env.AIAAS_OPS_CONFIG ?? 'platform.yaml')
    .option('-c, --context <key=value>', 'override one config field by dotted path (repeatable)', collectContext, {})
    .option('-o, --output <dir>', 'output directory (env CDK8S_OUTDIR)', process.env.CDK8S_OUTDIR ?? 'dist')
    .option('--previous <file>', 'manifests the promotion guard compares with (default: <output>/aiaas.k8s.yaml, the applied output)')
    .allowExcessArguments(false)
    .parse();
  const options = program.opts<{ config?: string; context: Record<string, string>; output: string; previous?: string }>();
  const files = synthPlatform({
    file: options.config,
    context: { ...contextFromEnv(), ...options.context },
    outdir: options.output,
    previousOutput: options.previous,
    log: (line) => console.log(line),
    onOverride: (service, rules) =>
      console.warn(
        rules.length > 0
          ? `WARNING services[${service}].promotionOverride overrode the promotion guard (${rules.join(', ')}); recorded on Service ${service}`
          : `note: services[${service}].promotionOverride overrode nothing; remove it so the guard protects the next change`,
      ),
  });
  for (const file of files) {
    console.log(`  - ${file}`);
  }
}

main().catch((error: Error) => {
  console.error(`synth failed, nothing was written:\n${error.message}`);
  process.exitCode = 1;
});
