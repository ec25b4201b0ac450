// The theme chosen with the dashboard's toggle (localStorage), before the first paint; none: the system's.
try {
  const theme = localStorage.getItem('plimsoll.theme')
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme
} catch {
  // storage blocked: follow the system
}
