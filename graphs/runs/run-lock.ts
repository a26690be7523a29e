import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { UserError } from "../../core/errors.js";

/**
 * One owner process per run: `runs/<id>/owner.json` names the process working on the run (pid,
 * the process's start time, host). It is created atomically; a lock whose process has ended (or
 * whose pid now belongs to another process) is stale and may be taken over. A run whose status
 * says `running` while its owner is gone was interrupted (kill -9, a crash, a closed terminal).
 */

export interface RunOwner {
  pid: number;
  /** Start time of the process (Linux: clock ticks since boot from /proc; elsewhere undefined). */
  processStart?: string;
  host: string;
  /** When the lock was taken (ms since the epoch). */
  since: number;
  /** What the process is doing, for messages ("optimize", "resume", "chat"). */
  command?: string;
}

export function ownerPath(folder: string): string {
  return join(folder, "owner.json");
}

/** The start time of a process as the kernel records it, to tell a live owner from a reused pid. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The one-letter state of a process (R, S, D, Z, ...), or undefined when it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Whether the process named by a lock is still the one that took it. */
export function ownerAlive(owner: RunOwner): boolean {
  if (owner.host !== hostname()) return true; // another machine's process cannot be checked: assume it lives
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  // A killed owner that its parent has not reaped yet is a zombie: its pid answers signal 0 but nothing runs.
  if (processState(owner.pid) === "Z" || processState(owner.pid) === "X") return false;
  if (owner.processStart !== undefined) {
    const now = processStartTime(owner.pid);
    if (now !== undefined && now !== owner.processStart) return false;
  }
  return true;
}

/** The owner of a run, or undefined when no lock file exists (or it cannot be read). */
export function readOwner(folder: string): RunOwner | undefined {
  const path = ownerPath(folder);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RunOwner;
  } catch {
    return undefined;
  }
}

function safeRead(path: string): RunOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RunOwner;
  } catch {
    return undefined;
  }
}

/** The owner of a run while it is alive, undefined otherwise. */
export function liveOwner(folder: string): RunOwner | undefined {
  const owner = readOwner(folder);
  return owner && ownerAlive(owner) ? owner : undefined;
}

/** A held lock; release() removes it (only if it is still ours). */
export interface RunLock {
  owner: RunOwner;
  release(): void;
}

function describeOwner(owner: RunOwner): string {
  return `process ${owner.pid}${owner.command ? ` (kernelevolve ${owner.command})` : ""} since ${new Date(owner.since).toISOString()}`;
}

/**
 * Takes the run's lock for this process, or throws a UserError naming the live owner.
 * A stale lock (its process ended) is replaced.
 */
export function acquireRunLock(folder: string, runId: string, command?: string): RunLock {
  const path = ownerPath(folder);
  const owner: RunOwner = { pid: process.pid, processStart: processStartTime(process.pid), host: hostname(), since: Date.now(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const descriptor = openSync(path, "wx");
      try {
        writeSync(descriptor, JSON.stringify(owner));
      } finally {
        closeSync(descriptor);
      }
      return {
        owner,
        release() {
          const current = readOwner(folder);
          if (current && current.pid === owner.pid && current.since === owner.since) {
            try {
              unlinkSync(path);
            } catch {
              // already gone
            }
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const existing = readOwner(folder);
    if (existing && ownerAlive(existing)) {
      const self = existing.pid === process.pid ? " (this process already runs it)" : `; stop it first (Ctrl-C in its terminal, or kill ${existing.pid})`;
      throw new UserError("run_locked", `run ${runId} is being run by ${describeOwner(existing)}${self}`);
    }
    // Stale: move it aside atomically so two processes taking over cannot both win.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
      const moved = safeRead(aside);
      // Another process may have replaced the stale lock with its live one in between: put that back.
      if (existing && moved && (moved.pid !== existing.pid || moved.since !== existing.since)) renameSync(aside, path);
      else unlinkSync(aside);
    } catch {
      // another process moved it first; try again
    }
  }
  throw new UserError("run_locked", `could not take the lock of run ${runId} (${path}); another process keeps taking it`);
}
