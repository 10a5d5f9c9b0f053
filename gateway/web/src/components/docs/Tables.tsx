// The tables of the API reference: fields of an object, parameters of an operation, and
// responses. On a phone each row becomes a small block (styles/docs.css).

import { useI18n } from '../../i18n/context';
import type { Field, Parameter, Response } from '../../lib/openapi';
import { DocText, Flags, InlineText, SchemaNotes, TypeLabel } from './DocText';

export function FieldTable({ fields }: { fields: Field[] }) {
  const { t } = useI18n();
  return (
    <table class="docs-table docs-table--fields">
      <thead>
        <tr>
          <th scope="col">{t('docs.col.name')}</th>
          <th scope="col">{t('docs.col.type')}</th>
          <th scope="col">{t('docs.col.description')}</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((field) => (
          <tr key={field.name} data-field={field.name}>
            <th scope="row" class="docs-table__name">
              <code>{field.name}</code>
              <Flags details={field} required={field.required} />
            </th>
            <td class="docs-table__type">
              <TypeLabel type={field.type} />
            </td>
            <td class="docs-table__text">
              <SchemaNotes details={field} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ParameterTable({ parameters }: { parameters: Parameter[] }) {
  const { t } = useI18n();
  return (
    <table class="docs-table docs-table--parameters">
      <thead>
        <tr>
          <th scope="col">{t('docs.col.name')}</th>
          <th scope="col">{t('docs.col.in')}</th>
          <th scope="col">{t('docs.col.type')}</th>
          <th scope="col">{t('docs.col.description')}</th>
        </tr>
      </thead>
      <tbody>
        {parameters.map((parameter) => (
          <tr key={`${parameter.location}:${parameter.name}`} data-parameter={parameter.name}>
            <th scope="row" class="docs-table__name">
              <code>{parameter.name}</code>
              <Flags details={parameter} required={parameter.required} />
            </th>
            <td class="docs-table__in">
              <span class="docs-location">{parameter.location}</span>
            </td>
            <td class="docs-table__type">
              <TypeLabel type={parameter.type} />
            </td>
            <td class="docs-table__text">
              <SchemaNotes details={parameter} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `2xx` green, `4xx` amber and so on; anything odd stays neutral. */
function statusClass(status: string): string {
  const family = /^[1-5]/.exec(status)?.[0];
  return family ? `docs-status docs-status--${family}xx` : 'docs-status';
}

function ResponseHeaders({ response }: { response: Response }) {
  const { t } = useI18n();
  if (response.headers.length === 0) return null;
  return (
    <div class="docs-headers">
      <span class="docs-notes__label">{t('docs.op.headers')}</span>
      <ul class="docs-headers__list">
        {response.headers.map((header) => (
          <li key={header.name}>
            <code class="docs-headers__name">{header.name}</code>
            {header.type && <TypeLabel type={header.type} />}
            {header.description && (
              <span class="docs-headers__text">
                <InlineText text={header.description} />
              </span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function ResponseTable({ responses }: { responses: Response[] }) {
  const { t } = useI18n();
  return (
    <table class="docs-table docs-table--responses">
      <thead>
        <tr>
          <th scope="col">{t('docs.col.status')}</th>
          <th scope="col">{t('docs.col.description')}</th>
          <th scope="col">{t('docs.col.content')}</th>
        </tr>
      </thead>
      <tbody>
        {responses.map((response) => (
          <tr key={response.status} data-status={response.status}>
            <th scope="row" class="docs-table__status">
              <span class={statusClass(response.status)}>{response.status}</span>
            </th>
            <td class="docs-table__text">
              <DocText text={response.description} />
              <ResponseHeaders response={response} />
            </td>
            <td class="docs-table__content">
              {response.contents.length === 0 && <span class="muted">{t('docs.op.noContent')}</span>}
              {response.contents.map((content) => (
                <span key={content.mediaType} class="docs-media">
                  <code class="docs-media__type">{content.mediaType}</code>
                  {content.type && <TypeLabel type={content.type} />}
                </span>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
