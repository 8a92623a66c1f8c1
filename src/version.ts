// The version as the agent reports it: the event's collector_version and
// collector_git_commit, the User-Agent of deliveries, `hodometer version`.

import { BUILD_INFO } from "./build_info.ts";

/** This build's version: the event's `collector_version`. */
export const COLLECTOR_VERSION: string = BUILD_INFO.version;
/** The commit this build was made from: the event's `collector_git_commit`. */
export const COLLECTOR_GIT_COMMIT: string = BUILD_INFO.gitCommit;

/**
 * What `hodometer version` and `--version` print: the version, the git commit
 * and the Deno, V8 and TypeScript versions of the runtime, one per line.
 */
export function versionText(): string {
  return [
    `hodometer ${COLLECTOR_VERSION}`,
    `git commit: ${COLLECTOR_GIT_COMMIT}`,
    `runtime: deno ${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`,
  ].join("\n");
}
