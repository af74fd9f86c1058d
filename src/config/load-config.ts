// Reads the platform config: runbook defaults, then a YAML file, then context
// values (`-c services.api-gateway.activeColor=green`), validated as a whole.
import * as fs from 'fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { PlatformConfig, PlatformConfigInput, REFERENCE_SERVICES, platformConfigSchema, validatedPlatformConfigSchema } from './platform-config';
import { didYouMean, knownFields } from './suggest';

/** An invalid config: every problem, each naming its field. */
export class ConfigError extends Error {
  constructor(readonly problems: string[], source = 'platform config') {
    super(`invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Formats zod issues as `dotted.path: message`; an unknown field names the closest
 * field `schema` accepts there. Services are named rather than
 * numbered (`services[api-gateway].replicas`): defaults and files are merged, so
 * an index would not point into the user's file.
 */
export function formatIssues(issues: z.ZodIssue[], input?: unknown, schema: z.ZodTypeAny = validatedPlatformConfigSchema): string[] {
  return issues.map((issue) => {
    const field = issue.path.length > 0 ? fieldName(issue.path, input) : '(root)';
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const known = knownFields(schema, issue.path);
      return `${field}: unknown field(s) ${issue.keys.map((key) => `'${key}'${didYouMean(key, known)}`).join(', ')}`;
    }
    if (issue.code === z.ZodIssueCode.invalid_type && issue.received !== 'undefined' && issue.message.startsWith('Expected ')) {
      // zod's own message names the types only: add the value that was given.
      return `${field}: expected ${issue.expected}, got ${issue.received} ${JSON.stringify(valueAt(input, issue.path))}`;
    }
    return `${field}: ${issue.message}`;
  });
}

function fieldName(path: (string | number)[], input: unknown): string {
  const [head, index, ...rest] = path;
  // Without `services` in the input, the schema's default (the reference services) was validated.
  const services = isRecord(input) && Array.isArray(input.services) ? input.services : isRecord(input) && input.referenceServices === false ? [] : REFERENCE_SERVICES;
  const name = head === 'services' && typeof index === 'number' && isRecord(services[index]) ? services[index].name : undefined;
  if (typeof name === 'string') {
    return [`services[${name}]`, ...rest].join('.');
  }
  return path.join('.');
}

/** Configs this module validated: a chart given one uses it as is instead of parsing it again. */
const validated = new WeakSet<object>();

/** Validates a config object and applies defaults; throws ConfigError naming each bad field. */
export function parsePlatformConfig(raw: unknown = {}): PlatformConfig {
  if (isValidatedPlatformConfig(raw)) {
    return raw;
  }
  const { input, problems }: { input: unknown; problems: string[] } = isRecord(raw) ? mergeServicesOntoDefaults(raw) : { input: raw, problems: [] };
  // Name checks run on the input, so they are reported with every other problem in one run.
  problems.push(...perServiceNameProblems(input));
  const result = validatedPlatformConfigSchema.safeParse(input);
  if (!result.success) {
    problems.push(...formatIssues(result.error.issues, input));
    problems.push(...wholeConfigProblems(input));
  }
  if (problems.length > 0) {
    throw new ConfigError([...new Set(problems)]);
  }
  validated.add(result.data!);
  return result.data!;
}

/**
 * zod runs the whole-config checks (duplicate services, egress to unknown services, unknown
 * secrets, ...) only once every field parsed: a single wrong type or enum value would hide
 * them until it is fixed. So they run again on the input with each bad field left out (its
 * default then applies), until the fields parse; their problems join the others in one run.
 */
function wholeConfigProblems(input: unknown): string[] {
  let salvaged = input;
  // Each round removes at least one field or climbs one level: a config's depth bounds the rounds.
  for (let round = 0; round < 8 && isRecord(salvaged); round++) {
    const fields = platformConfigSchema.safeParse(salvaged);
    if (fields.success) {
      // Every field of the input itself parsed: zod has already run (and reported) the whole-config checks.
      const whole = salvaged === input ? undefined : validatedPlatformConfigSchema.safeParse(salvaged);
      return whole?.success === false ? formatIssues(whole.error.issues, salvaged) : [];
    }
    salvaged = withoutFields(salvaged, fields.error.issues);
  }
  return [];
}

/** A copy of the input without the fields the issues name: for an array element its whole array, for a missing field its parent. */
function withoutFields(input: Record<string, unknown>, issues: z.ZodIssue[]): Record<string, unknown> {
  const copy = structuredClone(input);
  for (const issue of issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const target = valueAt(copy, issue.path);
      issue.keys.forEach((key) => isRecord(target) && delete target[key]);
      continue;
    }
    for (let end = issue.path.length; end > 0; end--) {
      const parent = valueAt(copy, issue.path.slice(0, end - 1));
      const key = issue.path[end - 1];
      if (isRecord(parent) && typeof key === 'string' && key in parent) {
        delete parent[key];
        break;
      }
    }
  }
  return copy;
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((value, key) => (isRecord(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[key] : undefined), root);
}

/** `monitoring.perService` keys that name no service (the alerts would silently use the defaults). */
function perServiceNameProblems(input: unknown): string[] {
  const perService = isRecord(input) && isRecord(input.monitoring) ? input.monitoring.perService : undefined;
  if (!isRecord(perService)) {
    return [];
  }
  const services = isRecord(input) && Array.isArray(input.services) ? input.services : REFERENCE_SERVICES;
  const names = services.map((s) => (isRecord(s) ? s.name : undefined)).filter((n): n is string => typeof n === 'string');
  return Object.keys(perService)
    .filter((name) => !names.includes(name))
    .map((name) => `monitoring.perService.${name}: unknown service '${name}'${didYouMean(name, names)}; expected one of ${names.join(', ') || '(no services)'}`);
}

/** True for the very object parsePlatformConfig/loadPlatformConfig returned (a copy is parsed again). */
export function isValidatedPlatformConfig(config: unknown): config is PlatformConfig {
  return typeof config === 'object' && config !== null && validated.has(config);
}

export interface LoadPlatformConfigOptions {
  /**
   * YAML file whose fields override the defaults; `services` entries are merged
   * into the default services by `name`, and new names are added.
   * @default - no file
   */
  readonly file?: string;
  /**
   * Overrides as dotted paths (`services.api-gateway.activeColor` → `green`);
   * a path segment after `services` is a service name. Values are parsed as YAML scalars.
   * @default - no overrides
   */
  readonly context?: Record<string, string>;
}

/** Defaults ← YAML file ← context, validated. */
export function loadPlatformConfig(options: LoadPlatformConfigOptions = {}): PlatformConfig {
  let input: Record<string, unknown> = {};
  if (options.file) {
    input = readYamlFile(options.file);
  }
  for (const [path, value] of Object.entries(options.context ?? {})) {
    input = setPath(input, path, parseScalar(value));
  }
  return parsePlatformConfig(input);
}

function readYamlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`cannot read config file: ${(e as Error).message}`], `config file '${file}'`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text, { uniqueKeys: true }) ?? {};
  } catch (e) {
    throw new ConfigError([(e as Error).message], `config file '${file}'`);
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(['(root): expected a YAML mapping of config fields'], `config file '${file}'`);
  }
  return parsed as Record<string, unknown>;
}

function parseScalar(value: string): unknown {
  try {
    return YAML.parse(value);
  } catch {
    return value;
  }
}

/**
 * Entries of `services` patch the reference services by name, unless
 * `referenceServices: false`. Another name is added only when the entry says
 * `new: true`; otherwise it is refused as a likely typo (with the closest reference
 * name) and left out, so that it does not add its own noise (`images: Required`).
 * A name repeated inside the input is kept twice so that validation reports the duplicate.
 */
function mergeServicesOntoDefaults(input: Record<string, unknown>): { input: PlatformConfigInput; problems: string[] } {
  const services = input.services;
  if (input.referenceServices === false) {
    return { input: { ...input, services: services ?? [] } as PlatformConfigInput, problems: [] };
  }
  if (!Array.isArray(services)) {
    return { input: input as PlatformConfigInput, problems: [] };
  }
  const referenceNames = REFERENCE_SERVICES.map((s) => s.name);
  const merged: unknown[] = REFERENCE_SERVICES.map((s) => ({ ...s }));
  const problems: string[] = [];
  const namesInInput = new Set<unknown>();
  for (const patch of services) {
    const name = isRecord(patch) ? patch.name : undefined;
    const isNew = isRecord(patch) && patch.new === true;
    const index = namesInInput.has(name) ? -1 : merged.findIndex((s) => isRecord(s) && s.name === name);
    if (index >= 0 && isNew) {
      problems.push(`services[${name}].new: true, but '${name}' is a reference service (entries patch it by name); expected no 'new' field`);
    } else if (index >= 0) {
      merged[index] = deepMerge(merged[index] as Record<string, unknown>, patch as Record<string, unknown>);
    } else if (typeof name === 'string' && !isNew && !namesInInput.has(name)) {
      problems.push(
        `services[${name}]: unknown service '${name}'${didYouMean(name, referenceNames)}; ` +
          `expected a reference service (${referenceNames.join(', ')}) or, for an added service, 'new: true' on its entry`,
      );
    } else {
      merged.push(patch);
    }
    namesInInput.add(name);
  }
  return { input: { ...input, services: merged } as PlatformConfigInput, problems };
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const segments = path.split('.');
  if (segments.some((s) => s.length === 0)) {
    throw new ConfigError([`context key '${path}': expected a dotted path like services.api-gateway.activeColor`]);
  }
  if (segments[0] === 'services') {
    const [, name, ...rest] = segments;
    if (name === undefined || rest.length === 0) {
      throw new ConfigError([`context key '${path}': expected services.<service name>.<field>`]);
    }
    const services = Array.isArray(target.services) ? [...target.services] : [];
    let entry = services.find((s) => isRecord(s) && s.name === name) as Record<string, unknown> | undefined;
    if (!entry) {
      entry = { name };
      services.push(entry);
    }
    Object.assign(entry, setPath({ ...entry }, rest.join('.'), value));
    return { ...target, services };
  }
  const [head, ...rest] = segments;
  if (rest.length === 0) {
    return { ...target, [head]: value };
  }
  const child = isRecord(target[head]) ? (target[head] as Record<string, unknown>) : {};
  return { ...target, [head]: setPath(child, rest.join('.'), value) };
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    out[key] = isRecord(value) && isRecord(base[key]) ? deepMerge(base[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
