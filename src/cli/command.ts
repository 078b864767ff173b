/** A `fenced` subcommand. Each lives in its own file and is listed once in `main.ts`. */
export interface Command {
  /** One line for `fenced --help`. */
  summary: string;
  /** The full text of `fenced <name> --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
