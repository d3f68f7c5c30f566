/**
 * The judge: a model reads the diff beside the campaign's stated intent and says whether the change does what was
 * asked, and only that (Spotify's judge vetoes about a quarter of its agent's sessions: out-of-scope edits, disabled
 * tests). It sees the patch (redacted when it was stored) and the intent, never a credential; the API key travels only
 * in the client's Authorization header.
 */
import type { ModelConnection } from '../agent/model-provider';
import type { JudgeVerdict, PatchFinding } from '../contracts';
import { describeFindings } from './findings';

/** Enough of a diff to judge a fleet change; a larger one is cut and the judge told so. */
const MAX_DIFF_CHARS = 60_000;

export interface JudgeInput {
  intent: { title: string; taskType: string; task: string };
  diff: string;
  findings: readonly PatchFinding[];
}

const INSTRUCTIONS = [
  'You review an automated code change before it becomes a pull request.',
  'Compare the diff with the stated intent. Veto a change that goes beyond the intent, that makes tests pass by',
  'skipping, deleting or weakening them, or that edits CI, lockfiles or configuration the intent did not ask for.',
  'Answer with one JSON object and nothing else: {"verdict": "approve" | "veto", "reasons": ["..."]}.',
].join(' ');

export async function judgePatch(model: ModelConnection, input: JudgeInput): Promise<Omit<JudgeVerdict, 'effect'>> {
  const diff =
    input.diff.length > MAX_DIFF_CHARS
      ? `${input.diff.slice(0, MAX_DIFF_CHARS)}\n[diff cut at ${MAX_DIFF_CHARS} characters]`
      : input.diff;
  const prompt = [
    `Intent: ${input.intent.title} (${input.intent.taskType})`,
    `Task: ${input.intent.task}`,
    `Findings of the static audit: ${input.findings.length ? describeFindings(input.findings) : 'none'}`,
    '',
    'Diff:',
    diff,
  ].join('\n');
  let content: string | null | undefined;
  try {
    const completion = await model.client.chat.completions.create({
      model: model.model,
      messages: [
        { role: 'system', content: INSTRUCTIONS },
        { role: 'user', content: prompt },
      ],
    });
    content = completion.choices[0]?.message.content;
  } catch (err) {
    return {
      verdict: 'unavailable',
      reasons: [`the judge model failed: ${(err as Error).message}`],
      model: model.model,
    };
  }
  return { ...readVerdict(content ?? ''), model: model.model };
}

/** The first JSON object in the answer (models wrap it in prose or code fences); anything else is no verdict. */
export function readVerdict(content: string): Pick<JudgeVerdict, 'verdict' | 'reasons'> {
  const json = /\{[\s\S]*\}/.exec(content)?.[0];
  try {
    const parsed = JSON.parse(json ?? '') as { verdict?: unknown; reasons?: unknown };
    // A model may answer at length; evidence keeps the gist.
    const reasons = Array.isArray(parsed.reasons)
      ? parsed.reasons.slice(0, 10).map((r) => String(r).slice(0, 500))
      : [];
    if (parsed.verdict === 'approve' || parsed.verdict === 'veto') return { verdict: parsed.verdict, reasons };
  } catch {
    // Falls through: not JSON.
  }
  return { verdict: 'unavailable', reasons: [`the judge gave no verdict: ${content.slice(0, 200)}`] };
}
