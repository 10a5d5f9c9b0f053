import { Icon } from '../components/Icon';
import { Link } from '../hooks/router';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import { useI18n } from '../i18n/context';

export function NotFoundPage() {
  const { t } = useI18n();
  useDocumentTitle(t('notFound.title'));
  return (
    <div class="page">
      <div class="empty-state" data-testid="not-found">
        <Icon name="folder" size={40} />
        <h1>{t('notFound.title')}</h1>
        <p class="muted">{t('notFound.text')}</p>
        <Link href="/" class="button button--primary">
          {t('notFound.home')}
        </Link>
      </div>
    </div>
  );
}
