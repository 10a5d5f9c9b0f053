// How a request proves who sends it: the document's security schemes, each with how a
// request carries it (`Authorization: Bearer fv_…`, the session cookie, …).

import { useI18n } from '../../i18n/context';
import { SECTION_IDS, type SecurityScheme } from '../../lib/openapi';
import { Icon } from '../Icon';
import { DocText } from './DocText';

function SchemeKind({ scheme }: { scheme: SecurityScheme }) {
  const { t } = useI18n();
  if (scheme.type === 'http') {
    return <>{scheme.scheme.toLowerCase() === 'bearer' ? t('docs.auth.bearer') : t('docs.auth.http', { scheme: scheme.scheme })}</>;
  }
  if (scheme.type === 'apiKey' && (scheme.location === 'header' || scheme.location === 'query' || scheme.location === 'cookie')) {
    return <>{t(`docs.auth.${scheme.location}`, { name: scheme.paramName })}</>;
  }
  return <code>{scheme.type}</code>;
}

export function AuthSection({ schemes }: { schemes: SecurityScheme[] }) {
  const { t } = useI18n();
  if (schemes.length === 0) return null;
  return (
    <section id={SECTION_IDS.auth} class="docs-tag" data-testid="docs-auth">
      <h2 class="docs-tag__title">{t('docs.auth.title')}</h2>
      <p class="docs-tag__description muted">{t('docs.auth.intro')}</p>
      <ul class="docs-schemes">
        {schemes.map((scheme) => (
          <li key={scheme.id} id={scheme.id} class="docs-scheme" data-testid="docs-security-scheme" data-scheme={scheme.name}>
            <h3 class="docs-scheme__title">
              <Icon name="lock" size={18} />
              <code>{scheme.name}</code>{' '}
              <span class="docs-scheme__kind">
                <SchemeKind scheme={scheme} />
              </span>
            </h3>
            <DocText text={scheme.description} />
            {scheme.usage && (
              <p class="docs-scheme__usage">
                <span class="docs-notes__label">{t('docs.auth.usage')}</span> <code>{scheme.usage}</code>
              </p>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
