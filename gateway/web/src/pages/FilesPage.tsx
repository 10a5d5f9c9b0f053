import { FileList } from '../components/files/FileList';
import { Uploader } from '../components/uploader/Uploader';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import { useI18n } from '../i18n/context';

export function FilesPage() {
  const { t } = useI18n();
  useDocumentTitle(t('files.title'));
  return (
    <div class="page page--files">
      <h1 class="visually-hidden">{t('files.title')}</h1>
      <Uploader />
      <FileList />
    </div>
  );
}
