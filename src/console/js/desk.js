// The agent's discussion panel: the availability buttons, one tab per held
// conversation, and what the event log says happens to them (R5, R24).

import { api, ApiError } from './api.js';
import { h, clear, toast } from './dom.js';
import { t, errorText, duration } from './i18n.js';
import { channelIcon } from './icons.js';
import { EventPoll } from './poll.js';
import { renderConversation, tickConversation } from './conversation.js';

export const desk = {
  me: null,
  settings: null,
  canned: [],
  convs: new Map(),      // id -> { c: conversation, at: when fetched, unread }
  order: [],
  selected: null,
  poll: null,
};

const $ = (id) => document.getElementById(id);

export async function startDesk(onFatal) {
  [desk.settings, desk.canned] = await Promise.all([
    api('GET', '/agent/settings'),
    api('GET', '/agent/canned').then((a) => a.canned.filter(Boolean)),
  ]);
  // a snapshot and its cursor: polling from there misses nothing
  const me = await api('GET', '/agent/me');
  setMe(me);
  await Promise.all(me.conversations.map((id) => openTab(id)));
  $('desk').hidden = false;
  showConnection('online');
  render();
  desk.poll = new EventPoll('/agent/events', {
    onEvents: handleEvents,
    onState: showConnection,
    onFatal,
  });
  desk.poll.start(me.events_cursor);
  // colours change with presence and with others' work: keep them fresh
  setInterval(() => refreshMe().catch(() => {}), 10000);
  setInterval(tick, 1000);
}

function showConnection(state) {
  const el = $('connection');
  el.textContent = t(state === 'online' ? 'conn.online' : 'conn.reconnecting');
  el.className = `connection ${state}`;
  document.body.classList.toggle('offline', state !== 'online');
}

export function setMe(me) {
  desk.me = me;
  $('who').textContent = me.name;
  renderAvailability();
}

export async function refreshMe() {
  setMe(await api('GET', '/agent/me'));
}

// --- availability: one button per slot class -------------------------------

function renderAvailability() {
  const box = clear($('availability'));
  box.setAttribute('aria-label', 'Availability');
  for (const [klass, s] of Object.entries(desk.me.classes)) {
    const away = desk.me.presence === 'away' && s.available ? t('tip.away') : '';
    const tip = t(`tip.${s.status}`, { class: klass, used: s.used,
                                       capacity: s.capacity, away });
    box.append(h('button', {
      type: 'button',
      class: `status status-${s.status}`,
      title: tip,
      'aria-label': `${t('class.label', { class: klass, status: t(`status.${s.status}`) })}. ${tip}`,
      'aria-pressed': String(s.available),
      dataset: { class: klass, status: s.status },
      onclick: () => toggle(klass, !s.available),
    }, h('span', { class: 'dot', 'aria-hidden': 'true' }),
       t('class.label', { class: klass, status: t(`status.${s.status}`) }),
       h('span', { class: 'count' }, ` ${s.used}/${s.capacity}`)));
  }
}

async function toggle(klass, available) {
  try {
    setMe(await api('PUT', '/agent/availability', { class: klass, available }));
  } catch (err) {
    toast(errorText(err));
  }
}

// --- tabs --------------------------------------------------------------------

export async function openTab(id) {
  const c = await api('GET', `/agent/conversations/${id}`);
  if (c.agent !== desk.me.id || !['assigned', 'snoozed'].includes(c.state)) {
    return;
  }
  if (!desk.convs.has(id)) {
    desk.order.push(id);
  }
  desk.convs.set(id, { c, at: Date.now(), unread: desk.convs.get(id)?.unread ?? false });
  if (!desk.selected) {
    desk.selected = id;
  }
}

export function closeTab(id, note) {
  const had = desk.convs.has(id);
  desk.convs.delete(id);
  desk.order = desk.order.filter((x) => x !== id);
  if (desk.selected === id) {
    desk.selected = desk.order[0] ?? null;
  }
  if (had && note) {
    addNote(note);
  }
}

export function addNote(text) {
  const notes = $('notes');
  const note = h('p', { class: 'note' }, text,
                 h('button', { type: 'button', class: 'plain close', 'aria-label': 'Dismiss',
                               onclick: () => note.remove() }, '×'));
  notes.prepend(note);
  while (notes.children.length > 5) {
    notes.lastChild.remove();
  }
}

export function select(id) {
  desk.selected = id;
  const entry = desk.convs.get(id);
  if (entry) {
    entry.unread = false;
  }
  render();
}

// seconds since an answer was fetched, added to the server's figures
export function elapsed(entry) {
  return (Date.now() - entry.at) / 1000;
}

function tabTimes(entry) {
  const since = entry.c.since_last_agent_message_seconds;
  return [duration(entry.c.age_seconds + elapsed(entry)),
          since === null ? '–' : duration(since + elapsed(entry))];
}

// rebuilt when conversations come and go; a tab that had the focus keeps it
function renderTabs() {
  const focused = document.activeElement?.dataset?.conversation;
  const nav = clear($('tabs'));
  nav.hidden = desk.order.length === 0;
  for (const id of desk.order) {
    const entry = desk.convs.get(id);
    const c = entry.c;
    const [age, since] = tabTimes(entry);
    const tab = h('button', {
      type: 'button', role: 'tab', id: `tab-${id}`, class: 'tab',
      'aria-selected': String(id === desk.selected),
      'aria-controls': 'conversation',
      tabindex: id === desk.selected ? '0' : '-1',
      dataset: { conversation: id, channel: c.channel },
      onclick: () => select(id),
      onkeydown: tabKeys,
    }, channelIcon(c.channel),
       h('span', { class: 'visitor' }, c.visitor),
       h('span', { class: 'times' },
         h('span', { class: 'age', title: t('conv.age', { age: '' }).trim() }, age),
         ' · ',
         h('span', { class: 'since' }, since)),
       entry.unread ? h('span', { class: 'unread' }, h('span', { class: 'sr' }, t('tab.unread'))) : null);
    nav.append(tab);
    if (id === focused) {
      tab.focus();
    }
  }
}

// arrows move between tabs, as a tablist does
function tabKeys(ev) {
  const i = desk.order.indexOf(ev.currentTarget.dataset.conversation);
  const step = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
  if (!step || i < 0) {
    return;
  }
  ev.preventDefault();
  const next = desk.order[(i + step + desk.order.length) % desk.order.length];
  select(next);
  document.getElementById(`tab-${next}`)?.focus();
}

export function render() {
  const view = $('conversation');
  const entry = desk.selected && desk.convs.get(desk.selected);
  if (entry) {
    entry.unread = false;      // it is being read
  }
  renderTabs();
  $('empty').hidden = desk.order.length > 0;
  view.hidden = !entry;
  if (entry) {
    renderConversation(view, entry);
  }
}

// the clocks move; nothing is rebuilt, so focus and hover stay put
function tick() {
  for (const tab of $('tabs').children) {
    const entry = desk.convs.get(tab.dataset.conversation);
    if (entry) {
      const [age, since] = tabTimes(entry);
      tab.querySelector('.age').textContent = age;
      tab.querySelector('.since').textContent = since;
    }
  }
  const entry = desk.selected && desk.convs.get(desk.selected);
  if (entry) {
    tickConversation(entry);
  }
}

// --- the event log ---------------------------------------------------------

const why = (reason) => t(`reason.${reason}`);

async function handleEvents(events) {
  for (const e of events) {
    const entry = desk.convs.get(e.conversation);
    const visitor = entry ? entry.c.visitor : '';
    try {
      switch (e.type) {
      case 'conversation.assigned':
        await openTab(e.conversation);
        break;
      case 'conversation.message':
        if (entry && e.message) {
          addMessage(entry, e.message);
          if (e.conversation !== desk.selected && e.message.kind === 'visitor') {
            entry.unread = true;
          }
        }
        break;
      case 'conversation.transferred':
        addNote(t('note.transferred', { from: e.from, conv: e.conversation,
                                        comment: e.comment }));
        break;
      case 'conversation.unassigned':
        closeTab(e.conversation, t(`note.unassigned.${e.reason}`,
                                   { conv: e.conversation, visitor }));
        break;
      case 'conversation.ended':
        closeTab(e.conversation, t('note.ended', { conv: e.conversation, visitor,
                                                   reason: why(e.reason) }));
        break;
      case 'message.status':
      case 'message.failed':
        if (entry && e.message) {
          addMessage(entry, e.message);
        }
        if (e.type === 'message.failed') {
          addNote(t('note.failed', { conv: e.conversation }));
        }
        break;
      default:
        break;
      }
    } catch (err) {
      if (!(err instanceof ApiError)) {
        throw err;          // the network: the poll retries from its cursor
      }
    }
  }
  await refreshMe();
  render();
}

// An action's answer holds the conversation with its last few entries
// only (the server never sends a whole thread): they join those shown,
// and the page of older ones the tab has loaded stays.
export function mergeConversation(entry, c) {
  const known = entry.c.thread.filter(Boolean);
  const first = c.thread.length ? c.thread[0].seq : Infinity;
  const kept = known.filter((m) => m.seq < first);
  const before = kept.length ? entry.c.thread_before : c.thread_before;
  entry.c = { ...c, thread: [...kept, ...c.thread], thread_before: before };
  entry.at = Date.now();
}

// The page before the oldest entry shown (scrolling up, or the button).
export async function loadOlder(entry) {
  const c = entry.c;
  if (c.thread_before === null || entry.loading) {
    return false;
  }
  entry.loading = true;
  try {
    const page = await api('GET',
      `/agent/conversations/${c.id}?before=${c.thread_before}`);
    const first = c.thread.length ? c.thread[0].seq : Infinity;
    c.thread = [...page.thread.filter((m) => m.seq < first), ...c.thread];
    c.thread_before = page.thread_before;
    return true;
  } finally {
    entry.loading = false;
  }
}

// A thread entry, new or newer (a delivery's state), by its seq.
export function addMessage(entry, m) {
  const thread = entry.c.thread;
  const i = thread.findIndex((x) => x && x.seq === m.seq);
  if (i >= 0) {
    thread[i] = m;
  } else {
    thread.push(m);
    thread.sort((a, b) => a.seq - b.seq);
  }
  if (m.kind === 'agent') {
    entry.c.since_last_agent_message_seconds = 0;
    entry.c.age_seconds += elapsed(entry);
    entry.at = Date.now();
  }
}
