/**
 * The contract a deployment serves: `openapi.yaml` without the paths only the local server has
 * (`x-local-only: true`), which API Gateway does not route. Works on the text (a path is a two-space
 * indented key under `paths:` and runs until the next one) so that the handler needs no YAML parser.
 */
export function withoutLocalOnlyPaths(spec: string): string {
  const lines = spec.split("\n");
  const out: string[] = [];
  let inPaths = false;
  let block: string[] | undefined;
  const flush = () => {
    // The mark is an operation's key (six spaces in), not text in a description further in.
    if (block && !block.some((line) => /^ {6}x-local-only:\s*true\s*$/.test(line))) out.push(...block);
    block = undefined;
  };
  for (const line of lines) {
    if (/^\S/.test(line)) {
      flush();
      inPaths = line.startsWith("paths:");
      out.push(line);
      continue;
    }
    if (inPaths && /^ {2}\S/.test(line)) {
      flush();
      block = [line];
      continue;
    }
    if (block) block.push(line);
    else out.push(line);
  }
  flush();
  return out.join("\n");
}
