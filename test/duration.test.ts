import { parseDuration } from '../lib/config/duration';

describe('GIVEN a Prometheus duration WHEN parsed', () => {
  test.each([
    ['0', 0], ['500ms', 0.5], ['30s', 30], ['5m', 300], ['1h30m', 5400], ['26h', 93600], ['14d', 1209600], ['1w', 604800], ['1y', 31536000], ['2d12h', 216000],
  ])('%s THEN it is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each(['', '5', '5 m', '5min', '1.5h', '30m1h', '-5m', 'h', '26 hours'])('"%s" THEN it does not parse', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
