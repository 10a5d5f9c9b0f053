// What every part of the API reference needs to link within the page: the anchors of the
// schemas and security schemes, by name. A name without an anchor is shown without a link.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiReference, SecurityScheme } from '../../lib/openapi';

export interface DocsLinks {
  schemaIds: Map<string, string>;
  schemeIds: Map<string, string>;
  schemes: SecurityScheme[];
}

export const DocsContext = createContext<DocsLinks>({ schemaIds: new Map(), schemeIds: new Map(), schemes: [] });

export function docsLinks(reference: ApiReference): DocsLinks {
  return {
    schemaIds: new Map(reference.schemas.map((schema) => [schema.name, schema.id])),
    schemeIds: new Map(reference.schemes.map((scheme) => [scheme.name, scheme.id])),
    schemes: reference.schemes,
  };
}

export function useDocsLinks(): DocsLinks {
  return useContext(DocsContext);
}
