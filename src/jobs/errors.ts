// What a failure means to the person on call: errors a job meets on a bad day
// (server down, wrong or missing password, timeouts) are told in a sentence and
// logged without a stack trace; anything else is a bug and keeps its stack.

/** Network and PostgreSQL (SQLSTATE) codes of conditions outside the job's control. */
const EXPECTED_CODES = new Set([
  // network
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  // class 08 connection exception, 28 invalid authorization, 3D invalid catalog (no such database)
  '08000', '08001', '08003', '08004', '08006', '08P01', '28000', '28P01', '3D000',
  // 53 insufficient resources (too many connections, disk full), 55P03 lock not available, 57014 canceled (timeouts)
  '53000', '53100', '53200', '53300', '55P03', '57014',
  // 57P01-57P05 administrator shutdown, crash shutdown, cannot connect now, database dropped, idle session timeout
  '57P01', '57P02', '57P03', '57P04', '57P05',
  // 42501 insufficient privilege, 3F000 no such schema (--schema)
  '42501', '3F000',
]);

const EXPECTED_MESSAGES = [
  /client password must be a (non-empty )?string/,
  /Connection terminated/i,
  /timeout expired/i,
  /does not support SSL/i,
  /certificate/i,
  /stopped by signal/,
];

/** True for a condition the job reports as "could not do its work" without a stack trace. */
export function isExpectedError(e: unknown): boolean {
  if (!(e instanceof Error)) return true;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && EXPECTED_CODES.has(code)) return true;
  return EXPECTED_MESSAGES.some((re) => re.test(e.message));
}

/** The message of an error as a person reads it: what happened and, where it helps, what to do. */
export function describeError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  // node-postgres' words for "the server asked for a password and there is none"
  if (/client password must be a (non-empty )?string/.test(message)) {
    return 'no password was given; set PGPASSWORD (the CronJobs read it from the credentials Secret), '
      + 'or let this user in without a password in pg_hba.conf';
  }
  return message;
}
