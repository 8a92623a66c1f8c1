// Exit statuses every subcommand shares.

/** A setting (flag, variable, or a file it names) cannot be used. */
export const EXIT_CONFIG = 2;
