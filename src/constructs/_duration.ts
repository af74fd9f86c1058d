// Private: `Duration` props as the whole seconds (or minutes) that Kubernetes and Argo fields hold.
import { Duration } from 'cdk8s';

/** `value` in whole seconds; throws naming the prop and the value when it is not one. */
export function wholeSeconds(prop: string, value: Duration): number {
  return whole(prop, value, value.toSeconds({ integral: false }), 'seconds');
}

/** `value` in whole minutes (at least 1); throws naming the prop and the value otherwise. */
export function wholeMinutes(prop: string, value: Duration): number {
  const minutes = whole(prop, value, value.toMinutes({ integral: false }), 'minutes');
  if (minutes < 1) {
    throw new Error(`'${prop}' (${value.toHumanString()}) must be at least 1 minute`);
  }
  return minutes;
}

function whole(prop: string, value: Duration, amount: number, unit: string): number {
  if (!Number.isInteger(amount)) {
    throw new Error(`'${prop}' (${value.toHumanString()}) must be a whole number of ${unit}`);
  }
  return amount;
}
