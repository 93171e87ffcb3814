import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isNode, type Node as YamlNode } from 'yaml';
import { InputError, type InputIssue } from './errors.js';
import type { z } from 'zod';

/** A parsed YAML file that can map a field path back to its line. */
export interface YamlSource {
  file: string;
  data: unknown;
  /** 1-based line of the node at `path`, or of its closest existing parent. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

/**
 * Reads and parses a YAML file. Syntax errors become an InputError with the
 * line of each error; a missing file becomes an InputError naming the file.
 */
export function readYamlFile(file: string): YamlSource {
  return parseYamlText(file, readInputFile(file));
}

/** Reads a user-supplied text file; a missing or unreadable one becomes an
 * InputError (exit 2) naming the file. */
export function readInputFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new InputError([{ file, path: '', message: reason }], { cause: err });
  }
}

/** Parses YAML text; `file` is used only in messages. */
export function parseYamlText(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line,
        path: '',
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    let node: unknown = doc.contents;
    let best: number | undefined = lineOfNode(node, lineCounter);
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isNode(p.key) ? (p.key as { value?: unknown }).value : p.key) === key);
        if (!pair) break;
        best = lineOfNode(pair.key, lineCounter) ?? best;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
      } else break;
      best = lineOfNode(node, lineCounter) ?? best;
    }
    return best;
  };
  return { file, data: doc.toJS({ maxAliasCount: 100 }), lineOf };
}

function lineOfNode(node: unknown, lc: LineCounter): number | undefined {
  const range = isNode(node) ? (node as YamlNode).range : undefined;
  return range ? lc.linePos(range[0]).line : undefined;
}

/** Renders a zod issue path as `a.b[2].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  // JSON.stringify gives undefined only for a function or a symbol: name its type.
  return json === undefined ? typeof value : json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key as string];
  }
  return cur;
}

/**
 * Validates `source.data` with a zod schema. Returns the parsed value, or
 * throws one InputError listing every issue with its path, line, the value
 * received and what was expected. Unknown keys are reported one issue each.
 */
export function validateYaml<S extends z.ZodType>(source: YamlSource, schema: S): z.output<S> {
  const parsed = schema.safeParse(source.data);
  if (parsed.success) return parsed.data;
  const issues = zodIssuesToInputIssues(source, parsed.error.issues);
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new InputError(issues);
}

/** Converts zod issues to InputIssues located in `source`. */
export function zodIssuesToInputIssues(source: YamlSource, issues: readonly z.core.$ZodIssue[]): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        out.push({ file: source.file, line: source.lineOf(path), path: formatPath(path), message: 'unknown key' });
      }
      continue;
    }
    const received = describeValue(valueAt(source.data, issue.path));
    out.push({
      file: source.file,
      line: source.lineOf(issue.path),
      path: formatPath(issue.path),
      message: `${issue.message} (got ${received})`,
    });
  }
  return out;
}
