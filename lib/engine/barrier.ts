/**
 * Hosts of side-by-side plays meeting before their post tasks: `wait`
 * resolves once every host has arrived or left (failed, stopped, or had no
 * post tasks), so no host waits for one that will never come.
 */
export class Barrier {
  private left: number;
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => { this.open = resolve; });

  constructor(hosts: number) {
    this.left = hosts;
    if (hosts <= 0) this.open();
  }

  /** One host's place at the barrier: it arrives (and waits) or leaves, counted once either way. */
  arrival(): { wait(): Promise<void>; leave(): void } {
    let counted = false;
    const count = () => {
      if (counted) return;
      counted = true;
      if (--this.left <= 0) this.open();
    };
    return {
      wait: () => { count(); return this.opened; },
      leave: count,
    };
  }
}
