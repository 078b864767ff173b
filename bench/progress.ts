/**
 * A progress bar on stderr, so stdout stays clean for `--json`. On a terminal it redraws one line; elsewhere (CI,
 * a pipe) it prints a line when the step label changes, at most once a second.
 */
export class ProgressBar {
  private done = 0;
  private label = "";
  private lastPrinted = 0;
  private readonly started = performance.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private total: number,
    private readonly enabled = true,
  ) {}

  /** Adds steps discovered late (a section that only knows its size once it starts). */
  grow(steps: number): void {
    this.total += steps;
    this.draw();
  }

  /** Marks one step done and names the next. */
  step(label: string): void {
    this.done++;
    this.label = label;
    this.draw();
  }

  /** Names what is running now without counting a step. */
  status(label: string): void {
    this.label = label;
    this.draw();
  }

  finish(): void {
    if (!this.enabled) return;
    this.done = this.total;
    this.draw(true);
    if (this.tty) process.stderr.write("\n");
  }

  private draw(force = false): void {
    if (!this.enabled) return;
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const elapsed = (performance.now() - this.started) / 1000;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${elapsed.toFixed(0).padStart(4)}s ${this.label}`;
    if (this.tty) {
      process.stderr.write(
        `\r${line.slice(0, (process.stderr.columns ?? 120) - 1).padEnd((process.stderr.columns ?? 120) - 1)}`,
      );
    } else if (force || performance.now() - this.lastPrinted > 1000) {
      this.lastPrinted = performance.now();
      process.stderr.write(`${line}\n`);
    }
  }
}
