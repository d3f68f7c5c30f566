import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { GO_TOOLS } from '../src/dev/tools';
import { cliSearchAttributeArgs, SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';

/** The CLI's spelling of each SearchAttributeType (`--search-attribute Name=Type`). */
const CLI_TYPE_NAMES: Record<string, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

const declared = SEARCH_ATTRIBUTES.map((key) => `${key.name}=${CLI_TYPE_NAMES[key.type]}`).sort();

function searchAttributePairs(args: readonly string[]): string[] {
  return args.flatMap((arg, i) => (args[i - 1] === '--search-attribute' ? [arg] : [])).sort();
}

describe('temporal-dev.yml', () => {
  const compose = parse(fs.readFileSync(path.join(__dirname, '..', 'temporal-dev.yml'), 'utf8')) as {
    services: Record<string, { image: string; command: string[]; ports: string[] }>;
  };
  const temporal = compose.services.temporal;

  it('registers exactly the search attributes declared in code, with their types', () => {
    expect(searchAttributePairs(temporal.command)).toEqual(declared);
  });

  it('runs the same CLI version as the dev stack and exposes the gRPC port and the Web UI', () => {
    expect(temporal.image).toBe(`temporalio/temporal:${GO_TOOLS.temporal.version.replace(/^v/, '')}`);
    expect(temporal.command.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(temporal.ports).toEqual(expect.arrayContaining(['127.0.0.1:7233:7233', '127.0.0.1:8233:8233']));
  });
});

describe('the dev server arguments', () => {
  it('spell every declared search attribute with its declared type', () => {
    expect(searchAttributePairs(cliSearchAttributeArgs())).toEqual(declared);
  });
});
