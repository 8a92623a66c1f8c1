// Memory of a running process, from /proc/<pid>/status (Linux only), sampled
// on a fixed period so that peaks between samples are bounded by VmHWM.

export interface MemorySample {
  /** Peak resident set size the kernel has seen (kB). */
  vmHwmKb: number;
  /** Resident anonymous memory: heaps, stacks, buffers (kB). */
  rssAnonKb: number;
}

export async function readMemory(pid: number): Promise<MemorySample | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/status`);
  } catch {
    return null;
  }
  const field = (name: string) => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : NaN;
  };
  const sample = { vmHwmKb: field("VmHWM"), rssAnonKb: field("RssAnon") };
  // A process still in exec (or already a zombie) has no memory lines.
  return Number.isNaN(sample.vmHwmKb) || Number.isNaN(sample.rssAnonKb)
    ? null
    : sample;
}

export interface MemoryPeaks {
  peakVmHwmKb: number;
  peakRssAnonKb: number;
  samples: number;
}

/** Samples `pid` every `periodMs` until stop() is called; returns the peaks. */
export function sampleMemory(
  pid: number,
  periodMs = 20,
  onSample?: (sample: MemorySample) => void,
): {
  stop(): Promise<MemoryPeaks>;
  latest(): MemorySample | null;
} {
  const peaks: MemoryPeaks = { peakVmHwmKb: 0, peakRssAnonKb: 0, samples: 0 };
  let last: MemorySample | null = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      const s = await readMemory(pid);
      if (s === null) {
        if (!(await exists(pid))) break;
        await new Promise((r) => setTimeout(r, periodMs));
        continue;
      }
      last = s;
      onSample?.(s);
      peaks.samples++;
      peaks.peakVmHwmKb = Math.max(peaks.peakVmHwmKb, s.vmHwmKb);
      peaks.peakRssAnonKb = Math.max(peaks.peakRssAnonKb, s.rssAnonKb);
      await new Promise((r) => setTimeout(r, periodMs));
    }
  })();
  return {
    latest: () => last,
    stop: async () => {
      running = false;
      await loop;
      return peaks;
    },
  };
}

async function exists(pid: number): Promise<boolean> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/stat`);
    // A zombie (state Z) has exited and has no memory left to sample.
    return !/^\d+ \(.*\) Z/.test(text);
  } catch {
    return false;
  }
}

/**
 * Pages of `pid` referenced since the last clearReferenced (kB, anonymous and
 * file-backed: heap, stacks, and the runtime's own code pages in use), from
 * /proc/<pid>/smaps_rollup. What a pod really needs resident while it works.
 */
export async function readReferenced(pid: number): Promise<number | null> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
    const m = text.match(/^Referenced:\s+(\d+) kB/m);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Clears the referenced bits of every page of `pid` (needs the same uid). */
export async function clearReferenced(pid: number): Promise<boolean> {
  try {
    await Deno.writeTextFile(`/proc/${pid}/clear_refs`, "1");
    return true;
  } catch {
    return false;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU time a process has used so far (user and system, all its threads), in
 * milliseconds; null once it is gone. Unlike wall time, it does not depend on
 * what else the machine runs.
 */
export async function cpuTimeMs(pid: number): Promise<number | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // Fields after the command name, which may hold spaces: utime and stime
  // are the 14th and 15th fields of the line.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 1000 / USER_HZ;
}
