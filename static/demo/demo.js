// Shows the Consent Mode commands the embed pushed to the dataLayer, after each choice.
function showConsentMode() {
  const commands = (window.dataLayer || [])
    .map(entry => Array.from(entry))
    .filter(entry => entry[0] === 'consent');
  document.getElementById('consent-mode').textContent = commands
    .map(entry => `gtag('consent', '${entry[1]}', ${JSON.stringify(entry[2], null, 1)})`)
    .join('\n');
}
document.addEventListener('zgoda:change', showConsentMode);
document.addEventListener('DOMContentLoaded', showConsentMode);
