// How long each function of a TypeScript file is, counted as the guide counts
// it: the lines of its own code, meaning the lines of its body that hold code
// of its own, not those of functions nested in it, and not blank or
// comment-only lines (a line of a multi-line template literal holds code). Read
// with the TypeScript compiler's own parser (npm:typescript, a test-only
// package: it never reaches the binary's module graph, tests/layout_test.ts).
//
// A function allowed to be longer than the rule says why in a line comment
// right above it that starts with `// long:` (LONG_REASON).

import ts from "typescript";
import { sourceFiles } from "./program_files.ts";

/** One function, its own code lines and where it is. */
export interface FunctionSize {
  /** What the function is called: its name, `Class.method`, or `<anonymous>`. */
  name: string;
  /** Its file, as given. */
  file: string;
  /** The line its declaration starts on, from 1. */
  line: number;
  /** Lines of its own code (see the module's comment). */
  ownLines: number;
  /** The reason its `// long:` comment gives; undefined when it has none. */
  longReason?: string;
}

/** The comment a long function carries right above it: `// long: <reason>`. */
export const LONG_REASON = /^\/\/\s*long:\s*(.*\S)\s*$/;

/** The function-like nodes that have a body of their own. */
type WithBody = ts.FunctionLikeDeclaration & { body: ts.Node };

function hasBody(node: ts.Node): node is WithBody {
  return ts.isFunctionLike(node) &&
    (node as ts.FunctionLikeDeclaration).body !== undefined;
}

/** The name a person would look for: the declared one, or what it is assigned to. */
function nameOf(node: WithBody, sf: ts.SourceFile): string {
  const own = node.name?.getText(sf);
  const parent = node.parent;
  if (own !== undefined && ts.isClassLike(parent) && parent.name) {
    return `${parent.name.getText(sf)}.${own}`;
  }
  if (own !== undefined) return own;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) {
    return parent.name.getText(sf);
  }
  if (ts.isPropertyDeclaration(parent) && ts.isClassLike(parent.parent)) {
    return `${parent.parent.name?.getText(sf) ?? ""}.${
      parent.name.getText(sf)
    }`;
  }
  return "<anonymous>";
}

/**
 * The node whose leading comments are the function's: the statement that
 * declares it (`export const f = () => …` included), or the function itself.
 */
function declarationOf(node: WithBody): ts.Node {
  let at: ts.Node = node;
  const p = node.parent;
  if (ts.isVariableDeclaration(p) && ts.isVariableDeclarationList(p.parent)) {
    at = ts.isVariableStatement(p.parent.parent) ? p.parent.parent : p;
  } else if (ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) at = p;
  return at;
}

/**
 * The reason given by a `// long:` comment right above `node`: among the
 * comments that touch its declaration, no blank line between.
 */
function longReasonOf(node: WithBody, sf: ts.SourceFile): string | undefined {
  const at = declarationOf(node);
  const comments = ts.getLeadingCommentRanges(sf.text, at.getFullStart()) ??
    [];
  let next = at.getStart(sf);
  for (const c of comments.toReversed()) {
    if (/\n[ \t\r]*\n/.test(sf.text.slice(c.end, next))) break;
    const m = LONG_REASON.exec(sf.text.slice(c.pos, c.end));
    if (m) return m[1];
    next = c.pos;
  }
  return undefined;
}

/** Every token of the file but the end of file and JSDoc, in order. */
function tokensOf(sf: ts.SourceFile): ts.Node[] {
  const out: ts.Node[] = [];
  const visit = (node: ts.Node) => {
    if (
      node.kind >= ts.SyntaxKind.FirstJSDocNode &&
      node.kind <= ts.SyntaxKind.LastJSDocNode
    ) return;
    const children = node.getChildren(sf);
    if (children.length === 0) {
      if (node.kind !== ts.SyntaxKind.EndOfFileToken) out.push(node);
      return;
    }
    children.forEach(visit);
  };
  visit(sf);
  return out;
}

/** The function whose own code `token` is: the innermost body holding it, braces aside. */
function ownerOf(token: ts.Node): WithBody | undefined {
  for (let n: ts.Node | undefined = token.parent; n; n = n.parent) {
    if (!hasBody(n)) continue;
    const body = n.body;
    const inBody = token.pos >= body.pos && token.end <= body.end;
    const brace = ts.isBlock(body) && token.parent === body &&
      (token.kind === ts.SyntaxKind.OpenBraceToken ||
        token.kind === ts.SyntaxKind.CloseBraceToken);
    if (inBody && !brace) return n;
  }
  return undefined;
}

/** The size of every function with a body in `text` (the source of `file`). */
export function measureFunctions(file: string, text: string): FunctionSize[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const lines = new Map<WithBody, Set<number>>();
  for (const token of tokensOf(sf)) {
    const owner = ownerOf(token);
    if (owner === undefined) continue;
    let own = lines.get(owner);
    if (own === undefined) lines.set(owner, own = new Set());
    const last = lineOf(token.end);
    for (let l = lineOf(token.getStart(sf)); l <= last; l++) own.add(l);
  }
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node) => {
    if (hasBody(node)) {
      out.push({
        name: nameOf(node, sf),
        file,
        line: lineOf(node.getStart(sf)) + 1,
        ownLines: lines.get(node)?.size ?? 0,
        longReason: longReasonOf(node, sf),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every function of the files under `dir` of `root`, measured. */
export function measureTree(root: URL, dir = "src/"): FunctionSize[] {
  return sourceFiles(root, dir).flatMap((file) =>
    measureFunctions(file, Deno.readTextFileSync(new URL(file, root)))
  );
}

// `deno run --allow-read --allow-env tests/function_size.ts [DIR] [--over N]`:
// the functions under DIR (src/ unless given) of the current directory with
// more than N lines of their own code (40 unless given), longest first.
if (import.meta.main) {
  const at = Deno.args.indexOf("--over");
  const over = at < 0 ? 40 : Number(Deno.args[at + 1]);
  const dir = Deno.args.find((_, i) => i !== at && i !== at + 1) ?? "src/";
  const cwd = new URL(`file://${Deno.cwd()}/`);
  const sizes = measureTree(cwd, dir).filter((f) => f.ownLines > over);
  for (const f of sizes.sort((a, b) => b.ownLines - a.ownLines)) {
    const why = f.longReason ? `\t(long: ${f.longReason})` : "";
    console.log(`${f.ownLines}\t${f.file}:${f.line}\t${f.name}${why}`);
  }
}
