// Channel icons as inline SVG (drawn for Switchboard, not the brands'
// artwork), each labelled with the channel's name for screen readers.

import { t } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';

const shapes = {
  whatsapp: { color: '#1f9d55', d: [
    'M12 3a9 9 0 0 0-7.8 13.5L3 21l4.6-1.2A9 9 0 1 0 12 3z',
    'M9 8.5c0 3 2.5 6.5 6.5 6.5l1-1.5-2-1-1 1c-1-.5-2.5-2-3-3l1-1-1-2z'] },
  messenger: { color: '#3b5bdb', d: [
    'M12 3C7 3 3 6.6 3 11.2c0 2.5 1.2 4.7 3.1 6.2V21l3-1.7c.9.3 1.9.4 2.9.4 5 0 9-3.6 9-8.3S17 3 12 3z',
    'M6.5 13.5l4-4 2.5 2.5 4-2.5-4 4-2.5-2.5z'] },
  instagram: { color: '#c2255c', d: [
    'M7 3h10a4 4 0 0 1 4 4v10a4 4 0 0 1-4 4H7a4 4 0 0 1-4-4V7a4 4 0 0 1 4-4z',
    'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z', 'M17.3 5.8a.9.9 0 1 0 0 1.8.9.9 0 0 0 0-1.8z'] },
  facebook: { color: '#1864ab', d: [
    'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z',
    'M13 21v-7h2.5l.4-3H13V9.5c0-.8.3-1.4 1.5-1.4H16V5.5a18 18 0 0 0-2.3-.1C11.5 5.4 10 6.8 10 9.2V11H7.5v3H10v7'] },
  twitter: { color: '#212529', d: [
    'M4 4h4.5l11.5 16h-4.5z', 'M19.5 4L13 11.3', 'M4.5 20l6.6-7.3'] },
  sms: { color: '#495057', d: [
    'M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-5 4V5a1 1 0 0 1 1-1z',
    'M8 10.5h.01', 'M12 10.5h.01', 'M16 10.5h.01'] },
  mobile: { color: '#5f3dc4', d: [
    'M8 2h8a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2z',
    'M11 18.5h2'] },
  chat: { color: '#0c8599', d: [
    'M3 5a2 2 0 0 1 2-2h10a2 2 0 0 1 2 2v6a2 2 0 0 1-2 2H8l-4 3V5z',
    'M19 8h1a1 1 0 0 1 1 1v11l-3-2.5h-7a1 1 0 0 1-1-1V15'] },
};

export function channelIcon(channel) {
  const shape = shapes[channel] || shapes.chat;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon channel-${channel}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t(`channel.${channel}`));
  svg.dataset.channel = channel;
  const title = document.createElementNS(NS, 'title');
  title.textContent = t(`channel.${channel}`);
  svg.append(title);
  for (const d of shape.d) {
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', shape.color);
    path.setAttribute('stroke-width', '1.8');
    path.setAttribute('stroke-linecap', 'round');
    path.setAttribute('stroke-linejoin', 'round');
    svg.append(path);
  }
  return svg;
}
