// The problems a rejected platform config lists (fails the test if the config is accepted).
import { ConfigError, parsePlatformConfig } from '../../src/config/load-config';
import { withRunbookUrl } from './reference';

export function problemsOf(input: unknown): string[] {
  try {
    parsePlatformConfig(withRunbookUrl(input));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the config to be rejected');
}
