/**
 * Child supervision: keeps one stdio server process running, restarts it with
 * backoff when it exits (a child that stayed up longer than the longest delay
 * starts afresh; a crash loop slows down), and knows when it is ready. What
 * "ready" takes (the MCP handshake) is the bridge's `handshake`; messages of
 * an old process never reach the bridge once a new one was started.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { restartDelay, type BackoffOptions } from "./backoff.ts";
import { describeExit, startChild, type ChildCommand, type StdioChild } from "./child.ts";
import type { OversizedLine } from "./lines.ts";

export interface SupervisorOptions extends ChildCommand {
  readonly backoff: BackoffOptions;
  readonly maxLineBytes: number;
  readonly onMessage: (message: JSONRPCMessage) => void;
  readonly onOversized: (line: OversizedLine) => void;
  /** The current process exited (described, e.g. "exited with code 3"); a restart may follow. */
  readonly onExit: (description: string) => void;
  /** Makes a new process ready (initialize and so on); false: restart it. */
  readonly handshake: (generation: number) => Promise<boolean>;
}

export interface SupervisorStatus {
  readonly ready: boolean;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly lastExit: string | undefined;
}

export class ChildSupervisor {
  readonly #options: SupervisorOptions;
  #child: StdioChild | undefined;
  #generation = 0;
  #ready = false;
  #stopped = false;
  #attempt = 0;
  #restarts = 0;
  #readySince = 0;
  #lastExit: string | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #readyWaiters: (() => void)[] = [];

  constructor(options: SupervisorOptions) {
    this.#options = options;
  }

  /** Which process is current; a handshake checks it is still the one it began with. */
  get generation(): number {
    return this.#generation;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get lastExit(): string | undefined {
    return this.#lastExit;
  }

  start(): void {
    this.#stopped = false;
    this.#spawn();
  }

  /** Stops the child for good; waiters are woken (not ready). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#wake();
    await this.#child?.stop();
  }

  /** False when no process is running or its stdin is closed. */
  send(message: JSONRPCMessage): boolean {
    return this.#child?.send(message) ?? false;
  }

  status(): SupervisorStatus {
    return {
      ready: this.#ready,
      pid: this.#ready ? this.#child?.pid : undefined,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
    };
  }

  /** Resolves when the child is ready, false on timeout or stop. */
  async whenReady(timeoutMs: number): Promise<boolean> {
    if (this.#ready) return true;
    if (this.#stopped) return false;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(this.#ready);
      };
      this.#readyWaiters.push(wake);
    });
  }

  #wake(): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const wake of waiters) wake();
  }

  #spawn(): void {
    const generation = ++this.#generation;
    const { command, args, env, cwd, logger } = this.#options;
    const child = startChild({
      command,
      args,
      ...(env ? { env } : {}),
      ...(cwd ? { cwd } : {}),
      logger: logger.child({ child: command }),
      maxLineBytes: this.#options.maxLineBytes,
      onMessage: (message) => {
        if (generation === this.#generation) this.#options.onMessage(message);
      },
      onOversized: (line) => {
        if (generation === this.#generation) this.#options.onOversized(line);
      },
      onExit: (exit) => this.#onExit(generation, describeExit(exit)),
    });
    this.#child = child;
    logger.info({ pid: child.pid, generation }, "started stdio server");
    void this.#handshake(generation);
  }

  async #handshake(generation: number): Promise<void> {
    const ok = await this.#options.handshake(generation);
    if (generation !== this.#generation || this.#stopped) return;
    if (!ok) {
      await this.#child?.stop();
      return;
    }
    this.#ready = true;
    this.#readySince = Date.now();
    this.#wake();
  }

  #onExit(generation: number, description: string): void {
    if (generation !== this.#generation) return;
    const wasReady = this.#ready;
    this.#ready = false;
    this.#lastExit = description;
    this.#options.onExit(description);
    const { logger, backoff } = this.#options;
    if (this.#stopped) {
      logger.info({ exit: description }, "stdio server stopped");
      return;
    }
    if (wasReady && Date.now() - this.#readySince > backoff.maxDelayMs) this.#attempt = 0;
    const delay = restartDelay(this.#attempt++, backoff);
    this.#restarts++;
    logger.warn({ exit: description, restartInMs: delay, attempt: this.#attempt }, "stdio server exited");
    this.#restartTimer = setTimeout(() => this.#spawn(), delay);
  }
}
