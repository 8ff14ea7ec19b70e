// Builds requests from the OpenAPI document: a plausible valid request per operation, then the same request
// with one value at a time replaced by one that breaks the schema (NUL characters, lone surrogates,
// over-long strings, wrong types, impossible or out-of-range dates, crafted cursors).
import { toBase64Url, utf8 } from '../../worker/platform/encoding.ts';

type Schema = Record<string, any>;
export type Doc = { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> } };

export interface Operation {
  method: string;
  path: string;
  security: string[];
  params: Array<{ name: string; in: 'path' | 'query' | 'header'; schema: Schema; required: boolean }>;
  body?: { type: 'json' | 'form'; schema: Schema };
}

export interface WalkRequest {
  /** Where the breaking value went, e.g. `body.owner` or `query.cursor`. */
  where: string;
  /** Field path as the API's `errors[].path` names it (body fields only). */
  field?: string;
  value: string;
  method: string;
  path: string;
  body?: unknown;
  form?: Record<string, string>;
}

export function operations(doc: Doc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const content = op.requestBody?.content ?? {};
      const json = content['application/json']?.schema;
      const form = content['application/x-www-form-urlencoded']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        security: (op.security ?? []).flatMap((s: Record<string, string[]>) => Object.keys(s)),
        params: (op.parameters ?? []).map((p: any) => ({
          name: p.name,
          in: p.in,
          schema: p.schema ?? {},
          required: !!p.required,
        })),
        body: json ? { type: 'json', schema: json } : form ? { type: 'form', schema: form } : undefined,
      });
    }
  }
  return ops;
}

/** Resolves local `$ref`s. */
export function deref(doc: Doc, s: Schema | undefined): Schema {
  let out = s ?? {};
  while (typeof out.$ref === 'string') out = doc.components?.schemas?.[out.$ref.split('/').pop()!] ?? {};
  return out;
}

const typeOf = (s: Schema): string | undefined =>
  Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type;

/** Values that fit a field, chosen by name where the schema alone cannot say (URLs that must be reachable). */
export interface Samples {
  /** A value, or a function making a fresh one per request (unique names). */
  byName: Record<string, unknown>;
}

/** A plausible valid value for `s`. */
export function sample(doc: Doc, s0: Schema | undefined, name: string, samples: Samples): unknown {
  const s = deref(doc, s0);
  if (name in samples.byName) {
    const v = samples.byName[name];
    return typeof v === 'function' ? v() : v;
  }
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (s.const !== undefined) return s.const;
  const alt = s.anyOf ?? s.oneOf;
  if (Array.isArray(alt))
    return sample(doc, alt.find((a: Schema) => deref(doc, a).type !== 'null') ?? alt[0], name, samples);
  switch (typeOf(s)) {
    case 'string':
      if (s.format === 'uuid') return crypto.randomUUID();
      if (s.format === 'email') return 'walker@example.com';
      if (s.format === 'uri' || s.format === 'url') return 'https://example.com/walk';
      if (s.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    case 'integer':
    case 'number':
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => sample(doc, s.items, name, samples));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Schema>))
        out[k] = sample(doc, v, k, samples);
      return out;
    }
    default:
      return 'x';
  }
}

/** encodeURIComponent, with a lone surrogate sent as its (invalid) UTF-8 bytes instead of throwing. */
const encode = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return `${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))}%ED%A0%80`;
  }
};

const cursorOf = (createdAt: string) => toBase64Url(utf8(JSON.stringify([createdAt, crypto.randomUUID()])));

/** Dates that JavaScript's Date accepts (or rolls over) but that are not instants Postgres can store. */
export const BAD_DATES = [
  '2020-02-30',
  '1',
  '+275760-09-13T00:00:00.000Z',
  '0000-01-01T00:00:00Z',
  '2020-13-01T00:00:00Z',
];

/** Values that break a string field of `s`: control characters, broken Unicode, too long, wrong type. */
function breakString(s: Schema): unknown[] {
  const tooLong = 'a'.repeat(Math.min((s.maxLength ?? 70_000) + 1, 200_000));
  const out: unknown[] = ['\u0000', 'ok\u0000ok', '\ud800', tooLong, 12345, { nested: true }];
  if (s.format === 'date-time' || s.format === 'date') out.push(...BAD_DATES);
  return out;
}

function breakValue(doc: Doc, s0: Schema): unknown[] {
  const s = deref(doc, s0);
  const alt = s.anyOf ?? s.oneOf;
  if (Array.isArray(alt)) return alt.flatMap((a: Schema) => (deref(doc, a).type === 'null' ? [] : breakValue(doc, a)));
  switch (typeOf(s)) {
    case 'integer':
    case 'number':
      return [-1, 1e308, 1.5, '7', '\u0000'];
    case 'boolean':
      return ['true', 0, '\u0000'];
    case 'array':
      return ['\u0000', Array.from({ length: 5000 }, () => 'x'), [{ nested: true }]];
    case 'object':
      return ['\u0000', []];
    default:
      return breakString(s);
  }
}

/** Every leaf of a sampled object (arrays: their first element), with its path. */
function leaves(doc: Doc, s0: Schema, path: string[]): Array<{ path: string[]; schema: Schema }> {
  const s = deref(doc, s0);
  const type = typeOf(s);
  const here = path.length > 0 ? [{ path, schema: s }] : [];
  if (type === 'object' && s.properties) {
    return [
      ...here,
      ...Object.entries(s.properties as Record<string, Schema>).flatMap(([k, v]) => leaves(doc, v, [...path, k])),
    ];
  }
  if (type === 'array' && s.items && typeOf(deref(doc, s.items)) !== 'object') {
    return [...here, { path: [...path, '0'], schema: deref(doc, s.items) }];
  }
  return here;
}

function setAt(target: any, path: string[], value: unknown): any {
  const copy = structuredClone(target);
  let node = copy;
  for (const p of path.slice(0, -1)) node = node[p];
  node[path[path.length - 1]!] = value;
  return copy;
}

const describe = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 20)}…(${s.length} chars)` : JSON.stringify(s);
};

/** The operation with every value sampled valid (path parameters from `pathValues`). */
export function validRequest(
  doc: Doc,
  op: Operation,
  samples: Samples,
  pathValues: Record<string, string>,
): WalkRequest {
  return { ...breakingRequests(doc, op, samples, pathValues, true)[0]!, where: 'none', value: '' };
}

/** The breaking requests of one operation, given valid values for its path parameters. */
export function breakingRequests(
  doc: Doc,
  op: Operation,
  samples: Samples,
  pathValues: Record<string, string>,
  validOnly = false,
): WalkRequest[] {
  const fill = (overrides: Record<string, string> = {}) =>
    op.path.replace(/\{([^}]+)\}/g, (_, n: string) => encode(overrides[n] ?? pathValues[n] ?? crypto.randomUUID()));
  const query = (extra: Record<string, string> = {}) => {
    const q = new URLSearchParams();
    for (const p of op.params.filter((x) => x.in === 'query' && x.required))
      q.set(p.name, String(sample(doc, p.schema, p.name, samples)));
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    const s = [...q].map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
    return s ? `?${s}` : '';
  };
  const baseBody = () => (op.body ? sample(doc, op.body.schema, '', samples) : undefined);
  const bodyOf = (b: unknown) =>
    op.body?.type === 'form'
      ? {
          form: Object.fromEntries(
            Object.entries(b as Record<string, unknown>).map(([k, v]) => [
              k,
              typeof v === 'string' ? v : JSON.stringify(v),
            ]),
          ),
        }
      : { body: b };
  const out: WalkRequest[] = [];
  if (validOnly)
    return [{ where: 'none', value: '', method: op.method, path: `${fill()}${query()}`, ...bodyOf(baseBody()) }];

  for (const p of op.params) {
    if (p.in === 'header') continue; // Fetch refuses control characters in headers before anything is sent.
    const values = [...breakValue(doc, p.schema), '%00', '../..', ...BAD_DATES];
    if (p.name === 'cursor')
      values.push(...BAD_DATES.map(cursorOf), `${cursorOf('2020-01-01T00:00:00Z').slice(0, -3)}\u0000`);
    for (const v of values) {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      const path = p.in === 'path' ? fill({ [p.name]: text }) : fill();
      out.push({
        where: `${p.in}.${p.name}`,
        value: describe(v),
        method: op.method,
        path: `${path}${p.in === 'query' ? query({ [p.name]: text }) : query()}`,
        ...bodyOf(baseBody()),
      });
    }
  }
  if (op.body) {
    for (const leaf of leaves(doc, op.body.schema, [])) {
      for (const v of breakValue(doc, leaf.schema)) {
        out.push({
          where: `body.${leaf.path.join('.')}`,
          field: leaf.path.join('.'),
          value: describe(v),
          method: op.method,
          path: `${fill()}${query()}`,
          ...bodyOf(setAt(baseBody(), leaf.path, v)),
        });
      }
    }
  }
  return out;
}
