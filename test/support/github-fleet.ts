/** A fleet of change requests seeded straight into the fake GitHub: one open pull request per repository on a branch. */
import type { TrackedChange } from '../../src/contracts';
import type { FakeGitHub } from './github-server';

export function fleetRepos(count: number, owner = 'fleet'): string[] {
  return Array.from({ length: count }, (_, i) => `${owner}/service-${String(i).padStart(4, '0')}`);
}

/** Opens pull request #1 on `branch` in every repository the fake knows, as publishing would have. */
export function seedOpenPulls(github: FakeGitHub, branch: string): TrackedChange[] {
  return [...github.pulls.keys()].map((repo) => {
    github.pulls.get(repo)!.push({
      number: 1,
      title: 'Upgrade logger',
      body: 'evidence',
      state: 'open',
      merged_at: null,
      draft: false,
      base: 'main',
      head: { ref: branch, sha: 'f'.repeat(40) },
      labels: [],
      reviewers: [],
      teamReviewers: [],
    });
    return { repo, url: `https://github.example/${repo}/pull/1`, branch };
  });
}
