// Hand-drawn stroke icons on a 24-unit grid; decorative unless given a label.

import type { FileCategory } from '../lib/fileTypes';

const FILE = 'M14 3H6a1 1 0 0 0-1 1v16a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V8zM14 3v5h5';

const PATHS = {
  close: 'M6 6l12 12M18 6L6 18',
  check: 'M5 12.5l4.5 4.5L19 7',
  upload: 'M12 15V4M7 9l5-5 5 5M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4',
  download: 'M12 4v11M7 10l5 5 5-5M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4',
  eye: 'M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12zM12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z',
  share: 'M18 3a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM6 9.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM18 16a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM8.2 10.8l7.6-4.4M8.2 13.2l7.6 4.4',
  link: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
  trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3',
  pause: 'M9 5v14M15 5v14',
  play: 'M7 4.5v15l12-7.5z',
  retry: 'M20 12a8 8 0 1 1-2.34-5.66M20 4v5h-5',
  sun: 'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4',
  moon: 'M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z',
  search: 'M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM20 20l-4-4',
  chevronLeft: 'M15 6l-6 6 6 6',
  chevronRight: 'M9 6l6 6-6 6',
  key: 'M8 11a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM11 12l9-9M17 6l3 3M14.5 8.5l2 2',
  user: 'M12 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM4 21a8 8 0 0 1 16 0',
  signOut: 'M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l-5-5 5-5M5 12h11',
  signIn: 'M9 4H6a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h3M14 17l5-5-5-5M19 12H8',
  copy: 'M10 9h9a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-9a1 1 0 0 1-1-1V10a1 1 0 0 1 1-1zM15 9V4a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h4',
  alert: 'M12 3L2 21h20zM12 10v5M12 18h.01',
  lock: 'M6 11h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-8a1 1 0 0 1 1-1zM8 11V8a4 4 0 0 1 8 0v3',
  folder: 'M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z',
  files: 'M8 3h7l4 4v10a1 1 0 0 1-1 1H8a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zM15 3v4h4M4 7v13a1 1 0 0 0 1 1h10',
  clock: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 2',
  code: 'M8 7l-5 5 5 5M16 7l5 5-5 5M13.5 5l-3 14',
  image: 'M5 4h14a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zM20 15l-5-5-9 10M9 7.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z',
  typeOther: FILE,
  typeImage: `${FILE}M8 18l3-3.5 2 2 2-2.5 2 4zM9.5 10.5a1 1 0 1 0 0 2 1 1 0 0 0 0-2z`,
  typeVideo: `${FILE}M10 11.5v6l5-3z`,
  typeAudio: `${FILE}M11 17.5a1.5 1.5 0 1 1-3 0 1.5 1.5 0 0 1 3 0zM11 17.5V11l5-1.5v6M16 15.5a1.5 1.5 0 1 1-3 0 1.5 1.5 0 0 1 3 0z`,
  typePdf: `${FILE}M8 12h8M8 15h8M8 18h4`,
  typeText: `${FILE}M8 12h8M8 15h8M8 18h6`,
  typeCode: `${FILE}M10 12l-2 2.5 2 2.5M14 12l2 2.5-2 2.5`,
  typeArchive: `${FILE}M11 4v2h2M11 8h2M11 10h2v2h-2zM10.5 14h3v3.5h-3z`,
  typeDocument: `${FILE}M8 11h8M8 14h8M8 17h8`,
  typeSpreadsheet: `${FILE}M8 11h8v7H8zM8 14.5h8M12 11v7`,
  typePresentation: `${FILE}M8 11h8v5H8zM12 16v3`,
} as const;

export type IconName = keyof typeof PATHS;

interface IconProps {
  name: IconName;
  size?: number;
  label?: string;
  class?: string;
}

export function Icon({ name, size = 20, label, class: className }: IconProps) {
  return (
    <svg
      class={className ? `icon ${className}` : 'icon'}
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linecap="round"
      stroke-linejoin="round"
      role={label ? 'img' : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : 'true'}
      focusable="false"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}

const CATEGORY_ICONS: Record<FileCategory, IconName> = {
  image: 'typeImage',
  video: 'typeVideo',
  audio: 'typeAudio',
  pdf: 'typePdf',
  text: 'typeText',
  code: 'typeCode',
  archive: 'typeArchive',
  document: 'typeDocument',
  spreadsheet: 'typeSpreadsheet',
  presentation: 'typePresentation',
  other: 'typeOther',
};

export function FileTypeIcon({ category, label }: { category: FileCategory; label?: string }) {
  return (
    <span class={`type-icon type-icon--${category}`}>
      <Icon name={CATEGORY_ICONS[category]} size={22} label={label} />
    </span>
  );
}
