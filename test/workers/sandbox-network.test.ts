/** Each execution host may put its `registry_only` sandboxes on a Docker network of its own; the name is validated. */
import { loadConfig } from '../../src/config';
import { EGRESS_NETWORK } from '../../src/sandbox/egress';

it('puts sandboxes on regatta-egress unless REGATTA_SANDBOX_NETWORK names another network', () => {
  expect(EGRESS_NETWORK).toBe('regatta-egress');
  expect(loadConfig({}).sandboxNetwork).toBe('regatta-egress');
  expect(loadConfig({ REGATTA_SANDBOX_NETWORK: 'regatta-egress-host-b' }).sandboxNetwork).toBe('regatta-egress-host-b');
});

it.each(['', '-leading-dash', 'has space', 'slash/name'])(
  'refuses REGATTA_SANDBOX_NETWORK=%j, naming the variable, the value and what it expects',
  (value) => {
    expect(() => loadConfig({ REGATTA_SANDBOX_NETWORK: value })).toThrow(
      `REGATTA_SANDBOX_NETWORK: got ${JSON.stringify(value)}; expected a Docker network name (letters, digits, _ . -)`,
    );
  },
);
