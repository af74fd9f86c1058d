// Secret rotation as a RUNBOOK procedure: a new Secret beside the old one, the config field
// pointed at it (which restarts the readers), verification, then the old one retired. No
// command prints a value: the values go from files into `create secret --from-file`, and a
// database password into psql's `\password` (hashed by the client, never in a statement).
import { externalConninfo, kubectl, RunbookContext, RunbookSecret } from '../alerts/runbook-context';

/** The commands that set a role's password in PostgreSQL from the file `./<passwordKey>`. */
function setPassword(ctx: RunbookContext, usernameKey: string, passwordKey: string): string {
  const d = ctx.database;
  // `\password` reads the new password twice from stdin when there is no terminal.
  const twice = `{ cat ./${passwordKey}; echo; cat ./${passwordKey}; echo; }`;
  const command = `-c "\\\\password \\"$(cat ./${usernameKey})\\""`;
  return d.external
    ? `${twice} | psql ${externalConninfo({ ...d, external: d.external })} ${command}`
    : `${twice} | ${kubectl(ctx)} exec -i ${d.pod} -- psql -U ${d.user ?? 'postgres'} -d ${d.database} ${command}`;
}

function readers(s: RunbookSecret): string {
  return [...s.deployments.map((d) => `deployment ${d}`), ...s.cronJobs.map((c) => `CronJob ${c}`)].join(', ') || 'nothing in this platform';
}

function rotation(ctx: RunbookContext, s: RunbookSecret): string[] {
  const k = kubectl(ctx);
  const next = `${s.secret}-v2`;
  const [first] = s.deployments;
  const verifyJob = s.cronJobs.find((c) => !c.includes('restore')) ?? s.cronJobs[0];
  return [
    `### Rotate ${s.secret}`,
    '',
    `Field \`${s.field}\`; keys ${s.keys.map((key) => `\`${key}\``).join(', ')}; read by ${readers(s)}.`,
    '',
    '```bash',
    `# 1. Each key's new value in a file named after the key, readable by you only, no trailing newline (never on a command line)`,
    'umask 077',
    ...(s.database
      ? [
          `printf '%s' '<database role>' > ./${s.database.usernameKey}   # the role the Secret's ${s.database.usernameKey} names (not secret)`,
          `openssl rand -base64 32 | tr -d '\\n' > ./${s.database.passwordKey}`,
        ]
      : s.keys.map((key) => `# ./${key}: from the issuer of the credential (paste it into an editor, not the shell)`)),
    '# 2. The new Secret beside the old one (the running pods keep reading the old one)',
    `${k} create secret generic ${next} ${s.keys.map((key) => `--from-file=${key}=./${key}`).join(' ')}`,
    ...(s.database
      ? [
          '# 3. The role\'s new password in PostgreSQL, hashed by psql (not in a statement, the server log or pg_stat_activity).',
          '#    Open connections stay; new ones with the old password fail from now on: do step 4 at once',
          setPassword(ctx, s.database.usernameKey, s.database.passwordKey),
        ]
      : []),
    `# ${s.database ? 4 : 3}. Set ${s.field}: ${next} in the platform config, synth, commit, apply. The readers restart:`,
    ...(s.deployments.length > 0 ? ['#    the Deployments roll (both colours)'] : []),
    ...(s.cronJobs.length > 0 ? ['#    the CronJobs read it from their next run'] : []),
    ...(first ? [`${k} rollout status deployment/${first} --timeout=10m`] : []),
    `# ${s.database ? 5 : 4}. Verify: the readers reference ${next} (names, never values) and work`,
    ...s.deployments.map((d) => `${k} get deployment ${d} -o jsonpath='{..secretKeyRef.name}'; echo`),
    ...(first ? [`${k} logs -l app=${first.replace(/-(blue|green)$/, '')} --prefix --since=10m --max-log-requests=10 | grep -i -E "authentication failed|unauthorized|forbidden" | tail -5`] : []),
    ...(verifyJob
      ? [
          `${k} get cronjob ${verifyJob} -o jsonpath='{..secretKeyRef.name}'; echo`,
          `JOB=${verifyJob}-rotation-$(date +%s); ${k} create job --from=cronjob/${verifyJob} $JOB`,
          `${k} wait --for=condition=complete job/$JOB --timeout=15m; ${k} logs job/$JOB | jq -r 'select(.exitCode != null) | "\\(.task) \\(.status)"'`,
        ]
      : []),
    `# ${s.database ? 6 : 5}. Retire the old Secret once the new one works (until then it is the rollback), and the files`,
    `${k} delete secret ${s.secret}`,
    `rm -f ${s.keys.map((key) => `./${key}`).join(' ')}`,
    '```',
    '',
  ];
}

/** `## Secret rotation`: one procedure per Secret the platform reads. */
export function secretRotationSection(ctx: RunbookContext): string[] {
  const secrets = ctx.secrets ?? [];
  if (secrets.length === 0) return [];
  const k = kubectl(ctx);
  const inPlace = secrets.flatMap((s) => s.deployments).map((d) => `${k} rollout restart deployment/${d}`);
  return [
    '## Secret rotation',
    '',
    'The platform reads these Secrets by name and never creates them. Nothing here prints a value: getting or listing Secrets would, so no platform Role may.',
    '',
    '| Secret | Config field | Keys | Read by |',
    '| --- | --- | --- | --- |',
    ...secrets.map((s) => `| \`${s.secret}\` | \`${s.field}\` | ${s.keys.map((key) => `\`${key}\``).join(', ')} | ${readers(s)} |`),
    '',
    'A rotation creates a new Secret beside the old one and points the config field at it: the change restarts what reads it, and the old Secret stays as the rollback until the new one is verified. '
      + 'Creating and deleting Secrets is for your secret manager or the applier\'s (break-glass) identity, not a platform Role: RBAC cannot limit `create` to names, and a `patch` or `update` of a Secret answers with its data. '
      + `The database step is the database operator's (${ctx.database.external ? 'psql against the outside host with an administrator role' : `\`exec\` into ${ctx.database.pod}`}).`,
    '',
    ...(inPlace.length > 0
      ? [
          'If your secret manager rewrites a Secret in place (same name) instead, environment variables do not follow: restart the Deployments reading it (a removed idle colour answers NotFound; CronJobs read it at their next run):',
          '',
          '```bash',
          ...inPlace,
          '```',
          '',
        ]
      : []),
    ...secrets.flatMap((s) => rotation(ctx, s)),
  ];
}
