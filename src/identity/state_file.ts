// The cluster id persisted on a host, where no ConfigMap can keep it:
// `<stateDir>/cluster_id`, one UUID. Created atomically (write a private temp file in the same directory,
// then publish it under the final name), so a reader never sees half an id.

import { isUuid } from "../config/parsers.ts";
import { errorMessage } from "../runtime/error_message.ts";

/** The state file's name in STATE_DIR. */
export const CLUSTER_ID_FILE = "cluster_id";

/** Longer content cannot be a UUID; the read stops there. */
const MAX_READ = 256;

/** The id the state file holds. */
export interface StateFileId {
  /** A UUID, lower-case. */
  id: string;
  /** True when this call wrote the file. */
  created: boolean;
}

/** What loading or creating the state file needs. */
export interface StateFileOptions {
  /** The directory of the file; created (private) when missing. */
  stateDir: string;
  /** A fresh random UUID, for a file that is missing or holds none. */
  newId: () => string;
  /** Told when an existing file does not hold a UUID and is replaced. */
  warn: (message: string) => void;
}

/** The state file's path in `stateDir`. */
export function clusterIdPath(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/${CLUSTER_ID_FILE}`;
}

/** The id stored in the state file, creating or repairing the file when needed. */
export async function loadOrCreateStateFileId(
  options: StateFileOptions,
): Promise<StateFileId | Error> {
  const path = clusterIdPath(options.stateDir);
  const existing = await readId(path);
  if (existing instanceof Error) return existing;
  if (existing.kind === "valid") return { id: existing.id, created: false };
  if (existing.kind === "invalid") {
    options.warn(
      `state file ${path} does not hold a UUID; replacing it with a new cluster id`,
    );
  }

  const id = options.newId().trim().toLowerCase();
  if (!isUuid(id)) return new Error(`the new cluster id "${id}" is not a UUID`);
  try {
    await Deno.mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    return cannot(`create directory ${options.stateDir}`, err);
  }
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    try {
      await writePrivate(temp, `${id}\n`);
    } catch (err) {
      return cannot(`write ${temp}`, err);
    }
    if (existing.kind === "missing") {
      // A hard link fails when the name exists: of concurrent first runs,
      // exactly one creates the file and the others adopt its id.
      try {
        await Deno.link(temp, path);
        return { id, created: true };
      } catch (err) {
        if (err instanceof Deno.errors.AlreadyExists) {
          return adoptWinner(path);
        }
        // Some file systems have no hard links: rename below instead.
      }
    }
    try {
      await Deno.rename(temp, path);
    } catch (err) {
      return cannot(`write ${path}`, err);
    }
    // Another process may have renamed its own id into place meanwhile; the
    // file is the truth.
    const settled = await readId(path);
    if (settled instanceof Error || settled.kind !== "valid") {
      return { id, created: true };
    }
    return { id: settled.id, created: settled.id === id };
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

/**
 * The id stored in the state file, read only: undefined when there is none
 * (or it holds no UUID), never creating or repairing the file.
 */
export async function readStateFileId(
  stateDir: string,
): Promise<string | undefined | Error> {
  const found = await readId(clusterIdPath(stateDir));
  if (found instanceof Error) return found;
  return found.kind === "valid" ? found.id : undefined;
}

type ReadResult =
  | { kind: "valid"; id: string }
  | { kind: "invalid" }
  | { kind: "missing" };

async function readId(path: string): Promise<ReadResult | Error> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { kind: "missing" };
    return cannot(`read ${path}`, err);
  }
  try {
    const buffer = new Uint8Array(MAX_READ);
    let size = 0;
    while (size < MAX_READ) {
      const n = await file.read(buffer.subarray(size));
      if (n === null) break;
      size += n;
    }
    const text = new TextDecoder().decode(buffer.subarray(0, size)).trim();
    return size < MAX_READ && isUuid(text)
      ? { kind: "valid", id: text.toLowerCase() }
      : { kind: "invalid" };
  } catch (err) {
    // e.g. the path is a directory
    return cannot(`read ${path}`, err);
  } finally {
    file.close();
  }
}

async function adoptWinner(path: string): Promise<StateFileId | Error> {
  const winner = await readId(path);
  if (winner instanceof Error) return winner;
  if (winner.kind !== "valid") {
    return new Error(`${path} was created concurrently without a UUID`);
  }
  return { id: winner.id, created: false };
}

async function writePrivate(path: string, text: string): Promise<void> {
  const file = await Deno.open(path, {
    write: true,
    createNew: true,
    mode: 0o600,
  });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let at = 0; at < bytes.length;) {
      at += await file.write(bytes.subarray(at));
    }
    await file.sync();
  } finally {
    file.close();
  }
}

function cannot(what: string, err: unknown): Error {
  return new Error(`cannot ${what}: ${errorMessage(err)}`);
}
