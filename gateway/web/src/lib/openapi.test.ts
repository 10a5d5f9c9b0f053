import { describe, expect, it } from 'vitest';
import {
  OpenApiError,
  curlExample,
  describeSchema,
  exampleValue,
  filterGroups,
  inlineSpans,
  objectShape,
  operationMatches,
  parseReference,
  pathSegments,
  resolvePointer,
  schemaAnchor,
  textBlocks,
  typeOf,
  typeSegments,
  typeText,
  type ApiReference,
  type Operation,
} from './openapi';

const WORDS = { arrayOf: 'array of', mapOf: 'map of', any: 'any' };
const SECURED = [{ apiKey: [] }, { session: [] }];
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

// Shaped like what utoipa makes of gateway/src/routes (preserve_order: paths and fields in
// source order), cut down to what the page has to handle.
const SAMPLE = {
  openapi: '3.1.0',
  info: {
    title: 'Flowsvault API',
    description: 'The public HTTP API of Flowsvault. Errors are RFC 9457 problem documents\n(`application/problem+json`) with a stable `code`.',
    version: '0.1.0',
  },
  paths: {
    '/api/health': {
      get: {
        tags: ['health'],
        operationId: 'health',
        responses: { '200': { description: 'The gateway is alive', content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } } } },
      },
    },
    '/api/upload': {
      post: {
        tags: ['files'],
        operationId: 'uploadFile',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            description: '1 to 255 visible ASCII characters',
            required: false,
            schema: { type: ['string', 'null'], maxLength: 255 },
          },
        ],
        requestBody: {
          content: { 'multipart/form-data': { schema: { $ref: '#/components/schemas/UploadForm' } } },
          required: true,
        },
        responses: {
          '201': {
            description: 'The stored file',
            headers: { Location: { schema: { type: 'string' }, description: '`/api/files/{id}`' } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/File' } } },
          },
          '401': { $ref: '#/components/responses/Unauthorized' },
        },
        security: SECURED,
      },
    },
    '/api/files': {
      get: {
        tags: ['files'],
        operationId: 'listFiles',
        parameters: [
          {
            name: 'page',
            in: 'query',
            description: '1-based page number.',
            required: false,
            schema: { type: ['integer', 'null'], format: 'int32', default: 1, minimum: 1 },
          },
          {
            name: 'status',
            in: 'query',
            required: false,
            schema: { oneOf: [{ type: 'null' }, { type: 'string', description: 'Which files to list.', enum: ['active', 'expired', 'all'] }], default: 'active' },
          },
        ],
        responses: {
          '200': { description: "A page of the caller's files", content: { 'application/json': { schema: { $ref: '#/components/schemas/FilePage' } } } },
          '429': { $ref: '#/components/responses/TooManyRequests' },
          '401': { $ref: '#/components/responses/Unauthorized' },
        },
        security: SECURED,
      },
    },
    '/api/files/{id}': {
      get: {
        tags: ['files'],
        operationId: 'getFile',
        parameters: [{ name: 'id', in: 'path', description: "The file's id", required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: { '200': { description: 'The file', content: { 'application/json': { schema: { $ref: '#/components/schemas/File' } } } } },
        security: SECURED,
      },
    },
    '/api/keys': {
      get: {
        tags: ['keys'],
        summary: "The caller's keys, newest first, revoked and expired ones included.",
        operationId: 'listKeys',
        responses: {
          '200': {
            description: "The caller's keys, newest first",
            content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/ApiKey' } } } },
          },
        },
        security: SECURED,
      },
      post: {
        tags: ['keys'],
        summary: 'Issues a key for the caller. The answer is the only place the whole key ever appears,\nso it must not be stored by any cache on the way.',
        operationId: 'createKey',
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateKey' } } }, required: true },
        responses: {
          '201': {
            description: 'The key, shown this once only',
            headers: { 'Cache-Control': { schema: { type: 'string' }, description: '`no-store`' } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/IssuedApiKey' } } },
          },
        },
        security: SECURED,
      },
    },
    '/api/keys/{id}': {
      delete: {
        tags: ['keys'],
        summary: "Revokes one of the caller's keys (again: still 204).",
        operationId: 'revokeKey',
        parameters: [{ name: 'id', in: 'path', description: "The key's id", required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: { '204': { description: 'Revoked (also when it was already)' } },
        security: SECURED,
      },
    },
    '/api/uploads/{id}': {
      patch: {
        tags: ['uploads'],
        operationId: 'tusPatch',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          { name: 'Upload-Offset', in: 'header', description: 'Where the body starts', required: true, schema: { type: 'integer', format: 'int64', minimum: 0 } },
        ],
        requestBody: { content: { 'application/offset+octet-stream': { schema: { type: 'string' } } }, required: true },
        responses: { '204': { description: 'Written' } },
        security: SECURED,
      },
    },
    '/api/admin/cleanup': {
      post: {
        tags: ['admin'],
        operationId: 'runCleanup',
        responses: { '200': { description: 'The pass ran', content: { 'application/json': { schema: { $ref: '#/components/schemas/CleanupReport' } } } } },
        security: [{ cronSecret: [] }],
      },
    },
    '/api/untagged': {
      get: { operationId: 'untagged', responses: { '200': { description: 'OK' } } },
    },
  },
  components: {
    schemas: {
      ApiKey: {
        type: 'object',
        description: 'What may be shown about a key: never the key itself, nor its hash.',
        required: ['id', 'name', 'prefix', 'createdAt'],
        properties: {
          id: { type: 'string', format: 'uuid' },
          name: { type: 'string' },
          prefix: { type: 'string', description: 'The 8 characters after `fv_`, by which the key is looked up.', example: 'AbCdEfGh' },
          createdAt: { type: 'string', format: 'date-time' },
          expiresAt: { type: ['string', 'null'], format: 'date-time', description: '`null` for a key that does not expire.' },
        },
      },
      CleanupReport: {
        type: 'object',
        required: ['expiredFiles'],
        properties: { expiredFiles: { type: 'integer', format: 'int64', minimum: 0, description: 'Expired files whose bytes were removed.' } },
      },
      CreateKey: {
        type: 'object',
        description: 'A key to issue.',
        required: ['name'],
        properties: {
          name: { type: 'string', example: 'laptop', maxLength: 100, minLength: 1 },
          expiresIn: {
            oneOf: [
              { type: 'integer', description: 'Whole seconds', maximum: 315360000, minimum: 3600 },
              { type: 'string', description: 'Hours or days, e.g. `12h` or `30d`', pattern: '^[0-9]+[hd]$' },
            ],
            description: 'How long it lives, from 1 hour to 10 years (3650 days); without it, it does not expire',
          },
        },
      },
      File: {
        type: 'object',
        description: 'A stored file.',
        required: ['id', 'originalName', 'size', 'duration', 'status'],
        properties: {
          id: { type: 'string', format: 'uuid' },
          originalName: { type: 'string', description: 'The sanitized name the file was uploaded under.', example: 'report.pdf' },
          size: { type: 'integer', format: 'int64', description: 'Bytes.', minimum: 0 },
          sha256: { type: 'string', description: 'Hex SHA-256 of the content.', pattern: '^[0-9a-f]{64}$' },
          expiresAt: { type: ['string', 'null'], format: 'date-time', description: '`null` for files that never expire.' },
          duration: { type: 'string', description: 'How long the file is kept', enum: ['1h', '1d', '7d', '30d', 'unlimited'] },
          status: { type: 'string', enum: ['active', 'expired'] },
        },
      },
      FilePage: {
        type: 'object',
        description: "One page of the caller's files.",
        required: ['items', 'page', 'perPage', 'total'],
        properties: {
          items: { type: 'array', items: { $ref: '#/components/schemas/File' } },
          page: { type: 'integer', format: 'int32', minimum: 0 },
          perPage: { type: 'integer', format: 'int32', minimum: 0 },
          total: { type: 'integer', format: 'int64', minimum: 0 },
        },
      },
      Health: { type: 'object', required: ['status'], properties: { status: { type: 'string', example: 'ok' } } },
      IssuedApiKey: {
        allOf: [
          { $ref: '#/components/schemas/ApiKey' },
          {
            type: 'object',
            required: ['key'],
            properties: { key: { type: 'string', description: 'The whole key, shown this once only.', example: 'fv_AbCdEfGh_0123' } },
          },
        ],
        description: 'A key just issued: its description and, this once, the whole key.',
      },
      Problem: {
        type: 'object',
        description: 'An RFC 9457 problem document.',
        required: ['type', 'title', 'status', 'detail', 'code'],
        properties: {
          type: { type: 'string', example: 'urn:flowsvault:problem:file_too_large' },
          title: { type: 'string' },
          status: { type: 'integer', format: 'int32', example: 413, minimum: 0 },
          detail: { type: 'string' },
          code: { type: 'string', enum: ['not_found', 'rate_limited'], description: 'A stable, machine-readable code.' },
        },
      },
      Readiness: {
        type: 'object',
        required: ['status', 'services'],
        properties: {
          status: { type: 'string', example: 'ready' },
          services: { type: 'object', additionalProperties: { type: 'string' }, propertyNames: { type: 'string' }, example: { auth: 'ok' } },
        },
      },
      SessionInfo: {
        type: 'object',
        required: ['user'],
        properties: { user: { $ref: '#/components/schemas/User' }, previous: { oneOf: [{ type: 'null' }, { $ref: '#/components/schemas/User' }] } },
      },
      UploadForm: {
        type: 'object',
        required: ['file'],
        properties: {
          file: { type: 'string', format: 'binary', contentMediaType: 'application/octet-stream', description: "The file's bytes." },
          duration: { type: 'string', description: 'How long the file is kept', enum: ['1h', '1d', '7d', '30d', 'unlimited'] },
        },
      },
      User: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' }, name: { type: ['string', 'null'] } } },
    },
    responses: {
      Unauthorized: {
        ...problem('No valid session or API key.'),
        headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: '`Bearer`' } },
      },
      TooManyRequests: problem('Over the rate limit (`rate_limited`).'),
    },
    securitySchemes: {
      cronSecret: { type: 'http', scheme: 'bearer', description: "The operator's CRON_SECRET" },
      session: { type: 'apiKey', in: 'cookie', name: 'fv_session', description: 'The session cookie set by the sign-in' },
      apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'fv_<8 chars>_<secret>', description: 'An API key, `fv_` + an 8-character prefix + `_` + the secret' },
    },
  },
  tags: [
    { name: 'health', description: 'Liveness, readiness and this document' },
    { name: 'files', description: 'Uploading, listing, downloading and deleting files' },
    { name: 'uploads', description: 'Resumable uploads (tus 1.0.0)' },
    { name: 'keys', description: "The caller's API keys" },
    { name: 'auth', description: 'Signing in; no operation of the sample has this tag' },
  ],
};

const doc = SAMPLE as unknown as Record<string, unknown>;
const text = (schema: unknown) => typeText(typeOf(schema, doc), WORDS);

function operation(reference: ApiReference, operationId: string): Operation {
  const found = reference.groups.flatMap((group) => group.operations).find((candidate) => candidate.operationId === operationId);
  if (!found) throw new Error(`no operation ${operationId}`);
  return found;
}

describe('the document', () => {
  const reference = parseReference(SAMPLE);

  it('reads title, version and description as they are', () => {
    expect(reference.title).toBe('Flowsvault API');
    expect(reference.version).toBe('0.1.0');
    expect(reference.openapi).toBe('3.1.0');
    expect(reference.description).toContain('(`application/problem+json`)');
  });

  it('groups operations by their first tag, in the order of the tags, the untagged last', () => {
    expect(reference.groups.map((group) => group.name)).toEqual(['health', 'files', 'uploads', 'keys', 'admin', '']);
    expect(reference.groups[1].description).toBe('Uploading, listing, downloading and deleting files');
    expect(reference.groups[1].operations.map((entry) => `${entry.method} ${entry.path}`)).toEqual(['post /api/upload', 'get /api/files', 'get /api/files/{id}']);
    expect(reference.operationCount).toBe(10);
  });

  it('gives every operation, tag and schema an anchor of its own', () => {
    const ids = [
      ...reference.groups.map((group) => group.id),
      ...reference.groups.flatMap((group) => group.operations.map((entry) => entry.id)),
      ...reference.schemas.map((schema) => schema.id),
      ...reference.schemes.map((scheme) => scheme.id),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^[A-Za-z][A-Za-z0-9_-]*$/.test(id))).toBe(true);
    expect(operation(reference, 'listFiles').id).toBe('op-listFiles');
    expect(reference.schemas.find((schema) => schema.name === 'File')?.id).toBe(schemaAnchor('File'));
    expect(reference.groups.at(-1)?.id).toBe('tag-other');
  });

  it('refuses what is not an OpenAPI 3 document', () => {
    expect(() => parseReference(null)).toThrow(OpenApiError);
    expect(() => parseReference('{"openapi":"3.1.0"}')).toThrow(OpenApiError);
    expect(() => parseReference({ swagger: '2.0', paths: {} })).toThrow(OpenApiError);
    expect(() => parseReference({ openapi: '3.1.0' })).toThrow(OpenApiError);
  });

  it('survives a sparse document', () => {
    const sparse = parseReference({ openapi: '3.1.0', paths: { '/x': { get: {}, parameters: 'nonsense', summary: 'not an operation' } } });
    expect(sparse.title).toBe('');
    expect(sparse.groups).toHaveLength(1);
    expect(sparse.groups[0].operations[0]).toMatchObject({ method: 'get', path: '/x', id: 'op-get-x', responses: [], security: [] });
  });
});

describe('types', () => {
  it('names formats and references', () => {
    expect(text({ type: 'string', format: 'uuid' })).toBe('string (uuid)');
    expect(text({ type: 'integer', format: 'int64', minimum: 0 })).toBe('integer (int64)');
    expect(text({ $ref: '#/components/schemas/File' })).toBe('File');
    expect(text({ type: 'object' })).toBe('object');
    expect(text({})).toBe('any');
  });

  it('reads arrays and maps', () => {
    expect(text({ type: 'array', items: { $ref: '#/components/schemas/File' } })).toBe('array of File');
    expect(text({ type: 'array', items: { type: 'array', items: { type: 'integer' } } })).toBe('array of array of integer');
    expect(text({ type: 'object', additionalProperties: { type: 'string' } })).toBe('map of string');
  });

  it('shows nullable types, in both spellings, with null last', () => {
    expect(text({ type: ['string', 'null'], format: 'date-time' })).toBe('string (date-time) | null');
    expect(text({ type: ['null', 'integer'] })).toBe('integer | null');
    expect(text({ oneOf: [{ type: 'null' }, { $ref: '#/components/schemas/User' }] })).toBe('User | null');
    expect(text({ type: 'string', nullable: true })).toBe('string | null');
  });

  it('reads oneOf, anyOf and allOf', () => {
    expect(text(SAMPLE.components.schemas.CreateKey.properties.expiresIn)).toBe('integer | string');
    expect(text({ anyOf: [{ type: 'string' }, { type: 'string' }] })).toBe('string');
    expect(text({ allOf: [{ $ref: '#/components/schemas/File' }] })).toBe('File');
    expect(text({ allOf: [{ $ref: '#/components/schemas/ApiKey' }, { type: 'object' }] })).toBe('ApiKey & object');
  });

  it('puts parentheses only where the reading would be ambiguous', () => {
    expect(text({ type: 'array', items: { type: ['string', 'null'] } })).toBe('array of (string | null)');
    expect(text({ type: ['array', 'null'], items: { $ref: '#/components/schemas/File' } })).toBe('(array of File) | null');
  });

  it('infers the type of a schema without one', () => {
    expect(text({ enum: ['a', 'b'] })).toBe('string');
    expect(text({ properties: { a: {} } })).toBe('object');
    expect(text({ items: { type: 'string' } })).toBe('array of string');
  });

  it('keeps references as links between text', () => {
    expect(typeSegments(typeOf({ type: ['array', 'null'], items: { $ref: '#/components/schemas/File' } }))).toEqual([
      { kind: 'text', text: '(' },
      { kind: 'word', word: 'arrayOf' },
      { kind: 'text', text: ' ' },
      { kind: 'ref', name: 'File' },
      { kind: 'text', text: ') | null' },
    ]);
  });

  it('resolves references to other parts of the document', () => {
    expect(resolvePointer(doc, '#/components/responses/Unauthorized/description')).toBe('No valid session or API key.');
    expect(resolvePointer(doc, '#/paths/~1api~1files/get/operationId')).toBe('listFiles');
    expect(resolvePointer(doc, '#/components/schemas/Nothing')).toBeUndefined();
    expect(resolvePointer(doc, 'https://example.com/schema.json')).toBeUndefined();
    expect(text({ $ref: '#/components/responses/Unauthorized/content/application~1problem+json/schema' })).toBe('Problem');
  });

  it('does not loop on a schema that refers to itself', () => {
    const looping = { openapi: '3.1.0', paths: {}, components: { schemas: { Node: { type: 'object', properties: { next: { $ref: '#/components/schemas/Node' } } }, Loop: { $ref: '#/components/schemas/Loop' } } } };
    const reference = parseReference(looping);
    expect(reference.schemas[0].shape?.fields.map((field) => field.name)).toEqual(['next']);
    expect(reference.schemas[1].shape).toBeNull();
    expect(exampleValue({ $ref: '#/components/schemas/Loop' }, looping)).toBeNull();
  });
});

describe('schemas', () => {
  const reference = parseReference(SAMPLE);
  const schema = (name: string) => {
    const found = reference.schemas.find((entry) => entry.name === name);
    if (!found) throw new Error(`no schema ${name}`);
    return found;
  };

  it('lists fields with type, required, description, enum values and examples', () => {
    const file = schema('File');
    expect(file.details.description).toBe('A stored file.');
    expect(file.shape?.fields.map((field) => field.name)).toEqual(['id', 'originalName', 'size', 'sha256', 'expiresAt', 'duration', 'status']);
    const [id, name, size, sha256, expiresAt, duration] = file.shape?.fields ?? [];
    expect(typeText(id.type, WORDS)).toBe('string (uuid)');
    expect(id.required).toBe(true);
    expect(name.examples).toEqual(['"report.pdf"']);
    expect(size.constraints).toEqual([{ kind: 'minimum', value: '0' }]);
    expect(sha256).toMatchObject({ required: false, constraints: [{ kind: 'pattern', value: '^[0-9a-f]{64}$' }] });
    expect(typeText(expiresAt.type, WORDS)).toBe('string (date-time) | null');
    expect(duration.enumValues).toEqual(['1h', '1d', '7d', '30d', 'unlimited']);
  });

  it('merges the fields of allOf parts and names the included schemas', () => {
    const issued = schema('IssuedApiKey');
    expect(issued.details.description).toBe('A key just issued: its description and, this once, the whole key.');
    expect(issued.shape?.includes).toEqual(['ApiKey']);
    expect(issued.shape?.fields.map((field) => [field.name, field.required])).toEqual([
      ['id', true],
      ['name', true],
      ['prefix', true],
      ['createdAt', true],
      ['expiresAt', false],
      ['key', true],
    ]);
  });

  it('describes the alternatives of a oneOf that say more than their type', () => {
    const expiresIn = schema('CreateKey').shape?.fields[1];
    expect(expiresIn?.variants.map((variant) => [typeText(variant.type, WORDS), variant.description, variant.constraints])).toEqual([
      ['integer', 'Whole seconds', [{ kind: 'minimum', value: '3600' }, { kind: 'maximum', value: '315360000' }]],
      ['string', 'Hours or days, e.g. `12h` or `30d`', [{ kind: 'pattern', value: '^[0-9]+[hd]$' }]],
    ]);
    // `T | null` is said by the type alone.
    expect(schema('SessionInfo').shape?.fields[1].variants).toEqual([]);
  });

  it('shows maps, objects without fields and non-objects', () => {
    const services = schema('Readiness').shape?.fields[1];
    expect(typeText(services?.type ?? { kind: 'any' }, WORDS)).toBe('map of string');
    expect(services?.examples).toEqual(['{"auth":"ok"}']);
    expect(objectShape({ type: 'object' })).toEqual({ fields: [], includes: [], additional: null });
    expect(objectShape({ type: 'string' })).toBeNull();
    expect(describeSchema({ type: 'string', enum: ['a', 1, null], default: 'a' })).toMatchObject({ enumValues: ['a', '1', 'null'], defaultValue: '"a"' });
  });

  it('keeps binary form fields recognisable', () => {
    const file = schema('UploadForm').shape?.fields[0];
    expect(typeText(file?.type ?? { kind: 'any' }, WORDS)).toBe('string (binary)');
    expect(file?.constraints).toEqual([{ kind: 'mediaType', value: 'application/octet-stream' }]);
  });
});

describe('operations', () => {
  const reference = parseReference(SAMPLE);

  it('reads parameters with where they go, whether they are required, type and description', () => {
    const [page, status] = operation(reference, 'listFiles').parameters;
    expect(page).toMatchObject({ name: 'page', location: 'query', required: false, description: '1-based page number.', defaultValue: '1' });
    expect(typeText(page.type, WORDS)).toBe('integer (int32) | null');
    expect(page.constraints).toEqual([{ kind: 'minimum', value: '1' }]);
    // An inline enum inside `Option` keeps its values and its description.
    expect(status).toMatchObject({ enumValues: ['active', 'expired', 'all'], defaultValue: '"active"', description: 'Which files to list.' });
    expect(typeText(status.type, WORDS)).toBe('string | null');
    expect(operation(reference, 'getFile').parameters[0]).toMatchObject({ name: 'id', location: 'path', required: true });
  });

  it('resolves responses that refer to components, in the order of their status', () => {
    const responses = operation(reference, 'listFiles').responses;
    expect(responses.map((response) => response.status)).toEqual(['200', '401', '429']);
    expect(responses[0]).toMatchObject({ description: "A page of the caller's files", refName: null });
    expect(responses[0].contents.map((content) => [content.mediaType, content.type && typeText(content.type, WORDS)])).toEqual([['application/json', 'FilePage']]);
    expect(responses[1]).toMatchObject({ status: '401', description: 'No valid session or API key.', refName: 'Unauthorized' });
    expect(responses[1].contents[0].mediaType).toBe('application/problem+json');
    expect(responses[1].headers).toEqual([{ name: 'WWW-Authenticate', description: '`Bearer`', type: { kind: 'type', name: 'string' } }]);
    expect(operation(reference, 'revokeKey').responses[0]).toMatchObject({ status: '204', contents: [], headers: [] });
  });

  it('reads request bodies with the fields of their schema', () => {
    const upload = operation(reference, 'uploadFile').requestBody;
    expect(upload?.required).toBe(true);
    expect(upload?.contents[0].mediaType).toBe('multipart/form-data');
    expect(upload?.contents[0].shape?.fields.map((field) => field.name)).toEqual(['file', 'duration']);
    const create = operation(reference, 'createKey').requestBody?.contents[0];
    expect(create?.type).toEqual({ kind: 'ref', name: 'CreateKey' });
    expect(create?.example).toEqual({ name: 'laptop', expiresIn: 3600 });
    expect(operation(reference, 'listKeys').requestBody).toBeNull();
  });

  it('reads what authentication each operation needs', () => {
    expect(operation(reference, 'listFiles').security).toEqual([['apiKey'], ['session']]);
    expect(operation(reference, 'runCleanup').security).toEqual([['cronSecret']]);
    expect(operation(reference, 'health').security).toEqual([]);
    // A document-wide requirement applies where an operation says nothing.
    const global = parseReference({ openapi: '3.1.0', security: [{ apiKey: [] }, {}], paths: { '/x': { get: {} } } });
    expect(global.groups[0].operations[0].security).toEqual([['apiKey'], []]);
  });

  it('describes the security schemes and how a request carries each', () => {
    expect(reference.schemes.map((scheme) => [scheme.name, scheme.usage])).toEqual([
      ['cronSecret', 'Authorization: Bearer …'],
      ['session', 'Cookie: fv_session=…'],
      ['apiKey', 'Authorization: Bearer fv_<8 chars>_<secret>'],
    ]);
    expect(reference.schemes[1]).toMatchObject({ type: 'apiKey', location: 'cookie', paramName: 'fv_session', id: 'auth-session' });
  });
});

describe('the filter', () => {
  const reference = parseReference(SAMPLE);
  const visible = (query: string) => filterGroups(reference.groups, query).flatMap((group) => group.operations.map((entry) => `${entry.method} ${entry.path}`));

  it('narrows by path', () => {
    expect(visible('/api/keys')).toEqual(['get /api/keys', 'post /api/keys', 'delete /api/keys/{id}']);
    expect(filterGroups(reference.groups, '/api/keys').map((group) => group.name)).toEqual(['keys']);
  });

  it('narrows by method and by summary, in any case, every word counting', () => {
    expect(visible('DELETE')).toEqual(['delete /api/keys/{id}']);
    expect(visible('newest first')).toEqual(['get /api/keys']);
    expect(visible('get files')).toEqual(['get /api/files', 'get /api/files/{id}']);
    expect(visible('runcleanup')).toEqual(['post /api/admin/cleanup']);
    expect(visible('nothing matches this')).toEqual([]);
  });

  it('keeps everything for an empty query', () => {
    expect(filterGroups(reference.groups, '  ')).toBe(reference.groups);
    expect(operationMatches(operation(reference, 'health'), '')).toBe(true);
  });
});

describe('text', () => {
  it('joins wrapped lines and parts paragraphs at blank lines', () => {
    expect(textBlocks('One line\nwrapped.\n\nAnother paragraph.')).toEqual([
      { kind: 'paragraph', text: 'One line wrapped.' },
      { kind: 'paragraph', text: 'Another paragraph.' },
    ]);
    expect(textBlocks('')).toEqual([]);
    expect(textBlocks('  \n\n ')).toEqual([]);
  });

  it('finds lists', () => {
    expect(textBlocks('Codes:\n- `a`: first\n  continued\n- `b`\nAfter.')).toEqual([
      { kind: 'paragraph', text: 'Codes:' },
      { kind: 'list', items: ['`a`: first continued', '`b`'] },
      { kind: 'paragraph', text: 'After.' },
    ]);
  });

  it('marks code spans and leaves everything else text, markup included', () => {
    expect(inlineSpans('Send `Authorization: Bearer fv_…` with <b>every</b> request')).toEqual([
      { code: false, text: 'Send ' },
      { code: true, text: 'Authorization: Bearer fv_…' },
      { code: false, text: ' with <b>every</b> request' },
    ]);
    expect(inlineSpans('an odd ` backtick')).toEqual([{ code: false, text: 'an odd ` backtick' }]);
  });

  it('marks the parameters of a path', () => {
    expect(pathSegments('/api/files/{id}/shares')).toEqual([
      { code: false, text: '/api/files/' },
      { code: true, text: '{id}' },
      { code: false, text: '/shares' },
    ]);
  });
});

describe('example requests', () => {
  const reference = parseReference(SAMPLE);
  const curl = (operationId: string) => curlExample(operation(reference, operationId), reference.schemes, 'https://vault.example');

  it('sends the first credential the operation accepts', () => {
    expect(curl('listKeys')).toBe("curl 'https://vault.example/api/keys' \\\n  -H 'Authorization: Bearer fv_<8 chars>_<secret>'");
    expect(curl('health')).toBe("curl 'https://vault.example/api/health'");
    expect(curl('runCleanup')).toBe("curl -X POST 'https://vault.example/api/admin/cleanup' \\\n  -H 'Authorization: Bearer …'");
  });

  it('writes a JSON body from the examples of the schema', () => {
    expect(curl('createKey')).toBe(
      [
        "curl -X POST 'https://vault.example/api/keys'",
        "-H 'Authorization: Bearer fv_<8 chars>_<secret>'",
        "-H 'Content-Type: application/json'",
        `-d '{"name":"laptop","expiresIn":3600}'`,
      ].join(' \\\n  '),
    );
  });

  it('sends forms with the plain fields before the file', () => {
    expect(curl('uploadFile').split(' \\\n  ').slice(2)).toEqual(["-F 'duration=1h'", "-F 'file=@path/to/file'"]);
  });

  it('sends required headers and raw bodies', () => {
    expect(curl('tusPatch').split(' \\\n  ')).toEqual([
      "curl -X PATCH 'https://vault.example/api/uploads/{id}'",
      "-H 'Authorization: Bearer fv_<8 chars>_<secret>'",
      "-H 'Upload-Offset: 0'",
      "-H 'Content-Type: application/offset+octet-stream'",
      '--data-binary @path/to/file',
    ]);
  });

  it('quotes for the shell', () => {
    const reference = parseReference({
      openapi: '3.1.0',
      paths: { '/q': { head: { parameters: [{ name: 'q', in: 'query', required: true, example: "it's & so" }] } } },
    });
    expect(curlExample(reference.groups[0].operations[0], [], 'http://h')).toBe("curl -I 'http://h/q?q=it'\\''s%20%26%20so'");
  });
});
