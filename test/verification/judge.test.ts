/**
 * The judge through the real `openai` client against a scripted model on loopback: what it sends (intent, findings,
 * diff; the key only as the Authorization header) and how it reads the answer.
 */
import { connectModel } from '../../src/agent/model-provider';
import { fileDiff } from '../../src/git/diff';
import { judgePatch, readVerdict } from '../../src/verification/judge';
import { startModelServer, type ModelServer } from '../support/model-server';

const API_KEY = 'sk-judge-test-0123456789';
let model: ModelServer;

beforeAll(async () => {
  model = await startModelServer([
    { content: '```json\n{"verdict": "veto", "reasons": ["the test is skipped, not fixed"]}\n```' },
    { content: 'Looks fine to me.' },
  ]);
});
afterAll(async () => model?.close());

it('sends the intent, the findings and the diff, and reads a veto wrapped in a code fence', async () => {
  const connection = connectModel(
    {
      kind: 'endpoint',
      model: 'judge-1',
      baseURL: model.baseURL,
      apiKey: API_KEY,
      price: { inputPerMillion: 1, outputPerMillion: 1 },
    },
    { maxRetries: 0 },
  );
  const diff = fileDiff('test.js', "it('adds', () => {});\n", "it.skip('adds', () => {});\n");
  const findings = [{ kind: 'test_skipped' as const, file: 'test.js', line: 1, reason: 'skip marker added (.skip)' }];
  const intent = { title: 'Fix sum', taskType: 'agent_task', task: 'Make npm test pass by fixing sum.' };

  await expect(judgePatch(connection, { intent, diff, findings })).resolves.toEqual({
    verdict: 'veto',
    reasons: ['the test is skipped, not fixed'],
    model: 'judge-1',
  });
  const [sent] = model.requests;
  expect(sent.headers.authorization).toBe(`Bearer ${API_KEY}`);
  expect(sent.raw).not.toContain(API_KEY);
  const prompt = String(sent.body.messages?.[1]?.content);
  expect(prompt).toContain('Intent: Fix sum (agent_task)');
  expect(prompt).toContain('Task: Make npm test pass by fixing sum.');
  expect(prompt).toContain('test_skipped test.js:1 (skip marker added (.skip))');
  expect(prompt).toContain("+it.skip('adds', () => {});");

  await expect(judgePatch(connection, { intent, diff, findings: [] })).resolves.toEqual({
    verdict: 'unavailable',
    reasons: ['the judge gave no verdict: Looks fine to me.'],
    model: 'judge-1',
  });
});

it('takes only approve or veto as a verdict', () => {
  expect(readVerdict('{"verdict":"approve","reasons":["ok"]}')).toEqual({ verdict: 'approve', reasons: ['ok'] });
  expect(readVerdict('{"verdict":"maybe"}').verdict).toBe('unavailable');
});
