// The API reference as a page: the document's title and description, a filter and a table of
// contents beside the content (above it on a phone), authentication, the operations by tag,
// then the schemas. Every section has an anchor, so any part can be linked to.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { paths } from '../../api';
import { useI18n } from '../../i18n/context';
import { SECTION_IDS, filterGroups, type ApiReference, type TagGroup } from '../../lib/openapi';
import { Icon } from '../Icon';
import { AuthSection } from './AuthSection';
import { DocText, MethodBadge } from './DocText';
import { DocsContext, docsLinks } from './context';
import { TagSection } from './OperationSection';
import { SchemasSection } from './SchemaSection';

function Intro({ reference }: { reference: ApiReference }) {
  const { t } = useI18n();
  return (
    <header class="docs__header">
      <p class="docs__eyebrow">{t('docs.title')}</p>
      <h1 class="docs__title">{reference.title || t('docs.title')}</h1>
      <p class="docs__chips">
        {reference.version && <span class="badge">{t('docs.version', { version: reference.version })}</span>}
        <span class="badge">{t('docs.openapi', { version: reference.openapi })}</span>
        <a href={paths.openApi} class="docs__json" data-testid="docs-json">
          {t('docs.json')}
        </a>
      </p>
      <DocText text={reference.description} class="docs__description" />
    </header>
  );
}

function Filter({ query, onChange, matching }: { query: string; onChange: (query: string) => void; matching: number }) {
  const { t, tn } = useI18n();
  return (
    <div role="search" class="docs-filter">
      <label class="search">
        <span class="visually-hidden">{t('docs.filter.label')}</span>
        <Icon name="search" size={18} class="search__icon" />
        <input
          type="search"
          class="input search__input"
          value={query}
          placeholder={t('docs.filter.placeholder')}
          onInput={(event) => onChange(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === 'Escape' && query) {
              event.preventDefault();
              onChange('');
            }
          }}
          data-testid="docs-filter"
        />
      </label>
      {/* Always present, so that screen readers announce the count as it changes. */}
      <p class="docs-filter__count" role="status" data-testid="docs-filter-count">
        {query.trim() ? tn('docs.filter.matches', matching) : ''}
      </p>
    </div>
  );
}

function Contents({ reference, groups }: { reference: ApiReference; groups: TagGroup[] }) {
  const { t } = useI18n();
  return (
    <nav class="docs-toc" aria-label={t('docs.toc.label')} data-testid="docs-toc">
      <ul class="docs-toc__list">
        {reference.schemes.length > 0 && (
          <li>
            <a href={`#${SECTION_IDS.auth}`} class="docs-toc__section">
              {t('docs.auth.title')}
            </a>
          </li>
        )}
        {groups.map((group) => (
          <li key={group.id}>
            <a href={`#${group.id}`} class="docs-toc__section">
              {group.name || t('docs.tag.other')}
            </a>
            <ul class="docs-toc__sub">
              {group.operations.map((operation) => (
                <li key={operation.id}>
                  <a href={`#${operation.id}`} class="docs-toc__operation">
                    <MethodBadge method={operation.method} small /> <span class="docs-toc__path">{operation.path}</span>
                  </a>
                </li>
              ))}
            </ul>
          </li>
        ))}
        {reference.schemas.length > 0 && (
          <li>
            <a href={`#${SECTION_IDS.schemas}`} class="docs-toc__section">
              {t('docs.schemas.title')}
            </a>
            <ul class="docs-toc__sub">
              {reference.schemas.map((schema) => (
                <li key={schema.id}>
                  <a href={`#${schema.id}`} class="docs-toc__schema">
                    {schema.name}
                  </a>
                </li>
              ))}
            </ul>
          </li>
        )}
      </ul>
    </nav>
  );
}

export function ApiReferenceView({ reference }: { reference: ApiReference }) {
  const { t } = useI18n();
  const [query, setQuery] = useState('');
  const groups = useMemo(() => filterGroups(reference.groups, query), [reference, query]);
  const matching = groups.reduce((count, group) => count + group.operations.length, 0);
  const links = useMemo(() => docsLinks(reference), [reference]);

  // A link to a part of the page (/docs#schema-File) arrives before the document does:
  // scroll there once the sections exist.
  useEffect(() => {
    let id = window.location.hash.slice(1);
    try {
      id = decodeURIComponent(id);
    } catch {
      // A malformed escape: look the id up as it is.
    }
    if (id) document.getElementById(id)?.scrollIntoView();
  }, []);

  return (
    <DocsContext.Provider value={links}>
      <div class="docs" data-testid="docs-page">
        <Intro reference={reference} />
        <aside class="docs__sidebar">
          <Filter query={query} onChange={setQuery} matching={matching} />
          <Contents reference={reference} groups={groups} />
        </aside>
        <div class="docs__content">
          <AuthSection schemes={reference.schemes} />
          {groups.map((group) => (
            <TagSection key={group.id} group={group} />
          ))}
          {groups.length === 0 && (
            <div class="empty-state empty-state--compact docs__empty" data-testid="docs-filter-empty">
              <Icon name="search" size={32} />
              <p>{t('docs.filter.none', { query: query.trim() })}</p>
              <button type="button" class="button button--ghost" onClick={() => setQuery('')}>
                {t('docs.filter.clear')}
              </button>
            </div>
          )}
          <SchemasSection schemas={reference.schemas} />
        </div>
      </div>
    </DocsContext.Provider>
  );
}
