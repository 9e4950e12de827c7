/** Reading an experiment config file: a clear error for a missing file, bad JSON or bad fields. */
import { readFile } from "node:fs/promises";
import { InvalidConfigError, requireExperimentConfig, type ExperimentConfig } from "../schema/config.js";

export class ConfigFileError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = "ConfigFileError";
  }
}

export async function readConfigFile(file: string): Promise<ExperimentConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigFileError(file, (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `cannot read (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(file, `not valid JSON (${(error as Error).message})`);
  }
  try {
    return requireExperimentConfig(json);
  } catch (error) {
    if (error instanceof InvalidConfigError) throw new ConfigFileError(file, error.message);
    throw error;
  }
}
