/**
 * SIGINT/SIGTERM while a run is under way. The first interruption ends the step running now (its
 * process group on the host) and lets the run compensate as its plan says; a second one stops
 * everything: no further step starts. The door that receives the signals (the CLI) owns it.
 */
export class Interruption {
  readonly signals: NodeJS.Signals[] = [];
  private readonly running = new Set<AbortController>();

  interrupt(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    for (const c of this.running) c.abort(signal);
  }

  /** How many interruptions came so far. */
  get count(): number {
    return this.signals.length;
  }

  /** After a second interruption nothing more runs. */
  get stopped(): boolean {
    return this.signals.length > 1;
  }

  /** A signal for one step: aborted by an interruption that comes while the step runs. */
  forStep(): { readonly signal: AbortSignal; done(): void } {
    const controller = new AbortController();
    if (this.stopped) controller.abort(this.signals.at(-1));
    this.running.add(controller);
    return { signal: controller.signal, done: () => this.running.delete(controller) };
  }
}
