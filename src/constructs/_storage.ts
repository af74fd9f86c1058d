// Private: storage quantities of the config ('20Gi') as cdk8s sizes.
import { Size } from 'cdk8s';

/** '512Mi', '20Gi' or '1Ti' (the config schema has already checked the form). */
export function storageSize(quantity: string): Size {
  const match = /^([1-9]\d*)(Mi|Gi|Ti)$/.exec(quantity);
  if (!match) {
    throw new Error(`storage size '${quantity}' is not valid; expected a size like '512Mi', '20Gi' or '1Ti'`);
  }
  const amount = Number(match[1]);
  switch (match[2]) {
    case 'Mi':
      return Size.mebibytes(amount);
    case 'Gi':
      return Size.gibibytes(amount);
    default:
      return Size.tebibytes(amount);
  }
}
