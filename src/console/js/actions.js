// What an agent does to a conversation: snooze (R7), close/release (R8),
// end (R9), transfer with "anyway" (R10), tags and block (R11); what the
// channel lacks (R12) is disabled, with the reason in its tooltip.

import { api, ApiError } from './api.js';
import { h, toast } from './dom.js';
import { t, errorText, presetText } from './i18n.js';
import { desk, closeTab, render, refreshMe, mergeConversation } from './desk.js';

// '' when the channel has the capability, else why not
export function lacks(c, cap) {
  const row = desk.settings.capabilities[c.channel];
  return row && row[cap] === false ? t('act.lacks', { channel: t(`channel.${c.channel}`) }) : '';
}

// After an action the conversation has left the agent (or stays, changed).
function apply(entry, c) {
  if (c.agent === desk.me.id && ['assigned', 'snoozed'].includes(c.state)) {
    mergeConversation(entry, c);
  } else {
    closeTab(c.id, null);
  }
  render();
  refreshMe().catch(() => {});
}

async function act(entry, what, body) {
  try {
    apply(entry, await api('POST', `/agent/conversations/${entry.c.id}/${what}`, body));
    return true;
  } catch (err) {
    toast(errorText(err));
    return false;
  }
}

function button(label, attrs, onclick) {
  return h('button', { type: 'button', ...attrs, onclick }, label);
}

export function actionBar(entry) {
  const c = entry.c;
  const presets = desk.settings.snooze.presets;
  const menu = h('div', { class: 'menu', role: 'menu', hidden: true },
    presets.map((p) => button(presetText(p.seconds), { role: 'menuitem', dataset: { preset: p.label } },
                              () => { menu.hidden = true; act(entry, 'snooze', { for: p.label }); })),
    button(t('act.snooze.custom'), { role: 'menuitem', class: 'custom' },
           () => { menu.hidden = true; snoozeUntil(entry); }));
  const snooze = button(t('act.snooze'), { class: 'snooze', 'aria-haspopup': 'menu', 'aria-expanded': 'false' },
    () => {
      menu.hidden = !menu.hidden;
      snooze.setAttribute('aria-expanded', String(!menu.hidden));
      if (!menu.hidden) {
        menu.querySelector('button').focus();
      }
    });
  menu.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      menu.hidden = true;
      snooze.focus();
    }
  });
  const transferLacks = lacks(c, 'transfer');
  const blockLacks = lacks(c, 'block');
  const tagsLacks = lacks(c, 'tags');
  return [
    h('div', { class: 'menu-box' }, snooze, menu),
    button(t('act.release'), { class: 'release', title: t('act.release.tip') },
           () => act(entry, 'release')),
    button(t('act.end'), { class: 'end', title: t('act.end.tip') },
           () => confirmThen(t('act.end.tip'), () => act(entry, 'end'))),
    button(t('act.transfer'), { class: 'transfer', disabled: Boolean(transferLacks),
                                title: transferLacks || t('act.transfer') },
           () => transfer(entry)),
    button(t('act.tags'), { class: 'tags-edit', disabled: Boolean(tagsLacks),
                            title: tagsLacks || t('act.tags') },
           () => editTags(entry)),
    button(t('act.block'), { class: 'block', disabled: Boolean(blockLacks),
                             title: blockLacks || t('act.block') },
           () => confirmThen(t('act.block.confirm'), () => act(entry, 'block'))),
  ];
}

// A modal <dialog>: body elements, then buttons; resolves when closed.
function dialog(title, body, buttons) {
  const d = h('dialog', { class: 'dialog', 'aria-label': title },
    h('form', { method: 'dialog' },
      h('h3', {}, title), body,
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', value: 'cancel', class: 'cancel' }, t('act.cancel')),
        buttons)));
  document.body.append(d);
  d.addEventListener('close', () => d.remove());
  d.showModal();
  return d;
}

function confirmThen(text, then) {
  const ok = h('button', { type: 'button', class: 'primary confirm' }, t('act.confirm'));
  const d = dialog(text, null, ok);
  ok.addEventListener('click', () => { d.close(); then(); });
}

function snoozeUntil(entry) {
  const input = h('input', { type: 'datetime-local', id: 'snooze-until', required: true });
  const ok = h('button', { type: 'button', class: 'primary' }, t('act.snooze'));
  const d = dialog(t('act.snooze.until'),
                   h('label', { for: 'snooze-until' }, t('act.snooze.until'), input), ok);
  ok.addEventListener('click', async () => {
    if (!input.value) {
      input.reportValidity();
      return;
    }
    // the picker's local time, sent as UTC
    if (await act(entry, 'snooze', { until: new Date(input.value).toISOString() })) {
      d.close();
    }
  });
}

// "Transfer this visitor": an agent of the caller's groups or another
// group, a comment; "Transfer anyway" when the target cannot take it now.
async function transfer(entry) {
  let dir;
  try {
    dir = await api('GET', '/agent/directory');
  } catch (err) {
    toast(errorText(err));
    return;
  }
  const target = h('select', { id: 'transfer-target', required: true },
    h('optgroup', { label: t('transfer.agents') },
      dir.agents.map((a) => {
        const s = a.classes[entry.c.class];
        return h('option', { value: `agent:${a.id}` },
                 `${a.name} (${s ? t(`status.${s.status}`) : '?'})`);
      })),
    h('optgroup', { label: t('transfer.groups') },
      dir.groups.filter((g) => g.id !== entry.c.group)
        .map((g) => h('option', { value: `group:${g.id}` }, g.name))));
  const comment = h('textarea', { id: 'transfer-comment', maxlength: '500', rows: '3' });
  const why = h('p', { class: 'why', role: 'alert', hidden: true });
  const go = h('button', { type: 'button', class: 'primary go' }, t('transfer.go'));
  const anyway = h('button', { type: 'button', class: 'anyway', hidden: true }, t('transfer.anyway'));
  const d = dialog(t('act.transfer'), [
    h('label', { for: 'transfer-target' }, t('transfer.to')), target,
    h('label', { for: 'transfer-comment' }, t('transfer.comment')), comment, why,
  ], [go, anyway]);
  const send = async (insist) => {
    const [kind, id] = target.value.split(/:(.*)/s);
    const body = { [kind]: id };
    if (comment.value.trim()) {
      body.comment = comment.value.trim();
    }
    if (insist) {
      body.anyway = true;
    }
    try {
      apply(entry, await api('POST', `/agent/conversations/${entry.c.id}/transfer`, body));
      d.close();
    } catch (err) {
      why.textContent = errorText(err);
      why.hidden = false;
      // R10: the target cannot take it now; the agent may insist
      anyway.hidden = !(err instanceof ApiError
                        && ['target_unavailable', 'target_away', 'target_full'].includes(err.code));
      if (!anyway.hidden) {
        anyway.focus();
      }
    }
  };
  go.addEventListener('click', () => send(false));
  anyway.addEventListener('click', () => send(true));
  target.addEventListener('change', () => { anyway.hidden = true; why.hidden = true; });
}

function editTags(entry) {
  const input = h('input', { id: 'tags-input', type: 'text', value: entry.c.tags.join(', ') });
  const ok = h('button', { type: 'button', class: 'primary' }, t('act.save'));
  const d = dialog(t('act.tags'), [
    h('label', { for: 'tags-input' }, t('conv.tags')), input,
    h('p', { class: 'help' }, t('tags.help')),
  ], ok);
  ok.addEventListener('click', async () => {
    const tags = input.value.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      const c = await api('PUT', `/agent/conversations/${entry.c.id}/tags`, { tags });
      apply(entry, c);
      d.close();
    } catch (err) {
      toast(errorText(err));
    }
  });
}

