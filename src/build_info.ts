// Stamped by scripts/compile.sh when a binary is built; these are the values
// a run from source reports.
export const BUILD_INFO: { version: string; gitCommit: string } = {
  version: "dev",
  gitCommit: "unknown",
};
