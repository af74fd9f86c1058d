// Reading synthesized RBAC rules in tests.
import { RbacRule } from '../../src/constructs/platform-rbac';

/**
 * Whether any rule names this group, resource and verb. `resourceNames` are ignored on purpose:
 * a rule limited to named objects still counts, so "never grants" checks stay strict.
 * (test/runbook-rbac.test.ts evaluates requests, names included.)
 */
export function grants(rules: readonly RbacRule[], group: string, resource: string, verb: string): boolean {
  return rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
}
