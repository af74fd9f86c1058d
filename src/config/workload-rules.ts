// Rules a service's config must follow that the constructs check again on their own props:
// the config refuses them with every other problem, the constructs when used alone.

/**
 * Why a PodDisruptionBudget would block every node drain, or undefined: with
 * minAvailable at or above the pods that run, no pod may ever be evicted.
 */
export function disruptionBudgetProblem(minAvailable: number, runningPods: number, podsField: string): string | undefined {
  if (runningPods > 0 && minAvailable >= runningPods) {
    return `must be below ${podsField} (${runningPods}): minAvailable ${minAvailable} lets no pod be evicted, so every node drain blocks`;
  }
  return undefined;
}

/**
 * The promotion guard's refusal ACTIVE_WITHOUT_REPLICAS (src/constructs/promotion-guard.ts), shared with the config check that
 * refuses `replicas: 0` before any output exists (a first synth has nothing to compare).
 */
export function activeWithoutReplicas(workload: string): string {
  return `${workload} would have 0 replicas (replicas: 0), so no pod would serve traffic. Next safe step: set replicas to at least 1.`;
}
