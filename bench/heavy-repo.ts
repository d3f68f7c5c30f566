/** The benchmarks' repository of 2,005 files, shared by bench/sandbox.ts and bench/clone.ts. */

/** A repository of some heft: many small source files and a few larger ones. */
export function benchmarkFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 2_000; i++)
    files[`src/module-${Math.floor(i / 100)}/file-${i}.js`] =
      `module.exports = ${JSON.stringify('x'.repeat(500 + (i % 700)))};\n`;
  for (let i = 0; i < 5; i++)
    files[`data/blob-${i}.json`] = JSON.stringify(Array.from({ length: 40_000 }, (_, n) => n * (i + 1)));
  return files;
}
