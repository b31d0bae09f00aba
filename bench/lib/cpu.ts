// CPU time of this process's main thread alone (the servers under test run on it; the load
// generator has a thread of its own), from /proc on Linux, in milliseconds. Unlike event-loop
// busy time, it does not grow while the thread is runnable but another process holds the core,
// so on a loaded machine it is the steadier figure. Undefined where /proc is not there.
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

export function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name "(…)": state is the first, utime the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}
