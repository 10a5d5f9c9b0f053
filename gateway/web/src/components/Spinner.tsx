export function Spinner({ label, size = 'md' }: { label?: string; size?: 'sm' | 'md' | 'lg' }) {
  return (
    <span class={`spinner spinner--${size}`} role={label ? 'status' : undefined} aria-label={label}>
      <span class="spinner__ring" aria-hidden="true" />
    </span>
  );
}
