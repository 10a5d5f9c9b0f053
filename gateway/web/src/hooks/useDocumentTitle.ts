import { useEffect } from 'preact/hooks';
import { useI18n } from '../i18n/context';

export function useDocumentTitle(title: string): void {
  const { t } = useI18n();
  useEffect(() => {
    document.title = title ? t('app.titleWith', { page: title }) : t('app.name');
  }, [title, t]);
}
