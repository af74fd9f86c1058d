// Private: a validated cron expression as `cdk8s.Cron` (the rule itself is src/config/cron.ts).
import { Cron } from 'cdk8s';
import { validateCron } from '../config/cron';

/** A validated expression as `cdk8s.Cron`, whose `expressionString` is the input normalised to single spaces. */
export function toCdk8sCron(expression: string, path: string): Cron {
  validateCron(expression, path);
  const [minute, hour, day, month, weekDay] = expression.trim().split(/\s+/);
  return Cron.schedule({ minute, hour, day, month, weekDay });
}
