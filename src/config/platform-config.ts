// The one typed config of the reference platform. Every field has the runbook's
// default; a YAML file and cdk8s context override it (see load-config.ts).
import { z } from 'zod';
import {
  cidr,
  cpuQuantity,
  dns1123Label,
  labels,
  memoryQuantity,
  nonNegativeInt,
  pinnedImage,
  port,
} from './validators';
import { dbMaintenanceConfigSchema } from './db-maintenance-config';
import { DEFAULT_DNS_NAMESPACE, DEFAULT_DNS_POD_LABELS, DEFAULT_PROMETHEUS_POD_LABELS, DEFAULT_SERVICE_CPU_REQUEST, DEFAULT_SMOKE_TEST_IMAGE, PRIVATE_RANGES } from './defaults';
import { monitoringConfigSchema, RUNBOOK_BASE_URL_REQUIRED } from './monitoring-config';
import { envVarName, secretKey } from './secret-ref';
import { activeWithoutReplicas, disruptionBudgetProblem } from './workload-rules';

export const COLORS = ['blue', 'green'] as const;
const color = z.enum(COLORS, { errorMap: () => ({ message: "expected 'blue' or 'green'" }) });

export const IDLE_COLOR_POLICIES = ['keep', 'scale-to-zero', 'remove'] as const;

export const BLUE_GREEN_ENGINES = ['deployments', 'argo-rollouts'] as const;

/** How blue-green runs: two Deployments per service (the seed's procedure) or one Argo Rollout. */
const blueGreenSchema = z
  .object({
    /** `deployments`: `<svc>-blue`/`<svc>-green`, switched by config; `argo-rollouts`: one Rollout `<svc>` per service. */
    engine: z.enum(BLUE_GREEN_ENGINES, { errorMap: () => ({ message: "expected 'deployments' or 'argo-rollouts'" }) }).default('deployments'),
    /** Seconds a finished smoke-test Job is kept (deployments engine; Argo deletes its own analysis Jobs). */
    smokeTestTtlSeconds: nonNegativeInt.default(86400),
    /** The Rollouts' blue-green strategy (engine argo-rollouts). */
    argoRollouts: z
      .object({
        /** Promote without `kubectl argo rollouts promote` once the pre-promotion analysis passed. */
        autoPromotionEnabled: z.boolean().default(false),
        /** Seconds the old ReplicaSet keeps running after the switch (instant abort); at least the watch. */
        scaleDownDelaySeconds: nonNegativeInt.default(900),
        /** Seconds the preview ReplicaSet keeps running after an abort. */
        abortScaleDownDelaySeconds: nonNegativeInt.default(30),
        /** Pods of the preview before promotion; omitted: full size. */
        previewReplicaCount: z.number().int().min(1, 'expected at least 1 preview pod').optional(),
        /** Minutes of post-promotion analysis (the runbook's watch): one measurement a minute. */
        watchMinutes: z.number().int().min(1, 'expected at least 1 minute').default(10),
        /** Prometheus the analyses query; omitted: prometheus-operated in network.monitoringNamespace. */
        prometheusAddress: z.string().url('expected a URL like http://prometheus-operated.monitoring.svc:9090').optional(),
      })
      .strict()
      .default({})
      .refine((a) => a.scaleDownDelaySeconds >= a.watchMinutes * 60, (a) => ({
        message: `expected scaleDownDelaySeconds (${a.scaleDownDelaySeconds}) of at least watchMinutes × 60 (${a.watchMinutes * 60}): Argo cancels the post-promotion analysis when the old ReplicaSet is scaled down`,
        path: ['scaleDownDelaySeconds'],
      })),
  })
  .strict();
const gibibytes = z.string().regex(/^[1-9]\d*Gi$/, "expected whole gibibytes like '1Gi' (cdk8s-plus writes ephemeral storage in Gi)");

const resourcesSchema = z
  .object({
    /** CPU request. */
    cpuRequest: cpuQuantity.default(DEFAULT_SERVICE_CPU_REQUEST),
    /** CPU limit. */
    cpuLimit: cpuQuantity.default('1'),
    /** Memory request. */
    memoryRequest: memoryQuantity.default('256Mi'),
    /** Memory limit (the memory alert fires at 85 % of it). */
    memoryLimit: memoryQuantity.default('512Mi'),
    /** Ephemeral storage request (logs, the /tmp emptyDir), in whole Gi. */
    ephemeralStorageRequest: gibibytes.default('1Gi'),
    /** Ephemeral storage limit, in whole Gi: a pod writing more is evicted instead of filling the node's disk. */
    ephemeralStorageLimit: gibibytes.default('2Gi'),
  })
  .strict();

const rolloutSchema = z
  .object({
    /** Extra pods allowed during a rolling update inside a colour ('25%' or a count). */
    maxSurge: z.union([z.string().regex(/^\d+%$/, "expected a percentage like '25%' or a count"), nonNegativeInt]).default('25%'),
    /** Pods that may be unavailable during a rolling update. */
    maxUnavailable: z.union([z.string().regex(/^\d+%$/, "expected a percentage like '0%' or a count"), nonNegativeInt]).default(0),
    /** Seconds before a stuck rollout is reported as failed. */
    progressDeadlineSeconds: z.number().int().positive('expected a positive number of seconds').default(600),
    /** Old ReplicaSets kept for `kubectl rollout undo`. */
    revisionHistoryLimit: nonNegativeInt.default(5),
    /** Seconds a new pod must be ready before it counts as available. */
    minReadySeconds: nonNegativeInt.default(5),
  })
  .strict();

const autoscalingSchema = z
  .object({
    minReplicas: z.number().int().min(1, 'expected at least 1 replica'),
    maxReplicas: z.number().int().min(1, 'expected at least 1 replica'),
    /** Average CPU utilisation (percent of request) the autoscaler aims for. */
    targetCpuUtilizationPercent: z.number().int().min(1).max(100).default(70),
  })
  .strict()
  .refine((a) => a.maxReplicas >= a.minReplicas, {
    message: 'expected maxReplicas to be at least minReplicas',
    path: ['maxReplicas'],
  });

/** `{ env, secret, key }`: `secret` is a logical name, a key of `secrets` (resolved to the Secret's name for the construct). */
const secretEnvSchema = z
  .object({
    /** Environment variable name in the container. */
    env: envVarName,
    /** Logical secret name: a key of `secrets`. */
    secret: z.string(),
    /** Key inside the Secret. */
    key: secretKey,
  })
  .strict();

export const serviceConfigSchema = z
  .object({
    /** Service name: the stable Service, `<name>-blue`/`<name>-green` Deployments, `<name>-preview`. */
    name: dns1123Label,
    /**
     * Declares a service that is not one of the reference services: without it, an
     * unknown name is refused as a likely typo (`api-gatway`) instead of adding a service.
     * @default false
     */
    new: z.boolean().optional(),
    /** Image of each colour. */
    images: z.object({ blue: pinnedImage, green: pinnedImage }).strict(),
    /** The colour the stable Service sends traffic to. Changing it is the blue-green switch. */
    activeColor: color.default('blue'),
    /** What happens to the colour that is not active: kept running, scaled to 0, or removed (`BlueGreenService.idleColorPolicy`). */
    idleColorPolicy: z
      .enum(IDLE_COLOR_POLICIES, { errorMap: () => ({ message: "expected 'keep', 'scale-to-zero' or 'remove'" }) })
      .default('keep'),
    /** The old name of idleColorPolicy: refused with a pointer to the new name (idleColor is the colour itself). */
    idleColor: z
      .undefined({ errorMap: () => ({ message: "renamed 'idleColorPolicy' (keep, scale-to-zero or remove); the idle colour itself is the one that is not activeColor" }) })
      .optional(),
    /**
     * Emergency override of the promotion guard for this service (README "Blue-green procedure"):
     * the refused change is synthesized anyway and the Service records what was overridden.
     */
    promotionOverride: z
      .object({
        /** Why the guard is overridden (incident, ticket): recorded in the output for the reviewer. */
        reason: z.string().trim().min(10, 'expected a reason of at least 10 characters (incident, ticket, who decided)'),
      })
      .strict()
      .optional(),
    /** Container port serving HTTP, health and /metrics. */
    port: port.default(8000),
    /** Health endpoint of the readiness probe and the smoke test (may check dependencies). */
    healthPath: z.string().startsWith('/', "expected a path starting with '/'").default('/health'),
    /**
     * Process-only liveness endpoint (must not check dependencies).
     * @default - a TCP check of the port
     */
    livenessPath: z.string().startsWith('/', "expected a path starting with '/'").optional(),
    /** Spreading over nodes: 'required' (never two pods of a colour on one node, from 2 replicas on) or 'preferred'. */
    nodeSpread: z.enum(['required', 'preferred'], { errorMap: () => ({ message: "expected 'required' or 'preferred'" }) }).default('required'),
    /** Pods per colour (ignored for a colour under autoscaling). */
    replicas: nonNegativeInt.default(2),
    resources: resourcesSchema.default({}),
    rollout: rolloutSchema.default({}),
    /** PodDisruptionBudget minAvailable per colour. */
    minAvailable: nonNegativeInt.default(1),
    /** HorizontalPodAutoscaler per running colour; omitted for a fixed replica count. */
    autoscaling: autoscalingSchema.optional(),
    /** Plain environment variables (no secrets: use secretEnv). */
    env: z.record(envVarName, z.string()).default({}),
    /** Environment variables read from Secrets by reference. */
    secretEnv: z.array(secretEnvSchema).default([]),
    /** Reachable from the ingress controller. */
    exposedToIngress: z.boolean().default(false),
    /** Platform services and dependencies this service calls (NetworkPolicy egress). */
    egressTo: z.array(z.string()).default([]),
    /** External CIDR blocks this service may call on 443 (narrow `0.0.0.0/0` to the APIs it calls). */
    externalEgressCidrs: z.array(cidr).default([]),
    /**
     * Blocks cut out of each external CIDR that contains them: private ranges, carrier-grade NAT,
     * link-local (cloud metadata 169.254.169.254), IPv6 unique-local and link-local.
     */
    externalEgressExcept: z.array(cidr).default([...PRIVATE_RANGES]),
  })
  .strict()
  .superRefine((service, ctx) => {
    // The replicas of the active colour: caught here even on a first synth, where the promotion guard has no previous output.
    if (service.replicas === 0 && !service.autoscaling && !service.promotionOverride) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['replicas'],
        message: `${activeWithoutReplicas(`the active colour ${service.activeColor}`)} An intended shutdown needs promotionOverride.reason`,
      });
    }
    const running = service.autoscaling?.minReplicas ?? service.replicas;
    const problem = disruptionBudgetProblem(service.minAvailable, running, service.autoscaling ? 'autoscaling.minReplicas' : 'replicas');
    if (problem) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minAvailable'], message: problem });
    }
    if (service.livenessPath !== undefined && service.livenessPath === service.healthPath) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['livenessPath'],
        message: 'expected a path other than healthPath: a liveness probe that checks dependencies restarts every pod in an outage',
      });
    }
  });

/** Egress of a dependency to a peer outside the platform: CIDR blocks, or pods by namespace and labels. */
const dependencyEgressSchema = z
  .object({
    /** CIDR blocks reached (instead of namespace/podLabels). */
    cidrs: z.array(cidr).min(1, 'expected at least one CIDR').optional(),
    /** Namespace of the pods reached. */
    namespace: dns1123Label.optional(),
    /** Labels of the pods reached. */
    podLabels: labels.optional(),
    /** TCP ports reached. */
    ports: z.array(port).min(1, 'expected at least one port'),
  })
  .strict()
  .refine((e) => (e.cidrs !== undefined) !== (e.namespace !== undefined || e.podLabels !== undefined), {
    message: 'expected either cidrs, or namespace and/or podLabels (not both, not neither)',
  });

/** Non-empty pod labels: an empty selector would select every pod of the namespace. */
const selectorLabels = labels.refine((l) => Object.keys(l).length > 0, 'expected at least one label: an empty selector selects every pod');

/** What a dependency needs for itself under the namespace's default deny. */
const dependencyOwnFlows = {
  /**
   * Port of its metrics exporter, reachable from the Prometheus pods.
   * @default - none
   */
  metricsPort: port.optional(),
  /**
   * Labels of its replicas: replicas and primary reach each other on `port`.
   * @default - no replication
   */
  replicaPodLabels: selectorLabels.optional(),
  /** Its own egress beyond DNS (e.g. WAL archive, Kafka). */
  egress: z.array(dependencyEgressSchema).default([]),
};

const dependencySchema = (defaults: { podLabels: Record<string, string>; port: number }) =>
  z
    .object({
      /** Labels of the dependency's pods (NetworkPolicy peer). */
      podLabels: selectorLabels.default(defaults.podLabels),
      /** Port the dependency listens on. */
      port: port.default(defaults.port),
      ...dependencyOwnFlows,
    })
    .strict()
    .default({});

const IMAGE_REGISTRY = 'ghcr.io/aiaas';
const referenceService = (name: string, extra: Partial<z.input<typeof serviceConfigSchema>> = {}) => ({
  name,
  images: { blue: `${IMAGE_REGISTRY}/${name}:1.0.0`, green: `${IMAGE_REGISTRY}/${name}:1.0.0` },
  ...extra,
});

/** The runbook's four services and who talks to whom. */
export const REFERENCE_SERVICES: z.input<typeof serviceConfigSchema>[] = [
  referenceService('api-gateway', {
    exposedToIngress: true,
    // No postgres: only the services holding database credentials reach it.
    egressTo: ['orchestrator', 'schema-registry', 'feature-flags', 'redis'],
    secretEnv: [{ env: 'API_KEY', secret: 'apiKeys', key: 'key' }],
  }),
  referenceService('orchestrator', {
    egressTo: ['tool-service', 'postgres', 'redis'],
    secretEnv: [
      { env: 'DATABASE_USER', secret: 'databaseCredentials', key: 'username' },
      { env: 'DATABASE_PASSWORD', secret: 'databaseCredentials', key: 'password' },
    ],
  }),
  referenceService('tool-service', {
    egressTo: ['redis'],
    // The public internet only: externalEgressExcept cuts out private ranges and cloud metadata.
    externalEgressCidrs: ['0.0.0.0/0'],
    secretEnv: [{ env: 'API_KEY', secret: 'apiKeys', key: 'key' }],
  }),
  referenceService('realtime-service', {
    exposedToIngress: true,
    egressTo: ['redis'],
    autoscaling: { minReplicas: 3, maxReplicas: 10, targetCpuUtilizationPercent: 70 },
  }),
];

export const platformConfigSchema = z
  .object({
    /** Namespace of the platform (labelled to enforce Pod Security "restricted"). */
    namespace: dns1123Label.default('aiaas'),
    /** UID/GID every platform container runs as. */
    podSecurity: z
      .object({
        runAsUser: z.number().int().min(10000, 'expected a non-root UID of at least 10000').default(10001),
        runAsGroup: z.number().int().min(10000, 'expected a non-root GID of at least 10000').default(10001),
      })
      .strict()
      .default({}),
    /**
     * Start from the runbook's four services, which `services` entries patch by
     * name; false: only the services listed.
     */
    referenceServices: z.boolean().default(true),
    /** The blue-green services. */
    services: z.array(serviceConfigSchema).default(REFERENCE_SERVICES),
    /** Runbook toggles, rendered as environment variables of the service they concern. */
    toggles: z
      .object({
        /** orchestrator FALLBACK_MODE (runbook TOOL_DOWN step 4). */
        fallbackMode: z.boolean().default(false),
        /** api-gateway STRICT_VALIDATION (runbook VALIDATION_FAIL recovery). */
        strictValidation: z.boolean().default(true),
        /** realtime-service WS_MAX_CONNECTIONS (runbook WS_OVERLOAD). */
        maxWebSocketConnections: z.number().int().positive('expected a positive connection count').default(10000),
      })
      .strict()
      .default({}),
    /** Logical secret names → Secret objects in the namespace. Rotate by pointing at a new Secret. */
    secrets: z.record(z.string(), dns1123Label).default({ apiKeys: 'api-keys', databaseCredentials: 'postgres-credentials' }),
    /** The existing PostgreSQL (not deployed by this library). */
    postgres: z
      .object({
        /** StatefulSet name; its pods are `<statefulSet>-0` …. */
        statefulSet: dns1123Label.default('postgres'),
        /** Number of postgres pods, for the database operator's exec Role. */
        replicas: z.number().int().min(1).default(1),
        /** Labels of the postgres pods (NetworkPolicy peer). Host, port and database are in `dbMaintenance.database`. */
        podLabels: selectorLabels.default({ app: 'postgres' }),
        /** postgres_exporter's port, scraped by Prometheus. */
        exporterPort: port.default(9187),
        /**
         * Labels of postgres_exporter's pods when it is its own Deployment: Prometheus reaches them
         * on exporterPort and they reach postgres.
         * @default - a sidecar in the postgres pods
         */
        exporterPodLabels: selectorLabels.optional(),
        /**
         * Labels of the streaming standbys, which connect to the primary on the database port.
         * @default - the postgres podLabels (standbys in the same StatefulSet)
         */
        replicaPodLabels: selectorLabels.optional(),
        /** Egress of the postgres pods beyond DNS and replication (e.g. a WAL archive). */
        egress: z.array(dependencyEgressSchema).default([]),
        /**
         * A database outside the cluster (managed PostgreSQL) instead of the in-namespace
         * StatefulSet: services and jobs connect to `host`, egress goes to `cidrs` on
         * `dbMaintenance.database.port`, no policy or Role names postgres pods, the runbook
         * runs psql against the host. postgres_exporter then runs as a Deployment
         * (`exporterPodLabels`) in the platform's namespace.
         * @default - the in-cluster StatefulSet
         */
        external: z
          .object({
            /** Host name the services (DATABASE_HOST) and jobs (PGHOST) connect to. */
            // Written into runbook shell commands, alert text and env: a DNS name or an IP address only.
            host: z
              .string()
              .regex(/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^[0-9a-fA-F:]+$/, 'expected a DNS name like db.example.com or an IP address'),
            /** Addresses of the database: egress is open to these only, on the database port. */
            cidrs: z.array(cidr).min(1, 'expected at least one CIDR (the database\'s addresses)'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    /** The existing Redis. */
    redis: dependencySchema({ podLabels: { app: 'redis' }, port: 6379 }),
    /** Schema registry consulted by api-gateway (runbook VALIDATION_FAIL). */
    schemaRegistry: dependencySchema({ podLabels: { app: 'schema-registry' }, port: 8080 }),
    /** Feature-flag service consulted by api-gateway (runbook VALIDATION_FAIL). */
    featureFlags: dependencySchema({ podLabels: { app: 'feature-flags' }, port: 8000 }),
    network: z
      .object({
        /** Namespace of the ingress controller. */
        ingressNamespace: dns1123Label.default('ingress-nginx'),
        /** Labels of the ingress controller pods. */
        ingressPodLabels: labels.default({ 'app.kubernetes.io/name': 'ingress-nginx' }),
        /** Namespace Prometheus scrapes from. */
        monitoringNamespace: dns1123Label.default('monitoring'),
        /** Labels of the Prometheus pods: only they reach metrics ports, not every pod of the monitoring namespace. */
        prometheusPodLabels: selectorLabels.default({ ...DEFAULT_PROMETHEUS_POD_LABELS }),
        /** Namespace and labels of cluster DNS. */
        dnsNamespace: dns1123Label.default(DEFAULT_DNS_NAMESPACE),
        dnsPodLabels: labels.default({ ...DEFAULT_DNS_POD_LABELS }),
      })
      .strict()
      .default({}),
    rbac: z
      .object({
        /** Groups bound to the on-call read-only Role. */
        onCallGroups: z.array(z.string().min(1)).default(['aiaas-oncall']),
        /** Groups bound to the deployer Role. */
        deployerGroups: z.array(z.string().min(1)).default(['aiaas-deployers']),
        /** Groups bound to the database operator Role. */
        databaseOperatorGroups: z.array(z.string().min(1)).default(['aiaas-dba']),
        /** Groups bound to the responder Role (restart, scale, HPA bounds, delete pod, exec, port-forward, manual job runs). */
        responderGroups: z.array(z.string().min(1)).default(['aiaas-responders']),
      })
      .strict()
      .default({}),
    /** Alerts, their thresholds and metric names, runbook links and escalation (see README "Alerts"). */
    monitoring: monitoringConfigSchema.default({}),
    /** The database jobs and backups (`aiaas-job` CronJobs) and the Kubernetes config backup. */
    dbMaintenance: dbMaintenanceConfigSchema.default({}),
    /** Blue-green engine and its settings (README "Blue-green procedure"). */
    blueGreen: blueGreenSchema.default({}),
    /** Supply-chain rules for every image of the platform. */
    imagePolicy: z
      .object({
        /** Refuse images pinned by tag only: every image must carry an `@sha256:` digest. */
        requireDigests: z.boolean().default(false),
      })
      .strict()
      .default({}),
    /** Image of the smoke-test Jobs (needs curl). */
    smokeTestImage: pinnedImage.default(DEFAULT_SMOKE_TEST_IMAGE),
  })
  .strict();

/** A service as the schema takes it once merged: an added service (`new: true`) needs every required field. */
export type ServiceConfigInput = z.input<typeof serviceConfigSchema>;
/**
 * An entry of `services` as written in a config: a reference service is patched by name, so
 * only `name` is required here (as at run time); an added service (`new: true`) without
 * `images` is refused by the loader, naming the field.
 */
export type ServiceEntryInput = { readonly name: string } & Partial<ServiceConfigInput>;
/** The platform config as written (YAML file, context, or an object given to `PlatformChart`). */
export type PlatformConfigInput = Omit<z.input<typeof platformConfigSchema>, 'services'> & {
  /** Entries patching the reference services by name, or added with `new: true`. */
  readonly services?: ServiceEntryInput[];
};
export type PlatformConfig = z.output<typeof platformConfigSchema>;
export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type ColorName = (typeof COLORS)[number];
export type IdleColorPolicyName = (typeof IDLE_COLOR_POLICIES)[number];
export type BlueGreenConfig = z.output<typeof blueGreenSchema>;

/** Logical name (a key of `secrets`) of the application's database credentials. */
export const DATABASE_CREDENTIALS = 'databaseCredentials';

/** The names a service's egress may use besides other platform services. */
export const DEPENDENCY_NAMES = ['postgres', 'redis', 'schema-registry', 'feature-flags'] as const;

/**
 * Checks that need the whole config: duplicate services, egress to unknown
 * services, secret references to unknown logical secrets, the runbook URL.
 */
export const validatedPlatformConfigSchema = platformConfigSchema.superRefine((config, ctx) => {
  // Optional in the monitoring section alone (routing needs no link); the platform's alerts need it.
  if (config.monitoring.runbookBaseUrl === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['monitoring', 'runbookBaseUrl'], message: RUNBOOK_BASE_URL_REQUIRED });
  }
  const seen = new Set<string>();
  config.services.forEach((service, index) => {
    if (seen.has(service.name)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['services', index, 'name'],
        message: `duplicate service '${service.name}' (defined twice); expected unique service names`,
      });
    }
    seen.add(service.name);
  });
  if (config.imagePolicy.requireDigests) {
    const images: [(string | number)[], string | undefined][] = [
      ...config.services.flatMap((service, index) =>
        COLORS.map((color): [(string | number)[], string] => [['services', index, 'images', color], service.images[color]]),
      ),
      [['smokeTestImage'], config.smokeTestImage],
      [['dbMaintenance', 'image'], config.dbMaintenance.image],
      [['dbMaintenance', 'configBackup', 'image'], config.dbMaintenance.configBackup.image],
    ];
    for (const [path, image] of images) {
      if (image !== undefined && !image.includes('@sha256:')) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path,
          message: `imagePolicy.requireDigests is on: expected an image pinned by digest like registry/app@sha256:<64 hex digits> (got '${image}')`,
        });
      }
    }
  }
  // The jobs have their own role and Secret: sharing the application's would over-privilege it (restore-verify creates databases).
  const applicationSecret = config.secrets[DATABASE_CREDENTIALS];
  if (applicationSecret !== undefined && config.dbMaintenance.credentialsSecret.secret === applicationSecret) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['dbMaintenance', 'credentialsSecret', 'secret'],
      message: `'${applicationSecret}' is also secrets.${DATABASE_CREDENTIALS} (the application's credentials); expected the jobs' own Secret and database role (README "Security defaults")`,
    });
  }
  for (const problem of databaseHostProblems(config)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, ...problem });
  }
  const known = new Set<string>([...config.services.map((s) => s.name), ...DEPENDENCY_NAMES]);
  config.services.forEach((service, index) => {
    service.egressTo.forEach((target, t) => {
      if (!known.has(target)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['services', index, 'egressTo', t],
          message: `unknown service '${target}'; expected one of ${[...known].join(', ')}`,
        });
      }
    });
    if (config.blueGreen.engine === 'argo-rollouts' && service.idleColorPolicy !== 'keep') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['services', index, 'idleColorPolicy'],
        message: `'${service.idleColorPolicy}' applies to engine 'deployments'; under 'argo-rollouts' the old ReplicaSet is scaled down after blueGreen.argoRollouts.scaleDownDelaySeconds (expected 'keep')`,
      });
    }
    const holdsDatabaseCredentials = service.secretEnv.some((ref) => ref.secret === DATABASE_CREDENTIALS);
    const postgresIndex = service.egressTo.indexOf('postgres');
    if (postgresIndex >= 0 && !holdsDatabaseCredentials) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['services', index, 'egressTo', postgresIndex],
        message: `'postgres' is reachable only by services holding the database credentials; expected a secretEnv from secret '${DATABASE_CREDENTIALS}' or no 'postgres' in egressTo`,
      });
    }
    service.secretEnv.forEach((ref, r) => {
      if (!(ref.secret in config.secrets)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['services', index, 'secretEnv', r, 'secret'],
          message: `unknown secret '${ref.secret}'; expected a key of secrets (${Object.keys(config.secrets).join(', ')})`,
        });
      }
    });
  });
});

/** The host services and jobs connect to: the external database's, else `dbMaintenance.database.host`. */
export function databaseHost(config: PlatformConfig): string {
  return config.postgres.external?.host ?? config.dbMaintenance.database.host;
}

/** A Service name (`postgres`) or a cluster DNS name (`postgres.aiaas.svc`, `...svc.cluster.local`). */
function isClusterHost(host: string): boolean {
  return !host.includes('.') || /\.svc(\.|$)/.test(host);
}

/**
 * One switch for where the database is: an outside host in `dbMaintenance.database.host`
 * without `postgres.external` would move only the jobs, while policies, alerts and runbook
 * still point at the in-namespace pods.
 */
function databaseHostProblems(config: PlatformConfig): { path: (string | number)[]; message: string }[] {
  const { host } = config.dbMaintenance.database;
  const external = config.postgres.external;
  const problems: { path: (string | number)[]; message: string }[] = [];
  if (external && config.postgres.exporterPodLabels === undefined) {
    problems.push(
      {
        path: ['postgres', 'exporterPodLabels'],
        message:
          'missing: with postgres.external there are no postgres pods to carry the exporter as a sidecar; expected the labels of the postgres_exporter Deployment in the namespace (Prometheus scrapes it, it reaches the database by CIDR)',
      },
    );
  }
  if (!external && !isClusterHost(host)) {
    problems.push(
      {
        path: ['dbMaintenance', 'database', 'host'],
        message: `'${host}' is not an in-cluster Service name; expected a Service of the in-namespace postgres, or a database outside the cluster declared as postgres.external {host, cidrs} (README "A database outside the cluster")`,
      },
    );
  }
  if (external && host !== 'postgres' && host !== external.host) {
    problems.push(
      {
        path: ['dbMaintenance', 'database', 'host'],
        message: `'${host}' differs from postgres.external.host '${external.host}'; expected it left out (the jobs follow postgres.external.host) or the same host`,
      },
    );
  }
  return problems;
}
