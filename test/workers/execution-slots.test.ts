/** How many runs an execution worker takes at once: the setting, validated at the edge, or what its host can hold. */
import { loadConfig } from '../../src/config';
import type { PolicyDecision, RunRequest } from '../../src/contracts';
import {
  deriveExecutionSlots,
  describeExecutionSlots,
  executionSlots,
  SANDBOX_MEMORY_BYTES,
} from '../../src/workers/execution-slots';
import { buildExecutionSpec } from '../../workflows/execution-spec';

const GIB = 1024 ** 3;

describe('the slots derived from the host', () => {
  it('are two per CPU on a host with memory to spare', () => {
    expect(deriveExecutionSlots({ cpus: 2, memoryBytes: 24 * GIB })).toBe(4);
    expect(deriveExecutionSlots({ cpus: 16, memoryBytes: 64 * GIB })).toBe(32);
  });

  it('are capped at one per GiB of sandbox memory beyond the 2 GiB the host keeps for itself', () => {
    expect(deriveExecutionSlots({ cpus: 8, memoryBytes: 8 * GIB })).toBe(6);
    expect(deriveExecutionSlots({ cpus: 8, memoryBytes: 7.9 * GIB })).toBe(5);
    expect(deriveExecutionSlots({ cpus: 8, memoryBytes: 8 * GIB }, 2 * GIB)).toBe(3);
  });

  it('are at least one, even on a host too small for a sandbox', () => {
    expect(deriveExecutionSlots({ cpus: 1, memoryBytes: 1 * GIB })).toBe(1);
    expect(deriveExecutionSlots({ cpus: 4, memoryBytes: 2.5 * GIB })).toBe(1);
  });

  it('assume the memory limit every run sandbox is given', () => {
    const request = {
      runId: 'r',
      campaignId: 'c',
      target: { repo: 'acme/widget', url: 'http://127.0.0.1/acme/widget.git', ref: 'main' },
      steps: [],
      verify: { commands: [] },
    };
    const decision = {
      network: 'none',
      maxDurationMs: 600_000,
      allowedTools: [],
      maxToolCalls: 0,
      bundle: { name: 'b', version: '1', hash: 'h' },
    };
    const spec = buildExecutionSpec(request as unknown as RunRequest, decision as unknown as PolicyDecision);
    expect(spec.limits.memoryBytes).toBe(SANDBOX_MEMORY_BYTES);
  });
});

describe('REGATTA_EXECUTION_SLOTS', () => {
  it('wins over the host, and says so', () => {
    const slots = executionSlots(loadConfig({ REGATTA_EXECUTION_SLOTS: '1' }).executionSlots, {
      cpus: 64,
      memoryBytes: 256 * GIB,
    });
    expect(describeExecutionSlots(slots)).toBe('1 run at once (REGATTA_EXECUTION_SLOTS)');
  });

  it('when unset leaves the number to the host, naming its CPUs and memory', () => {
    const slots = executionSlots(loadConfig({}).executionSlots, { cpus: 2, memoryBytes: 23.5 * GIB });
    expect(describeExecutionSlots(slots)).toBe('4 runs at once (derived from 2 CPUs / 23.5 GiB)');
  });

  it.each(['0', '-2', '1.5', 'four', '', ' 3'])(
    'refuses %j, naming the variable, the value and what it expects',
    (value) => {
      expect(() => loadConfig({ REGATTA_EXECUTION_SLOTS: value })).toThrow(
        `REGATTA_EXECUTION_SLOTS: got ${JSON.stringify(value)}; expected a positive integer: how many runs this execution worker takes at once`,
      );
    },
  );
});
