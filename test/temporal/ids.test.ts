import { CHANGE_BRANCH_PREFIX, changeBranch, runWorkflowId, workflowUiUrl } from '../../src/temporal/ids';

describe('names spelled in ids.ts', () => {
  it('a change branch is regatta/<changeKey>, and starts with the prefix forges filter by', () => {
    expect(changeBranch('logger-2x')).toBe('regatta/logger-2x');
    expect(changeBranch('logger-2x').startsWith(CHANGE_BRANCH_PREFIX)).toBe(true);
  });

  it('a Web UI link escapes the namespace and the workflow id, and names a run only when asked', () => {
    const runId = runWorkflowId('c', 'acme/catalog');
    expect(workflowUiUrl('http://127.0.0.1:8233', 'default', runId)).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows/run%2Fc%2Facme%2Fcatalog',
    );
    expect(workflowUiUrl('https://ui.example', 'team a', 'campaign/x', 'r-1')).toBe(
      'https://ui.example/namespaces/team%20a/workflows/campaign%2Fx/r-1/history',
    );
  });
});
