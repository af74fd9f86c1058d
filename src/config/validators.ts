// Reusable zod validators for values Kubernetes and the runbook care about.
// Messages say what was expected; the loader prefixes them with the field path.
import { z } from 'zod';

/** A DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: labels joined by '.'. */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Throws `<field>: expected a DNS-1123 label (got '<value>')` unless `value` is one of at most `max` characters. */
export function checkDns1123Label(field: string, value: string, max = 63): void {
  if (!DNS1123_LABEL.test(value) || value.length > max) {
    throw new Error(`${field}: expected a DNS-1123 label${max < 63 ? ` of at most ${max} characters` : ''} (got '${value}')`);
  }
}

/** A string matching `re`; the message is `<expected> (got '<value>')`. */
export function matching(re: RegExp, expected: string) {
  return z.string({ invalid_type_error: expected }).refine((value) => re.test(value), (value) => ({ message: `${expected} (got '${value}')` }));
}

/** A Kubernetes object name that must also be a DNS-1123 label (Services, namespaces). */
export const dns1123Label = z
  .string()
  .max(63, 'expected a DNS-1123 label of at most 63 characters')
  .regex(DNS1123_LABEL, 'expected a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit');

/** A container image pinned to a tag or digest; `:latest` and untagged images are refused. */
export const pinnedImage = z.string().superRefine((image, ctx) => {
  const problem = imageProblem(image);
  if (problem) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${problem} (got '${image}')` });
  }
});

/** Why an image reference is not pinned, or undefined when it is. */
export function imageProblem(image: string): string | undefined {
  if (image.includes('@')) {
    // name[:tag]@sha256:<64 lower-case hex>: the digest pins the content, whatever the tag says.
    return /^[^@\s]+@sha256:[0-9a-f]{64}$/.test(image) ? undefined : 'expected a digest like registry/app@sha256:<64 hex digits>';
  }
  const lastSegment = image.split('/').pop() ?? '';
  const colon = lastSegment.lastIndexOf(':');
  if (colon < 0) {
    return 'expected an image with an explicit tag or digest, like registry/app:1.2.3';
  }
  if (lastSegment.slice(colon + 1) === 'latest') {
    return "expected a pinned tag: ':latest' is not reproducible";
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(lastSegment.slice(colon + 1))) {
    return 'expected a valid image tag';
  }
  return undefined;
}

/** An IPv4 or IPv6 CIDR block such as 203.0.113.0/24. */
export const cidr = z.string().refine(isCidr, (value) => ({
  message: `expected a CIDR block like 203.0.113.0/24 (got '${value}')`,
}));

export function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) {
    return false;
  }
  const bits = Number(prefix);
  if (address.includes(':')) {
    return bits <= 128 && /^[0-9a-fA-F:]+$/.test(address) && address.split('::').length <= 2;
  }
  const octets = address.split('.');
  return bits <= 32 && octets.length === 4 && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/** CPU quantity: millicores ('250m') or cores ('1', '0.5'). */
export const cpuQuantity = z.string().regex(/^(\d+m|\d+(\.\d+)?)$/, "expected a CPU quantity like '250m' or '1'");

/** Memory quantity in Mi or Gi ('256Mi', '1Gi'). */
export const memoryQuantity = z.string().regex(/^\d+(Mi|Gi)$/, "expected a memory quantity like '256Mi' or '1Gi'");

/** Label keys and values for selectors. */
export const labels = z.record(z.string().min(1), z.string());

export const port = z.number().int().min(1, 'expected a port from 1 to 65535').max(65535, 'expected a port from 1 to 65535');

export const nonNegativeInt = z.number().int('expected a whole number').min(0, 'expected 0 or more');

export const positiveInt = z.number().int('expected a whole number').min(1, 'expected 1 or more');

/** A ratio in (0, 1], e.g. 0.05 for 5 %. */
export const ratio = z
  .number({ invalid_type_error: 'expected a ratio between 0 (exclusive) and 1 (inclusive), e.g. 0.05 for 5 %' })
  .refine((value) => value > 0 && value <= 1, (value) => ({
    message: `expected a ratio in (0, 1], e.g. 0.05 for 5 % (got ${value})`,
  }));
