/**
 * Where each value of a JSON text starts, by dotted path ("training.lr", "tags.0"), so that the
 * server's field-path errors can be shown at the line that holds the field. A small scanner, not
 * a parser: on text that is not JSON it returns what it found before the fault.
 */
export function jsonValueLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let position = 0;
  let line = 0;
  const skipSpace = () => {
    while (position < text.length && /\s/.test(text[position]!)) {
      if (text[position] === "\n") line++;
      position++;
    }
  };
  const readString = (): string => {
    let value = "";
    position++; // opening quote
    while (position < text.length && text[position] !== '"') {
      if (text[position] === "\\") position++;
      value += text[position] ?? "";
      position++;
    }
    position++;
    return value;
  };
  const value = (path: string, depth: number): void => {
    if (depth > 64) throw new Error("too deep");
    skipSpace();
    if (path) lines.set(path, line);
    const c = text[position];
    if (c === "{") {
      position++;
      skipSpace();
      if (text[position] === "}") return void position++;
      for (;;) {
        skipSpace();
        if (text[position] !== '"') throw new Error("expected a key");
        const keyLine = line;
        const key = readString();
        skipSpace();
        if (text[position] !== ":") throw new Error("expected :");
        position++;
        const childPath = path ? `${path}.${key}` : key;
        value(childPath, depth + 1);
        // A key's problems belong on the key's line even when its value starts on the next.
        lines.set(childPath, Math.min(lines.get(childPath) ?? keyLine, keyLine));
        skipSpace();
        if (text[position] === ",") position++;
        else if (text[position] === "}") return void position++;
        else throw new Error("expected , or }");
      }
    }
    if (c === "[") {
      position++;
      skipSpace();
      if (text[position] === "]") return void position++;
      for (let index = 0; ; index++) {
        value(path ? `${path}.${index}` : String(index), depth + 1);
        skipSpace();
        if (text[position] === ",") position++;
        else if (text[position] === "]") return void position++;
        else throw new Error("expected , or ]");
      }
    }
    if (c === '"') return void readString();
    const literal = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(position, position + 64));
    if (!literal) throw new Error("unexpected character");
    position += literal[0].length;
  };
  try {
    value("", 0);
  } catch {
    // keep what was found
  }
  return lines;
}

/** The line of `path`, or of its nearest ancestor present in the text (a missing field's object). */
export function lineOfPath(lines: Map<string, number>, path: string): number {
  const parts = path.split(".");
  while (parts.length > 0) {
    const found = lines.get(parts.join("."));
    if (found !== undefined) return found;
    parts.pop();
  }
  return 0;
}
