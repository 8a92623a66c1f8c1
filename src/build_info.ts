// Stamped by scripts/compile.sh when a binary is built; these are the values
// a run from source reports. A binary may write only its own state directory
// (its permissions are fixed at build time), so it defaults to that one.
export const BUILD_INFO: {
  version: string;
  gitCommit: string;
  stateDir?: string;
} = { version: "dev", gitCommit: "unknown" };
