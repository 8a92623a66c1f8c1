// The exit statuses of every subcommand, in one table: the commands return
// them, `--help` and docs/configuration.md list them from here.

/** The exit statuses by name; EXIT_STATUSES says what each means per command. */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** An event did not reach every URL; the receiver could not start. */
  failed: 1,
  /** A bad setting, flag or command: nothing was done. */
  usage: 2,
  /** `collect`: a source could not be read (the event is still printed). */
  sourceFailed: 3,
} as const;

/** An exit status hodometer can end with. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];
/** What some of the statuses mean for one command, as `--help` says it. */
export type StatusMeanings = Readonly<Partial<Record<ExitCode, string>>>;

const NOT_DELIVERED =
  "the event did not reach every URL: refused, retries used up, or stopped by SIGTERM or SIGINT before delivery";

/** The same for every command unless it says more. */
const COMMON: StatusMeanings = {
  [EXIT.ok]: "success",
  [EXIT.usage]: "a bad setting, flag or command: nothing was done",
};

/** What a status means for one subcommand, where it says more than COMMON. */
export const EXIT_STATUSES: Readonly<Record<string, StatusMeanings>> = {
  run: {
    [EXIT.ok]:
      "--once: every URL got the event; without --once: stopped by SIGTERM or SIGINT between cycles",
    [EXIT.failed]: NOT_DELIVERED,
  },
  collect: {
    [EXIT.ok]:
      "every source was read (with --publish: and every URL got the event)",
    [EXIT.failed]: `with --publish: ${NOT_DELIVERED}`,
    [EXIT.sourceFailed]:
      "a source (the scheduler, Kubernetes) could not be read; the event is still printed, without its metrics",
  },
  receive: {
    [EXIT.ok]: "stopped by SIGTERM or SIGINT",
    [EXIT.failed]:
      "the event store could not be opened, or the address not listened on",
  },
};

/** The statuses a command can end with, lowest first. */
export function exitStatuses(command: string): [ExitCode, string][] {
  const merged: StatusMeanings = { ...COMMON, ...EXIT_STATUSES[command] };
  return Object.values(EXIT)
    .filter((code) => merged[code] !== undefined)
    .map((code) => [code, merged[code]!]);
}

/** For `hodometer --help`: one line per status, over all commands. */
export const EXIT_SUMMARY: readonly [ExitCode, string][] = [
  [EXIT.ok, "success"],
  [
    EXIT.failed,
    "run, collect --publish: an event did not reach every URL; receive: could not start",
  ],
  [EXIT.usage, COMMON[EXIT.usage]!],
  [EXIT.sourceFailed, "collect: a source could not be read"],
];

/** docs/configuration.md's list: each status, then what it means for each command. */
export function exitStatusMarkdown(): string {
  const lines: string[] = [];
  for (const code of Object.values(EXIT)) {
    const meanings = Object.entries(EXIT_STATUSES)
      .filter(([, m]) => m[code] !== undefined)
      .map(([command, m]) => `  - \`${command}\`: ${m[code]}`);
    if (code === EXIT.usage) {
      meanings.push(`  - every command: ${COMMON[code]}`);
    }
    if (meanings.length > 0) lines.push(`- **${code}**`, ...meanings);
  }
  return lines.join("\n");
}
