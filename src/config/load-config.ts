// Reads the platform config: runbook defaults, then a YAML file, then context
// values (`-c services.api-gateway.activeColor=green`), validated as a whole.
import * as fs from 'fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { PlatformConfig, PlatformConfigInput, REFERENCE_SERVICES, validatedPlatformConfigSchema } from './platform-config';

/** An invalid config: every problem, each naming its field. */
export class ConfigError extends Error {
  constructor(readonly problems: string[], source = 'platform config') {
    super(`invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Formats zod issues as `dotted.path: message`. */
export function formatIssues(issues: z.ZodIssue[]): string[] {
  return issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      return `${field}: unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    }
    return `${field}: ${issue.message}`;
  });
}

/** Validates a config object and applies defaults; throws ConfigError naming each bad field. */
export function parsePlatformConfig(input: unknown = {}): PlatformConfig {
  const result = validatedPlatformConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(formatIssues(result.error.issues));
  }
  return result.data;
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
  return parsePlatformConfig(mergeServicesOntoDefaults(input));
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

/** Services given by name only are patches of the default services; a duplicate name inside the input is kept so validation reports it. */
function mergeServicesOntoDefaults(input: Record<string, unknown>): PlatformConfigInput {
  const services = input.services;
  if (!Array.isArray(services)) {
    return input as PlatformConfigInput;
  }
  const merged: unknown[] = REFERENCE_SERVICES.map((s) => ({ ...s }));
  const mergedOnce = new Set<string>();
  for (const patch of services) {
    const name = isRecord(patch) ? patch.name : undefined;
    const index = merged.findIndex((s) => isRecord(s) && s.name === name);
    if (typeof name === 'string' && index >= 0 && !mergedOnce.has(name)) {
      merged[index] = deepMerge(merged[index] as Record<string, unknown>, patch as Record<string, unknown>);
      mergedOnce.add(name);
    } else {
      merged.push(patch);
    }
  }
  return { ...input, services: merged } as PlatformConfigInput;
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
