// Which of the platform's Roles a RUNBOOK command block needs: every ```bash block of the
// generated RUNBOOK starts with a `# Roles:` line derived from its kubectl commands, so on-call
// knows before a step whether to ask a responder, the database operator or the applier.
// test/runbook-rbac.test.ts checks each command against the synthesized Roles.

import { platformRoleNames } from '../config/defaults';

/** Role names of `PlatformRbac` (the chart's prefix `aiaas`), and the identity that applies the manifests. */
export const RUNBOOK_ROLES = {
  ...platformRoleNames(),
  /** Not a Role of the platform: the GitOps applier's identity or a break-glass admin (README "Security defaults"). */
  applier: 'applier (break-glass)',
  /** Not a Role of the platform: the responder's own access to the monitoring stack's namespace (port-forward to Prometheus, Grafana). */
  monitoring: 'monitoring namespace access',
} as const;

export type RunbookRole = (typeof RUNBOOK_ROLES)[keyof typeof RUNBOOK_ROLES];

/** Shell words of a command, quotes removed; enough for the runbook's own commands. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) words.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) words.push(current);
  return words;
}

/**
 * The kubectl commands of a bash block, one string each: continuation lines joined, comments
 * dropped, pipelines and lists (`|`, `;`, `&&`, `&`) split outside quotes.
 */
export function kubectlCommands(block: string): string[] {
  const joined = block.replace(/\\\n/g, ' ');
  const commands: string[] = [];
  for (const raw of joined.split('\n')) {
    let quote: string | undefined;
    let segment = '';
    const segments: string[] = [];
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i];
      if (quote) {
        if (ch === quote) quote = undefined;
        segment += ch;
      } else if (ch === "'" || ch === '"') {
        quote = ch;
        segment += ch;
      } else if (ch === '#' && (i === 0 || /\s/.test(raw[i - 1]))) {
        break;
      } else if (ch === '|' || ch === ';' || ch === '&' || ch === '>' || ch === '<' || ch === '(' || ch === ')') {
        segments.push(segment);
        segment = '';
      } else {
        segment += ch;
      }
    }
    segments.push(segment);
    for (const s of segments) {
      // The segment's own text from `kubectl` on, quotes kept (`--overrides='{...}'`).
      const at = s.search(/(^|\s)kubectl(\s|$)/);
      if (at >= 0) commands.push(s.slice(at).trim());
    }
  }
  return commands;
}

/** The kubectl words after the namespace flags: `[verb, ...rest]`. */
export function kubectlArgs(command: string): string[] {
  const words = shellWords(command).slice(1);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '-n' || words[i] === '--namespace') i++;
    else out.push(words[i]);
  }
  return out;
}

/**
 * The Role a kubectl command of the runbook needs, or undefined for a command this module does
 * not know (the RUNBOOK test then fails: no command is left unchecked).
 */
export function roleForCommand(command: string, namespace?: string): RunbookRole | undefined {
  const [verb, sub, target] = kubectlArgs(command);
  const local = command.includes('--local') || command.includes('--dry-run=client');
  // Another namespace is outside the platform's Roles: only port-forwards to the monitoring stack go there.
  const ns = namespaceOf(command);
  if (namespace !== undefined && ns !== undefined && ns !== namespace) {
    return verb === 'port-forward' ? RUNBOOK_ROLES.monitoring : undefined;
  }
  switch (verb) {
    case 'get':
    case 'logs':
    case 'describe':
    case 'top':
    case 'wait':
      return RUNBOOK_ROLES.onCall;
    case 'rollout':
      if (sub === 'status' || sub === 'history') return RUNBOOK_ROLES.onCall;
      if (sub === 'restart' || sub === 'undo') return RUNBOOK_ROLES.responder;
      return undefined;
    case 'argo':
      // `kubectl argo rollouts <action>`: the brake (abort) is on-call's, the restart a responder's,
      // a promotion or an undo (a pod template change) the deployer's.
      if (sub !== 'rollouts') return undefined;
      if (['status', 'get', 'abort'].includes(target)) return RUNBOOK_ROLES.onCall;
      if (target === 'restart') return RUNBOOK_ROLES.responder;
      if (['promote', 'undo'].includes(target)) return RUNBOOK_ROLES.deployer;
      return undefined;
    case 'exec': {
      const pod = kubectlArgs(command).slice(1).find((w) => !w.startsWith('-'));
      return pod && /^postgres-\d+$/.test(pod) ? RUNBOOK_ROLES.databaseOperator : RUNBOOK_ROLES.responder;
    }
    case 'port-forward':
    case 'scale':
    case 'run':
      return RUNBOOK_ROLES.responder;
    case 'set':
      return sub === 'env' ? RUNBOOK_ROLES.responder : undefined;
    case 'delete':
      if (sub === 'secret') return RUNBOOK_ROLES.applier;
      return sub === 'pod' ? RUNBOOK_ROLES.responder : undefined;
    case 'create':
      // No person's Role writes Secrets (README "Security defaults"): a rotation is the applier's or a secret manager's.
      if (sub === 'secret') return RUNBOOK_ROLES.applier;
      // `create job --from=cronjob/... --dry-run=client` only reads the CronJob.
      return local ? RUNBOOK_ROLES.onCall : RUNBOOK_ROLES.responder;
    case 'patch':
      // `patch --local` edits its input and calls no API.
      if (local) return RUNBOOK_ROLES.onCall;
      // HPA bounds, and the env change of a Rollout (`kubectl set env` does not know Rollouts).
      if (sub === 'hpa' || sub === 'horizontalpodautoscaler' || sub === 'rollout') return RUNBOOK_ROLES.responder;
      if (sub === 'service' || sub === 'svc') return RUNBOOK_ROLES.applier;
      return undefined;
    default:
      return undefined;
  }
}

/** The namespace a command names (`-n x`, `--namespace x`, `--namespace=x`), if any. */
export function namespaceOf(command: string): string | undefined {
  const words = shellWords(command);
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '-n' || words[i] === '--namespace') return words[i + 1];
    if (words[i].startsWith('--namespace=')) return words[i].slice('--namespace='.length);
  }
  return undefined;
}

/** The `# Roles:` line of a block: the roles its commands need, least privileged first. */
export function rolesLine(block: string, namespace?: string): string | undefined {
  const order = Object.values(RUNBOOK_ROLES);
  const roles = new Set(kubectlCommands(block).map((c) => roleForCommand(c, namespace) ?? 'unknown: see test/runbook-rbac.test.ts'));
  if (roles.size === 0) return undefined;
  const sorted = [...roles].sort((a, b) => order.indexOf(a as RunbookRole) - order.indexOf(b as RunbookRole));
  return `# Roles: ${sorted.join(', ')}`;
}

/** Puts the `# Roles:` line at the top of every bash block of a markdown text. */
export function annotateRoles(markdown: string, namespace?: string): string {
  return markdown.replace(/```bash\n([\s\S]*?)```/g, (whole, body: string) => {
    const line = rolesLine(body, namespace);
    return line ? `\`\`\`bash\n${line}\n${body}\`\`\`` : whole;
  });
}
