import type { User } from '../api/types';
import { initials } from '../lib/initials';

/** The user's picture, or initials on a coloured disc. Decorative: the name is always shown or labelled nearby. */
export function Avatar({ user, size = 32 }: { user: User; size?: number }) {
  return (
    <span class={`avatar avatar--${size}`} aria-hidden="true">
      {user.image ? <img src={user.image} alt="" width={size} height={size} referrerpolicy="no-referrer" /> : initials(user)}
    </span>
  );
}
