// Runs before the first paint: the stored theme choice, else the system's. Keep the key in
// step with THEME_STORAGE_KEY in src/hooks/useTheme.ts (a unit test checks).
(function () {
  var theme = null;
  try {
    theme = window.localStorage.getItem('flowsvault.theme');
  } catch (error) {
    theme = null;
  }
  if (theme !== 'light' && theme !== 'dark') {
    theme = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }
  document.documentElement.setAttribute('data-theme', theme);
})();
