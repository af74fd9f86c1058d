// The promotion guard of the plain blue-green engine (two Deployments): a change
// is compared with the previous output (the committed, applied manifests) and
// refused when applying it would send traffic to pods that never ran, or kill the
// pods that serve traffic. Argo Rollouts does the same checks in the cluster.
import * as fs from 'fs';
import * as YAML from 'yaml';
import { activeWithoutReplicas } from '../config/workload-rules';
import { REVISION_LABEL, firstDifference } from './_revision';

/** A rule of the promotion guard; the id is what an override records. */
export enum PromotionRule {
  /** The new active colour was absent, scaled to 0 or ran another pod template in the previous output. */
  SWITCH_TO_UNPROVEN = 'switch-to-unproven-color',
  /** The colour that served traffic is scaled to 0 or removed in the same change as the switch. */
  SCALE_DOWN_WHILE_SWITCHING = 'scale-down-while-switching',
  /** The active colour has 0 replicas. */
  ACTIVE_WITHOUT_REPLICAS = 'active-without-replicas',
  /** The engine changes: the workloads serving traffic are replaced by ones that never ran. */
  ENGINE_CHANGE = 'engine-change',
}

/** An emergency override of the promotion guard for one service. */
export interface PromotionOverride {
  /** Why (incident, ticket, who decided): recorded in an annotation of the stable Service. */
  readonly reason: string;
}

/** Annotation of the stable Service recording an override: the reason and the rules overridden. */
export const PROMOTION_OVERRIDE_ANNOTATION = 'aiaas.io/promotion-guard-override';

/** One refusal: the rule and a message naming the service, what is wrong and the next safe step. */
export interface PromotionProblem {
  readonly rule: PromotionRule;
  readonly message: string;
}

/** A change the guard refused; `problems` lists every refusal of every service. */
export class PromotionRefusedError extends Error {
  constructor(readonly problems: PromotionProblem[], source: string) {
    super(
      `promotion guard (compared with ${source}) refused the change:\n${problems.map((p) => `  - ${p.message}`).join('\n')}\n` +
        "  An emergency can override one service with services[<name>].promotionOverride.reason (README 'Blue-green procedure').",
    );
    this.name = 'PromotionRefusedError';
  }
}

/** A Kubernetes object as synthesized. */
export interface OutputObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [field: string]: unknown };
  readonly [field: string]: any;
}

/**
 * The output a change is compared with: what was synthesized (and applied) last,
 * usually the committed `dist/aiaas.k8s.yaml`.
 */
export class PreviousOutput {
  /** The objects of a manifest file; a missing file is an empty output (first synth: nothing to guard). */
  public static fromFile(file: string): PreviousOutput {
    if (!fs.existsSync(file)) {
      return new PreviousOutput([], file);
    }
    const documents = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
    const objects: OutputObject[] = [];
    for (const document of documents) {
      if (document.errors.length > 0) {
        throw new Error(`previous output '${file}': ${document.errors[0].message}; expected the YAML manifests of an earlier synth`);
      }
      const object = document.toJSON();
      if (object !== null && object !== undefined) {
        objects.push(object as OutputObject);
      }
    }
    return new PreviousOutput(objects, file);
  }

  /** Objects already in memory (another app's previous synth, tests). */
  public static fromObjects(objects: OutputObject[], source = 'the previous output'): PreviousOutput {
    return new PreviousOutput(objects, source);
  }

  private constructor(public readonly objects: OutputObject[], public readonly source: string) {}

  /** True when there is nothing to compare with. */
  public get isEmpty(): boolean {
    return this.objects.length === 0;
  }

  /** The object of a kind and name (and namespace, when both sides have one). */
  public find(kind: string, name: string, namespace?: string): OutputObject | undefined {
    return this.objects.find(
      (o) =>
        o.kind === kind &&
        o.metadata?.name === name &&
        (namespace === undefined || o.metadata.namespace === undefined || o.metadata.namespace === namespace),
    );
  }
}

/** One colour's workload as it is in an output. */
export interface ColorWorkload {
  /**
   * Replica count.
   * @default - an autoscaler owns it (at least 1)
   */
  readonly replicas?: number;
  /** The pod template (`spec.template`). */
  readonly template: unknown;
}

/** What the guard needs of a service's new output. */
export interface PromotionCheck {
  /** Service name, as in the config (`services[<name>]`). */
  readonly service: string;
  /** Namespace of its objects. @default - matched by name only */
  readonly namespace?: string;
  /** Engine of the new output. */
  readonly engine: 'deployments' | 'argo-rollouts';
  /** Colour the stable Service selects in the new output (deployments engine). */
  readonly activeColor: string;
  /** Workload names: `<svc>-blue`, `<svc>-green` (Deployments) and `<svc>` (Rollout). */
  readonly workloadNames: { readonly blue: string; readonly green: string; readonly rollout: string };
  /** Stable Service name. */
  readonly serviceName: string;
  /** Each colour's Deployment in the new output (deployments engine); absent when removed. */
  readonly colors: Partial<Record<'blue' | 'green', ColorWorkload>>;
  /** The Rollout's replicas in the new output (argo-rollouts engine). @default - autoscaled */
  readonly rolloutReplicas?: number;
}

/** The refusals of one service's change against the previous output (empty: allowed). */
export function checkPromotion(previous: PreviousOutput, next: PromotionCheck): PromotionProblem[] {
  if (previous.isEmpty) {
    return [];
  }
  const svc = `services[${next.service}]`;
  const find = (kind: string, name: string) => previous.find(kind, name, next.namespace);
  const problems: PromotionProblem[] = [];
  const prevDeployments = { blue: find('Deployment', next.workloadNames.blue), green: find('Deployment', next.workloadNames.green) };
  const prevRollout = find('Rollout', next.workloadNames.rollout);
  const hadDeployments = (prevDeployments.blue ?? prevDeployments.green) !== undefined;

  if (next.engine === 'argo-rollouts') {
    if (hadDeployments && !prevRollout) {
      problems.push({
        rule: PromotionRule.ENGINE_CHANGE,
        message:
          `${svc}: engine deployments → argo-rollouts would delete the Deployments serving traffic in the same apply as the new Rollout starts its first pods. ` +
          'Next safe step: migrate in a maintenance window (promotionOverride with the reason), or let Argo adopt the running pods with a workloadRef Rollout outside this library.',
      });
    }
    if (next.rolloutReplicas === 0) {
      problems.push({ rule: PromotionRule.ACTIVE_WITHOUT_REPLICAS, message: `${svc}: ${activeWithoutReplicas('the Rollout')}` });
    }
    return problems;
  }

  if (prevRollout && !hadDeployments) {
    problems.push({
      rule: PromotionRule.ENGINE_CHANGE,
      message:
        `${svc}: engine argo-rollouts → deployments would delete the Rollout serving traffic in the same apply as the new Deployments start. ` +
        'Next safe step: migrate in a maintenance window (promotionOverride with the reason).',
    });
  }

  const active = next.activeColor as 'blue' | 'green';
  const activeNow = next.colors[active];
  if (activeNow?.replicas === 0) {
    problems.push({ rule: PromotionRule.ACTIVE_WITHOUT_REPLICAS, message: `${svc}: ${activeWithoutReplicas(`the active colour ${active}`)}` });
  }

  const prevActive = find('Service', next.serviceName)?.spec?.selector?.version as 'blue' | 'green' | undefined;
  if (prevActive === undefined || prevActive === active) {
    return problems;
  }
  const switching = `activeColor ${prevActive} → ${active}`;
  const before = prevDeployments[active];
  const changed = before && activeNow && firstDifference(withoutRevision(before.spec?.template), withoutRevision(activeNow.template), 'spec.template');
  const unproven = !before
    ? `${active} was absent`
    : before.spec?.replicas === 0
      ? `${active} was scaled to 0`
      : changed
        ? `${active} ran a different pod template (${changed})`
        : undefined;
  if (unproven) {
    problems.push({
      rule: PromotionRule.SWITCH_TO_UNPROVEN,
      message:
        `${svc}: ${switching} refused: in ${previous.source} ${unproven}; the new active colour must have run, unchanged, in an earlier apply. ` +
        `Next safe step: keep activeColor: ${prevActive} with idleColorPolicy: keep and the new ${active} settings, synth, apply, wait for the smoke Job of ${active}; switch in a later change.`,
    });
  }
  const oldActive = next.colors[prevActive];
  if (!oldActive || oldActive.replicas === 0) {
    problems.push({
      rule: PromotionRule.SCALE_DOWN_WHILE_SWITCHING,
      message:
        `${svc}: ${switching} refused: ${prevActive}, which serves traffic now, would be ${oldActive ? 'scaled to 0' : 'removed'} in the same change. ` +
        `Next safe step: switch with idleColorPolicy: keep, watch ${active} for 10 minutes, then clean up ${prevActive} in a later change.`,
    });
  }
  return problems;
}

/** The revision label is derived from the rest of the template: the difference worth naming is elsewhere. */
function withoutRevision(template: any): unknown {
  const labels = { ...template?.metadata?.labels };
  delete labels[REVISION_LABEL];
  return { ...template, metadata: { ...template?.metadata, labels } };
}
