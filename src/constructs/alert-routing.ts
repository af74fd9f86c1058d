// The runbook's escalation levels as Alertmanager routing.
//
// Design: Alertmanager has no notion of "still firing after N minutes", so the time
// part lives in Prometheus and the routing part here.
// - Level 1 (0-15 min): every alert of the namespace goes to the on-call receiver
//   (the root route), re-sent every `onCall.repeatInterval` while it fires.
// - Levels 2 and 3: PlatformAlerts adds AiaasEscalationSenior / AiaasEscalationManager,
//   whose expression is the ALERTS series of firing alerts of the escalating
//   severities (critical by default) and whose `for` is `senior.after` (15m) and
//   `manager.after` (30m). They carry `escalation="senior"|"manager"` and the original
//   alert's name in `escalated_alert`. The routes below send them to the senior
//   engineer's and the engineering manager's receivers. The on-call engineer keeps
//   receiving the original alert; when it resolves, so do its escalations.
// - Each escalation is its own page: the escalation routes group by every label
//   ('...'), so two incidents never share a group (and a PagerDuty dedup key) at
//   levels 2 and 3, and a long-firing alert cannot swallow later escalations.
// - Inhibitions (declared on the alert records): while a cause pages, its symptoms
//   and their escalations are muted (database down → pool/job/lag alerts; an open
//   circuit breaker → its tool's error alert).
// This is testable end to end: promtool proves the timing, amtool the routing, and
// an integration test runs Prometheus and Alertmanager with a webhook receiver.
import { Construct } from 'constructs';
import { Inhibition, inhibitions } from '../alerts/definitions';
import { MonitoringConfig, NotifyConfig } from '../config/monitoring-config';
import { SecretKeyRef } from '../config/secret-ref';
import { checkDns1123Label } from '../config/validators';
import { stringifyYaml } from './_yaml';
import {
  AlertmanagerConfig,
  AlertmanagerConfigSpecInhibitRules,
  AlertmanagerConfigSpecInhibitRulesSourceMatchMatchType,
  AlertmanagerConfigSpecInhibitRulesTargetMatchMatchType,
  AlertmanagerConfigSpecReceivers,
  AlertmanagerConfigSpecRoute,
  AlertmanagerConfigSpecRouteMatchersMatchType,
} from '../imports/monitoring.coreos.com';

export interface AlertRoutingProps {
  /** Namespace of the platform: the AlertmanagerConfig lives there and only routes its alerts. */
  readonly namespace: string;
  /** The parsed `monitoring` config section (escalation levels and receivers). */
  readonly monitoring: MonitoringConfig;
  /**
   * Name of the AlertmanagerConfig.
   * @default 'aiaas-escalation'
   */
  readonly name?: string;
}

interface Route {
  readonly receiver: string;
  readonly matchers?: { name: string; value: string }[];
  readonly groupBy?: string[];
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
  readonly routes?: Route[];
}

interface Receiver {
  readonly name: string;
  readonly notify: NotifyConfig;
}

/** Escalation routes group by every label: one page per escalated alert. */
const EVERY_LABEL = ['...'];

/** The routing tree, receivers and inhibitions shared by both renderings. */
function routing(monitoring: MonitoringConfig): { route: Route; receivers: Receiver[]; inhibitions: Inhibition[] } {
  const e = monitoring.escalation;
  return {
    route: {
      receiver: e.onCall.receiver,
      groupBy: e.groupBy,
      groupWait: e.groupWait,
      groupInterval: e.groupInterval,
      repeatInterval: e.onCall.repeatInterval,
      routes: [
        { receiver: e.manager.receiver, matchers: [{ name: 'escalation', value: 'manager' }], groupBy: [...EVERY_LABEL], repeatInterval: e.manager.repeatInterval },
        { receiver: e.senior.receiver, matchers: [{ name: 'escalation', value: 'senior' }], groupBy: [...EVERY_LABEL], repeatInterval: e.senior.repeatInterval },
      ],
    },
    inhibitions: inhibitions(),
    receivers: [
      { name: e.onCall.receiver, notify: e.onCall.notify },
      { name: e.senior.receiver, notify: e.senior.notify },
      { name: e.manager.receiver, notify: e.manager.notify },
    ],
  };
}

/** The Secrets (by name) the receivers read; the Alertmanager must mount them. */
export function alertmanagerSecretNames(monitoring: MonitoringConfig): string[] {
  const refs = routing(monitoring).receivers.flatMap((r) => secretRefs(r.notify));
  return [...new Set(refs.map((s) => s.secret))].sort();
}

function secretRefs(n: NotifyConfig): SecretKeyRef[] {
  return [n.pagerduty, n.email?.authPassword].filter((s): s is SecretKeyRef => s !== undefined);
}

function toOperatorRoute(r: Route): AlertmanagerConfigSpecRoute {
  return {
    receiver: r.receiver,
    ...(r.matchers ? { matchers: r.matchers.map((x) => ({ name: x.name, value: x.value, matchType: AlertmanagerConfigSpecRouteMatchersMatchType.VALUE_EQUALS })) } : {}),
    ...(r.groupBy ? { groupBy: r.groupBy } : {}),
    ...(r.groupWait ? { groupWait: r.groupWait } : {}),
    ...(r.groupInterval ? { groupInterval: r.groupInterval } : {}),
    ...(r.repeatInterval ? { repeatInterval: r.repeatInterval } : {}),
    ...(r.routes ? { routes: r.routes.map(toOperatorRoute) } : {}),
  };
}

function toOperatorInhibition(i: Inhibition): AlertmanagerConfigSpecInhibitRules {
  // The operator adds namespace="<namespace>" to both sides itself.
  return {
    sourceMatch: i.source.map((m) => ({
      name: m.name,
      value: m.value,
      matchType: m.regex ? AlertmanagerConfigSpecInhibitRulesSourceMatchMatchType.VALUE_EQUAL_TILDE : AlertmanagerConfigSpecInhibitRulesSourceMatchMatchType.VALUE_EQUALS,
    })),
    targetMatch: i.target.map((m) => ({
      name: m.name,
      value: m.value,
      matchType: m.regex ? AlertmanagerConfigSpecInhibitRulesTargetMatchMatchType.VALUE_EQUAL_TILDE : AlertmanagerConfigSpecInhibitRulesTargetMatchMatchType.VALUE_EQUALS,
    })),
    equal: [...i.equal],
  };
}

function toPlainInhibition(i: Inhibition, namespace: string): Record<string, unknown> {
  const matcher = (m: { name: string; value: string; regex: boolean }) => `${m.name}${m.regex ? '=~' : '='}"${m.value}"`;
  const ns = `namespace="${namespace}"`;
  return { source_matchers: [ns, ...i.source.map(matcher)], target_matchers: [ns, ...i.target.map(matcher)], equal: [...i.equal] };
}

function toOperatorReceiver(r: Receiver): AlertmanagerConfigSpecReceivers {
  const n = r.notify;
  return {
    name: r.name,
    ...(n.pagerduty
      ? { pagerdutyConfigs: [{ routingKey: { name: n.pagerduty.secret, key: n.pagerduty.key }, sendResolved: true }] }
      : {}),
    ...(n.webhook ? { webhookConfigs: [{ url: n.webhook.url, sendResolved: true }] } : {}),
    ...(n.email
      ? {
        emailConfigs: [
          {
            to: n.email.to,
            from: n.email.from,
            smarthost: n.email.smarthost,
            ...(n.email.authUsername ? { authUsername: n.email.authUsername } : {}),
            ...(n.email.authPassword ? { authPassword: { name: n.email.authPassword.secret, key: n.email.authPassword.key } } : {}),
            sendResolved: true,
          },
        ],
      }
      : {}),
  };
}

function toPlainRoute(r: Route): Record<string, unknown> {
  return {
    receiver: r.receiver,
    ...(r.matchers ? { matchers: r.matchers.map((x) => `${x.name}="${x.value}"`) } : {}),
    ...(r.groupBy ? { group_by: r.groupBy } : {}),
    ...(r.groupWait ? { group_wait: r.groupWait } : {}),
    ...(r.groupInterval ? { group_interval: r.groupInterval } : {}),
    ...(r.repeatInterval ? { repeat_interval: r.repeatInterval } : {}),
    ...(r.routes ? { routes: r.routes.map(toPlainRoute) } : {}),
  };
}

function toPlainReceiver(r: Receiver, mountPath: string): Record<string, unknown> {
  const n = r.notify;
  const file = (s: SecretKeyRef) => `${mountPath}/${s.secret}/${s.key}`;
  return {
    name: r.name,
    ...(n.pagerduty ? { pagerduty_configs: [{ routing_key_file: file(n.pagerduty), send_resolved: true }] } : {}),
    ...(n.webhook ? { webhook_configs: [{ url: n.webhook.url, send_resolved: true }] } : {}),
    ...(n.email
      ? {
        email_configs: [
          {
            to: n.email.to,
            from: n.email.from,
            smarthost: n.email.smarthost,
            ...(n.email.authUsername ? { auth_username: n.email.authUsername } : {}),
            ...(n.email.authPassword ? { auth_password_file: file(n.email.authPassword) } : {}),
            send_resolved: true,
          },
        ],
      }
      : {}),
  };
}

/**
 * The plain `alertmanager.yaml` equivalent to the AlertmanagerConfig: the root route
 * is the on-call receiver, a child route limited to `namespace="<namespace>"` holds
 * the escalation routes (as prometheus-operator does for an AlertmanagerConfig).
 * Secrets are read from files under `escalation.secretsMountPath/<secret>/<key>`.
 */
export function renderAlertmanagerYaml(m: MonitoringConfig, namespace: string): string {
  const { route, receivers, inhibitions: inhibit } = routing(m);
  const { routes, receiver, ...rootSettings } = toPlainRoute(route) as Record<string, unknown>;
  const config = {
    route: {
      receiver,
      ...rootSettings,
      routes: [{ receiver, matchers: [`namespace="${namespace}"`], routes }],
    },
    receivers: receivers.map((r) => toPlainReceiver(r, m.escalation.secretsMountPath)),
    inhibit_rules: inhibit.map((i) => toPlainInhibition(i, namespace)),
  };
  return [
    '# Generated by aiaas-ops (AlertRouting): the escalation levels of the runbook.',
    '# Levels 2 and 3 arrive as AiaasEscalationSenior / AiaasEscalationManager alerts',
    '# (PlatformAlerts), routed here by their `escalation` label.',
    // Alertmanager reads YAML 1.1 (Go yaml.v2): strings such as 'yes' or '=' are quoted.
    stringifyYaml(config),
  ].join('\n');
}

/**
 * The runbook's escalation levels as one `monitoring.coreos.com/v1alpha1`
 * AlertmanagerConfig in the platform namespace (child id `Resource`).
 */
export class AlertRouting extends Construct {
  /** Names of the Secrets the receivers read (add them to the Alertmanager's `spec.secrets`). */
  public readonly secretNames: string[];
  /** The AlertmanagerConfig. */
  public readonly resource: AlertmanagerConfig;

  constructor(scope: Construct, id: string, props: AlertRoutingProps) {
    super(scope, id);
    checkDns1123Label('namespace', props.namespace);
    const { route, receivers, inhibitions: inhibit } = routing(props.monitoring);
    this.secretNames = alertmanagerSecretNames(props.monitoring);
    this.resource = new AlertmanagerConfig(this, 'Resource', {
      metadata: { name: props.name ?? 'aiaas-escalation', namespace: props.namespace },
      spec: {
        route: toOperatorRoute(route),
        receivers: receivers.map(toOperatorReceiver),
        inhibitRules: inhibit.map(toOperatorInhibition),
      },
    });
  }
}
