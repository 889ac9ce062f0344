// The seeds' story in a real Chromium (Debian's, through puppeteer-core):
// an agent's console against a real nginx, each step asserted on the DOM.
// Run by t/browser/console.t, which starts nginx and sets the directory
// up; prints TAP lines ("ok - …") that the .t file relays.
//
// env: SB_BASE (http://127.0.0.1:port), SB_JWT_SECRET, SB_META_SECRET,
//      SB_SHOTS (where screenshots go)

import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const base = process.env.SB_BASE;
const shots = process.env.SB_SHOTS;
mkdirSync(shots, { recursive: true });

// --- tokens and the API, as any client ------------------------------------

const b64url = (s) => Buffer.from(s).toString('base64url');
function token(sub, role, extra = {}) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, role, exp: Math.floor(Date.now() / 1000) + 3600, ...extra }));
  const sig = createHmac('sha256', process.env.SB_JWT_SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}
const admin = token('root', 'admin');

async function call(method, path, tok, body, headers = {}) {
  const res = await fetch(base + path, {
    method, headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function whatsapp(from, id, text, statuses) {
  const value = { messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550001', phone_number_id: '1055' } };
  if (statuses) {
    value.statuses = statuses;
  } else {
    value.contacts = [{ profile: { name: 'Zoé' }, wa_id: from }];
    value.messages = [{ from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }];
  }
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'WABA1', changes: [{
    field: 'messages', value }] }] });
  const sig = 'sha256=' + createHmac('sha256', process.env.SB_META_SECRET).update(body).digest('hex');
  const res = await fetch(`${base}/webhooks/whatsapp`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sig }, body });
  return res.status;
}

// --- TAP -------------------------------------------------------------------

let failed = 0;
function ok(cond, name, detail) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${name}`);
  if (!cond) {
    failed++;
    if (detail !== undefined) {
      console.log(`# ${JSON.stringify(detail)}`);
    }
  }
  return cond;
}

// --- the browser -------------------------------------------------------------

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1200,820'],
});
const page = await browser.newPage();
await page.setViewport({ width: 1200, height: 820 });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('dialog', (d) => d.accept());

const text = (sel) => page.$eval(sel, (el) => el.textContent);
const exists = async (sel) => (await page.$(sel)) !== null;
const waitFor = (sel, ms = 3000) => page.waitForSelector(sel, { timeout: ms });
const waitGone = (sel, ms = 3000) => page.waitForSelector(sel, { hidden: true, timeout: ms });
const shot = (name) => page.screenshot({ path: `${shots}/${name}.png` });
async function threadTexts() {
  return page.$$eval('#conversation .thread .msg.agent .text', (els) => els.map((e) => e.textContent));
}

try {
  // 1. sign in from the fragment, and go available on every class
  const ann = token('ann', 'agent');
  await page.goto(`${base}/console/#token=${ann}`);
  await waitFor('#availability .status');
  ok(await page.evaluate(() => location.hash === '' && !location.search), 'the token leaves the URL');
  ok(await page.evaluate(() => sessionStorage.getItem('sb.token') !== null), 'and is kept in sessionStorage');
  ok((await text('#who')) === 'Ann', 'the panel names the agent');
  for (const klass of ['chat', 'mobile', 'messaging']) {
    await page.click(`#availability [data-class="${klass}"]`);
    await waitFor(`#availability [data-class="${klass}"][data-status="green"]`);
  }
  const green = await page.$eval('#availability [data-class="chat"]', (b) => ({ text: b.textContent, title: b.title }));
  ok(/chat: available/.test(green.text) && /Green: you are available/.test(green.title),
     'the button says green in words, with its tooltip (R5)', green);

  // 2. a mobile visitor writes: a tab with the mobile icon, within a second
  const t0 = Date.now();
  const m = await call('POST', '/visitor/messages', token('m1', 'visitor', { chn: 'mobile' }), { text: 'Bonjour, ma commande ?' });
  const mobile = m.json.conversation;
  await waitFor(`.tab[data-conversation="${mobile}"] svg[data-channel="mobile"]`, 2000);
  ok(Date.now() - t0 < 1500, `the mobile tab appears through the long-poll (${Date.now() - t0} ms)`);
  await waitFor('#conversation .thread .msg.visitor');
  ok((await text('#conversation .thread .msg.visitor .text')) === 'Bonjour, ma commande ?', 'the thread shows the visitor');
  ok(!(await exists('#conversation .banner')), 'no "may not be online" banner on a first-party channel');
  await shot('1-mobile-tab');

  // 3. a reply with an emoji, sent with a double click: stored once
  await page.click('#conversation .emoji-toggle');
  await page.click('#conversation .emoji-picker .emoji[aria-label="🎉"]');
  await page.type('#conversation textarea.reply', ' Elle arrive demain');
  await page.evaluate(() => {
    const send = document.querySelector('#conversation .send');
    send.click();
    send.click();
  });
  await page.waitForFunction(() => [...document.querySelectorAll('#conversation .msg.agent .text')]
    .some((e) => e.textContent.includes('Elle arrive demain')), { timeout: 3000 });
  await new Promise((r) => setTimeout(r, 300));
  const stored = (await call('GET', `/admin/conversations/${mobile}`, admin)).json.thread
    .filter((x) => x.kind === 'agent' && x.text === '🎉 Elle arrive demain');
  ok(stored.length === 1, 'a double click on Send stores the emoji reply once (Idempotency-Key, R21)', stored.length);
  ok((await threadTexts()).filter((x) => x === '🎉 Elle arrive demain').length === 1, 'and the thread shows it once');

  // ... and a canned response, its placeholders filled
  await page.select('#conversation select.canned', 'hello');
  const shown = await page.$eval('#conversation textarea.reply', (t) => t.value);
  ok(shown === 'Hello m1, Ann here', 'the canned response is shown with its placeholders filled (R6)', shown);
  await page.click('#conversation .send');
  await page.waitForFunction(() => [...document.querySelectorAll('#conversation .msg.agent .text')]
    .some((e) => e.textContent === 'Hello m1, Ann here'), { timeout: 3000 });
  const canned = (await call('GET', `/admin/conversations/${mobile}`, admin)).json.thread.at(-1);
  ok(canned.canned === 'hello', 'and sent as the canned response', canned);

  // 4. transfer does not exist on mobile (R12)
  const transfer = await page.$eval('#conversation .transfer', (b) => ({ disabled: b.disabled, title: b.title }));
  ok(transfer.disabled && /Not available on Mobile app/.test(transfer.title),
     'the transfer control is disabled on mobile, saying why', transfer);
  ok(!(await page.$eval('#conversation .block', (b) => b.disabled)), 'block is there on mobile');

  // an error in words: a snooze in the past
  await page.click('#conversation .snooze');
  await page.click('#conversation .menu .custom');
  await waitFor('dialog #snooze-until');
  await page.$eval('dialog #snooze-until', (i) => { i.value = '2020-01-01T10:00'; });
  await page.click('dialog .primary');
  await waitFor('#toast:not([hidden])');
  const said = await text('#toast');
  ok(said === 'Choose a time in the future.', 'a refusal is said in words, not JSON', said);
  await page.click('dialog .cancel');
  await page.$eval('#toast', (el) => { el.hidden = true; });   // for the screenshots

  // 5. snooze for a preset: the tab closes
  await page.click('#conversation .snooze');
  await page.click('#conversation .menu [data-preset="3h"]');
  await waitGone(`.tab[data-conversation="${mobile}"]`);
  const snoozed = (await call('GET', `/admin/conversations/${mobile}`, admin)).json;
  ok(snoozed.state === 'snoozed', 'snoozed for 3 hours, the tab closes (R7)', snoozed.state);

  // 6. a WhatsApp conversation through a signed webhook: the banner, and
  //    the messaging button orange at capacity (1)
  ok(await whatsapp('33611', 'wamid.1', 'Bonjour depuis WhatsApp') === 200, 'a signed WhatsApp webhook is taken');
  await waitFor('.tab svg[data-channel="whatsapp"]');
  const wa = await page.$eval('.tab[data-channel="whatsapp"]', (b) => b.dataset.conversation);
  await page.click(`.tab[data-conversation="${wa}"]`);
  await waitFor('#conversation .banner');
  ok(/may not be online/.test(await text('#conversation .banner')), 'the banner says the visitor may not be online');
  await waitFor('#availability [data-class="messaging"][data-status="orange"]', 12000);
  const orange = await page.$eval('#availability [data-class="messaging"]', (b) => ({ text: b.textContent, title: b.title }));
  ok(/messaging: busy/.test(orange.text) && /Orange/.test(orange.title), 'the messaging button turns orange at capacity', orange);
  await page.hover('#conversation .avatar');
  const handlers = await page.$eval('#conversation .handlers-box', (b) => ({
    visible: getComputedStyle(b).display !== 'none', text: b.textContent }));
  ok(handlers.visible && /ann/.test(handlers.text), 'the handlers show on the avatar (R18)', handlers);

  // a reply's delivery, as the provider reports it (R22)
  await page.type('#conversation textarea.reply', 'Je regarde votre commande');
  await page.click('#conversation .send');
  await page.waitForFunction(() => [...document.querySelectorAll('#conversation .msg.agent')]
    .some((m) => m.querySelector('.text').textContent === 'Je regarde votre commande'
                 && /sent|sending/.test(m.querySelector('.delivery')?.textContent || '')), { timeout: 5000 });
  ok(true, 'a WhatsApp reply shows its delivery state');
  await whatsapp(null, null, null, [{ id: 'wamid.OUT1', status: 'read', timestamp: String(Math.floor(Date.now() / 1000)) }]);
  await page.waitForFunction(() => [...document.querySelectorAll('#conversation .msg.agent .delivery')]
    .some((d) => d.textContent === 'read'), { timeout: 5000 });
  ok(true, 'and "read" once WhatsApp says so, through the poll (message.status)');
  await shot('2-whatsapp-orange');

  // 7. transfer to bob: refused (unavailable), then "Transfer anyway"
  await page.click('#conversation .transfer');
  await waitFor('dialog #transfer-target');
  await page.select('dialog #transfer-target', 'agent:bob');
  await page.type('dialog #transfer-comment', 'Question de livraison');
  await page.click('dialog .go');
  await waitFor('dialog .anyway:not([hidden])');
  ok(/unavailable/.test(await text('dialog .why')), 'the transfer is refused, saying why (R10)');
  await shot('3-transfer-anyway');
  await page.click('dialog .anyway');
  await waitGone(`.tab[data-conversation="${wa}"]`);
  const moved = (await call('GET', `/admin/conversations/${wa}`, admin)).json;
  ok(moved.agent === 'bob', '"Transfer anyway" gives it to bob', moved.agent);
  // bob answers, so his first-reply deadline (4 s here) leaves it with him
  await call('POST', `/agent/conversations/${wa}/messages`, token('bob', 'agent'), { text: 'Je regarde' });

  // 8. a tab closed by the server says why: no first reply in time
  const c = (await call('POST', '/visitor/messages', token('c1', 'visitor', { chn: 'chat' }), { text: 'Hello?' })).json.conversation;
  await waitFor(`.tab[data-conversation="${c}"]`);
  await page.click(`.tab[data-conversation="${c}"]`);
  // carl comes in (available, and present: a poll), so the deadline moves it (R13)
  const carl = token('carl', 'agent');
  await call('PUT', '/agent/availability', carl, { class: 'chat', available: true });
  fetch(`${base}/agent/events?cursor=0`, { headers: { Authorization: `Bearer ${carl}` } }).catch(() => {});
  await waitGone(`.tab[data-conversation="${c}"]`, 15000);
  await waitFor('#notes .note');
  ok(/no first reply/.test(await text('#notes .note')), 'the tab closes with a note saying why', await text('#notes .note'));
  // carl answers it (so it stays his) and leaves
  await call('POST', `/agent/conversations/${c}/messages`, carl, { text: 'Bonjour' });
  await call('PUT', '/agent/availability', carl, { class: 'all', available: false });

  // a lost connection says so, and the poll resumes from its cursor: what
  // happened meanwhile is there (R24)
  await page.setOfflineMode(true);
  await page.waitForFunction(() => document.getElementById('connection').classList.contains('reconnecting'),
                             { timeout: 8000 });
  ok(/reconnecting/.test(await text('#connection')), 'a lost connection shows "reconnecting"');
  const lost = (await call('POST', '/visitor/messages', token('f1', 'visitor', { chn: 'chat' }),
                           { text: 'pendant la coupure' })).json.conversation;
  await page.setOfflineMode(false);
  await waitFor(`.tab[data-conversation="${lost}"]`, 15000);
  ok((await text('#connection')) === 'Connected', 'back online, the conversation assigned meanwhile is there');

  // 9. end: another chat conversation, an unread mark, then End
  const d = (await call('POST', '/visitor/messages', token('d1', 'visitor', { chn: 'chat' }), { text: 'Bonsoir' })).json.conversation;
  const e = (await call('POST', '/visitor/messages', token('e1', 'visitor', { chn: 'chat' }), { text: 'Moi aussi' })).json.conversation;
  await waitFor(`.tab[data-conversation="${e}"]`);
  await page.click(`.tab[data-conversation="${d}"]`);
  await call('POST', '/visitor/messages', token('e1', 'visitor', { chn: 'chat' }), { text: 'Toujours là ?' });
  await waitFor(`.tab[data-conversation="${e}"] .unread`);
  ok(true, 'a message on another tab marks it unread');
  await page.type('#conversation textarea.reply', 'Bonne soirée');
  await page.keyboard.down('Control');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Control');
  await page.waitForFunction(() => [...document.querySelectorAll('#conversation .msg.agent .text')]
    .some((x) => x.textContent === 'Bonne soirée'), { timeout: 3000 });
  ok(true, 'Ctrl+Enter sends');
  await page.click('#conversation .end');
  await page.click('dialog .confirm');
  await waitGone(`.tab[data-conversation="${d}"]`);
  ok((await call('GET', `/admin/conversations/${d}`, admin)).json.state === 'ended', 'End ends it (R9)');

  // keyboard: the tabs are a tablist, the arrows move the selection
  await waitGone('dialog');
  const from = await page.$eval('.tab[aria-selected="true"]', (b) => b.dataset.conversation);
  ok(from === lost, 'after End, the first tab is selected', from);
  await page.focus(`.tab[data-conversation="${lost}"]`);
  await page.keyboard.press('ArrowRight');
  await waitFor(`.tab[data-conversation="${e}"][aria-selected="true"]`);
  ok(await page.evaluate(() => document.activeElement.dataset.conversation) === e,
     'ArrowRight selects the next tab and moves the focus to it');
  ok(!(await exists(`.tab[data-conversation="${e}"] .unread`)), 'selecting it reads it');

  // a long thread comes a page at a time (issue 19): after a reload the
  // tab has the last 50 entries, and scrolling to the top brings the rest
  const e1 = token('e1', 'visitor', { chn: 'chat' });
  for (let i = 1; i <= 60; i++) {
    await call('POST', '/visitor/messages', e1, { text: `suite ${i}` });
  }
  await page.reload();
  await waitFor(`.tab[data-conversation="${e}"]`);
  await page.click(`.tab[data-conversation="${e}"]`);
  await page.waitForFunction(() => [...document.querySelectorAll('#conversation .msg .text')]
    .some((x) => x.textContent === 'suite 60'), { timeout: 3000 });
  const paged = await page.$$eval('#conversation .thread .msg', (els) => els.length);
  ok(paged === 50, 'a long thread opens with its last 50 entries', paged);
  ok(await page.$eval('#conversation .older', (b) => !b.hidden), 'and an "Earlier messages" button');
  await page.$eval('#conversation .thread', (el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
  await page.waitForFunction(() => [...document.querySelectorAll('#conversation .msg.visitor .text')]
    .some((x) => x.textContent === 'Moi aussi'), { timeout: 3000 });
  const all = await page.$$eval('#conversation .thread .msg', (els) => els.map((x) => Number(x.dataset.seq)));
  ok(all.length > 60 && all.every((s, i) => i === 0 || s > all[i - 1]),
     'scrolled to the top, the earlier entries are there, in order', all.length);
  ok(await page.$eval('#conversation .older', (b) => b.hidden), 'at the start of the thread the button goes');

  // 10. French
  await page.click('#lang');
  await page.waitForFunction(() => document.documentElement.lang === 'fr', { timeout: 5000 });
  await waitFor('#conversation .release');
  ok((await text('#conversation .release')) === 'Fermer' && (await text('#conversation .end')) === 'Terminer',
     'in French: "Fermer" and "Terminer"');

  // 11. the admin's page: queues, agents per status, the ledger
  const adminPage = await browser.newPage();
  await adminPage.goto(`${base}/console/#token=${admin}`);
  await adminPage.waitForSelector('#admin table', { timeout: 5000 });
  const ledger = await adminPage.$$eval('#admin table:last-of-type tbody tr', (rows) => rows.map((r) => r.textContent));
  ok(ledger.some((r) => r.includes(d) && r.includes('ann')), 'the admin sees the ledger, crediting ann (R19)', ledger);
  ok(await adminPage.$('#admin tr[data-class="chat"] .status-green') !== null, 'and agents per status');
  await adminPage.close();

  ok(pageErrors.length === 0, 'no script error on the page', pageErrors);
} catch (err) {
  ok(false, `the story ran to its end: ${err.message}`);
  // what the server thought, for the failure's diagnosis
  for (const path of ['/admin/stats', '/admin/conversations?limit=50']) {
    console.log(`# ${path}: ${JSON.stringify((await call('GET', path, admin)).json)}`);
  }
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
