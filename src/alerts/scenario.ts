// promtool scenarios of an alert: input series just above its threshold (it fires
// after its `for`, not before) and just below it (it stays silent). Thresholds,
// `for` and metric names come from the rule and the config, so changing a default
// changes the scenarios with it. The promtool test turns them into `tests:` entries.
import { durationSeconds, MonitoringConfig } from '../config/monitoring-config';
import type { AlertDefinition } from './alert-record';

export type Labels = Record<string, string>;

/** One input series in promtool's expanding notation, one sample per minute. */
export interface Series {
  readonly metric: string;
  readonly labels: Labels;
  readonly values: string;
}

/** One way of driving an alert. */
export interface Scenario {
  /** Human description (appears in the promtool test name). */
  readonly name: string;
  readonly series: Series[];
  /** Baseline metrics this scenario removes (to prove `absent()`). */
  readonly omit?: string[];
  /** Labels the expression yields for each expected alert (without rule labels). */
  readonly expected: Labels[];
  /** Seconds after the series start at which the alert must fire (or be checked silent). */
  readonly fireAt: number;
  /** Seconds at which it must not fire yet (before its `for` elapsed), if any. */
  readonly notYetAt?: number;
  /**
   * More checks: at `at` seconds exactly `expected` alerts (e.g. resolved after a later success).
   * @default - none
   */
  readonly checks?: { readonly at: number; readonly expected: Labels[] }[];
}

/** At least one. */
export type NonEmpty<T> = [T, ...T[]];

/** Input that fires an alert, and input that keeps it silent: both are required. */
export interface AlertScenarios {
  readonly firing: NonEmpty<Scenario>;
  readonly silent: NonEmpty<Scenario>;
}

/** What scenarios are built from besides the rule. */
export interface ScenarioEnv {
  readonly m: MonitoringConfig;
  readonly namespace: string;
}

/** Relative distance from the threshold used for "just above" and "just below". */
const DELTA = 0.02;
/** Samples per series: enough for the longest `for` plus a rate window. */
export const MINUTES = 60;

export const above = (v: number): number => v * (1 + DELTA);
export const below = (v: number): number => v * (1 - DELTA);
export const num = (v: number): string => String(+v.toPrecision(12));
/** A counter growing by `perMinute` each sample. */
export const counter = (perMinute: number): string => `0+${num(perMinute)}x${MINUTES}`;
/** A constant gauge. */
export const gauge = (value: number): string => `${num(value)}+0x${MINUTES}`;
/** The postgres_exporter target. */
export const POSTGRES_INSTANCE = 'postgres-0:9187';

/** Rate-based expressions are true from the second sample (t = 1m), gauges from t = 0. */
export function timing(rule: AlertDefinition): { fireAt: number; notYetAt?: number } {
  const forSec = durationSeconds(rule.for);
  return { fireAt: forSec + 120, notYetAt: forSec >= 60 ? forSec - 60 : undefined };
}

/** A scenario per side for every service the rule covers, at its own threshold. */
export function perServiceScenarios(rule: AlertDefinition, env: ScenarioEnv, build: (svc: string, value: number) => Series[]): AlertScenarios {
  const side = (fn: (v: number) => number, name: string, fire: boolean): Scenario => ({
    name,
    series: rule.scope.services.flatMap((svc) => build(svc, fn(rule.scope.serviceThresholds?.[svc] ?? rule.threshold))),
    expected: fire ? rule.scope.services.map((service) => ({ namespace: env.namespace, service })) : [],
    ...timing(rule),
  });
  return { firing: [side(above, 'just above', true)], silent: [side(below, 'just below', false)] };
}

/** One series set just above (firing with `expected`) and one just below the threshold. */
export function singleScenarios(
  rule: AlertDefinition,
  build: (value: number) => Series[],
  expected: Labels,
  high = above(rule.threshold),
  low = below(rule.threshold),
): AlertScenarios {
  return {
    firing: [{ name: 'just above', series: build(high), expected: [expected], ...timing(rule) }],
    silent: [{ name: 'just below', series: build(low), expected: [], ...timing(rule) }],
  };
}
