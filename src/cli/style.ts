/**
 * Colour for the CLI, decided per stream: a stream gets ANSI colours only when it is a terminal
 * (stdout on a terminal and stderr redirected to a file: colours on stdout, none in the file),
 * unless the environment says otherwise. `util.styleText` would do this but is missing before
 * Node 20.12, and four colours are a few lines.
 *
 * The environment, as Node and the `supports-color` package read it: `FORCE_COLOR` set to
 * anything but `0` or `false` (an empty value included) turns colours on even when piped; `0` or
 * `false` turns them off; otherwise a non-empty `NO_COLOR` (https://no-color.org) or `TERM=dumb`
 * turns them off.
 */

/** A stream's "is this a terminal" flag. */
export interface MaybeTerminal {
  readonly isTTY?: boolean | undefined;
}

/**
 * Whether output written to `stream` should carry colours.
 *
 * @example
 * useColour(process.stderr);                       // true on a terminal, false when redirected
 * useColour({ isTTY: false }, { FORCE_COLOR: "1" }); // true
 * useColour({ isTTY: true }, { NO_COLOR: "1" });     // false
 */
export function useColour(stream: MaybeTerminal, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !/^(0|false)$/i.test(force.trim());
  if (env.NO_COLOR) return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

/** The colours the CLI uses; each returns its text unchanged when the stream gets no colours. */
export interface Paint {
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
}

const codes = { red: [31, 39], green: [32, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] } as const;

/**
 * The colours for one stream.
 *
 * @example
 * const err = paint(process.stderr);
 * console.error(`${err.red("memopipe:")} something went wrong`);
 */
export function paint(stream: MaybeTerminal, env: NodeJS.ProcessEnv = process.env): Paint {
  const on = useColour(stream, env);
  const style = ([open, close]: readonly [number, number]) => (text: string) => (on ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return { red: style(codes.red), green: style(codes.green), yellow: style(codes.yellow), dim: style(codes.dim), bold: style(codes.bold) };
}

/** The colours of stdout and of stderr, each decided for its own stream. */
export const out: Paint = paint(process.stdout);
export const err: Paint = paint(process.stderr);
