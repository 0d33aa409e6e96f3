// JSON.parse turns an integer beyond 2^53 into the nearest double, silently. Amounts are i64
// minor units, so before parsing, every integer literal too large for a double is turned into a
// string literal of the same digits; money.ts takes either form exactly.

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const NUMBER_CHAR = /[-+0-9.eE]/;
const INTEGER = /^-?[0-9]+$/;

function isUnsafeInteger(token: string): boolean {
  if (!INTEGER.test(token)) return false;
  const value = BigInt(token);
  return value > MAX_SAFE || value < -MAX_SAFE;
}

/** The text with each unsafe integer literal quoted (strings are copied untouched). */
export function quoteLargeIntegers(text: string): string {
  let out = "";
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      // Skip the string, escapes included.
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      let end = i + 1;
      while (end < text.length && NUMBER_CHAR.test(text[end])) end++;
      const token = text.slice(i, end);
      if (isUnsafeInteger(token)) {
        out += `${text.slice(start, i)}"${token}"`;
        start = end;
      }
      i = end;
    } else {
      i++;
    }
  }
  return out + text.slice(start);
}

/** JSON.parse, but integers beyond ±(2^53 - 1) arrive as strings of their exact digits. */
export function parseJson(text: string): unknown {
  return JSON.parse(quoteLargeIntegers(text));
}
