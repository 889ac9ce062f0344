// The admin's page: queues per group and class with the oldest wait,
// agents per status, conversations per state, and the ledger (R19).

import { api } from './api.js';
import { h, clear, toast, clock } from './dom.js';
import { t, errorText, duration } from './i18n.js';
import { channelIcon } from './icons.js';

const ledger = { entries: [], cursor: 0 };

function table(caption, head, rows) {
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, head.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.length ? rows
      : h('tr', {}, h('td', { colspan: String(head.length) }, t('admin.none')))));
}

function render(stats) {
  const queues = [];
  for (const [group, classes] of Object.entries(stats.queues)) {
    for (const [klass, q] of Object.entries(classes)) {
      queues.push(h('tr', { dataset: { group, class: klass } },
        h('td', {}, group), h('td', {}, klass), h('td', { class: 'n' }, q.length),
        h('td', { class: 'n' }, q.length ? duration(q.oldest_wait_seconds) : '–')));
    }
  }
  const agents = Object.entries(stats.agents).map(([klass, n]) =>
    h('tr', { dataset: { class: klass } }, h('td', {}, klass),
      ['green', 'orange', 'red'].map((s) => h('td', { class: `n status-${s}` },
        h('span', { class: 'dot', 'aria-hidden': 'true' }), ` ${n[s]}`))));
  const states = h('tr', {}, Object.values(stats.conversations).map((n) => h('td', { class: 'n' }, n)));
  const rows = ledger.entries.slice().reverse().map((e) => h('tr', {},
    h('td', {}, e.conversation),
    h('td', {}, channelIcon(e.channel), ' ', t(`channel.${e.channel}`)),
    h('td', {}, clock(e.ended_at)),
    h('td', {}, e.end_reason ? t(`reason.${e.end_reason}`) : '–'),
    h('td', {}, e.credited_agent ?? '–')));
  clear(document.getElementById('admin'),
    h('h2', {}, t('admin.title')),
    table(t('admin.queues'), [t('admin.group'), t('admin.class'), t('admin.length'), t('admin.oldest')], queues),
    table(t('admin.agents'), [t('admin.class'), t('status.green'), t('status.orange'), t('status.red')], agents),
    table(t('admin.conversations'), Object.keys(stats.conversations), [states]),
    table(t('admin.ledger'), [t('admin.ledger.conv'), t('admin.ledger.channel'), t('admin.ledger.ended'),
                              t('admin.ledger.reason'), t('admin.ledger.credited')], rows));
}

// the ledger is read forward from its cursor, page by page (500 at most)
async function readLedger() {
  for (;;) {
    const page = await api('GET', `/admin/ledger?cursor=${ledger.cursor}`);
    ledger.entries.push(...page.entries);
    ledger.cursor = page.cursor;
    if (page.entries.length < 500) {
      return;
    }
  }
}

async function refresh() {
  try {
    await readLedger();
    render(await api('GET', '/admin/stats'));
    document.getElementById('connection').textContent = t('conn.online');
  } catch (err) {
    document.getElementById('connection').textContent = t('conn.reconnecting');
    if (err.status) {
      toast(errorText(err));
    }
  }
}

export async function startAdmin() {
  document.getElementById('admin').hidden = false;
  await refresh();
  setInterval(refresh, 5000);
}
