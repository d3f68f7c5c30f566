import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { InvalidSpecError, validateScheduleSpec } from '../../src/client';
import { loadCampaignSpecFile } from '../../src/client/spec-file';
import { desiredDependencies } from '../../src/contracts';

const examples = path.join(__dirname, '../../examples/specs');

function writeSpec(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spec-')), 'campaign.yaml');
  fs.writeFileSync(file, text);
  return file;
}

describe('campaign spec files', () => {
  it.each(fs.readdirSync(examples))('the shipped example %s is a valid spec', (name) => {
    const spec = loadCampaignSpecFile(path.join(examples, name));
    expect(spec.targets.length).toBeGreaterThan(0);
    expect(spec.id).toMatch(/^[a-z0-9-]+$/);
  });

  it('names the file, the path to the field, the value and what was expected', () => {
    const file = writeSpec(
      [
        'id: Bad Id',
        'title: t',
        'targets:',
        '  - { repo: acme/x, url: "ftp://host/x.git" }',
        'steps:',
        '  - { recipe: replace, files: [], find: a, replace: b }',
      ].join('\n'),
    );
    const attempt = () => loadCampaignSpecFile(file);
    expect(attempt).toThrow(InvalidSpecError);
    expect(attempt).toThrow(new RegExp(`invalid campaign spec \\(${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
    expect(attempt).toThrow(/id: got "Bad Id"; expected lowercase letters/);
    expect(attempt).toThrow(/targets\.0\.url: got "ftp:\/\/host\/x\.git"; expected an http\(s\) URL/);
    expect(attempt).toThrow(/steps\.0\.files: got \[\]; expected at least one glob/);
  });

  it('reports YAML that does not parse, and a missing file, without starting anything', () => {
    expect(() => loadCampaignSpecFile(writeSpec('id: [unclosed'))).toThrow(
      /\(yaml\): got nothing; expected valid YAML/,
    );
    expect(() => loadCampaignSpecFile('/nonexistent/spec.yaml')).toThrow(
      /\(file\): got "\/nonexistent\/spec\.yaml"; expected a readable file \(ENOENT\)/,
    );
  });

  it('--preview overrides the file', () => {
    expect(loadCampaignSpecFile(path.join(examples, 'codemod.yaml'), { preview: true }).preview).toBe(true);
  });

  it.each(fs.readdirSync(path.join(__dirname, '../../examples/schedules')))(
    'the shipped schedule %s is a valid schedule spec',
    (name) => {
      const schedule = validateScheduleSpec(
        parse(fs.readFileSync(path.join(__dirname, '../../examples/schedules', name), 'utf8')),
        name,
      );
      expect(desiredDependencies(schedule.desired!).map((d) => d.package)).toContain('@acme/logger');
    },
  );

  it('a bad schedule file is reported as an invalid schedule spec naming the file, not as a campaign spec', () => {
    const attempt = () =>
      validateScheduleSpec(
        {
          id: 'Bad Id',
          every: '1d',
          campaign: {
            id: 'c',
            title: 't',
            targets: [{ repo: 'a/b', url: 'http://h/a/b.git' }],
            steps: [{ recipe: 'command', run: 'true' }],
          },
        },
        'nightly.yaml',
      );
    expect(attempt).toThrow(InvalidSpecError);
    expect(attempt).toThrow(/^invalid schedule spec \(nightly\.yaml\):\n {2}- id: got "Bad Id"/);
  });

  it('a schedule needs cron or every, and says so', () => {
    expect(() =>
      validateScheduleSpec({
        id: 's',
        campaign: {
          id: 'c',
          title: 't',
          targets: [{ repo: 'a/b', url: 'http://h/a/b.git' }],
          steps: [{ recipe: 'command', run: 'true' }],
        },
      }),
    ).toThrow(/cron: got nothing; expected `cron` or `every`/);
  });
});
