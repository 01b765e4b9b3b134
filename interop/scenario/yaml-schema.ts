// YAML documents checked against a JSON Schema, every problem located as file:line:col — shared by scenario files
// and peer files, so both report errors the same way.

import { LineCounter, parseDocument, isMap, isScalar, type Document, type Node } from 'yaml';
import Ajv, { type ErrorObject } from 'ajv';

/** A user error in a YAML input file: printed as `file:line:col: message`, exit code 2. */
/**
 * One problem as printed: `file:line:col: message`, or `file: message` for a problem with the file as a whole (it
 * cannot be read): line 0 means "no position", never printed as 0:0.
 */
export function formatProblem(p: { file: string; line: number; col: number; message: string }): string {
  return p.line > 0 ? `${p.file}:${p.line}:${Math.max(1, p.col)}: ${p.message}` : `${p.file}: ${p.message}`;
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
  constructor(readonly problems: { file: string; line: number; col: number; message: string }[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}


export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  at(offset: number): Located {
    const p = this.lc.linePos(offset);
    return { line: p.line, col: p.col };
  }

  node(path: (string | number)[]): Node | undefined {
    if (path.length === 0) return this.doc.contents ?? undefined;
    return this.doc.getIn(path, true) as Node | undefined;
  }

  /** Position of the value at path, or of the nearest ancestor that exists. */
  value(path: (string | number)[]): Located {
    for (let n = path.length; n >= 0; n--) {
      const node = this.node(path.slice(0, n));
      if (node?.range) return this.at(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  /** Position of the key `key` inside the map at path (falls back to the map). */
  key(path: (string | number)[], key: string): Located {
    const map = this.node(path);
    if (isMap(map)) {
      for (const pair of map.items) {
        const k = pair.key as Node | null;
        if (isScalar(k) && String(k.value) === key && k.range) return this.at(k.range[0]);
      }
    }
    return this.value(path);
  }
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describePath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || 'the document';
}

function schemaAt(schema: Record<string, unknown>, schemaPath: string): Record<string, unknown> | undefined {
  // "#/properties/network/.../pattern" → the subschema owning the failed keyword
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1);
  let cur: unknown = schema;
  for (const p of parts) {
    if (cur && typeof cur === 'object') cur = (cur as Record<string, unknown>)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (cur && typeof cur === 'object' && '$ref' in (cur as object)) {
    const ref = String((cur as Record<string, unknown>)['$ref']).replace('#/definitions/', '');
    return (schema['definitions'] as Record<string, Record<string, unknown>>)[ref];
  }
  return cur as Record<string, unknown> | undefined;
}

function explain(schema: Record<string, unknown>, err: ErrorObject, loc: Locator): { at: Located; message: string; depth: number } {
  const path = pointerToPath(err.instancePath);
  const where = describePath(path);
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(p['additionalProperty']);
      const allowed = Object.keys((schemaAt(schema, err.schemaPath)?.['properties'] as object) ?? {});
      return { at: loc.key(path, key), depth: path.length + 1, message: `unknown key '${key}' in ${where}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}` };
    }
    case 'required':
      return { at: loc.value(path), depth: path.length, message: `missing required key '${String(p['missingProperty'])}' in ${where}` };
    case 'enum':
      return { at: loc.value(path), depth: path.length, message: `${where} must be one of: ${(p['allowedValues'] as unknown[]).map(String).join(', ')}` };
    case 'pattern': {
      const sub = schemaAt(schema, err.schemaPath);
      const desc = typeof sub?.['description'] === 'string' ? String(sub['description']) : `a value matching ${String(p['pattern'])}`;
      const value = loc.node(path);
      const shown = isScalar(value) ? JSON.stringify(value.value) : 'value';
      return { at: loc.value(path), depth: path.length, message: `${where}: ${shown} is not ${desc.replace(/^an? /, (m) => m)}` };
    }
    case 'type':
      return { at: loc.value(path), depth: path.length, message: `${where} must be ${String(p['type'])}` };
    case 'minProperties':
      return { at: loc.value(path), depth: path.length, message: `${where} must not be empty` };
    case 'maxProperties':
      return { at: loc.value(path), depth: path.length, message: `${where} must have exactly one action` };
    case 'oneOf':
      return { at: loc.value(path), depth: path.length - 0.5, message: `${where} is not a valid ${path.includes('steps') ? 'step' : 'value'}` };
    default:
      return { at: loc.value(path), depth: path.length, message: `${where} ${err.message ?? 'is invalid'}` };
  }
}

export type Located = { line: number; col: number };

/** A compiled schema (compiled on first use: compiling costs CPU at the start of commands that never need it). */
export class YamlSchema {
  private compiled: ReturnType<Ajv.default['compile']> | undefined;
  constructor(readonly schema: Record<string, unknown>) {}

  /** Parses and validates; throws ScenarioError with every problem, most specific first. `notMapping` is the message for a document that is not a mapping. */
  parse(text: string, file: string, notMapping: string): { data: Record<string, any>; loc: Locator } { // eslint-disable-line @typescript-eslint/no-explicit-any
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    const loc = new Locator(doc, lc);
    if (doc.errors.length) {
      throw new ScenarioError(
        doc.errors.map((e) => {
          const at = loc.at(e.pos[0]);
          return { file, ...at, message: `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}` };
        }),
      );
    }
    const data = doc.toJS() as unknown;
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ScenarioError([{ file, line: 1, col: 1, message: notMapping }]);
    this.compiled ??= new Ajv.default({ allErrors: true, strict: false }).compile(this.schema);
    const validate = this.compiled;
    if (!validate(data)) {
      const seen = new Set<string>();
      const problems = (validate.errors ?? [])
        .map((e) => explain(this.schema, e, loc))
        // the most specific errors first; drop the oneOf summaries when a deeper error explains them
        .sort((a, b) => b.depth - a.depth)
        .filter((p) => {
          const k = `${p.at.line}:${p.at.col}`;
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        })
        .sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col)
        .map((p) => ({ file, ...p.at, message: p.message }));
      throw new ScenarioError(problems);
    }
    return { data: data as Record<string, any>, loc }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
}
