// The component schemas: each with its description, the schemas it includes, and its fields;
// every `$ref` elsewhere on the page links to one of these.

import { Fragment } from 'preact';
import { useI18n } from '../../i18n/context';
import { SECTION_IDS, type SchemaView } from '../../lib/openapi';
import { DocText, SchemaLink, TypeLabel, ValueNotes, Variants } from './DocText';
import { FieldTable } from './Tables';

function SchemaCard({ schema }: { schema: SchemaView }) {
  const { t } = useI18n();
  const { details, shape } = schema;
  return (
    <section id={schema.id} class="docs-schema" data-testid="docs-schema" data-schema={schema.name}>
      <h3 class="docs-schema__title">
        <code>{schema.name}</code>
      </h3>
      <DocText text={details.description} />
      {shape && shape.includes.length > 0 && (
        <p class="docs-schema__line">
          <span class="docs-notes__label">{t('docs.schema.includes')}</span>{' '}
          {shape.includes.map((name, index) => (
            <Fragment key={name}>
              {index > 0 && ', '}
              <SchemaLink name={name} />
            </Fragment>
          ))}
        </p>
      )}
      {!shape && (
        <p class="docs-schema__line">
          <span class="docs-notes__label">{t('docs.schema.type')}</span> <TypeLabel type={details.type} />
        </p>
      )}
      <Variants details={details} />
      <ValueNotes details={details} />
      {shape && shape.fields.length > 0 && <FieldTable fields={shape.fields} />}
      {shape?.additional && (
        <p class="docs-schema__line">
          <span class="docs-notes__label">{t('docs.schema.additional')}</span> <TypeLabel type={shape.additional} />
        </p>
      )}
      {shape && shape.fields.length === 0 && !shape.additional && <p class="muted">{t('docs.schema.noFields')}</p>}
    </section>
  );
}

export function SchemasSection({ schemas }: { schemas: SchemaView[] }) {
  const { t } = useI18n();
  if (schemas.length === 0) return null;
  return (
    <section id={SECTION_IDS.schemas} class="docs-tag" data-testid="docs-schemas">
      <h2 class="docs-tag__title">{t('docs.schemas.title')}</h2>
      <p class="docs-tag__description muted">{t('docs.schemas.intro')}</p>
      {schemas.map((schema) => (
        <SchemaCard key={schema.id} schema={schema} />
      ))}
    </section>
  );
}
