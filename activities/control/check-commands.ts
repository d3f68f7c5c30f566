/** checkCommands: the control plane reads the commands an attempt reports with the same shell parser the policy uses. */
import { describeRefusedCommand, loadCommandPolicy } from '../../policies';

export interface CommandCheck {
  commands: string[];
  allowlist: string[];
}

/** Each refused command line with the parts refused and why; empty when every line is allowed. */
export async function checkCommands(input: CommandCheck): Promise<string[]> {
  const policy = await loadCommandPolicy();
  return input.commands
    .map((command) => policy.check(command, input.allowlist))
    .filter((refusals) => refusals.length > 0)
    .map(describeRefusedCommand);
}
