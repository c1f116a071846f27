/**
 * Who holds a running job, and whether they still live. An owner is `host/pid/run`: a run of this process counts as
 * alive while it runs; another pid on this host is alive while the OS knows it; anything else holding a job (a
 * killed process, a database file copied from another machine) is an orphan, and its jobs can be taken back.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Owners running in this process, across consolidator instances: anything else from our pid is dead. */
const liveOwners = new Set<string>();
const thisHost = hostname();

export function ownerIsAlive(owner: string | null): boolean {
  if (owner === null) return false;
  if (liveOwners.has(owner)) return true;
  const [host, pidText] = owner.split('/');
  const pid = Number(pidText);
  // A job held by another machine (a database file copied over) can only be an orphan here.
  if (host !== thisHost || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `task` under a fresh owner id that `ownerIsAlive` reports alive until the task settles. */
export async function asLiveOwner<T>(task: (owner: string) => Promise<T>): Promise<T> {
  const owner = `${thisHost}/${process.pid}/${randomUUID()}`;
  liveOwners.add(owner);
  try {
    return await task(owner);
  } finally {
    liveOwners.delete(owner);
  }
}
