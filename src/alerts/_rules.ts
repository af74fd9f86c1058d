// Helpers the alert records of this folder share to build rule text.
import type { ServiceThresholdOverride } from '../config/monitoring-config';
import type { AlertBuildContext, AlertRule } from './alert-record';

/** `0.05` → `5%`. */
export function pct(r: number): string {
  return `${+(r * 100).toFixed(4)}%`;
}

/** `2` → `2s`. */
export function seconds(v: number): string {
  return `${v}s`;
}

/** A `.` escaped for a regex inside a PromQL string. */
export function escapeRegex(value: string): string {
  return value.replace(/[.]/g, '\\\\.');
}

/** Formats a threshold as a Go template choosing each service's value. */
export type ThresholdTemplate = (fmt: (v: number) => string) => string;

/**
 * A per-service rule: services sharing a threshold share one comparison; an
 * override adds an `or` branch, so each alert stays one rule (promtool rejects
 * duplicate rules). Undefined when the deployment has no services.
 */
export function perServiceRule(
  c: AlertBuildContext,
  key: keyof ServiceThresholdOverride,
  inner: (selector: string) => string,
  text: (thr: ThresholdTemplate, threshold: number) => Pick<AlertRule, 'summary' | 'description' | 'thresholdText'>,
): AlertRule | undefined {
  const { services } = c.inputs;
  if (services.length === 0) {
    return undefined;
  }
  const global = c.m.thresholds[key];
  const serviceThresholds: Record<string, number> = {};
  const byValue = new Map<number, string[]>();
  for (const svc of services) {
    const value = c.m.perService[svc]?.[key] ?? global;
    serviceThresholds[svc] = value;
    byValue.set(value, [...(byValue.get(value) ?? []), svc]);
  }
  const parts = [...byValue];
  const svcSel = (names: string[]) => `${c.nsm}, service=~"${names.join('|')}"`;
  const expr =
    parts.length === 1
      ? `${inner(svcSel(parts[0][1]))} > ${parts[0][0]}`
      : parts.map(([value, names]) => `(${inner(svcSel(names))} > ${value})`).join(' or ');
  const template: ThresholdTemplate = (fmt) => {
    if (parts.length === 1) {
      return fmt(parts[0][0]);
    }
    const others = parts.filter(([value]) => value !== global);
    const fallback = parts.find(([value]) => value === global) ?? others.pop()!;
    const branches = others.map(
      ([value, names], i) =>
        `{{ ${i === 0 ? 'if' : 'else if'} ${names.length === 1 ? `eq $labels.service "${names[0]}"` : `match "^(${names.join('|')})$" $labels.service`} }}${fmt(value)}`,
    );
    return `${branches.join('')}{{ else }}${fmt(fallback[0])}{{ end }}`;
  };
  return { expr, threshold: global, scope: { services, serviceThresholds }, ...text(template, global) };
}
