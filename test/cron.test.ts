import { cronProblem, maxIntervalSeconds, parseCron, validateCron } from '../src/config/cron';
import { toCdk8sCron } from '../src/constructs/_cron';

const DAY = 86_400;

describe('parseCron', () => {
  test('reads *, lists, ranges, steps and names', () => {
    // WHEN
    const cron = parseCron('*/15 1,13 1-7 JAN-mar/2 MON-FRI');

    // THEN
    expect([...cron.minute.values]).toEqual([0, 15, 30, 45]);
    expect([...cron.hour.values]).toEqual([1, 13]);
    expect([...cron.dayOfMonth.values]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([...cron.month.values]).toEqual([1, 3]);
    expect([...cron.dayOfWeek.values]).toEqual([1, 2, 3, 4, 5]);
    expect(cron.minute.restricted).toBe(true);
  });

  test("'N/step' runs from N to the end of the field, as Kubernetes reads it", () => {
    expect([...parseCron('50/5 * * * *').minute.values]).toEqual([50, 55]);
  });

  test('a plain * is unrestricted, a stepped * is not', () => {
    const cron = parseCron('0 0 * * */2');
    expect(cron.dayOfMonth.restricted).toBe(false);
    expect(cron.dayOfWeek.restricted).toBe(true);
  });

  test('accepts extra spaces between fields', () => {
    expect(cronProblem('  0   2 * *   0 ')).toBeUndefined();
  });

  test.each([
    ['0 2 * *', /expected 5 fields 'minute hour day-of-month month day-of-week' separated by spaces, got 4/],
    ['0 0 2 * * *', /expected 5 fields .* got 6/],
    ['@daily', /expected 5 fields .* got 1/],
    ['', /expected 5 fields .* got 0/],
    ['60 * * * *', /minute 60 is out of range; expected 0-59/],
    ['* 24 * * *', /hour 24 is out of range; expected 0-23/],
    ['* * 0 * *', /day-of-month 0 is out of range; expected 1-31/],
    ['* * 32 * *', /day-of-month 32 is out of range; expected 1-31/],
    ['* * * 13 *', /month 13 is out of range; expected 1-12 or JAN-DEC/],
    ['* * * * 7', /day-of-week 7 is out of range; expected 0-6 or SUN-SAT \(0 = Sunday; Kubernetes does not accept 7\)/],
    ['* * * FOO *', /month 'FOO' is not a valid value; expected 1-12 or JAN-DEC/],
    ['* * * * MONDAY', /day-of-week 'MONDAY' is not a valid value/],
    ['x * * * *', /minute 'x' is not a valid value; expected 0-59/],
    ['-1 * * * *', /minute '' is not a valid value/],
    ['1,,2 * * * *', /minute '1,,2' has an empty list item/],
    ['*/0 * * * *', /minute step '0' in '\*\/0' is not valid; expected a positive whole number/],
    ['*/x * * * *', /minute step 'x'/],
    ['1/2/3 * * * *', /more than one '\/'/],
    ['1-2-3 * * * *', /minute '1-2-3' is not valid/],
    ['* 5-2 * * *', /hour range '5-2' starts after it ends/],
    ['? * * * *', /minute '\?' is not a valid value/],
    ['0 0 30 2 *', /'0 0 30 2 \*' never fires; expected a day-of-month that exists/],
    ['0 0 31 APR,JUN *', /never fires/],
  ])('fails if the expression is %p', (expression, message) => {
    expect(() => parseCron(expression)).toThrow(message);
    expect(cronProblem(expression)).toMatch(message);
  });
});

describe('validateCron', () => {
  test('fails with the field path and the value', () => {
    expect(() => validateCron('61 2 * * *', 'dbMaintenance.tasks.backup.schedule')).toThrow(
      "'dbMaintenance.tasks.backup.schedule' ('61 2 * * *'): minute 61 is out of range; expected 0-59",
    );
  });

  test('fails with the path in toCdk8sCron too', () => {
    expect(() => toCdk8sCron('0 2 * *', 'x.schedule')).toThrow(/^'x.schedule' \('0 2 \* \*'\): expected 5 fields/);
  });

  test('toCdk8sCron keeps the expression, normalised to single spaces', () => {
    expect(toCdk8sCron(' 0  2 * * 0', 'x').expressionString).toEqual('0 2 * * 0');
  });
});

describe('maxIntervalSeconds', () => {
  test.each([
    ['0 1 * * *', DAY],
    ['30 3 * * 0', 7 * DAY],
    ['0 3 * * SUN', 7 * DAY],
    ['*/15 * * * *', 15 * 60],
    ['0 1,13 * * *', 12 * 3600],
    // Two runs on Monday, then nothing until next Monday.
    ['0 1,2 * * 1', 7 * DAY - 3600],
    // Weekdays: Friday to Monday.
    ['0 9 * * 1-5', 3 * DAY],
    // The 1st of every month: the longest month is 31 days.
    ['0 0 1 * *', 31 * DAY],
    // Both day fields restricted: either matches (the 1st or any Sunday).
    ['0 0 1 * 0', 7 * DAY],
    // Only on leap days.
    ['0 0 29 2 *', (366 + 3 * 365) * DAY],
  ])('%p fires at least every %p seconds', (expression, seconds) => {
    expect(maxIntervalSeconds(expression)).toEqual(seconds);
  });
});
