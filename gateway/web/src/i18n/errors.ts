// One readable sentence for any failure: a translated message by problem code, else the server's detail.

import { ApiError } from '../api/client';
import type { UploadError } from '../upload/manager';
import type { I18n } from './context';
import { formatBytes } from '../lib/format';

interface ProblemLike {
  status: number;
  code: string | null;
  detail: string | null;
  retryAfterMs?: number | null;
}

function describeProblem(problem: ProblemLike, i18n: I18n): string {
  const { t, tMaybe } = i18n;
  if (problem.status === 429 && problem.retryAfterMs) {
    return t('errors.rate_limited_wait', { seconds: Math.ceil(problem.retryAfterMs / 1000) });
  }
  const byCode = problem.code ? tMaybe(`errors.${problem.code}`) : null;
  if (byCode) return byCode;
  if (problem.detail) return problem.detail;
  if (problem.status === 0) return t('errors.network_error');
  if (problem.status >= 500) return t('errors.server');
  return t('errors.status', { status: problem.status });
}

export function describeError(error: unknown, i18n: I18n): string {
  if (error instanceof ApiError) return describeProblem(error, i18n);
  return i18n.t('errors.generic');
}

export function describeUploadError(error: UploadError, i18n: I18n): string {
  const { t } = i18n;
  switch (error.kind) {
    case 'rejected':
      return error.rejection.reason === 'too_large'
        ? t('upload.rejected.tooLarge', { max: formatBytes(error.rejection.maxBytes, i18n.locale) })
        : error.rejection.extension
          ? t('upload.rejected.type', { extension: error.rejection.extension })
          : t('upload.rejected.noExtension');
    case 'http':
      return describeProblem(error, i18n);
    case 'client':
      return t('errors.generic');
  }
}
