// The document's own words and types: descriptions as text (never markup) with `code` spans,
// types with links to their schemas, and what a schema says about a value.

import { useI18n } from '../../i18n/context';
import { formatNumber } from '../../lib/format';
import { inlineSpans, pathSegments, textBlocks, typeSegments, type Constraint, type SchemaDetails, type TypeExpr } from '../../lib/openapi';
import { useDocsLinks } from './context';

/** One run of text with its `code` spans. */
export function InlineText({ text }: { text: string }) {
  return (
    <>
      {inlineSpans(text).map((span, index) => (span.code ? <code key={index}>{span.text}</code> : span.text))}
    </>
  );
}

/** A description: paragraphs and lists. */
export function DocText({ text, class: className }: { text: string; class?: string }) {
  const blocks = textBlocks(text);
  if (blocks.length === 0) return null;
  return (
    <div class={className ? `docs-text ${className}` : 'docs-text'}>
      {blocks.map((block, index) =>
        block.kind === 'paragraph' ? (
          <p key={index}>
            <InlineText text={block.text} />
          </p>
        ) : (
          <ul key={index} class="docs-text__list">
            {block.items.map((item, itemIndex) => (
              <li key={itemIndex}>
                <InlineText text={item} />
              </li>
            ))}
          </ul>
        ),
      )}
    </div>
  );
}

/** A schema's name, linking to its section when the page has one. */
export function SchemaLink({ name }: { name: string }) {
  const { schemaIds } = useDocsLinks();
  const id = schemaIds.get(name);
  if (!id) return <span class="docs-type__ref">{name}</span>;
  return (
    <a href={`#${id}`} class="docs-type__ref" data-testid="docs-schema-link" data-schema={name}>
      {name}
    </a>
  );
}

export function TypeLabel({ type }: { type: TypeExpr }) {
  const { t } = useI18n();
  return (
    <span class="docs-type">
      {typeSegments(type).map((segment, index) => {
        if (segment.kind === 'ref') return <SchemaLink key={index} name={segment.name} />;
        if (segment.kind === 'word') return <span key={index}>{t(`docs.type.${segment.word}`)}</span>;
        return <span key={index}>{segment.text}</span>;
      })}
    </span>
  );
}

export function MethodBadge({ method, small = false }: { method: string; small?: boolean }) {
  return <span class={`docs-method docs-method--${method}${small ? ' docs-method--sm' : ''}`}>{method.toUpperCase()}</span>;
}

/** A path with its `{parameters}` set off. */
export function PathText({ path }: { path: string }) {
  return (
    <code class="docs-path">
      {pathSegments(path).map((segment, index) =>
        segment.code ? (
          <span key={index} class="docs-path__param">
            {segment.text}
          </span>
        ) : (
          segment.text
        ),
      )}
    </code>
  );
}

function ConstraintText({ constraint }: { constraint: Constraint }) {
  const { t, tn, locale } = useI18n();
  const { kind, value } = constraint;
  switch (kind) {
    case 'pattern':
    case 'mediaType':
      return (
        <>
          <span class="docs-notes__label">{t(`docs.constraint.${kind}`)}</span> <code>{value}</code>
        </>
      );
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
      return <>{tn(`docs.constraint.${kind}`, Number(value))}</>;
    case 'uniqueItems':
      return <>{t('docs.constraint.uniqueItems')}</>;
    default:
      return <>{t(`docs.constraint.${kind}`, { value: Number.isFinite(Number(value)) ? formatNumber(Number(value), locale) : value })}</>;
  }
}

/** Allowed values, limits and examples, as short notes under a description. */
export function ValueNotes({ details }: { details: Pick<SchemaDetails, 'enumValues' | 'defaultValue' | 'examples' | 'constraints'> }) {
  const { t } = useI18n();
  const { enumValues, defaultValue, examples, constraints } = details;
  if (enumValues.length === 0 && defaultValue === null && examples.length === 0 && constraints.length === 0) return null;
  return (
    <ul class="docs-notes">
      {enumValues.length > 0 && (
        <li>
          <span class="docs-notes__label">{t('docs.values')}</span>
          <span class="docs-notes__values">
            {enumValues.map((value) => (
              <code key={value}>{value}</code>
            ))}
          </span>
        </li>
      )}
      {defaultValue !== null && (
        <li>
          <span class="docs-notes__label">{t('docs.default')}</span> <code>{defaultValue}</code>
        </li>
      )}
      {examples.map((example) => (
        <li key={example}>
          <span class="docs-notes__label">{t('docs.example')}</span> <code>{example}</code>
        </li>
      ))}
      {constraints.map((constraint, index) => (
        <li key={`${constraint.kind}-${index}`}>
          <ConstraintText constraint={constraint} />
        </li>
      ))}
    </ul>
  );
}

/** The alternatives of a oneOf, each with what it says. */
export function Variants({ details }: { details: SchemaDetails }) {
  const { t } = useI18n();
  if (details.variants.length === 0) return null;
  return (
    <div class="docs-variants">
      <span class="docs-notes__label">{t('docs.oneOf')}</span>
      <ul class="docs-variants__list">
        {details.variants.map((variant, index) => (
          <li key={index}>
            <TypeLabel type={variant.type} />
            {variant.description && (
              <span class="docs-variants__text">
                <InlineText text={variant.description} />
              </span>
            )}
            <ValueNotes details={{ enumValues: variant.enumValues, defaultValue: null, examples: [], constraints: variant.constraints }} />
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Description, alternatives and notes of a field or parameter: the last column of its table. */
export function SchemaNotes({ details }: { details: SchemaDetails }) {
  return (
    <>
      <DocText text={details.description} />
      <Variants details={details} />
      <ValueNotes details={details} />
    </>
  );
}

/** Required, deprecated, read-only, write-only: small flags beside a name. */
export function Flags({ details, required }: { details: Pick<SchemaDetails, 'deprecated' | 'readOnly' | 'writeOnly'>; required: boolean }) {
  const { t } = useI18n();
  return (
    <>
      {required && <span class="docs-flag docs-flag--required">{t('docs.required')}</span>}
      {details.deprecated && <span class="docs-flag docs-flag--deprecated">{t('docs.deprecated')}</span>}
      {details.readOnly && <span class="docs-flag">{t('docs.readOnly')}</span>}
      {details.writeOnly && <span class="docs-flag">{t('docs.writeOnly')}</span>}
    </>
  );
}
