// Five-field cron expressions as Kubernetes reads them (robfig/cron's standard parser).
// `cdk8s.Cron` passes any string through; this module checks every field (the config
// schema and the constructs both) and works out how far apart two runs can be.

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Upper-case three-letter names, index + min = value. */
  readonly names?: readonly string[];
  readonly hint?: string;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  {
    name: 'day-of-week',
    min: 0,
    max: 6,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
    hint: ' (0 = Sunday; Kubernetes does not accept 7)',
  },
];

/** The values each field allows; `restricted` is false for a plain `*` (it changes day matching). */
export interface ParsedCronField {
  readonly values: ReadonlySet<number>;
  readonly restricted: boolean;
}

export interface ParsedCron {
  readonly minute: ParsedCronField;
  readonly hour: ParsedCronField;
  readonly dayOfMonth: ParsedCronField;
  readonly month: ParsedCronField;
  readonly dayOfWeek: ParsedCronField;
}

/** A cron expression that is not a valid five-field Kubernetes schedule. */
export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

/**
 * Parses `minute hour day-of-month month day-of-week` ('*', lists, ranges, steps,
 * JAN-DEC and SUN-SAT names). Throws CronError saying which field is wrong and what
 * was expected. Descriptors such as `@daily` and a sixth (seconds) field are refused.
 */
export function parseCron(expression: string): ParsedCron {
  const parts = expression.trim().split(/\s+/).filter((p) => p.length > 0);
  if (parts.length !== FIELDS.length) {
    throw new CronError(
      `expected 5 fields 'minute hour day-of-month month day-of-week' separated by spaces, got ${parts.length} in '${expression}'`,
    );
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parts.map((part, i) => parseField(part, FIELDS[i]));
  const parsed = { minute, hour, dayOfMonth, month, dayOfWeek };
  if (maxIntervalMinutes(parsed) === undefined) {
    throw new CronError(`'${expression}' never fires; expected a day-of-month that exists in the chosen month(s)`);
  }
  return parsed;
}

/** Why an expression is not a valid schedule, or undefined when it is (for zod refinements). */
export function cronProblem(expression: string): string | undefined {
  try {
    parseCron(expression);
    return undefined;
  } catch (e) {
    if (e instanceof CronError) {
      return e.message;
    }
    throw e;
  }
}

/**
 * Throws an Error naming the field path, the value and what is expected
 * (`'tasks.backup.schedule' ('61 2 * * *'): minute 61 is out of range; expected 0-59`).
 */
export function validateCron(expression: string, path: string): ParsedCron {
  try {
    return parseCron(expression);
  } catch (e) {
    if (e instanceof CronError) {
      throw new Error(`'${path}' ('${expression}'): ${e.message}`);
    }
    throw e;
  }
}

/**
 * The longest time between two consecutive runs, in seconds, ignoring daylight
 * saving shifts (add an hour of slack for zones that have them).
 */
export function maxIntervalSeconds(expression: string): number {
  // parseCron already refused expressions that never fire.
  return maxIntervalMinutes(parseCron(expression))! * 60;
}

function parseField(text: string, spec: FieldSpec): ParsedCronField {
  const values = new Set<number>();
  let restricted = true;
  for (const item of text.split(',')) {
    if (item.length === 0) {
      throw new CronError(`${spec.name} '${text}' has an empty list item; expected values separated by single commas`);
    }
    const [rangeText, stepText, ...extra] = item.split('/');
    if (extra.length > 0) {
      throw new CronError(`${spec.name} '${item}' has more than one '/'; expected <range>/<step>`);
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        throw new CronError(`${spec.name} step '${stepText}' in '${item}' is not valid; expected a positive whole number`);
      }
      step = Number(stepText);
    }
    let low: number;
    let high: number;
    if (rangeText === '*') {
      low = spec.min;
      high = spec.max;
      if (step === 1) {
        restricted = false;
      }
    } else {
      const bounds = rangeText.split('-');
      if (bounds.length > 2) {
        throw new CronError(`${spec.name} '${item}' is not valid; expected a value, a range low-high, '*', optionally followed by /step`);
      }
      low = parseValue(bounds[0], spec);
      // 'N/step' means N to the end of the field, as in robfig/cron.
      high = bounds.length === 2 ? parseValue(bounds[1], spec) : stepText !== undefined ? spec.max : low;
      if (low > high) {
        throw new CronError(`${spec.name} range '${rangeText}' starts after it ends; expected low-high with low <= high`);
      }
    }
    for (let v = low; v <= high; v += step) {
      values.add(v);
    }
  }
  return { values, restricted };
}

function parseValue(text: string, spec: FieldSpec): number {
  const expected = `expected ${spec.min}-${spec.max}${spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : ''}${spec.hint ?? ''}`;
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < spec.min || value > spec.max) {
      throw new CronError(`${spec.name} ${value} is out of range; ${expected}`);
    }
    return value;
  }
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index < 0) {
    throw new CronError(`${spec.name} '${text}' is not a valid value; ${expected}`);
  }
  return index + spec.min;
}

const DAYS_SCANNED = 4 * 366 * 2;
const MINUTES_PER_DAY = 24 * 60;

/** Scans eight years of days; undefined when the schedule never fires in them. */
function maxIntervalMinutes(cron: ParsedCron): number | undefined {
  const timesOfDay: number[] = [];
  for (const h of [...cron.hour.values].sort((a, b) => a - b)) {
    for (const m of [...cron.minute.values].sort((a, b) => a - b)) {
      timesOfDay.push(h * 60 + m);
    }
  }
  let intraDay = 0;
  for (let i = 1; i < timesOfDay.length; i++) {
    intraDay = Math.max(intraDay, timesOfDay[i] - timesOfDay[i - 1]);
  }
  const first = timesOfDay[0];
  const last = timesOfDay[timesOfDay.length - 1];
  // 2024-01-01 (a Monday, and a leap year): the scan covers every month length and weekday.
  const start = Date.UTC(2024, 0, 1);
  let previousDay: number | undefined;
  let longest: number | undefined;
  for (let day = 0; day < DAYS_SCANNED; day++) {
    const date = new Date(start + day * MINUTES_PER_DAY * 60_000);
    if (!dayMatches(cron, date)) {
      continue;
    }
    longest = Math.max(longest ?? 0, intraDay);
    if (previousDay !== undefined) {
      longest = Math.max(longest, (day - previousDay) * MINUTES_PER_DAY - last + first);
    }
    previousDay = day;
  }
  return longest;
}

/** robfig/cron: when both day fields are restricted a day matching either runs; otherwise both must match. */
function dayMatches(cron: ParsedCron, date: Date): boolean {
  if (!cron.month.values.has(date.getUTCMonth() + 1)) {
    return false;
  }
  const dom = cron.dayOfMonth.values.has(date.getUTCDate());
  const dow = cron.dayOfWeek.values.has(date.getUTCDay());
  if (cron.dayOfMonth.restricted && cron.dayOfWeek.restricted) {
    return dom || dow;
  }
  return dom && dow;
}
