import { BUILD_INFO } from "./build_info.ts";

export const COLLECTOR_VERSION: string = BUILD_INFO.version;
export const COLLECTOR_GIT_COMMIT: string = BUILD_INFO.gitCommit;

export function versionText(): string {
  return [
    `hodometer ${COLLECTOR_VERSION}`,
    `git commit: ${COLLECTOR_GIT_COMMIT}`,
    `runtime: deno ${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`,
  ].join("\n");
}
