/**
 * Small wording helpers of the CLI: counts with the right plural, sizes and ages in and out, the
 * examples block of each command's `--help`.
 */
import { InvalidArgumentError, type Command } from "commander";

/**
 * `n` and the noun, singular for exactly one.
 *
 * @example
 * count(1, "entry", "entries"); // "1 entry"
 * count(3, "stage");            // "3 stages"
 */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/**
 * A byte count for people: `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`.
 *
 * @example
 * human(1536); // "1.5 KiB"
 */
export function human(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Parses a size option: `500MB`, `2GiB`, `1024` (bytes); units are powers of 1024.
 *
 * @example
 * bytes("2k"); // 2048
 */
export function bytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`not a size: ${text} (e.g. 500MB, 2GiB)`);
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return Math.round(Number(m[1]) * unit);
}

/**
 * Parses an age option in milliseconds: `30d`, `12h`, `90m`, `45s`.
 *
 * @example
 * duration("12h"); // 43200000
 */
export function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`not a duration: ${text} (e.g. 30d, 12h)`);
  return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2]!.toLowerCase() as "s" | "m" | "h" | "d"];
}

/**
 * Adds an "Examples:" block to a command's `--help`.
 *
 * @example
 * withExamples(program.command("why"), [["memopipe why", "every stage of the last run"]]);
 */
export function withExamples(command: Command, examples: readonly (readonly [string, string])[]): Command {
  const width = Math.max(...examples.map(([line]) => line.length));
  return command.addHelpText("after", `\nExamples:\n${examples.map(([line, what]) => `  $ ${line.padEnd(width)}   ${what}`).join("\n")}\n`);
}
