// What the documentation tests read out of Markdown: headings and the anchors
// GitHub makes of them, links, code spans and shell lines, and the check that
// every relative link leads somewhere. Pure functions over text; the test
// (tests/readme_test.ts) reads the files.

/** `text` with fenced code blocks blanked out, line for line. */
export function withoutFences(text: string): string {
  let fence: string | undefined;
  return text.split("\n").map((line) => {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && open) {
      fence = open;
      return "";
    }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence[0]!.repeat(fence.length))) {
        fence = undefined;
      }
      return "";
    }
    return line;
  }).join("\n");
}

/** A code span: backticks, its content, the same run of backticks. */
const CODE_SPAN = /(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g;

/** The contents of the inline code spans outside fenced blocks. */
export function codeSpans(text: string): string[] {
  return [...withoutFences(text).matchAll(CODE_SPAN)].map((m) =>
    m[2]!.replace(/\s+/g, " ").trim()
  );
}

/** The prose: fences, code spans and HTML comments blanked (newlines kept). */
export function prose(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  return withoutFences(text).replace(/<!--[\s\S]*?-->/g, blank)
    .replace(CODE_SPAN, blank);
}

/** The lines of ```sh blocks, continuation lines joined, comments dropped. */
export function shellLines(text: string): string[] {
  const blocks = [...text.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)];
  return blocks.flatMap((m) =>
    m[1]!.replace(/\\\n\s*/g, " ").split("\n")
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line !== "")
  );
}

/**
 * A heading's anchor as GitHub makes it (github-slugger): lower case, every
 * character but letters, marks, numbers, `_`, `-` and spaces dropped, each
 * space a `-`. `text` is the heading as written; its Markdown is read first.
 */
export function slug(text: string): string {
  return headingText(text).toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The text a heading renders to: code spans kept as written, markup dropped. */
function headingText(markdown: string): string {
  return markdown.trim().split(/(`+[^`]*`+)/).map((part, i) =>
    i % 2 === 1 ? part.replace(/^`+\s?|\s?`+$/g, "") : part
      .replace(/!\[[^\]]*\]\([^)]*\)/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .replace(/\\(.)/g, "$1")
      .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, "$1")
  ).join("");
}

/**
 * Every anchor a page offers: its headings' slugs, a repeated one suffixed
 * `-1`, `-2`… as GitHub does, and any HTML `id` or `name`.
 */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const lines = withoutFences(text).split("\n");
  lines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    const setext = /^ {0,3}(=+|-+)[ \t]*$/.test(lines[i + 1] ?? "") &&
      line.trim() !== "" && !/^ {0,3}([-*+]|\d+[.)])\s|^ {0,3}#/.test(line);
    const heading = atx?.[1] ?? (setext ? line : undefined);
    if (heading === undefined) return;
    const base = slug(heading);
    let anchor = base;
    while (out.has(anchor)) {
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      anchor = `${base}-${n}`;
    }
    out.add(anchor);
  });
  for (const m of text.matchAll(/<[a-z][^>]*\s(?:id|name)="([^"]+)"/gi)) {
    out.add(m[1]!);
  }
  return out;
}

/** A link of a page: where it points and the line it is on. */
export interface Link {
  target: string;
  line: number;
}

/**
 * The links of a page outside code: inline `[text](target)` and images,
 * reference definitions `[id]: target`, autolinks `<https://…>` and bare
 * `http(s)://` addresses, which GitHub links too.
 */
export function links(text: string): Link[] {
  const body = prose(text);
  const lineOf = (index: number) => body.slice(0, index).split("\n").length;
  const found: Link[] = [];
  const patterns = [
    /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
    /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm,
    /<(https?:\/\/[^>\s]+)>/g,
  ];
  let rest = body;
  for (const pattern of patterns) {
    for (const m of body.matchAll(pattern)) {
      found.push({ target: m[1]!, line: lineOf(m.index!) });
    }
    rest = rest.replace(pattern, (s) => " ".repeat(s.length));
  }
  for (const m of rest.matchAll(/\bhttps?:\/\/[^\s<>()[\]`"]+/g)) {
    found.push({
      target: m[0].replace(/[.,:;!?'*_]+$/, ""),
      line: lineOf(m.index!),
    });
  }
  return found.sort((a, b) => a.line - b.line);
}

/** `target` resolved against the folder of `from` (both relative to the repository); undefined outside it. */
export function resolvePath(from: string, target: string): string | undefined {
  const parts = from.split("/").slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

/** What the link check needs of the repository. */
export interface Repository {
  /** "file", "dir", or undefined when nothing is at `path`. */
  kind(path: string): "file" | "dir" | undefined;
  /** The text of a Markdown file at `path`. */
  read(path: string): string;
}

/** What the link check found. */
export interface LinkReport {
  /** One line per link that leads nowhere, or is not a well-formed URL. */
  problems: string[];
  /** Every external http(s) link, with where it is. */
  external: Map<string, string[]>;
}

/**
 * Checks the links of `pages`: a relative link must lead to a file or folder
 * of the repository and, with `#anchor`, to an anchor of that Markdown file
 * (a code file takes GitHub's line anchors `#L12`, `#L12-L20`); an external
 * link must be a well-formed http(s) URL, and is listed, not fetched.
 */
export function checkLinks(
  pages: readonly string[],
  repo: Repository,
): LinkReport {
  const problems: string[] = [];
  const external = new Map<string, string[]>();
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsFor = (path: string) => {
    if (!anchorsOf.has(path)) anchorsOf.set(path, anchors(repo.read(path)));
    return anchorsOf.get(path)!;
  };
  for (const page of pages) {
    for (const { target, line } of links(repo.read(page))) {
      const where = `${page}:${line}`;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        const problem = externalProblem(target);
        if (problem) problems.push(`${where}: ${target}: ${problem}`);
        else external.set(target, [...external.get(target) ?? [], where]);
        continue;
      }
      const problem = relativeProblem(page, target, repo, anchorsFor);
      if (problem) problems.push(`${where}: ${target}: ${problem}`);
    }
  }
  return { problems, external };
}

/** Why an absolute URL is not a well-formed http(s) link, if it is not. */
function externalProblem(target: string): string | undefined {
  if (!/^https?:\/\//.test(target)) return "only http(s) links are expected";
  try {
    const url = new URL(target);
    if (!/^[a-z0-9.-]+$/i.test(url.hostname) || !url.hostname.includes(".")) {
      return `no public host name (${url.hostname})`;
    }
  } catch {
    return "not a well-formed URL";
  }
  return undefined;
}

/** Why a relative link leads nowhere, if it does. */
function relativeProblem(
  page: string,
  target: string,
  repo: Repository,
  anchorsFor: (path: string) => Set<string>,
): string | undefined {
  const [rawPath = "", anchor] = target.split("#", 2);
  let pathPart: string;
  try {
    pathPart = decodeURIComponent(rawPath.split("?")[0]!);
  } catch {
    return "not a well-formed path";
  }
  const path = pathPart === "" ? page : resolvePath(page, pathPart);
  if (path === undefined) return "leads outside the repository";
  const kind = repo.kind(path);
  if (kind === undefined) return `no file ${path}`;
  if (anchor === undefined) return undefined;
  if (kind === "dir") return `${path} is a folder: no #${anchor} there`;
  if (!path.endsWith(".md")) {
    return /^L\d+(-L\d+)?$/.test(anchor)
      ? undefined
      : `#${anchor}: only line anchors (#L12) lead into ${path}`;
  }
  return anchorsFor(path).has(anchor)
    ? undefined
    : `${path} has no heading with the anchor #${anchor}`;
}
