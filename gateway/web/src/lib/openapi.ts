// The gateway's OpenAPI 3.1 document (/api/openapi.json) turned into what the API reference
// page shows: operations grouped by tag, parameters, bodies and responses with their `$ref`s
// resolved, schemas with their fields, and types as short text with links. Pure: no DOM, so
// the tests feed it a sample document. The document is data, never markup: descriptions come
// back as text blocks for the page to render as text.

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const members = (value: unknown): Array<[string, unknown]> => (isObject(value) ? Object.entries(value) : []);

/** Deeper than any real schema; stops self-referencing ones from recursing forever. */
const MAX_DEPTH = 12;
const SCHEMA_REF = '#/components/schemas/';
const RESPONSE_REF = '#/components/responses/';
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** The anchors of the page's own sections. */
export const SECTION_IDS = { auth: 'docs-auth', schemas: 'docs-schemas' } as const;
const RESERVED_IDS = Object.values(SECTION_IDS);

/** The input is not an OpenAPI 3 document. */
export class OpenApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenApiError';
  }
}

// --- types as text -----------------------------------------------------------------------

export type TypeExpr =
  | { kind: 'ref'; name: string }
  | { kind: 'type'; name: string; format?: string }
  | { kind: 'array'; items: TypeExpr }
  | { kind: 'map'; values: TypeExpr }
  | { kind: 'union'; variants: TypeExpr[] }
  | { kind: 'all'; parts: TypeExpr[] }
  | { kind: 'null' }
  | { kind: 'any' };

/** The few words a type needs; the page translates them. */
export type TypeWord = 'arrayOf' | 'mapOf' | 'any';
export type TypeSegment = { kind: 'text'; text: string } | { kind: 'ref'; name: string } | { kind: 'word'; word: TypeWord };

const ANY: TypeExpr = { kind: 'any' };
const NULL: TypeExpr = { kind: 'null' };

/** A JSON pointer inside the document (`#/components/schemas/File`), or undefined. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    let key: string;
    try {
      key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined;
    }
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node) && Object.prototype.hasOwnProperty.call(node, key)) node = node[key];
    else return undefined;
  }
  return node;
}

/** `#/components/schemas/File` → `File`. */
export function schemaName(ref: string): string | null {
  if (!ref.startsWith(SCHEMA_REF)) return null;
  const name = ref.slice(SCHEMA_REF.length);
  return name && !name.includes('/') ? name.replace(/~1/g, '/').replace(/~0/g, '~') : null;
}

/** Follows `$ref`s to the object they name; `ref` is the last one followed. */
function deref(doc: JsonObject, value: unknown): { node: unknown; ref: string | null } {
  let node = value;
  let ref: string | null = null;
  for (let hops = 0; hops < MAX_DEPTH && isObject(node) && typeof node.$ref === 'string'; hops++) {
    ref = node.$ref;
    node = resolvePointer(doc, node.$ref);
  }
  return { node, ref };
}

function unionOf(parts: TypeExpr[]): TypeExpr {
  const flat = parts.flatMap((part) => (part.kind === 'union' ? part.variants : [part]));
  const seen = new Set<string>();
  const unique = flat.filter((part) => {
    const key = JSON.stringify(part);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.some((part) => part.kind === 'any')) return ANY;
  // `null` reads best last: `string | null`.
  const ordered = [...unique.filter((part) => part.kind !== 'null'), ...unique.filter((part) => part.kind === 'null')];
  if (ordered.length === 0) return ANY;
  return ordered.length === 1 ? ordered[0] : { kind: 'union', variants: ordered };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeNames(schema: JsonObject): string[] {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((name): name is string => typeof name === 'string');
  if (isObject(schema.properties) || isObject(schema.additionalProperties)) return ['object'];
  if (schema.items !== undefined) return ['array'];
  const values = 'const' in schema ? [schema.const] : list(schema.enum);
  return [...new Set(values.map(jsonType))];
}

/** The type a schema describes, with references kept as names. */
export function typeOf(schema: unknown, doc: JsonObject = {}, depth = 0): TypeExpr {
  if (!isObject(schema) || depth > MAX_DEPTH) return ANY;
  const nullable = schema.nullable === true; // OpenAPI 3.0 spelling
  const withNull = (expr: TypeExpr) => (nullable ? unionOf([expr, NULL]) : expr);
  if (typeof schema.$ref === 'string') {
    const name = schemaName(schema.$ref);
    return withNull(name ? { kind: 'ref', name } : typeOf(resolvePointer(doc, schema.$ref), doc, depth + 1));
  }
  const alternatives = list(schema.oneOf).length > 0 ? list(schema.oneOf) : list(schema.anyOf);
  if (alternatives.length > 0) return withNull(unionOf(alternatives.map((item) => typeOf(item, doc, depth + 1))));
  const parts = list(schema.allOf);
  if (parts.length === 1) return withNull(typeOf(parts[0], doc, depth + 1));
  if (parts.length > 1) return withNull({ kind: 'all', parts: parts.map((part) => typeOf(part, doc, depth + 1)) });
  const variants = typeNames(schema).map((name): TypeExpr => {
    if (name === 'null') return NULL;
    if (name === 'array') return { kind: 'array', items: schema.items === undefined ? ANY : typeOf(schema.items, doc, depth + 1) };
    if (name === 'object' && !isObject(schema.properties) && isObject(schema.additionalProperties)) {
      return { kind: 'map', values: typeOf(schema.additionalProperties, doc, depth + 1) };
    }
    const format = str(schema.format);
    return format && name !== 'object' ? { kind: 'type', name, format } : { kind: 'type', name };
  });
  return withNull(unionOf(variants));
}

/** A type as text and links: `array of ` + File, `string (date-time) | null`. */
export function typeSegments(expr: TypeExpr): TypeSegment[] {
  const out: TypeSegment[] = [];
  const text = (value: string) => {
    const last = out[out.length - 1];
    if (last?.kind === 'text') last.text += value;
    else out.push({ kind: 'text', text: value });
  };
  // Parentheses only where the reading would be ambiguous: `array of (string | null)`.
  const walk = (node: TypeExpr, place: 'top' | 'item' | 'member') => {
    switch (node.kind) {
      case 'ref':
        out.push({ kind: 'ref', name: node.name });
        return;
      case 'type':
        text(node.format ? `${node.name} (${node.format})` : node.name);
        return;
      case 'null':
        text('null');
        return;
      case 'any':
        out.push({ kind: 'word', word: 'any' });
        return;
      case 'array':
      case 'map': {
        if (place === 'member') text('(');
        out.push({ kind: 'word', word: node.kind === 'array' ? 'arrayOf' : 'mapOf' });
        text(' ');
        walk(node.kind === 'array' ? node.items : node.values, 'item');
        if (place === 'member') text(')');
        return;
      }
      case 'union':
      case 'all': {
        const wrap = place !== 'top';
        if (wrap) text('(');
        const parts = node.kind === 'union' ? node.variants : node.parts;
        parts.forEach((part, index) => {
          if (index > 0) text(node.kind === 'union' ? ' | ' : ' & ');
          walk(part, 'member');
        });
        if (wrap) text(')');
      }
    }
  };
  walk(expr, 'top');
  return out;
}

export function typeText(expr: TypeExpr, words: Record<TypeWord, string>): string {
  return typeSegments(expr)
    .map((segment) => (segment.kind === 'text' ? segment.text : segment.kind === 'ref' ? segment.name : words[segment.word]))
    .join('');
}

// --- what a schema says about a value ------------------------------------------------------

export type ConstraintKind =
  | 'minimum'
  | 'maximum'
  | 'exclusiveMinimum'
  | 'exclusiveMaximum'
  | 'multipleOf'
  | 'minLength'
  | 'maxLength'
  | 'pattern'
  | 'minItems'
  | 'maxItems'
  | 'uniqueItems'
  | 'mediaType';

export interface Constraint {
  kind: ConstraintKind;
  value: string;
}

const NUMERIC_CONSTRAINTS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'minItems', 'maxItems'] as const;

export interface Variant {
  type: TypeExpr;
  description: string;
  constraints: Constraint[];
  enumValues: string[];
}

export interface SchemaDetails {
  type: TypeExpr;
  description: string;
  /** Allowed values, as shown: strings as they are, anything else as JSON. */
  enumValues: string[];
  /** As JSON. */
  defaultValue: string | null;
  /** As JSON. */
  examples: string[];
  constraints: Constraint[];
  /** The alternatives of a `oneOf`/`anyOf` that say more than their type. */
  variants: Variant[];
  deprecated: boolean;
  readOnly: boolean;
  writeOnly: boolean;
}

/** How a JSON value is shown: compact JSON. */
export function formatJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function formatEnumValue(value: unknown): string {
  return typeof value === 'string' ? value : formatJson(value);
}

function constraintsOf(schema: JsonObject): Constraint[] {
  const found: Constraint[] = [];
  for (const kind of NUMERIC_CONSTRAINTS) {
    const value = schema[kind];
    if (typeof value === 'number') found.push({ kind, value: String(value) });
  }
  if (typeof schema.pattern === 'string') found.push({ kind: 'pattern', value: schema.pattern });
  if (schema.uniqueItems === true) found.push({ kind: 'uniqueItems', value: '' });
  if (typeof schema.contentMediaType === 'string') found.push({ kind: 'mediaType', value: schema.contentMediaType });
  return found;
}

function ownEnum(schema: JsonObject): string[] {
  const values = 'const' in schema ? [schema.const] : list(schema.enum);
  return values.map(formatEnumValue);
}

/** Values of inline alternatives and array items count too (`Option<Enum>` is a oneOf with null). */
function enumValuesOf(schema: JsonObject): string[] {
  const values = [...ownEnum(schema)];
  if (values.length === 0) {
    for (const part of [...list(schema.oneOf), ...list(schema.anyOf), ...list(schema.allOf)]) {
      if (isObject(part)) values.push(...ownEnum(part));
    }
  }
  if (values.length === 0 && isObject(schema.items)) values.push(...ownEnum(schema.items));
  return [...new Set(values)];
}

function examplesOf(...sources: unknown[]): string[] {
  const found: string[] = [];
  for (const source of sources) {
    if (!isObject(source)) continue;
    if (source.example !== undefined) found.push(formatJson(source.example));
    if (Array.isArray(source.examples)) found.push(...source.examples.map(formatJson));
    // A parameter's or media type's `examples` is a map of Example objects.
    else for (const [, example] of members(source.examples)) if (isObject(example) && 'value' in example) found.push(formatJson(example.value));
  }
  return [...new Set(found)];
}

function variantsOf(schema: JsonObject, doc: JsonObject, depth: number): Variant[] {
  const alternatives = list(schema.oneOf).length > 0 ? list(schema.oneOf) : list(schema.anyOf);
  const variants = alternatives
    .filter((item) => !(isObject(item) && item.type === 'null'))
    .map((item): Variant => {
      const part = isObject(item) ? item : {};
      return { type: typeOf(part, doc, depth + 1), description: str(part.description), constraints: constraintsOf(part), enumValues: ownEnum(part) };
    });
  // Worth a list only when there is a choice and the choices say something beyond their type.
  const informative = variants.some((variant) => variant.description || variant.constraints.length > 0 || variant.enumValues.length > 0);
  return variants.length > 1 && informative ? variants : [];
}

/** The one alternative of `T | null` written as a oneOf/anyOf (how `Option<Enum>` comes out). */
function soleAlternative(schema: JsonObject): JsonObject | null {
  const alternatives = (list(schema.oneOf).length > 0 ? list(schema.oneOf) : list(schema.anyOf)).filter((item) => !(isObject(item) && item.type === 'null'));
  return alternatives.length === 1 && isObject(alternatives[0]) ? alternatives[0] : null;
}

/** What one schema (a field, a parameter, a component) says; `$ref`s stay links. */
export function describeSchema(schema: unknown, doc: JsonObject = {}, depth = 0): SchemaDetails {
  const own = isObject(schema) ? schema : {};
  const items = isObject(own.items) ? own.items : {};
  const sole = soleAlternative(own);
  return {
    type: typeOf(own, doc, depth),
    description: str(own.description) || str(own.title) || (sole ? str(sole.description) : ''),
    enumValues: enumValuesOf(own),
    defaultValue: 'default' in own ? formatJson(own.default) : null,
    examples: examplesOf(own),
    constraints: [...constraintsOf(own), ...constraintsOf(items).filter((item) => item.kind === 'pattern' || item.kind === 'mediaType')],
    variants: variantsOf(own, doc, depth),
    deprecated: own.deprecated === true,
    readOnly: own.readOnly === true,
    writeOnly: own.writeOnly === true,
  };
}

// --- objects and their fields --------------------------------------------------------------

export interface Field extends SchemaDetails {
  name: string;
  required: boolean;
}

export interface ObjectShape {
  fields: Field[];
  /** Schemas whose fields are included (`allOf` with a `$ref`, e.g. a flattened struct). */
  includes: string[];
  /** The value type of a map (`additionalProperties`). */
  additional: TypeExpr | null;
}

/** The fields of an object schema, `$ref`s and `allOf` merged; null when it is no object. */
export function objectShape(schema: unknown, doc: JsonObject = {}, depth = 0, seen: ReadonlySet<string> = new Set()): ObjectShape | null {
  if (!isObject(schema) || depth > MAX_DEPTH) return null;
  if (typeof schema.$ref === 'string') {
    if (seen.has(schema.$ref)) return null;
    return objectShape(resolvePointer(doc, schema.$ref), doc, depth + 1, new Set([...seen, schema.$ref]));
  }
  const fields = new Map<string, Field>();
  const includes: string[] = [];
  let additional: TypeExpr | null = null;
  let isObjectLike = false;
  for (const part of list(schema.allOf)) {
    const ref = isObject(part) && typeof part.$ref === 'string' ? schemaName(part.$ref) : null;
    const shape = objectShape(part, doc, depth + 1, seen);
    if (!shape) continue;
    isObjectLike = true;
    if (ref) includes.push(ref);
    includes.push(...shape.includes);
    for (const field of shape.fields) fields.set(field.name, field);
    additional ??= shape.additional;
  }
  const required = new Set(list(schema.required).filter((name): name is string => typeof name === 'string'));
  if (isObject(schema.properties)) {
    isObjectLike = true;
    for (const [name, property] of Object.entries(schema.properties)) {
      fields.set(name, { name, required: required.has(name), ...describeSchema(property, doc, depth + 1) });
    }
  }
  if (isObject(schema.additionalProperties)) {
    isObjectLike = true;
    additional = typeOf(schema.additionalProperties, doc, depth + 1);
  }
  if (!isObjectLike && !typeNames(schema).includes('object')) return null;
  return { fields: [...fields.values()], includes: [...new Set(includes)], additional };
}

// --- example values (for the example requests) ----------------------------------------------

const FORMAT_EXAMPLES: Record<string, unknown> = {
  uuid: '0190f3b4-8a5e-7c61-9d2a-4b1e5f6a7c8d',
  'date-time': '2025-01-31T12:00:00.000Z',
  date: '2025-01-31',
  email: 'ada@example.com',
  uri: 'https://example.com/',
  binary: '…',
};

/** A plausible value for a schema: its example, default or first allowed value, else one made up by type. */
export function exampleValue(schema: unknown, doc: JsonObject = {}, depth = 0): unknown {
  if (!isObject(schema) || depth > MAX_DEPTH) return null;
  if (typeof schema.$ref === 'string') return exampleValue(resolvePointer(doc, schema.$ref), doc, depth + 1);
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if ('const' in schema) return schema.const;
  const allowed = list(schema.enum).filter((value) => value !== null);
  if (allowed.length > 0) return allowed[0];
  const alternatives = (list(schema.oneOf).length > 0 ? list(schema.oneOf) : list(schema.anyOf)).filter((item) => !(isObject(item) && item.type === 'null'));
  if (alternatives.length > 0) return exampleValue(alternatives[0], doc, depth + 1);
  const parts = list(schema.allOf);
  if (parts.length > 0) {
    const merged: JsonObject = {};
    for (const part of parts) {
      const value = exampleValue(part, doc, depth + 1);
      if (isObject(value)) Object.assign(merged, value);
      else if (parts.length === 1) return value;
    }
    return merged;
  }
  const type = typeNames(schema).find((name) => name !== 'null') ?? '';
  switch (type) {
    case 'object': {
      const value: JsonObject = {};
      for (const [name, property] of members(schema.properties)) value[name] = exampleValue(property, doc, depth + 1);
      return value;
    }
    case 'array':
      return schema.items === undefined ? [] : [exampleValue(schema.items, doc, depth + 1)];
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 0;
    case 'boolean':
      return true;
    case 'string':
      return FORMAT_EXAMPLES[str(schema.format)] ?? 'string';
    default:
      return null;
  }
}

// --- the document as the page shows it ----------------------------------------------------------

export interface Parameter extends SchemaDetails {
  name: string;
  /** `query`, `path`, `header` or `cookie`. */
  location: string;
  required: boolean;
  /** A value for the example request. */
  example: unknown;
}

export interface MediaContent {
  mediaType: string;
  type: TypeExpr | null;
  /** The fields of an object body (request bodies only; null for responses). */
  shape: ObjectShape | null;
  /** A value for the example request (request bodies only). */
  example: unknown;
}

export interface RequestBody {
  description: string;
  required: boolean;
  contents: MediaContent[];
}

export interface ResponseHeader {
  name: string;
  description: string;
  type: TypeExpr | null;
}

export interface Response {
  status: string;
  description: string;
  /** The name of a `components.responses` entry it refers to. */
  refName: string | null;
  contents: MediaContent[];
  headers: ResponseHeader[];
}

export interface Operation {
  /** The anchor of its section. */
  id: string;
  method: string;
  path: string;
  operationId: string;
  summary: string;
  description: string;
  deprecated: boolean;
  parameters: Parameter[];
  requestBody: RequestBody | null;
  responses: Response[];
  /** Alternatives, each the schemes needed together; empty: no authentication. An empty alternative makes it optional. */
  security: string[][];
}

export interface TagGroup {
  /** Empty for operations without a tag. */
  name: string;
  id: string;
  description: string;
  operations: Operation[];
}

export interface SecurityScheme {
  name: string;
  id: string;
  /** `http`, `apiKey`, `oauth2`, `openIdConnect`, `mutualTLS`. */
  type: string;
  /** For `http`: `bearer`, `basic`, … */
  scheme: string;
  bearerFormat: string;
  /** For `apiKey`: `header`, `query` or `cookie`, and the name there. */
  location: string;
  paramName: string;
  description: string;
  /** How a request carries it, e.g. `Authorization: Bearer fv_…`; empty when it cannot be said. */
  usage: string;
}

export interface SchemaView {
  name: string;
  id: string;
  details: SchemaDetails;
  shape: ObjectShape | null;
}

export interface ApiReference {
  openapi: string;
  title: string;
  version: string;
  description: string;
  schemes: SecurityScheme[];
  groups: TagGroup[];
  schemas: SchemaView[];
  operationCount: number;
}

/** An id for an anchor: letters, digits, `-` and `_` only. */
export function slug(value: string): string {
  return value.replace(/[^A-Za-z0-9_]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

/** The anchor of a component schema: what `$ref` links point at. */
export function schemaAnchor(name: string): string {
  return `schema-${slug(name)}`;
}

function uniqueIds() {
  const used = new Set<string>();
  return (base: string): string => {
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return id;
  };
}

/** The media types of a body; fields and an example only for requests, where they are shown. */
function contentsOf(content: unknown, doc: JsonObject, request: boolean): MediaContent[] {
  return members(content).map(([mediaType, media]) => {
    const schema = isObject(media) ? media.schema : undefined;
    // A media type's `examples` is a map of Example objects.
    const firstExample = isObject(media) ? members(media.examples).find(([, example]) => isObject(example) && 'value' in example)?.[1] : undefined;
    const mediaExample = isObject(media) ? (media.example ?? (isObject(firstExample) ? firstExample.value : undefined)) : undefined;
    return {
      mediaType,
      type: schema === undefined ? null : typeOf(schema, doc),
      shape: request ? objectShape(schema, doc) : null,
      example: !request ? null : mediaExample !== undefined ? mediaExample : schema === undefined ? null : exampleValue(schema, doc),
    };
  });
}

function parameterOf(raw: unknown, doc: JsonObject): Parameter | null {
  const { node } = deref(doc, raw);
  if (!isObject(node) || typeof node.name !== 'string') return null;
  const details = describeSchema(node.schema, doc);
  const examples = examplesOf(node, node.schema);
  return {
    ...details,
    name: node.name,
    location: str(node.in),
    required: node.required === true || node.in === 'path',
    description: str(node.description) || details.description,
    deprecated: node.deprecated === true || details.deprecated,
    examples,
    example: node.example !== undefined ? node.example : exampleValue(node.schema, doc),
  };
}

function responseOf(status: string, raw: unknown, doc: JsonObject): Response {
  const { node, ref } = deref(doc, raw);
  const response = isObject(node) ? node : {};
  return {
    status,
    description: str(response.description),
    refName: ref?.startsWith(RESPONSE_REF) ? ref.slice(RESPONSE_REF.length) : null,
    contents: contentsOf(response.content, doc, false),
    headers: members(response.headers).map(([name, header]) => {
      const resolved = deref(doc, header).node;
      const value = isObject(resolved) ? resolved : {};
      return { name, description: str(value.description), type: value.schema === undefined ? null : typeOf(value.schema, doc) };
    }),
  };
}

function securityOf(requirements: unknown): string[][] {
  return list(requirements)
    .filter(isObject)
    .map((requirement) => Object.keys(requirement));
}

function statusOrder(status: string): number {
  const number = Number.parseInt(status.replace(/X/gi, '0'), 10);
  return Number.isNaN(number) ? 1000 : number;
}

function usageOf(scheme: JsonObject): string {
  const type = str(scheme.type);
  const name = str(scheme.name);
  if (type === 'http') {
    const kind = str(scheme.scheme).toLowerCase();
    if (kind === 'bearer') return `Authorization: Bearer ${str(scheme.bearerFormat) || '…'}`;
    if (kind === 'basic') return 'Authorization: Basic …';
    return kind ? `Authorization: ${str(scheme.scheme)} …` : '';
  }
  if (type === 'apiKey' && name) {
    if (scheme.in === 'header') return `${name}: …`;
    if (scheme.in === 'cookie') return `Cookie: ${name}=…`;
    if (scheme.in === 'query') return `?${name}=…`;
  }
  return '';
}

/** Reads the document; throws OpenApiError when it is not an OpenAPI 3 document. */
export function parseReference(json: unknown): ApiReference {
  if (!isObject(json) || typeof json.openapi !== 'string' || !json.openapi.startsWith('3.') || !isObject(json.paths)) {
    throw new OpenApiError('not an OpenAPI 3 document');
  }
  const doc = json;
  const info = isObject(doc.info) ? doc.info : {};
  const components = isObject(doc.components) ? doc.components : {};
  const id = uniqueIds();
  // The page's own sections have these ids: nothing from the document may take them.
  for (const reserved of RESERVED_IDS) id(reserved);

  const schemes = members(components.securitySchemes).map(([name, raw]): SecurityScheme => {
    const scheme = isObject(raw) ? raw : {};
    return {
      name,
      id: id(`auth-${slug(name)}`),
      type: str(scheme.type),
      scheme: str(scheme.scheme),
      bearerFormat: str(scheme.bearerFormat),
      location: str(scheme.in),
      paramName: str(scheme.name),
      description: str(scheme.description),
      usage: usageOf(scheme),
    };
  });

  // Tags in the document's order, then any only operations name, then the untagged.
  const groups = new Map<string, TagGroup>();
  const groupOf = (name: string, description = ''): TagGroup => {
    let group = groups.get(name);
    if (!group) {
      group = { name, id: '', description, operations: [] };
      groups.set(name, group);
    }
    return group;
  };
  for (const tag of list(doc.tags)) if (isObject(tag) && typeof tag.name === 'string') groupOf(tag.name, str(tag.description));

  const globalSecurity = doc.security;
  let operationCount = 0;
  for (const [path, rawItem] of members(doc.paths)) {
    const item = deref(doc, rawItem).node;
    if (!isObject(item)) continue;
    const shared = list(item.parameters);
    for (const [method, rawOperation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method) || !isObject(rawOperation)) continue;
      const operation = rawOperation;
      const parameters = new Map<string, Parameter>();
      for (const raw of [...shared, ...list(operation.parameters)]) {
        const parameter = parameterOf(raw, doc);
        // An operation's own parameter replaces the path item's of the same name and place.
        if (parameter) parameters.set(`${parameter.location}:${parameter.name}`, parameter);
      }
      const body = deref(doc, operation.requestBody).node;
      const requestBody: RequestBody | null = isObject(body)
        ? { description: str(body.description), required: body.required === true, contents: contentsOf(body.content, doc, true) }
        : null;
      const responses = members(operation.responses)
        .map(([status, raw]) => responseOf(status, raw, doc))
        .sort((a, b) => statusOrder(a.status) - statusOrder(b.status));
      const operationId = str(operation.operationId);
      const tags = list(operation.tags).filter((tag): tag is string => typeof tag === 'string');
      groupOf(tags[0] ?? '').operations.push({
        id: id(`op-${slug(operationId || `${method}-${path}`)}`),
        method,
        path,
        operationId,
        summary: str(operation.summary),
        description: str(operation.description),
        deprecated: operation.deprecated === true,
        parameters: [...parameters.values()],
        requestBody,
        responses,
        security: securityOf(operation.security !== undefined ? operation.security : globalSecurity),
      });
      operationCount++;
    }
  }
  const ordered = [...groups.values()].filter((group) => group.operations.length > 0);
  const untagged = ordered.filter((group) => group.name === '');
  const tagged = ordered.filter((group) => group.name !== '');
  for (const group of [...tagged, ...untagged]) group.id = id(`tag-${slug(group.name || 'other')}`);

  const schemas = members(components.schemas).map(
    ([name, schema]): SchemaView => ({
      name,
      id: id(schemaAnchor(name)),
      details: describeSchema(schema, doc),
      shape: objectShape(schema, doc),
    }),
  );

  return {
    openapi: json.openapi,
    title: str(info.title),
    version: str(info.version),
    description: str(info.description),
    schemes,
    groups: [...tagged, ...untagged],
    schemas,
    operationCount,
  };
}

// --- filtering -----------------------------------------------------------------------------

/** Every word of the query occurs in the method, path, summary or operation id (any case). */
export function operationMatches(operation: Operation, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = `${operation.method} ${operation.path} ${operation.summary} ${operation.operationId}`.toLowerCase();
  return words.every((word) => haystack.includes(word));
}

/** The groups with only their matching operations; groups left empty are dropped. */
export function filterGroups(groups: TagGroup[], query: string): TagGroup[] {
  if (!query.trim()) return groups;
  return groups
    .map((group) => ({ ...group, operations: group.operations.filter((operation) => operationMatches(operation, query)) }))
    .filter((group) => group.operations.length > 0);
}

// --- text ------------------------------------------------------------------------------------

export type TextBlock = { kind: 'paragraph'; text: string } | { kind: 'list'; items: string[] };

/**
 * Description text in blocks: blank lines part paragraphs, lines of a paragraph are joined
 * (doc comments wrap at a width, not at sentences), and lines starting with `- ` or `* `
 * are list items.
 */
export function textBlocks(source: string): TextBlock[] {
  const blocks: TextBlock[] = [];
  for (const chunk of source.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/)) {
    let paragraph: string[] = [];
    let items: string[] | null = null;
    const flush = () => {
      if (paragraph.length > 0) blocks.push({ kind: 'paragraph', text: paragraph.join(' ') });
      paragraph = [];
    };
    for (const raw of chunk.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      const item = /^[-*]\s+(.*)$/.exec(line);
      if (item) {
        flush();
        if (!items) {
          items = [];
          blocks.push({ kind: 'list', items });
        }
        items.push(item[1]);
      } else if (items && /^\s/.test(raw)) {
        // An indented line continues the list item above.
        items[items.length - 1] += ` ${line}`;
      } else {
        items = null;
        paragraph.push(line);
      }
    }
    flush();
  }
  return blocks;
}

export interface InlineSpan {
  code: boolean;
  text: string;
}

/** Text with `code` spans; a backtick without its pair stays a backtick. */
export function inlineSpans(source: string): InlineSpan[] {
  const spans: InlineSpan[] = [];
  let last = 0;
  for (const match of source.matchAll(/`([^`]+)`/g)) {
    const start = match.index ?? 0;
    if (start > last) spans.push({ code: false, text: source.slice(last, start) });
    spans.push({ code: true, text: match[1] });
    last = start + match[0].length;
  }
  if (last < source.length) spans.push({ code: false, text: source.slice(last) });
  return spans;
}

/** A path with its `{parameters}` marked. */
export function pathSegments(path: string): InlineSpan[] {
  return path
    .split(/(\{[^{}/]+\})/)
    .filter(Boolean)
    .map((text) => ({ code: /^\{.*\}$/.test(text), text }));
}

// --- example request ---------------------------------------------------------------------------

const FILE_PLACEHOLDER = 'path/to/file';

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function plainValue(value: unknown): string {
  if (value === null || value === undefined) return '…';
  return typeof value === 'string' ? value : formatJson(value);
}

function hasFormat(expr: TypeExpr, format: string): boolean {
  if (expr.kind === 'type') return expr.format === format;
  if (expr.kind === 'union') return expr.variants.some((variant) => hasFormat(variant, format));
  return false;
}

/** A file part of a form: binary content. */
function isBinary(field: SchemaDetails): boolean {
  return hasFormat(field.type, 'binary') || field.constraints.some((constraint) => constraint.kind === 'mediaType');
}

/** A curl command for the operation: its credentials, required parameters and body. */
export function curlExample(operation: Operation, schemes: SecurityScheme[], origin: string): string {
  const args: string[] = [];
  const query: string[] = [];
  const method = operation.method.toUpperCase();
  const methodFlag = method === 'GET' ? '' : method === 'HEAD' ? '-I ' : `-X ${method} `;

  for (const name of operation.security.find((alternative) => alternative.length > 0) ?? []) {
    const scheme = schemes.find((candidate) => candidate.name === name);
    if (!scheme) continue;
    if (scheme.type === 'apiKey' && scheme.location === 'cookie') args.push(`-b ${shellQuote(`${scheme.paramName}=…`)}`);
    else if (scheme.type === 'apiKey' && scheme.location === 'query') query.push(`${encodeURIComponent(scheme.paramName)}=…`);
    else if (scheme.usage) args.push(`-H ${shellQuote(scheme.usage)}`);
  }
  for (const parameter of operation.parameters) {
    if (!parameter.required) continue;
    if (parameter.location === 'header') args.push(`-H ${shellQuote(`${parameter.name}: ${plainValue(parameter.example)}`)}`);
    if (parameter.location === 'query') query.push(`${encodeURIComponent(parameter.name)}=${encodeURIComponent(plainValue(parameter.example))}`);
    if (parameter.location === 'cookie') args.push(`-b ${shellQuote(`${parameter.name}=${plainValue(parameter.example)}`)}`);
  }

  const body = operation.requestBody?.required ? operation.requestBody.contents[0] : undefined;
  if (body) {
    const mediaType = body.mediaType.toLowerCase();
    if (mediaType === 'multipart/form-data' || mediaType === 'application/x-www-form-urlencoded') {
      const fields = body.shape?.fields ?? [];
      const values = isObject(body.example) ? body.example : {};
      // Plain fields before files: a server may need them before the bytes arrive.
      const ordered = [...fields.filter((field) => !isBinary(field)), ...fields.filter(isBinary)];
      for (const field of ordered) {
        if (mediaType === 'multipart/form-data') {
          args.push(`-F ${shellQuote(isBinary(field) ? `${field.name}=@${FILE_PLACEHOLDER}` : `${field.name}=${plainValue(values[field.name])}`)}`);
        } else {
          args.push(`--data-urlencode ${shellQuote(`${field.name}=${plainValue(values[field.name])}`)}`);
        }
      }
    } else if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
      args.push(`-H ${shellQuote(`Content-Type: ${body.mediaType}`)}`);
      args.push(`-d ${shellQuote(formatJson(body.example ?? {}))}`);
    } else {
      args.push(`-H ${shellQuote(`Content-Type: ${body.mediaType}`)}`);
      args.push(`--data-binary @${FILE_PLACEHOLDER}`);
    }
  }

  const url = `${origin}${operation.path}${query.length > 0 ? `?${query.join('&')}` : ''}`;
  // One option a line, as people paste it into a shell.
  return [`curl ${methodFlag}${shellQuote(url)}`, ...args].join(' \\\n  ');
}
