// What a binary says about its build. scripts/compile.ts stamps the values
// into the copy of the sources it compiles (stampBuildInfo); these are the
// ones a run from source reports.

export interface BuildInfo {
  version: string;
  gitCommit: string;
}

export const BUILD_INFO: BuildInfo = { version: "dev", gitCommit: "unknown" };
