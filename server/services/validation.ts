import { CONFIG_LIMITS } from "../../schema/config.js";
import { InvalidInputError } from "./errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Rejects a malformed id before it reaches SQL (where it would surface as a database error). */
export function requireUuid(value: string, path: string): string {
  if (!UUID.test(value)) throw InvalidInputError.single(path, `"${truncate(value)}" is not a valid id`);
  return value.toLowerCase();
}

export function requireIntInRange(value: number, path: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw InvalidInputError.single(path, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Checks a short text argument (a name, a key, a filter value): at most `maxLength` characters and
 * no control characters — PostgreSQL cannot store NUL at all, and line breaks or escapes in names
 * would forge lines in logs and terminals.
 */
export function requirePlainText(value: string, path: string, maxLength: number, minLength = 1): string {
  if (value.length < minLength || value.length > maxLength) {
    throw InvalidInputError.single(path, minLength > 0 ? `must be ${minLength} to ${maxLength} characters` : `must be at most ${maxLength} characters`);
  }
  if (CONTROL_CHARACTERS.test(value)) throw InvalidInputError.single(path, "must not contain control characters");
  return value;
}

export const MAX_TAGS = CONFIG_LIMITS.tags;
export const MAX_TAG_LENGTH = CONFIG_LIMITS.tagLength;

/** Trims, drops duplicates (keeping first occurrences) and checks each tag. */
export function normaliseTags(tags: readonly string[], path: string): string[] {
  const problems: Array<{ path: string; message: string }> = [];
  const seen = new Set<string>();
  const result: string[] = [];
  tags.forEach((raw, index) => {
    const tag = raw.trim();
    if (tag.length === 0) problems.push({ path: `${path}.${index}`, message: "must not be empty" });
    else if (tag.length > MAX_TAG_LENGTH) problems.push({ path: `${path}.${index}`, message: `must be at most ${MAX_TAG_LENGTH} characters` });
    else if (CONTROL_CHARACTERS.test(tag)) problems.push({ path: `${path}.${index}`, message: "must not contain control characters" });
    else if (!seen.has(tag)) {
      seen.add(tag);
      result.push(tag);
    }
  });
  if (result.length > MAX_TAGS) problems.push({ path, message: `at most ${MAX_TAGS} tags` });
  if (problems.length > 0) throw new InvalidInputError(`invalid tags: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`, problems);
  return result;
}

export function truncate(value: string, length = 60): string {
  return value.length > length ? `${value.slice(0, length)}…` : value;
}
