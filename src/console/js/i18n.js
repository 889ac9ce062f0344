// The console's words in English and French (the seeds' two languages),
// and the API's error codes said in words, never shown as JSON.

// each key: [English, French], side by side so a missing word shows
const words = {
  'signin.title': ['Sign in',
    'Connexion'],
  'signin.help': ['Open the link that `make run` prints, or paste an agent or admin token.',
    'Ouvrez le lien affiché par `make run`, ou collez un jeton d\'agent ou d\'administrateur.'],
  'signin.token': ['Token',
    'Jeton'],
  'signin.go': ['Sign in',
    'Se connecter'],
  signout: ['Sign out',
    'Se déconnecter'],
  'lang.other': ['Français',
    'English'],
  'desk.empty': ['No conversation yet. New ones appear here as they are assigned to you.',
    'Aucune conversation pour l\'instant. Les nouvelles apparaissent ici dès qu\'elles vous sont attribuées.'],
  'conn.online': ['Connected',
    'Connecté'],
  'conn.reconnecting': ['Connection lost, reconnecting…',
    'Connexion perdue, reconnexion…'],
  'status.green': ['available',
    'disponible'],
  'status.orange': ['busy',
    'occupé'],
  'status.red': ['unavailable',
    'indisponible'],
  'tip.green': ['Green: you are available on {class} and can receive a new conversation. Click to become unavailable.',
    'Vert : vous êtes disponible sur {class} et pouvez recevoir une nouvelle conversation. Cliquez pour devenir indisponible.'],
  'tip.orange': ['Orange: you are busy on {class}: every slot is taken ({used}/{capacity}), no new conversation comes. Click to become unavailable.',
    'Orange : vous êtes occupé sur {class} : tous vos slots sont pris ({used}/{capacity}), aucune nouvelle conversation n\'arrive. Cliquez pour devenir indisponible.'],
  'tip.red': ['Red: you are not available on {class}{away}. Click to become available.',
    'Rouge : vous n\'êtes pas disponible sur {class}{away}. Cliquez pour devenir disponible.'],
  'tip.away': [' (or away: the console lost the server)',
    ' (ou absent : la console a perdu le serveur)'],
  'class.label': ['{class}: {status}',
    '{class} : {status}'],
  'channel.whatsapp': ['WhatsApp',
    'WhatsApp'],
  'channel.messenger': ['Messenger',
    'Messenger'],
  'channel.instagram': ['Instagram',
    'Instagram'],
  'channel.facebook': ['Facebook',
    'Facebook'],
  'channel.twitter': ['X',
    'X'],
  'channel.sms': ['SMS',
    'SMS'],
  'channel.mobile': ['Mobile app',
    'Application mobile'],
  'channel.chat': ['Web chat',
    'Chat web'],
  'tab.unread': ['unread',
    'non lu'],
  'conv.age': ['Conversation {age}',
    'Conversation {age}'],
  'conv.since': ['your last message {since} ago',
    'votre dernier message il y a {since}'],
  'conv.since.none': ['no message from you yet',
    'pas encore de message de votre part'],
  'conv.offline': ['The visitor may not be online: they will get your reply in {channel} when they open it.',
    'Le visiteur n\'est peut-être pas en ligne : il recevra votre réponse dans {channel} en l\'ouvrant.'],
  'conv.handlers': ['Handled by',
    'Traitée par'],
  'conv.handler.now': ['now',
    'maintenant'],
  'conv.tags': ['Tags',
    'Tags'],
  'conv.older': ['Earlier messages',
    'Messages précédents'],
  'conv.loading': ['Loading earlier messages…',
    'Chargement des messages précédents…'],
  'act.snooze': ['Snooze',
    'Mettre en veille'],
  'act.snooze.custom': ['Date and time…',
    'Date et heure…'],
  'act.snooze.until': ['Snooze until',
    'En veille jusqu\'au'],
  'act.release': ['Close',
    'Fermer'],
  'act.release.tip': ['Release the conversation: it frees your slot, and the visitor\'s next message brings it back to an available agent.',
    'Relâcher la conversation : votre slot se libère, et le prochain message du visiteur la ré-attribue à un agent disponible.'],
  'act.end': ['End',
    'Terminer'],
  'act.end.tip': ['End the conversation for good.',
    'Clôturer définitivement la conversation.'],
  'act.transfer': ['Transfer this visitor',
    'Transférer ce visiteur'],
  'act.block': ['Block',
    'Bloquer'],
  'act.block.confirm': ['Block this visitor? The conversation ends and their messages are dropped.',
    'Bloquer ce visiteur ? La conversation se termine et ses messages sont ignorés.'],
  'act.tags': ['Edit tags',
    'Modifier les tags'],
  'act.lacks': ['Not available on {channel}',
    'Indisponible sur {channel}'],
  'act.cancel': ['Cancel',
    'Annuler'],
  'act.save': ['Save',
    'Enregistrer'],
  'act.confirm': ['Confirm',
    'Confirmer'],
  'transfer.to': ['Transfer to',
    'Transférer à'],
  'transfer.agents': ['An agent of your groups',
    'Un agent de vos groupes'],
  'transfer.groups': ['Another group',
    'Un autre groupe'],
  'transfer.comment': ['Comment (context for the next agent)',
    'Commentaire (contexte pour l\'agent suivant)'],
  'transfer.go': ['Transfer',
    'Transférer'],
  'transfer.anyway': ['Transfer anyway',
    'Transférer quand même'],
  'tags.help': ['Separate tags with commas.',
    'Séparez les tags par des virgules.'],
  'reply.label': ['Your reply',
    'Votre réponse'],
  'reply.send': ['Send',
    'Envoyer'],
  'reply.emoji': ['Insert an emoji',
    'Insérer un émoji'],
  'reply.canned': ['Canned responses',
    'Réponses pré-enregistrées'],
  'reply.canned.none': ['Canned response…',
    'Réponse pré-enregistrée…'],
  'kind.visitor': ['Visitor',
    'Visiteur'],
  'kind.system': ['System',
    'Système'],
  'delivery.pending': ['sending',
    'envoi'],
  'delivery.sent': ['sent',
    'envoyé'],
  'delivery.delivered': ['delivered',
    'distribué'],
  'delivery.read': ['read',
    'lu'],
  'delivery.failed': ['failed',
    'échec'],
  'note.unassigned.snoozed': ['{conv} ({visitor}) was snoozed and left your panel.',
    '{conv} ({visitor}) a été mise en veille et a quitté votre pupitre.'],
  'note.unassigned.released': ['{conv} ({visitor}) was released.',
    '{conv} ({visitor}) a été relâchée.'],
  'note.unassigned.first_reply_timeout': ['{conv} ({visitor}) went to another agent: no first reply within the time allowed.',
    '{conv} ({visitor}) est partie à un autre agent : pas de première réponse dans le délai.'],
  'note.unassigned.reply_timeout': ['{conv} ({visitor}) went to another agent: no reply within the time allowed.',
    '{conv} ({visitor}) est partie à un autre agent : pas de réponse dans le délai.'],
  'note.unassigned.transferred': ['{conv} ({visitor}) was transferred.',
    '{conv} ({visitor}) a été transférée.'],
  'note.unassigned.agent': ['{conv} ({visitor}) was taken from you.',
    '{conv} ({visitor}) vous a été retirée.'],
  'note.ended': ['{conv} ({visitor}) ended ({reason}).',
    '{conv} ({visitor}) est terminée ({reason}).'],
  'note.transferred': ['{from} transferred {conv} to you: {comment}',
    '{from} vous a transféré {conv} : {comment}'],
  'note.failed': ['A message in {conv} could not be delivered.',
    'Un message de {conv} n\'a pas pu être distribué.'],
  'reason.agent': ['by an agent',
    'par un agent'],
  'reason.auto_close': ['closed automatically',
    'clôture automatique'],
  'reason.blocked': ['visitor blocked',
    'visiteur bloqué'],
  'reason.transferred': ['transferred',
    'transférée'],
  'reason.snoozed': ['snoozed',
    'en veille'],
  'reason.released': ['released',
    'relâchée'],
  'reason.first_reply_timeout': ['no first reply',
    'pas de première réponse'],
  'reason.reply_timeout': ['no reply',
    'pas de réponse'],
  'dur.h': ['{n} h',
    '{n} h'],
  'dur.d': ['{n} d',
    '{n} j'],
  'dur.m': ['{n} min',
    '{n} min'],
  'dur.s': ['{n} s',
    '{n} s'],
  'preset.hours': ['{n} hours',
    '{n} heures'],
  'preset.hour': ['1 hour',
    '1 heure'],
  'preset.days': ['{n} days',
    '{n} jours'],
  'preset.day': ['1 day',
    '1 jour'],
  'preset.minutes': ['{n} minutes',
    '{n} minutes'],
  'admin.title': ['Supervision',
    'Supervision'],
  'admin.queues': ['Queues',
    'Files d\'attente'],
  'admin.group': ['Group',
    'Groupe'],
  'admin.class': ['Class',
    'Classe'],
  'admin.length': ['Waiting',
    'En attente'],
  'admin.oldest': ['Oldest wait',
    'Attente la plus longue'],
  'admin.agents': ['Agents per status',
    'Agents par statut'],
  'admin.conversations': ['Conversations per state',
    'Conversations par état'],
  'admin.ledger': ['Ledger',
    'Registre'],
  'admin.ledger.conv': ['Conversation',
    'Conversation'],
  'admin.ledger.channel': ['Channel',
    'Canal'],
  'admin.ledger.ended': ['Ended',
    'Terminée'],
  'admin.ledger.reason': ['Reason',
    'Motif'],
  'admin.ledger.credited': ['Credited agent',
    'Agent crédité'],
  'admin.none': ['Nothing yet.',
    'Rien pour l\'instant.'],
  'err.network': ['The server cannot be reached.',
    'Le serveur est injoignable.'],
  'err.lacks': ['This channel does not allow that.',
    'Ce canal ne le permet pas.'],
  'err.other': ['The server refused: {message}',
    'Le serveur a refusé : {message}'],
};

// the API's codes an agent meets, in words
const errors = {
  target_unavailable: ['This agent is unavailable right now.',
    'Cet agent est indisponible pour le moment.'],
  target_away: ['This agent is away right now.',
    'Cet agent est absent pour le moment.'],
  target_full: ['This agent has no free slot right now.',
    'Cet agent n\'a plus de slot libre pour le moment.'],
  same_group: ['The conversation is already in this group.',
    'La conversation est déjà dans ce groupe.'],
  self_transfer: ['This conversation is already yours.',
    'Cette conversation est déjà la vôtre.'],
  not_in_your_groups: ['You can only transfer to an agent of your groups.',
    'Vous ne pouvez transférer qu\'à un agent de vos groupes.'],
  not_holder: ['This conversation is no longer yours.',
    'Cette conversation n\'est plus la vôtre.'],
  conversation_ended: ['This conversation has ended.',
    'Cette conversation est terminée.'],
  unknown_conversation: ['This conversation no longer exists.',
    'Cette conversation n\'existe plus.'],
  unknown_preset: ['This snooze duration is not offered.',
    'Cette durée de mise en veille n\'est pas proposée.'],
  snooze_in_past: ['Choose a time in the future.',
    'Choisissez une heure à venir.'],
  snooze_too_long: ['This is further than a snooze may last.',
    'C\'est plus long qu\'une mise en veille ne peut durer.'],
  text_too_long: ['The message is too long.',
    'Le message est trop long.'],
  text_too_long_for_channel: ['The message is too long for this channel.',
    'Le message est trop long pour ce canal.'],
  empty_text: ['Write a message first.',
    'Écrivez d\'abord un message.'],
  too_many_tags: ['A conversation has at most 20 tags.',
    'Une conversation a au plus 20 tags.'],
  bad_tag: ['A tag is 1 to 32 characters, without commas.',
    'Un tag fait de 1 à 32 caractères, sans virgule.'],
  bad_date: ['This date does not exist.',
    'Cette date n\'existe pas.'],
  invalid_token: ['Your session has expired: sign in again.',
    'Votre session a expiré : reconnectez-vous.'],
  missing_token: ['Sign in first.',
    'Connectez-vous d\'abord.'],
  unknown_agent: ['Your account is not in the directory.',
    'Votre compte n\'est pas dans l\'annuaire.'],
  wrong_role: ['This token is not for this console.',
    'Ce jeton n\'est pas pour cette console.'],
  store_full: ['The server is full: tell your administrator.',
    'Le serveur est plein : prévenez votre administrateur.'],
  unavailable: ['The server is restarting: try again.',
    'Le serveur redémarre : réessayez.'],
};

const LANGS = ['en', 'fr'];
let current = (sessionStorage.getItem('sb.lang')
               || (navigator.language || 'en').slice(0, 2)) === 'fr' ? 'fr' : 'en';

export function lang() {
  return current;
}

export function setLang(l) {
  current = l === 'fr' ? 'fr' : 'en';
  sessionStorage.setItem('sb.lang', current);
  document.documentElement.lang = current;
}

export function t(key, vars = {}) {
  const s = words[key] ? words[key][LANGS.indexOf(current)] : key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : ''));
}

// An ApiError (or a network failure) in words.
export function errorText(err) {
  if (!err || !err.code) {
    return t('err.network');
  }
  if (err.code.startsWith('channel_lacks_')) {
    return t('err.lacks');
  }
  return errors[err.code] ? errors[err.code][LANGS.indexOf(current)]
                          : t('err.other', { message: err.message });
}

// seconds as "3 h", "2 d", "5 min", "40 s"
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s >= 86400) return t('dur.d', { n: Math.floor(s / 86400) });
  if (s >= 3600) return t('dur.h', { n: Math.floor(s / 3600) });
  if (s >= 60) return t('dur.m', { n: Math.floor(s / 60) });
  return t('dur.s', { n: s });
}

// a snooze preset's label, from its length: "3 hours", "1 day"
export function presetText(seconds) {
  if (seconds % 86400 === 0) {
    const n = seconds / 86400;
    return n === 1 ? t('preset.day') : t('preset.days', { n });
  }
  if (seconds % 3600 === 0) {
    const n = seconds / 3600;
    return n === 1 ? t('preset.hour') : t('preset.hours', { n });
  }
  return t('preset.minutes', { n: Math.round(seconds / 60) });
}

// the static text of the page (data-t attributes)
export function translatePage() {
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll('[data-t]')) {
    el.textContent = t(el.dataset.t);
  }
}
