// The console's entry: the token from the URL fragment (never the query
// string, so it stays out of access logs) into sessionStorage, then the
// agent's panel or the admin's page, as the token's role says.

import { setToken, claims } from './api.js';
import { toast } from './dom.js';
import { t, lang, setLang, translatePage, errorText } from './i18n.js';
import { startDesk } from './desk.js';
import { startAdmin } from './admin.js';

const $ = (id) => document.getElementById(id);

function takeFragmentToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('sb.token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('sb.token');
}

function signIn(message) {
  sessionStorage.removeItem('sb.token');
  $('desk').hidden = true;
  $('admin').hidden = true;
  $('tabs').hidden = true;
  $('signin').hidden = false;
  $('signout').hidden = true;
  if (message) {
    toast(message);
  }
}

function fatal(err) {
  signIn(errorText(err));
}

async function main() {
  setLang(lang());
  translatePage();
  $('lang').textContent = t('lang.other');
  $('lang').addEventListener('click', () => {
    setLang(lang() === 'fr' ? 'en' : 'fr');
    location.reload();     // the simplest way to say everything again
  });
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem('sb.token', $('signin-token').value.trim());
    location.reload();
  });
  $('signout').textContent = t('signout');
  $('signout').addEventListener('click', () => {
    sessionStorage.removeItem('sb.token');
    location.reload();
  });

  const token = takeFragmentToken();
  const c = token && claims(token);
  if (!c || (c.exp && c.exp * 1000 < Date.now())) {
    signIn(token ? errorText({ code: 'invalid_token' }) : null);
    return;
  }
  setToken(token);
  $('signout').hidden = false;
  document.body.dataset.role = c.role;
  try {
    if (c.role === 'admin') {
      $('who').textContent = c.sub;
      await startAdmin();
    } else if (c.role === 'agent') {
      await startDesk(fatal);
    } else {
      signIn(errorText({ code: 'wrong_role' }));
    }
  } catch (err) {
    fatal(err);
  }
}

main();
