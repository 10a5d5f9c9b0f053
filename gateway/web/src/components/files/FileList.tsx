// The user's files: search, status filter, sort, pages, selection and bulk delete, with
// optimistic updates that roll back (and say so) when the server disagrees.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { bulkDeleteFiles, deleteFile, isAbort, listFiles } from '../../api';
import type { FilePage, SortField, SortOrder, StatusFilter, StoredFile } from '../../api/types';
import { useDebounced } from '../../hooks/useDebounced';
import { useI18n } from '../../i18n/context';
import type { MessageKey } from '../../i18n/core';
import { describeError } from '../../i18n/errors';
import { formatNumber } from '../../lib/format';
import { useApp } from '../../state';
import { ConfirmDialog } from '../ConfirmDialog';
import { Icon } from '../Icon';
import { useToasts } from '../Toasts';
import { FileRow } from './FileRow';
import { PreviewModal } from './PreviewModal';
import { ShareDialog } from './ShareDialog';

export const PER_PAGE = 20;
export const SEARCH_DEBOUNCE_MS = 300;

const SORTS: Array<{ value: `${SortField}:${SortOrder}`; label: MessageKey }> = [
  { value: 'uploadedAt:desc', label: 'files.sort.newest' },
  { value: 'uploadedAt:asc', label: 'files.sort.oldest' },
  { value: 'name:asc', label: 'files.sort.nameAsc' },
  { value: 'name:desc', label: 'files.sort.nameDesc' },
  { value: 'size:desc', label: 'files.sort.largest' },
  { value: 'size:asc', label: 'files.sort.smallest' },
];

const STATUSES: StatusFilter[] = ['active', 'expired', 'all'];

type Dialog = { kind: 'preview'; file: StoredFile } | { kind: 'share'; file: StoredFile } | { kind: 'delete'; files: StoredFile[] } | null;

export function FileList() {
  const i18n = useI18n();
  const { t, tn, locale } = i18n;
  const toasts = useToasts();
  const { filesVersion } = useApp();

  const [search, setSearch] = useState('');
  const q = useDebounced(search, SEARCH_DEBOUNCE_MS);
  const [status, setStatus] = useState<StatusFilter>('active');
  const [sort, setSort] = useState<`${SortField}:${SortOrder}`>('uploadedAt:desc');
  const [page, setPage] = useState(1);
  const [reload, setReload] = useState(0);

  const [data, setData] = useState<FilePage | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<Dialog>(null);
  const selectAllRef = useRef<HTMLInputElement>(null);

  // A new query starts on page 1 with nothing selected.
  useEffect(() => {
    setPage(1);
    setSelected(new Set());
  }, [q, status, sort]);

  useEffect(() => {
    const controller = new AbortController();
    const [field, order] = sort.split(':') as [SortField, SortOrder];
    setLoading(true);
    listFiles({ page, perPage: PER_PAGE, q, status, sort: field, order }, controller.signal)
      .then((result) => {
        setData(result);
        setError(null);
        setLoading(false);
        // The last page emptied (deletes elsewhere): step back to one that has files.
        const lastPage = Math.max(1, Math.ceil(result.total / PER_PAGE));
        if (result.items.length === 0 && page > lastPage) setPage(lastPage);
      })
      .catch((failure: unknown) => {
        if (isAbort(failure)) return;
        setError(describeError(failure, i18n));
        setLoading(false);
      });
    return () => controller.abort();
  }, [q, status, sort, page, filesVersion, reload]);

  const items = data?.items ?? [];
  const total = data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  const selectedOnPage = items.filter((file) => selected.has(file.id));
  const allSelected = items.length > 0 && selectedOnPage.length === items.length;

  useEffect(() => {
    if (selectAllRef.current) selectAllRef.current.indeterminate = selectedOnPage.length > 0 && !allSelected;
  }, [selectedOnPage.length, allSelected]);

  const toggle = (id: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(items.map((file) => file.id)));

  const remove = async (files: StoredFile[]) => {
    const ids = new Set(files.map((file) => file.id));
    const before = data;
    setDialog(null);
    setData((current) => current && { ...current, items: current.items.filter((file) => !ids.has(file.id)), total: Math.max(0, current.total - ids.size) });
    setSelected((current) => new Set([...current].filter((id) => !ids.has(id))));
    try {
      if (files.length === 1) await deleteFile(files[0].id);
      else await bulkDeleteFiles([...ids]);
      toasts.push('success', files.length === 1 ? t('files.deleted.one', { name: files[0].originalName }) : tn('files.deleted.many', files.length));
      setReload((value) => value + 1);
    } catch (failure) {
      setData(before);
      toasts.push('error', t('files.deleteFailed', { reason: describeError(failure, i18n) }));
    }
  };

  const firstShown = total === 0 ? 0 : (page - 1) * PER_PAGE + 1;
  const lastShown = Math.min(total, (page - 1) * PER_PAGE + items.length);
  const filtered = q.trim() !== '' || status !== 'active';

  const emptyState = useMemo(() => {
    if (q.trim() !== '') return { title: t('files.empty.searchTitle', { query: q.trim() }), text: t('files.empty.searchText') };
    if (status === 'expired') return { title: t('files.empty.expiredTitle'), text: t('files.empty.expiredText') };
    return { title: t('files.empty.title'), text: t('files.empty.text') };
  }, [q, status, t]);

  return (
    <section class="card files" aria-labelledby="files-title" aria-busy={loading ? 'true' : 'false'}>
      <div class="files__header">
        <h2 id="files-title" class="section-title">
          {t('files.heading')}
          {data && <span class="count-pill">{formatNumber(total, locale)}</span>}
        </h2>
        <div class="toolbar">
          <label class="search">
            <span class="visually-hidden">{t('files.search.label')}</span>
            <Icon name="search" size={18} class="search__icon" />
            <input
              type="search"
              class="input search__input"
              value={search}
              placeholder={t('files.search.placeholder')}
              onInput={(event) => setSearch(event.currentTarget.value)}
              data-testid="file-search"
            />
          </label>
          <label class="field field--compact">
            <span class="visually-hidden">{t('files.status.label')}</span>
            <select class="select" value={status} onChange={(event) => setStatus(event.currentTarget.value as StatusFilter)} data-testid="status-filter">
              {STATUSES.map((value) => (
                <option key={value} value={value}>
                  {t(`files.status.${value}`)}
                </option>
              ))}
            </select>
          </label>
          <label class="field field--compact">
            <span class="visually-hidden">{t('files.sort.label')}</span>
            <select class="select" value={sort} onChange={(event) => setSort(event.currentTarget.value as typeof sort)} data-testid="sort-select">
              {SORTS.map((option) => (
                <option key={option.value} value={option.value}>
                  {t(option.label)}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>

      {items.length > 0 && (
        <div class={selectedOnPage.length > 0 ? 'bulkbar bulkbar--active' : 'bulkbar'}>
          <label class="checkbox">
            <input ref={selectAllRef} type="checkbox" checked={allSelected} onChange={toggleAll} data-testid="select-all" />
            <span>{selected.size > 0 ? tn('files.selected', selected.size) : t('files.selectAll')}</span>
          </label>
          {selected.size > 0 && (
            <div class="bulkbar__actions">
              <button type="button" class="button button--ghost button--sm" onClick={() => setSelected(new Set())} data-testid="bulk-clear">
                {t('files.clearSelection')}
              </button>
              <button
                type="button"
                class="button button--danger button--sm"
                onClick={() => setDialog({ kind: 'delete', files: items.filter((file) => selected.has(file.id)) })}
                data-testid="bulk-delete"
              >
                <Icon name="trash" size={16} />
                {t('files.deleteSelected')}
              </button>
            </div>
          )}
        </div>
      )}

      {loading && data && <div class="loading-bar" aria-hidden="true" />}

      {error && (
        <div class="notice notice--error state-message" role="alert" data-testid="files-error">
          <p>{error}</p>
          <button type="button" class="button button--ghost" onClick={() => setReload((value) => value + 1)}>
            {t('common.retry')}
          </button>
        </div>
      )}

      {!data && loading && !error && <FileSkeleton label={t('files.loading')} />}

      {data && items.length === 0 && !loading && !error && (
        <div class="empty-state" data-testid="files-empty">
          <Icon name={filtered ? 'search' : 'folder'} size={40} />
          <h3>{emptyState.title}</h3>
          <p class="muted">{emptyState.text}</p>
          {q.trim() !== '' && (
            <button type="button" class="button button--ghost" onClick={() => setSearch('')}>
              {t('files.empty.clearSearch')}
            </button>
          )}
        </div>
      )}

      {items.length > 0 && (
        <ul class="file-list" data-testid="file-list">
          {items.map((file) => (
            <FileRow
              key={file.id}
              file={file}
              selected={selected.has(file.id)}
              onToggle={() => toggle(file.id)}
              onPreview={() => setDialog({ kind: 'preview', file })}
              onShare={() => setDialog({ kind: 'share', file })}
              onDelete={() => setDialog({ kind: 'delete', files: [file] })}
            />
          ))}
        </ul>
      )}

      {data && total > 0 && (
        <nav class="pagination" aria-label={t('files.pagination.label')}>
          <p class="pagination__range" data-testid="pagination-range">
            {t('files.pagination.range', { from: formatNumber(firstShown, locale), to: formatNumber(lastShown, locale), total: formatNumber(total, locale) })}
          </p>
          <div class="pagination__buttons">
            <button
              type="button"
              class="button button--ghost button--sm"
              disabled={page <= 1}
              onClick={() => setPage(page - 1)}
              data-testid="pagination-prev"
            >
              <Icon name="chevronLeft" size={16} />
              {t('files.pagination.prev')}
            </button>
            <span class="pagination__page" data-testid="pagination-page">
              {t('files.pagination.page', { page: formatNumber(page, locale), pages: formatNumber(pages, locale) })}
            </span>
            <button
              type="button"
              class="button button--ghost button--sm"
              disabled={page >= pages}
              onClick={() => setPage(page + 1)}
              data-testid="pagination-next"
            >
              {t('files.pagination.next')}
              <Icon name="chevronRight" size={16} />
            </button>
          </div>
        </nav>
      )}

      {dialog?.kind === 'preview' && <PreviewModal file={dialog.file} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'share' && <ShareDialog file={dialog.file} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          title={dialog.files.length === 1 ? t('files.confirmDelete.titleOne') : tn('files.confirmDelete.titleMany', dialog.files.length)}
          message={
            dialog.files.length === 1
              ? t('files.confirmDelete.textOne', { name: dialog.files[0].originalName })
              : tn('files.confirmDelete.textMany', dialog.files.length)
          }
          confirmLabel={t('files.confirmDelete.confirm')}
          danger
          onConfirm={() => remove(dialog.files)}
          onClose={() => setDialog(null)}
          testId="delete-dialog"
        />
      )}
    </section>
  );
}

function FileSkeleton({ label }: { label: string }) {
  return (
    <div class="skeleton-list" role="status" aria-label={label} data-testid="files-loading">
      {Array.from({ length: 5 }, (_, index) => (
        <div key={index} class="skeleton-row" aria-hidden="true">
          <span class="skeleton skeleton--box" />
          <span class="skeleton-row__text">
            <span class="skeleton skeleton--line" />
            <span class="skeleton skeleton--line skeleton--short" />
          </span>
        </div>
      ))}
    </div>
  );
}
