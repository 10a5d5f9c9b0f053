// What the whole app shares: the signed-in user, the upload limits, the upload queue,
// and a counter that tells the file list to refresh.

import { createContext, type ComponentChildren } from 'preact';
import { useContext } from 'preact/hooks';
import type { Limits, User } from './api/types';
import type { UploadManager } from './upload/manager';

export interface AppState {
  user: User;
  setUser: (user: User) => void;
  limits: Limits | null;
  uploads: UploadManager;
  /** Changes whenever files were added, so lists reload. */
  filesVersion: number;
  signOut: () => Promise<void>;
  /** The account is gone: back to the sign-in page. */
  signedOut: () => void;
}

const AppContext = createContext<AppState | null>(null);

export function AppProvider({ value, children }: { value: AppState; children: ComponentChildren }) {
  return <AppContext.Provider value={value}>{children}</AppContext.Provider>;
}

export function useApp(): AppState {
  const context = useContext(AppContext);
  if (!context) throw new Error('useApp outside AppProvider');
  return context;
}
