// Converts the config's Kubernetes quantity strings into cdk8s-plus values.
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

/** '250m' → 250 millicores, '1' or '0.5' → cores. */
export function cpu(quantity: string): kplus.Cpu {
  if (quantity.endsWith('m')) {
    return kplus.Cpu.millis(Number(quantity.slice(0, -1)));
  }
  return kplus.Cpu.millis(Math.round(Number(quantity) * 1000));
}

/** '256Mi' or '1Gi'. */
export function memory(quantity: string): Size {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) {
    throw new Error(`memory quantity '${quantity}' must look like '256Mi' or '1Gi'`);
  }
  const amount = Number(match[1]);
  return match[2] === 'Gi' ? Size.gibibytes(amount) : Size.mebibytes(amount);
}
