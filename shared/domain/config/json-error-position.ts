interface Frame {
  readonly closer: "}" | "]";
  /** `first`: just opened, may close at once; `next`: after a comma; `after`: after a member. */
  state: "first" | "next" | "after";
}

/**
 * The offset of the first character that makes `text` invalid JSON (RFC 8259), or `text.length` when the
 * text ends too early. `JSON.parse` only sometimes says where it failed ("Unexpected token '}', ... is not
 * valid JSON" has no position), and users need a line to look at.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  let i = 0;
  // An explicit stack instead of recursion: deeply nested input must not overflow the call stack.
  const stack: Frame[] = [];

  const skipSpace = (): void => {
    while (i < n && " \t\n\r".includes(text.charAt(i))) i++;
  };
  const literal = (word: string): boolean => {
    for (const ch of word) {
      if (text[i] !== ch) return false;
      i++;
    }
    return true;
  };
  const string = (): boolean => {
    if (text[i] !== '"') return false;
    i++;
    while (i < n) {
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        i++;
        return true;
      }
      if (code < 0x20) return false;
      if (code !== 0x5c) {
        i++;
        continue;
      }
      const next = text.charAt(i + 1);
      if (next === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
        i += 6;
      } else if (next !== "" && '"\\/bfnrt'.includes(next)) i += 2;
      else return false;
    }
    return false;
  };
  /** Reads one value; a container only has its opener read and is pushed. */
  const value = (): boolean => {
    skipSpace();
    const ch = text.charAt(i);
    if (ch === "{" || ch === "[") {
      stack.push({ closer: ch === "{" ? "}" : "]", state: "first" });
      i++;
      return true;
    }
    if (ch === '"') return string();
    if (ch === "t") return literal("true");
    if (ch === "f") return literal("false");
    if (ch === "n") return literal("null");
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 512));
    if (match === null) return false;
    i += match[0].length;
    return true;
  };

  if (!value()) return Math.min(i, n);
  for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
    skipSpace();
    if (frame.state === "after") {
      if (text[i] === ",") {
        i++;
        frame.state = "next";
      } else if (text[i] === frame.closer) {
        i++;
        stack.pop();
      } else return Math.min(i, n);
      continue;
    }
    if (frame.state === "first" && text[i] === frame.closer) {
      i++;
      stack.pop();
      continue;
    }
    if (frame.closer === "}") {
      if (!string()) return Math.min(i, n);
      skipSpace();
      if (text[i] !== ":") return Math.min(i, n);
      i++;
    }
    frame.state = "after";
    if (!value()) return Math.min(i, n);
  }
  skipSpace();
  return Math.min(i, n);
}

/** 1-based line and column of an offset. */
export function lineAndColumn(
  text: string,
  offset: number,
): { readonly line: number; readonly column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 0x0a) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
