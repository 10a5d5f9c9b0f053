// One operation of the API reference: method and path, what it does, the authentication it
// needs, its parameters, request body, responses and an example request to copy.

import { Fragment } from 'preact';
import { useMemo } from 'preact/hooks';
import { useClipboard } from '../../hooks/useClipboard';
import { useI18n } from '../../i18n/context';
import { curlExample, type Operation, type RequestBody, type TagGroup } from '../../lib/openapi';
import { Icon } from '../Icon';
import { DocText, MethodBadge, PathText, TypeLabel } from './DocText';
import { useDocsLinks } from './context';
import { FieldTable, ParameterTable, ResponseTable } from './Tables';

/** The schemes an operation accepts: alternatives joined by "or", schemes needed together by "and". */
function SecurityText({ security }: { security: string[][] }) {
  const { t } = useI18n();
  const { schemeIds } = useDocsLinks();
  if (security.length === 0) return <span class="muted">{t('docs.op.public')}</span>;
  const alternatives = security.filter((alternative) => alternative.length > 0);
  const optional = alternatives.length < security.length;
  return (
    <>
      <Icon name="lock" size={16} class="docs-op__lock" />
      {alternatives.map((alternative, index) => (
        <Fragment key={alternative.join('+')}>
          {index > 0 && ` ${t('docs.or')} `}
          {alternative.map((name, position) => {
            const id = schemeIds.get(name);
            return (
              <Fragment key={name}>
                {position > 0 && ` ${t('docs.and')} `}
                {id ? <a href={`#${id}`}>{name}</a> : name}
              </Fragment>
            );
          })}
        </Fragment>
      ))}
      {optional && ` ${t('docs.or')} ${t('docs.op.none')}`}
    </>
  );
}

function RequestBodyView({ body }: { body: RequestBody }) {
  const { t } = useI18n();
  return (
    <div class="docs-op__block">
      <h4 class="docs-op__subtitle">
        {t('docs.op.requestBody')}
        {body.required ? <span class="docs-flag docs-flag--required">{t('docs.required')}</span> : <span class="docs-flag">{t('docs.optional')}</span>}
      </h4>
      <DocText text={body.description} />
      {body.contents.map((content) => (
        <div key={content.mediaType} class="docs-body">
          <p class="docs-media">
            <code class="docs-media__type">{content.mediaType}</code>
            {content.type && <TypeLabel type={content.type} />}
          </p>
          {content.shape && content.shape.fields.length > 0 && <FieldTable fields={content.shape.fields} />}
        </div>
      ))}
    </div>
  );
}

function ExampleRequest({ operation }: { operation: Operation }) {
  const { t } = useI18n();
  const { schemes } = useDocsLinks();
  const copy = useClipboard();
  const command = useMemo(() => curlExample(operation, schemes, window.location.origin), [operation, schemes]);
  const name = `${operation.method.toUpperCase()} ${operation.path}`;
  return (
    <div class="docs-op__block docs-example">
      <div class="docs-example__header">
        <h4 class="docs-op__subtitle">{t('docs.op.example')}</h4>
        <button
          type="button"
          class="button button--ghost button--sm"
          onClick={() => void copy(command, t('docs.op.copied'))}
          aria-label={t('docs.op.copyLabel', { operation: name })}
          data-testid="docs-copy"
        >
          <Icon name="copy" size={16} />
          {t('common.copy')}
        </button>
      </div>
      <pre class="docs-code" data-testid="docs-curl">
        <code>{command}</code>
      </pre>
    </div>
  );
}

export function OperationSection({ operation }: { operation: Operation }) {
  const { t } = useI18n();
  return (
    <section
      id={operation.id}
      class={operation.deprecated ? 'docs-op docs-op--deprecated' : 'docs-op'}
      data-testid="docs-operation"
      data-method={operation.method}
      data-path={operation.path}
      data-operation-id={operation.operationId}
    >
      <h3 class="docs-op__title">
        <MethodBadge method={operation.method} /> <PathText path={operation.path} />
        {operation.deprecated && <span class="docs-flag docs-flag--deprecated">{t('docs.deprecated')}</span>}
      </h3>
      <DocText text={operation.summary} class="docs-op__summary" />
      <DocText text={operation.description} />
      <dl class="docs-op__meta">
        <div>
          <dt>{t('docs.op.auth')}</dt>
          <dd>
            <SecurityText security={operation.security} />
          </dd>
        </div>
        {operation.operationId && (
          <div>
            <dt>{t('docs.op.operationId')}</dt>
            <dd>
              <code>{operation.operationId}</code>
            </dd>
          </div>
        )}
      </dl>
      {operation.parameters.length > 0 && (
        <div class="docs-op__block">
          <h4 class="docs-op__subtitle">{t('docs.op.parameters')}</h4>
          <ParameterTable parameters={operation.parameters} />
        </div>
      )}
      {operation.requestBody && <RequestBodyView body={operation.requestBody} />}
      {operation.responses.length > 0 && (
        <div class="docs-op__block">
          <h4 class="docs-op__subtitle">{t('docs.op.responses')}</h4>
          <ResponseTable responses={operation.responses} />
        </div>
      )}
      <ExampleRequest operation={operation} />
    </section>
  );
}

export function TagSection({ group }: { group: TagGroup }) {
  const { t } = useI18n();
  return (
    <section id={group.id} class="docs-tag" data-testid="docs-tag" data-tag={group.name}>
      <h2 class="docs-tag__title">{group.name || t('docs.tag.other')}</h2>
      <DocText text={group.description} class="docs-tag__description" />
      {group.operations.map((operation) => (
        <OperationSection key={operation.id} operation={operation} />
      ))}
    </section>
  );
}
