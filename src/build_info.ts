// What a binary says about its build. scripts/compile.ts stamps the values
// into the copy of the sources it compiles (stampBuildInfo); these are the
// ones a run from source reports.

/** What `hodometer version` and every event say about the build. */
export interface BuildInfo {
  /** The release, e.g. `2.9.0`; `dev` from source. */
  version: string;
  /** The commit built from; `unknown` from source. */
  gitCommit: string;
}

/** This build's version and commit; the compile script stamps the binary's. */
export const BUILD_INFO: BuildInfo = { version: "dev", gitCommit: "unknown" };
