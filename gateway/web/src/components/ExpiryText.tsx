// "Expires in 3 days" / "Expired 2 days ago" / "Never expires", with the exact date as a tooltip.

import { useNow } from '../hooks/useNow';
import { useI18n } from '../i18n/context';
import { formatDateTime } from '../lib/format';
import { expiryState } from '../lib/relativeTime';

export function ExpiryText({ expiresAt, expired }: { expiresAt: string | null; expired?: boolean }) {
  const { t, locale } = useI18n();
  const now = useNow();
  const state = expiryState(expiresAt, now, locale, expired);
  const title = expiresAt ? formatDateTime(expiresAt, locale) : undefined;
  if (state.kind === 'never') return <span class="expiry">{t('expiry.never')}</span>;
  if (state.kind === 'expired')
    return (
      <span class="expiry expiry--expired" title={title}>
        {state.when ? t('expiry.expiredWhen', { when: state.when }) : t('expiry.expired')}
      </span>
    );
  return (
    <span class={state.soon ? 'expiry expiry--soon' : 'expiry'} title={title}>
      {t('expiry.in', { when: state.when })}
    </span>
  );
}
