/** CODEOWNERS as GitHub reads it: the last matching rule for each changed file names its reviewers. */
import { codeOwnersFor } from '../../src/forges/codeowners';

const CODEOWNERS = `
# Everyone's fallback
*                 @platform-lead
*.md              @docs-writer
/src/             @acme/storefront
src/billing/      @billing-owner   # nested rule wins for its files
docs/*            @docs-writer @someone@acme.invalid
/build/**/*.js    @build-bot
vendor/           # nobody owns vendored code
`;

describe('CODEOWNERS', () => {
  it('takes the last matching rule per file, teams as org/team, e-mail owners left out', () => {
    expect(codeOwnersFor(CODEOWNERS, ['src/labels.js'])).toEqual(['acme/storefront']);
    expect(codeOwnersFor(CODEOWNERS, ['src/billing/invoice.js'])).toEqual(['billing-owner']);
    expect(codeOwnersFor(CODEOWNERS, ['README.md', 'src/README.md'])).toEqual(['docs-writer', 'acme/storefront']);
    expect(codeOwnersFor(CODEOWNERS, ['docs/guide.txt'])).toEqual(['docs-writer']);
    expect(codeOwnersFor(CODEOWNERS, ['docs/deep/guide.txt'])).toEqual(['platform-lead']);
    expect(codeOwnersFor(CODEOWNERS, ['build/a/b/c.js', 'build/c.js'])).toEqual(['build-bot']);
    expect(codeOwnersFor(CODEOWNERS, ['vendor/lib.js', 'lib/vendor/x.js'])).toEqual([]);
    expect(codeOwnersFor(CODEOWNERS, ['package.json'])).toEqual(['platform-lead']);
  });
});
