import { ApiObject, Chart, ChartProps, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { parsePlatformConfig } from '../config/load-config';
import { DATABASE_CREDENTIALS, PlatformConfig, PlatformConfigInput, ServiceConfig, databaseHost } from '../config/platform-config';
import { ArgoRolloutsOptions, BlueGreenService, Color, NodeSpread, RevisionAnalysis, RollingUpdateOptions } from './blue-green-service';
import { REVISION_ARG_PLACEHOLDER } from './_argo-rollout';
import { ColorSignals, httpErrorRatioQuery, httpLatencyP95Query, revisionSelector } from './color-signals';
import { PreviousOutput, PromotionProblem, PromotionRefusedError } from './promotion-guard';
import { RunbookContext, RunbookRestoreJob, RunbookSecret, renderRunbook } from '../runbook/render-runbook';
import { AlertRouting, renderAlertmanagerYaml } from './alert-routing';
import { ConfigBackup } from './config-backup';
import { AIAAS_JOB_POD_LABELS, DbMaintenance, DbTask, ScheduledJob } from './db-maintenance';
import { PlatformAlerts } from './platform-alerts';
import { PlatformNamespace } from './platform-namespace';
import { DependencyFlows, PlatformNetworkPolicies } from './platform-network-policies';
import { PlatformRbac } from './platform-rbac';
import { ServiceMonitors } from './service-monitors';

const PLATFORM_CHART = Symbol.for('aiaas-ops.PlatformChart');

export interface PlatformChartProps extends ChartProps {
  /**
   * The platform config; validated (and defaulted) here, so a bad field fails
   * before anything is synthesized. A config returned by `loadPlatformConfig` or
   * `parsePlatformConfig` is used as is, not parsed again. Everything has the runbook's default
   * except `monitoring.runbookBaseUrl`, which is required.
   * @default - the runbook's reference platform, refused for want of `monitoring.runbookBaseUrl`
   */
  readonly config?: PlatformConfigInput | PlatformConfig;
  /**
   * The previous output of this chart (what is applied now, e.g.
   * `PreviousOutput.fromFile('dist/aiaas.k8s.yaml')`), for the promotion guard: an unsafe
   * blue-green change throws `PromotionRefusedError` naming every refused service.
   * @default - no previous output: nothing is guarded
   */
  readonly previousOutput?: PreviousOutput;
}

/**
 * The reference platform of the runbook as one chart: namespace, blue-green
 * services, network policies and RBAC, all derived from one config.
 */
export class PlatformChart extends Chart {
  /**
   * Whether a construct is a PlatformChart (`instanceof` cannot tell: cdk8s' Chart answers it for
   * every chart). Works across copies of this package.
   */
  public static isPlatformChart(x: unknown): x is PlatformChart {
    return typeof x === 'object' && x !== null && PLATFORM_CHART in x;
  }

  /** The validated config with defaults applied. */
  public readonly config: PlatformConfig;
  /** Blue-green services by name. */
  public readonly services: Record<string, BlueGreenService> = {};
  /** Every CronJob of the platform (database tasks and config backup). */
  public readonly scheduledJobs: ScheduledJob[];
  /** The suspended CronJob `aiaas-job restore` runs from (RUNBOOK: restore in the cluster). */
  public readonly restoreJob: RunbookRestoreJob;
  /** The PrometheusRule of the runbook's alerts. */
  public readonly alerts: PlatformAlerts;

  constructor(scope: Construct, id: string, props: PlatformChartProps = {}) {
    const config = parsePlatformConfig(props.config ?? {});
    super(scope, id, { ...props, namespace: config.namespace });
    Object.defineProperty(this, PLATFORM_CHART, { value: true });
    this.config = config;

    new PlatformNamespace(this, 'Namespace', { name: config.namespace });

    const workloads = new Construct(this, 'Services');
    const refused: PromotionProblem[] = [];
    for (const service of config.services) {
      try {
        this.services[service.name] = this.addService(workloads, config, service, props.previousOutput);
      } catch (error) {
        if (!(error instanceof PromotionRefusedError)) {
          throw error;
        }
        // Every service is checked, so one run lists every refusal.
        refused.push(...error.problems);
      }
    }
    if (refused.length > 0) {
      throw new PromotionRefusedError(refused, props.previousOutput?.source ?? 'the previous output');
    }


    const external = config.postgres.external;
    const dbMaintenance = new DbMaintenance(this, 'DbMaintenance', {
      // The jobs follow the one database switch: postgres.external.host when outside the cluster.
      config: { ...config.dbMaintenance, database: { ...config.dbMaintenance.database, host: databaseHost(config) } },
      postgresPodLabels: config.postgres.podLabels,
      postgresCidrs: external?.cidrs,
      postgresReplicas: config.postgres.replicas,
      // The platform's postgres policy below admits the job pods, next to the services.
      allowPostgresIngress: false,
      dnsNamespace: config.network.dnsNamespace,
      dnsPodLabels: config.network.dnsPodLabels,
      identity: config.podSecurity,
    });
    this.scheduledJobs = [...dbMaintenance.cronJobs];
    this.restoreJob = dbMaintenance.restoreJob;
    if (config.dbMaintenance.configBackup.enabled) {
      const configBackup = new ConfigBackup(this, 'ConfigBackup', {
        config: config.dbMaintenance,
        dnsNamespace: config.network.dnsNamespace,
        dnsPodLabels: config.network.dnsPodLabels,
        identity: config.podSecurity,
        argoRollouts: config.blueGreen.engine === 'argo-rollouts',
      });
      this.scheduledJobs.push(configBackup.cronJob);
    }

    const monitoring = new Construct(this, 'Monitoring');
    new ServiceMonitors(monitoring, 'ServiceMonitors', { namespace: config.namespace, services: Object.keys(this.services) });
    const backup = this.scheduledJobs.find((job) => job.task === ('backup' satisfies DbTask));
    this.alerts = new PlatformAlerts(monitoring, 'Alerts', {
      namespace: config.namespace,
      services: Object.keys(this.services),
      monitoring: config.monitoring,
      cronJobs: this.scheduledJobs,
      backupCronJob: backup,
      offsiteBackupCronJob: config.dbMaintenance.backupBucket ? backup?.name : undefined,
      database: { statefulSet: config.postgres.statefulSet, host: external?.host },
      argoRollouts: config.blueGreen.engine === 'argo-rollouts',
    });
    new AlertRouting(monitoring, 'Routing', { namespace: config.namespace, monitoring: config.monitoring });
    new ColorSignals(monitoring, 'ColorSignals', {
      namespace: config.namespace,
      services: Object.keys(this.services),
      contract: config.monitoring,
      // Picked up by the same Prometheus ruleSelector as the alerts.
      labels: config.monitoring.ruleLabels,
    });

    new PlatformNetworkPolicies(this, 'NetworkPolicies', {
      services: config.services.map((s) => ({
        name: s.name,
        podLabels: { app: s.name },
        port: s.port,
        exposedToIngress: s.exposedToIngress,
        egressTo: s.egressTo,
        externalEgressCidrs: s.externalEgressCidrs,
        externalEgressExcept: s.externalEgressExcept,
      })),
      dependencies: dependencyPeers(config),
      // An outside database has no pods here to admit anyone: the jobs' own policy opens their egress.
      dependencyClients: external ? {} : { postgres: [{ ...AIAAS_JOB_POD_LABELS }] },
      externalPeers: external
        ? [
            {
              name: 'postgres',
              cidrs: external.cidrs,
              port: config.dbMaintenance.database.port,
              metricsPort: config.postgres.exporterPort,
              metricsPodLabels: config.postgres.exporterPodLabels,
            },
          ]
        : [],
      ingressController: { namespace: config.network.ingressNamespace, podLabels: config.network.ingressPodLabels },
      monitoringNamespace: config.network.monitoringNamespace,
      prometheusPodLabels: config.network.prometheusPodLabels,
      dns: { namespace: config.network.dnsNamespace, podLabels: config.network.dnsPodLabels },
    });

    new PlatformRbac(this, 'Rbac', {
      namespace: config.namespace,
      ...config.rbac,
      argoRollouts: config.blueGreen.engine === 'argo-rollouts',
      postgresPods: Array.from({ length: config.postgres.replicas }, (_, i) => `${config.postgres.statefulSet}-${i}`),
    });
  }

  /** Rules the `promotionOverride` of each service overrode in this build, by service (only services with some). */
  public overriddenPromotionRules(): Record<string, string[]> {
    return Object.fromEntries(
      Object.values(this.services)
        .filter((s) => s.overriddenRules.length > 0)
        .map((s) => [s.name, [...s.overriddenRules]]),
    );
  }

  private addService(scope: Construct, config: PlatformConfig, service: ServiceConfig, previousOutput?: PreviousOutput): BlueGreenService {
    return new BlueGreenService(scope, service.name, {
      name: service.name,
      images: service.images,
      activeColor: service.activeColor,
      idleColorPolicy: service.idleColorPolicy,
      replicas: service.replicas,
      port: service.port,
      healthPath: service.healthPath,
      livenessPath: service.livenessPath,
      nodeSpread: service.nodeSpread as NodeSpread,
      resources: service.resources,
      rollout: rollingUpdateOptions(service.rollout),
      minAvailable: service.minAvailable,
      autoscaling: service.autoscaling,
      env: { ...databaseEnv(config, service), ...service.env, ...toggleEnv(config, service) },
      secretEnv: service.secretEnv.map((ref) => ({ ...ref, secret: config.secrets[ref.secret] })),
      smokeTestImage: config.smokeTestImage,
      identity: config.podSecurity,
      previousOutput,
      promotionOverride: service.promotionOverride,
      engine: config.blueGreen.engine,
      smokeTestTtl: Duration.seconds(config.blueGreen.smokeTestTtlSeconds),
      argoRollouts: argoRolloutsOptions(config, service.name),
    });
  }

  /**
   * The files that belong beside this chart's manifests, by file name: `RUNBOOK.md` and
   * `alertmanager.yaml`. `PlatformApp.synth()` writes them; with a plain `App`, write them yourself.
   */
  public extraFiles(): Record<string, string> {
    return {
      'RUNBOOK.md': renderRunbook(this.runbookContext()),
      'alertmanager.yaml': renderAlertmanagerYaml(this.config.monitoring, this.config.namespace),
    };
  }

  /** This deployment's real names, for the generated runbook. */
  public runbookContext(): RunbookContext {
    const { config } = this;
    return {
      namespace: config.namespace,
      services: Object.values(this.services).map((s) => ({
        name: s.name,
        activeColor: s.activeColor,
        idleColor: s.idleColor,
        service: s.service.name,
        previewService: s.previewService.name,
        deployments: { blue: `${s.name}-${Color.BLUE}`, green: `${s.name}-${Color.GREEN}` },
        port: s.port,
        healthPath: s.healthPath,
        smokeTestJob: s.smokeTest?.job.name,
        autoscaling: config.services.find((c) => c.name === s.name)?.autoscaling,
        rollout: s.rollout?.name,
        containerEnv: s.rollout ? containerEnvNames(s.rollout) : undefined,
        analysisTemplates: s.analysisTemplates.length > 0 ? s.analysisTemplates.map((t) => t.name) : undefined,
        watch: watchThresholds(config, s.name),
      })),
      database: {
        statefulSet: config.postgres.statefulSet,
        pod: `${config.postgres.statefulSet}-0`,
        database: config.dbMaintenance.database.database,
        external: config.postgres.external && {
          host: config.postgres.external.host,
          port: config.dbMaintenance.database.port,
          sslmode: config.dbMaintenance.database.sslmode,
          // Required with postgres.external by the config.
          exporterPodLabels: config.postgres.exporterPodLabels ?? {},
        },
      },
      cronJobs: this.scheduledJobs.map(({ task, name, schedule }) => ({ task, name, schedule })),
      restoreJob: this.restoreJob,
      alerts: this.alerts.definitions,
      escalation: config.monitoring.escalation,
      schemaRegistry: `schema-registry:${config.schemaRegistry.port}`,
      featureFlags: `feature-flags:${config.featureFlags.port}`,
      alertmanagerUrl: config.monitoring.alertmanagerUrl,
      prometheusUrl: config.monitoring.prometheusUrl ?? config.blueGreen.argoRollouts.prometheusAddress ?? defaultPrometheusUrl(config),
      grafanaUrl: config.monitoring.grafanaUrl ?? `http://grafana.${config.network.monitoringNamespace}.svc:3000`,
      externalApiHealthUrls: config.monitoring.externalApiHealthUrls,
      curlImage: config.smokeTestImage,
      secrets: this.secretsRead(),
      backupBucket: config.dbMaintenance.backupBucket && `s3://${config.dbMaintenance.backupBucket.bucket}/${config.dbMaintenance.backupBucket.prefix}`,
    };
  }

  /** Every Secret the workloads read by name, with the config field naming it and its readers (RUNBOOK: secret rotation). */
  private secretsRead(): RunbookSecret[] {
    const { config } = this;
    const db = config.dbMaintenance;
    const jobs = [...this.scheduledJobs.filter((j) => j.task !== 'config-backup').map((j) => j.name), this.restoreJob.name];
    const fromServices = Object.entries(config.secrets).flatMap(([logical, name]): RunbookSecret[] => {
      const refs = config.services.flatMap((s) => s.secretEnv.filter((r) => r.secret === logical).map((r) => ({ service: s.name, key: r.key, env: r.env })));
      if (refs.length === 0) return [];
      const readers = [...new Set(refs.map((r) => r.service))];
      return [{
        secret: name,
        field: `secrets.${logical}`,
        keys: [...new Set(refs.map((r) => r.key))],
        // Both colours read it; a Rollout has no Deployments (its template change is a blue-green release).
        deployments: readers.filter((r) => !this.services[r]?.rollout).flatMap((r) => [`${r}-${Color.BLUE}`, `${r}-${Color.GREEN}`]),
        cronJobs: [],
        database: logical === DATABASE_CREDENTIALS ? databaseKeys(refs) : undefined,
      }];
    });
    const bucket = db.backupBucket;
    return [
      ...fromServices,
      {
        secret: db.credentialsSecret.secret,
        field: 'dbMaintenance.credentialsSecret.secret',
        keys: [db.credentialsSecret.usernameKey, db.credentialsSecret.passwordKey],
        deployments: [],
        cronJobs: jobs,
        database: { usernameKey: db.credentialsSecret.usernameKey, passwordKey: db.credentialsSecret.passwordKey },
      },
      ...(bucket ? [{
        secret: bucket.credentialsSecret.secret,
        field: 'dbMaintenance.backupBucket.credentialsSecret.secret',
        keys: [bucket.credentialsSecret.accessKeyIdKey, bucket.credentialsSecret.secretAccessKeyKey],
        deployments: [],
        // The tasks given the bucket's credentials (DbMaintenance's bucket tasks).
        cronJobs: [...this.scheduledJobs.filter((j) => j.task === 'backup' || j.task === 'restore-verify').map((j) => j.name), this.restoreJob.name],
      }] : []),
    ];
  }
}

/** Which keys of the application's database Secret hold the role and the password (by the env vars they fill). */
function databaseKeys(refs: { key: string; env: string }[]): { usernameKey: string; passwordKey: string } | undefined {
  const usernameKey = refs.find((r) => /USER/i.test(r.env))?.key;
  const passwordKey = refs.find((r) => /PASSWORD/i.test(r.env))?.key;
  return usernameKey && passwordKey ? { usernameKey, passwordKey } : undefined;
}

/** prometheus-operator's governing Service of Prometheus in the monitoring namespace. */
function defaultPrometheusUrl(config: PlatformConfig): string {
  return `http://prometheus-operated.${config.network.monitoringNamespace}.svc:9090`;
}

/** Env variable names of a Rollout's first container, in order (the RUNBOOK's JSON patch paths). */
function containerEnvNames(rollout: ApiObject): string[] {
  const env: { name: string }[] = rollout.toJson().spec?.template?.spec?.containers?.[0]?.env ?? [];
  return env.map((e) => e.name);
}

/** Argo's analysis of one revision of a service: the alerts' metric contract and thresholds (per-service overrides included). */
// The config keeps plain numbers and strings (YAML); here, once, they become the props' Duration and PercentOrAbsolute.

function rollingUpdateOptions(rollout: ServiceConfig['rollout']): RollingUpdateOptions {
  return {
    maxSurge: percentOrAbsolute(rollout.maxSurge),
    maxUnavailable: percentOrAbsolute(rollout.maxUnavailable),
    progressDeadline: Duration.seconds(rollout.progressDeadlineSeconds),
    revisionHistoryLimit: rollout.revisionHistoryLimit,
    minReady: Duration.seconds(rollout.minReadySeconds),
  };
}

/** The config's '25%' (a percentage) or 2 (a pod count). */
function percentOrAbsolute(value: string | number): kplus.PercentOrAbsolute {
  return typeof value === 'number' ? kplus.PercentOrAbsolute.absolute(value) : kplus.PercentOrAbsolute.percent(Number(value.replace('%', '')));
}

function argoRolloutsOptions(config: PlatformConfig, service: string): ArgoRolloutsOptions {
  const argo = config.blueGreen.argoRollouts;
  return {
    autoPromotionEnabled: argo.autoPromotionEnabled,
    scaleDownDelay: Duration.seconds(argo.scaleDownDelaySeconds),
    abortScaleDownDelay: Duration.seconds(argo.abortScaleDownDelaySeconds),
    previewReplicaCount: argo.previewReplicaCount,
    watch: Duration.minutes(argo.watchMinutes),
    analysis: revisionAnalysis(config, service),
  };
}

function revisionAnalysis(config: PlatformConfig, service: string): RevisionAnalysis {
  const { monitoring } = config;
  const selector = revisionSelector(config.namespace, service, REVISION_ARG_PLACEHOLDER);
  return {
    prometheusAddress: config.blueGreen.argoRollouts.prometheusAddress ?? config.monitoring.prometheusUrl ?? defaultPrometheusUrl(config),
    errorRatioQuery: httpErrorRatioQuery(monitoring, selector),
    latencyP95Query: httpLatencyP95Query(monitoring, selector),
    ...watchThresholds(config, service),
  };
}

/** The error ratio and P95 latency thresholds of one service (its `monitoring.perService` override, else the default). */
function watchThresholds(config: PlatformConfig, service: string): { errorRatio: number; latencyP95Seconds: number } {
  const { perService, thresholds } = config.monitoring;
  return {
    errorRatio: perService[service]?.errorRatio ?? thresholds.errorRatio,
    latencyP95Seconds: perService[service]?.latencyP95Seconds ?? thresholds.latencyP95Seconds,
  };
}

/**
 * Where the database is, for a service holding its credentials: credentials without a
 * host would leave each service to guess it (and miss a move to an outside database).
 */
function databaseEnv(config: PlatformConfig, service: ServiceConfig): Record<string, string> {
  if (!service.secretEnv.some((ref) => ref.secret === DATABASE_CREDENTIALS)) {
    return {};
  }
  const { port, database } = config.dbMaintenance.database;
  return { DATABASE_HOST: databaseHost(config), DATABASE_PORT: String(port), DATABASE_NAME: database };
}

/** The runbook's toggles, as env vars of the service each one concerns. */
function toggleEnv(config: PlatformConfig, service: ServiceConfig): Record<string, string> {
  switch (service.name) {
    case 'orchestrator':
      return { FALLBACK_MODE: String(config.toggles.fallbackMode) };
    case 'api-gateway':
      return { STRICT_VALIDATION: String(config.toggles.strictValidation) };
    case 'realtime-service':
      return { WS_MAX_CONNECTIONS: String(config.toggles.maxWebSocketConnections) };
    default:
      return {};
  }
}

function dependencyPeers(config: PlatformConfig): DependencyFlows[] {
  const { postgres } = config;
  // An outside database is an external peer (egress by CIDR), not pods of this namespace.
  const inCluster: DependencyFlows[] = postgres.external
    ? []
    : [
        {
          name: 'postgres',
          podLabels: postgres.podLabels,
          port: config.dbMaintenance.database.port,
          metricsPort: postgres.exporterPort,
          metricsPodLabels: postgres.exporterPodLabels,
          replicaPodLabels: postgres.replicaPodLabels ?? postgres.podLabels,
          egress: postgres.egress,
        },
      ];
  return [
    ...inCluster,
    { name: 'redis', ...config.redis },
    { name: 'schema-registry', ...config.schemaRegistry },
    { name: 'feature-flags', ...config.featureFlags },
  ];
}
