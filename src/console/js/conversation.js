// One conversation: its header (age, the agent's silence, handlers on the
// avatar), the third-party banner, the thread, the reply box (R6, R18).

import { api, idempotencyKey } from './api.js';
import { h, clear, toast, clock } from './dom.js';
import { t, lang, errorText, duration } from './i18n.js';
import { channelIcon } from './icons.js';
import { desk, elapsed, addMessage, render, loadOlder } from './desk.js';
import { actionBar, lacks } from './actions.js';

const FIRST_PARTY = ['mobile', 'chat'];
const EMOJI = ['🙂', '😀', '😉', '🙏', '👍', '👋', '🎉', '❤️', '😅', '🤔',
               '👀', '✅', '⏳', '📦', '📞', '💡'];

export function renderConversation(view, entry) {
  const id = entry.c.id;
  if (view.dataset.conversation !== id || view.dataset.lang !== lang()) {
    build(view, entry);
  }
  update(view, entry);
}

export function tickConversation(entry) {
  const view = document.getElementById('conversation');
  if (view.parts && view.dataset.conversation === entry.c.id) {
    meta(view.parts, entry);
  }
}

function build(view, entry) {
  const c = entry.c;
  view.dataset.conversation = c.id;
  view.dataset.lang = lang();
  view.setAttribute('role', 'tabpanel');
  view.setAttribute('aria-labelledby', `tab-${c.id}`);
  const p = {};
  p.age = h('span', { class: 'age' });
  p.since = h('span', { class: 'since' });
  p.handlers = h('ul', { class: 'handlers', id: `handlers-${c.id}` });
  p.avatar = h('button', { type: 'button', class: 'avatar',
                           'aria-describedby': `handlers-${c.id}` },
               initials(desk.me.name));
  p.tags = h('ul', { class: 'tags', 'aria-label': t('conv.tags') });
  p.actions = h('div', { class: 'actions', role: 'toolbar' });
  p.thread = h('ol', { class: 'thread', 'aria-live': 'polite' });
  // a thread comes a page at a time: the top of it, or this button (for
  // the keyboard), brings the page before
  p.older = h('button', { type: 'button', class: 'older',
                          onclick: () => older(view, entry) }, t('conv.older'));
  p.thread.addEventListener('scroll', () => {
    if (p.thread.scrollTop === 0) {
      older(view, entry);
    }
  });
  p.composer = composer(entry);
  const third = !FIRST_PARTY.includes(c.channel);
  clear(view,
    h('header', { class: 'conv-head' },
      channelIcon(c.channel),
      h('div', { class: 'title' },
        h('h2', {}, c.visitor),
        h('p', { class: 'meta' }, t(`channel.${c.channel}`), ' · ', p.age, ' · ', p.since)),
      h('div', { class: 'avatar-box' }, p.avatar,
        h('div', { class: 'handlers-box', role: 'tooltip' },
          h('strong', {}, t('conv.handlers')), p.handlers))),
    third ? h('p', { class: 'banner', role: 'note' },
              t('conv.offline', { channel: t(`channel.${c.channel}`) })) : null,
    p.tags,
    p.actions,
    p.older,
    p.thread,
    p.composer);
  view.parts = p;
}

// The page before the oldest shown, keeping the entry the agent was
// reading where it was on the screen.
async function older(view, entry) {
  const p = view.parts;
  const height = p.thread.scrollHeight;
  p.older.textContent = t('conv.loading');
  try {
    if (await loadOlder(entry)) {
      update(view, entry);
      p.thread.scrollTop += p.thread.scrollHeight - height;
    }
  } catch (err) {
    toast(errorText(err));
  } finally {
    p.older.textContent = t('conv.older');
  }
}

function initials(name) {
  return name.split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase();
}

function meta(p, entry) {
  const c = entry.c;
  const s = elapsed(entry);
  p.age.textContent = t('conv.age', { age: duration(c.age_seconds + s) });
  p.since.textContent = c.since_last_agent_message_seconds === null
    ? t('conv.since.none')
    : t('conv.since', { since: duration(c.since_last_agent_message_seconds + s) });
}

function update(view, entry) {
  const p = view.parts;
  const c = entry.c;
  meta(p, entry);
  clear(p.handlers, c.handlers.map((x) => h('li', {},
    h('span', { class: 'who' }, x.agent), ' ',
    h('span', { class: 'when' }, clock(x.from), ' – ',
      x.to ? clock(x.to) : t('conv.handler.now')))));
  clear(p.tags, c.tags.map((tag) => h('li', { class: 'tag' }, tag)));
  // the toolbar is redrawn (capabilities, state); its focus is kept
  const focused = p.actions.contains(document.activeElement) ? document.activeElement.className : null;
  clear(p.actions, actionBar(entry));
  if (focused) {
    p.actions.querySelector(`[class="${focused}"]`)?.focus();
  }
  const wasAtEnd = p.thread.scrollTop + p.thread.clientHeight >= p.thread.scrollHeight - 4;
  p.older.hidden = c.thread_before === null || c.thread_before === undefined;
  clear(p.thread, c.thread.filter(Boolean).map((m) => message(c, m)));
  if (wasAtEnd) {
    p.thread.scrollTop = p.thread.scrollHeight;
  }
}

function message(c, m) {
  const who = m.kind === 'visitor' ? `${t('kind.visitor')} ${m.author}`
            : m.kind === 'system' ? t('kind.system') : m.author;
  return h('li', { class: `msg ${m.kind}`, dataset: { seq: m.seq, event: m.event || '' } },
    h('span', { class: 'by' }, who),
    h('p', { class: 'text' }, m.text),
    m.attachment ? h('a', { href: m.attachment.url, rel: 'noopener noreferrer',
                            target: '_blank' }, m.attachment.name || m.attachment.url) : null,
    m.offer ? h('a', { href: m.offer.url, rel: 'noopener noreferrer',
                       target: '_blank' }, m.offer.title) : null,
    h('span', { class: 'at' }, clock(m.at)),
    m.delivery ? h('span', { class: `delivery ${m.delivery.state}`,
                             title: m.delivery.error || '' },
                   t(`delivery.${m.delivery.state}`)) : null);
}

// --- the reply box ---------------------------------------------------------

function composer(entry) {
  const c = entry.c;
  entry.draft = entry.draft || { key: null, canned: null };
  const text = h('textarea', { id: `reply-${c.id}`, class: 'reply', rows: '3' });
  const send = h('button', { type: 'submit', class: 'primary send' }, t('reply.send'));
  const emojiLacks = lacks(c, 'emoji');
  const picker = h('div', { class: 'emoji-picker', hidden: true, role: 'group',
                            'aria-label': t('reply.emoji') },
    EMOJI.map((e) => h('button', { type: 'button', class: 'emoji', 'aria-label': e,
                                   onclick: () => { insert(text, e); picker.hidden = true; text.focus(); } }, e)));
  const emoji = h('button', {
    type: 'button', class: 'emoji-toggle', 'aria-label': emojiLacks || t('reply.emoji'),
    title: emojiLacks || t('reply.emoji'), disabled: Boolean(emojiLacks),
    'aria-expanded': 'false',
    onclick: () => {
      picker.hidden = !picker.hidden;
      emoji.setAttribute('aria-expanded', String(!picker.hidden));
    },
  }, '🙂');
  const cannedLacks = lacks(c, 'canned');
  const canned = h('select', {
    class: 'canned', 'aria-label': t('reply.canned'), title: cannedLacks || t('reply.canned'),
    disabled: Boolean(cannedLacks) || desk.canned.length === 0,
    onchange: () => {
      const k = desk.canned.find((x) => x.id === canned.value);
      if (k) {
        // shown as it will be sent; the server fills the placeholders
        text.value = k.text.replaceAll('{{visitor}}', c.visitor)
                           .replaceAll('{{agent}}', desk.me.name);
        entry.draft.canned = { id: k.id, shown: text.value };
        entry.draft.key = null;
        text.focus();
      }
      canned.value = '';
    },
  }, h('option', { value: '' }, t('reply.canned.none')),
     desk.canned.map((k) => h('option', { value: k.id }, k.title)));
  text.addEventListener('input', () => {
    entry.draft.key = null;     // another message: another key
  });
  text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  const form = h('form', { class: 'composer', onsubmit: (ev) => { ev.preventDefault(); reply(entry, text); } },
    h('label', { for: text.id, class: 'sr' }, t('reply.label')),
    text,
    h('div', { class: 'composer-tools' }, emoji, canned, send),
    picker);
  return form;
}

function insert(textarea, s) {
  const { selectionStart: a, selectionEnd: b, value } = textarea;
  textarea.value = value.slice(0, a) + s + value.slice(b);
  textarea.selectionStart = textarea.selectionEnd = a + s.length;
  textarea.dispatchEvent(new Event('input'));
}

// One key per message composed: a double click sends it twice, the
// server stores it once (R21).
async function reply(entry, text) {
  const draft = entry.draft;
  const value = text.value;
  if (!value.trim()) {
    toast(errorText({ code: 'empty_text' }));
    return;
  }
  draft.key = draft.key || idempotencyKey();
  const body = draft.canned && draft.canned.shown === value
    ? { canned: draft.canned.id } : { text: value };
  try {
    const answer = await api('POST', `/agent/conversations/${entry.c.id}/messages`, body,
                             { headers: { 'Idempotency-Key': draft.key } });
    if (text.value === value) {
      text.value = '';
      draft.key = null;
      draft.canned = null;
    }
    addMessage(entry, answer.message);
    render();
  } catch (err) {
    toast(errorText(err));
  }
}
