// `hodometer metrics`: the catalogue of what can be reported, as a table or
// as JSON for machines.

import { CATALOGUE } from "../metrics/catalogue.ts";

/**
 * `hodometer metrics`: the catalogue as a table a person reads, with what
 * the levels mean, or (`json`) as JSON for a program.
 */
export function metricsText(json: boolean): string {
  if (json) return JSON.stringify(CATALOGUE, null, 2);
  const header = ["metric", "level", "type", "source", "meaning"];
  const rows = CATALOGUE.map((m) => [
    m.name,
    m.level,
    m.type,
    m.source,
    m.description,
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))
      .join("  ");
  return [
    line(header),
    ...rows.map(line),
    "",
    "Levels: cluster ⊂ resource ⊂ feature (METRICS_LEVEL, --level); " +
    '"always" metrics are in every event. A metric whose source cannot be ' +
    "read is omitted, never reported as 0.",
  ].join("\n");
}
