/** The flag parsing every `swamp` subcommand shares: strict flags, `--help`, and exit code 2 with the usage on a bad one. */
import { parseArgs, type ParseArgsConfig } from "node:util";

type CommandOptions = NonNullable<ParseArgsConfig["options"]> & { help: { type: "boolean" } };

type ParsedCommandLine<O extends CommandOptions, P extends boolean> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: P; strict: true }>>;

/**
 * Parses a subcommand's arguments. A flag it does not know (or a bad value) prints
 * `swamp COMMAND: reason` and the usage on stderr; `--help` prints the usage on stdout. Either way
 * the exit code comes back instead of the parse.
 */
export function parseCommandLine<const O extends CommandOptions, const P extends boolean = false>(
  command: string,
  usage: string,
  argv: string[],
  options: O,
  allowPositionals?: P,
): ParsedCommandLine<O, P> | number {
  let parsed: ParsedCommandLine<O, P>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: (allowPositionals ?? false) as P, strict: true });
  } catch (error) {
    process.stderr.write(`swamp ${command}: ${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return parsed;
}
