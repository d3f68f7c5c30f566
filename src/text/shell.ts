/** Text made safe for the sandbox's `sh -c`: recipes build their commands with these, never by pasting. */

/** `text` as one single-quoted shell word. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A command that writes `text` to `file` byte for byte (as base64, so no byte of it is read by the shell). */
export function writeFileCommand(file: string, text: string): string {
  return `printf '%s' ${shellQuote(Buffer.from(text).toString('base64'))} | base64 -d > ${shellQuote(file)}`;
}
