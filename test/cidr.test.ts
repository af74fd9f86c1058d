import { cidrContains, parseCidr } from '../src/constructs/_cidr';

describe('CIDR arithmetic for ipBlock except lists', () => {
  test.each([
    ['0.0.0.0/0', '10.0.0.0/8', true],
    ['0.0.0.0/0', '169.254.169.254/32', true],
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.1.0.0/16', '10.0.0.0/8', false],
    ['203.0.113.0/24', '10.0.0.0/8', false],
    ['0.0.0.0/0', 'fc00::/7', false],
    ['::/0', 'fc00::/7', true],
    ['2001:db8::/32', '2001:db8:1::/48', true],
    ['2001:db8::/32', '2001:db9::/48', false],
  ])('%s contains %s: %s', (outer, inner, expected) => {
    expect(cidrContains(outer, inner)).toBe(expected);
  });

  test('a plain address is a host block and host bits are masked', () => {
    expect(parseCidr('10.0.0.1')).toEqual({ family: 4, network: 0x0a000001n, prefix: 32 });
    expect(parseCidr('10.1.2.3/8').network).toBe(0x0a000000n);
  });

  test('fails on a malformed block, naming it', () => {
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/'10.0.0.0\/33' is not a CIDR block/);
    expect(() => parseCidr('1::2::3/64')).toThrow(/'1::2::3\/64' is not a CIDR block/);
    expect(() => parseCidr('300.0.0.0/8')).toThrow(/not a CIDR block/);
  });
});
