/* The channel table, and what its families share: HMAC signatures, the
 * webhook's counted answer, and typed messages and receipts gathered
 * into the command's memory. */

#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "channels/sb_channels.h"


const sb_channel_ops_t *
sb_channel_ops(int channel)
{
    static const sb_channel_ops_t  *table[SB_CH_COUNT] = {
        [SB_CH_WHATSAPP] = &sb_whatsapp_ops,
        [SB_CH_MESSENGER] = &sb_messenger_ops,
        [SB_CH_INSTAGRAM] = &sb_instagram_ops,
        [SB_CH_FACEBOOK] = &sb_facebook_ops,
        [SB_CH_TWITTER] = &sb_x_ops,
        [SB_CH_SMS] = &sb_twilio_ops,
        [SB_CH_MOBILE] = &sb_mobile_ops,
        [SB_CH_CHAT] = &sb_chat_ops
    };

    return (channel >= 0 && channel < SB_CH_COUNT) ? table[channel]
                                                    : &sb_chat_ops;
}


/* The 200 of a JSON provider: what was stored, seen again, dropped. */
void
sb_tally_answer(const sb_tally_t *t, sb_answer_t *out)
{
    sb_jw_t  w;

    sb_jw_init(&w, 128);
    sb_jw_obj(&w);
    sb_jw_kint(&w, "stored", t->stored);
    sb_jw_kint(&w, "duplicates", t->duplicates);
    sb_jw_kint(&w, "blocked", t->blocked);
    sb_jw_kint(&w, "statuses", t->statuses);
    sb_jw_kint(&w, "status_changes", t->status_changes);
    sb_jw_kint(&w, "ignored", t->ignored);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, out);
}


/* prefix + lowercase hex HMAC-SHA256(key, body), compared in constant
 * time. 0: good, -1: wrong or malformed. */
int
sb_hmac_hex_ok(const char *header, size_t hlen, const char *prefix,
    const unsigned char *key, size_t keylen, const unsigned char *body,
    size_t len)
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      mac[EVP_MAX_MD_SIZE];
    unsigned int       maclen = 0, i;
    size_t             plen = strlen(prefix);
    char               want[64];

    if (hlen != plen + 64 || memcmp(header, prefix, plen) != 0) {
        return -1;
    }
    if (HMAC(EVP_sha256(), key, (int) keylen, body, len, mac, &maclen)
        == NULL || maclen != 32)
    {
        return -1;
    }
    for (i = 0; i < 32; i++) {
        want[2 * i] = hex[mac[i] >> 4];
        want[2 * i + 1] = hex[mac[i] & 0xf];
    }
    return CRYPTO_memcmp(want, header + plen, 64) == 0 ? 0 : -1;
}


/* base64 HMAC (md "sha256" or "sha1") of data; "" on failure. */
void
sb_hmac_b64(const char *md, const unsigned char *key, size_t keylen,
    const unsigned char *data, size_t len, char *out, size_t outlen)
{
    unsigned char  mac[EVP_MAX_MD_SIZE];
    unsigned int   maclen = 0;
    const EVP_MD  *m = md[3] == '1' ? EVP_sha1() : EVP_sha256();

    out[0] = '\0';
    if (outlen < 4 * ((size_t) EVP_MD_size(m) + 2) / 3 + 1
        || HMAC(m, key, (int) keylen, data, len, mac, &maclen) == NULL)
    {
        return;
    }
    EVP_EncodeBlock((unsigned char *) out, mac, (int) maclen);
}


static sb_span_t
sb_copy(sb_cmd_t *cmd, sb_span_t s)
{
    return sb_arena_copy(&cmd->mem, s.p ? s.p : "", s.p ? s.n : 0);
}


/* Arrays of the command grow by doubling, in its arena. */
static void *
sb_grow(sb_cmd_t *cmd, void *old, size_t n, size_t size)
{
    void  *p;

    if (n != 0 && (n < 4 || (n & (n - 1)))) {
        return old;                  /* room left until the next power */
    }
    p = sb_arena_alloc(&cmd->mem, (n ? 2 * n : 4) * size);
    if (p && n) {
        memcpy(p, old, n * size);
    }
    return p;
}


/* "account:sender" is a visitor id, whole */
_Static_assert(2 * SB_SENDER_ID_MAX + 1 <= SB_VISITOR_MAX,
               "a provider's visitor id must fit SB_VISITOR_MAX");


/* R26: an account's or a sender's id as its provider writes it, whole:
 * it becomes part of the conversation's key and of the admin's paths. */
static int
sb_provider_id_ok(sb_channel_t channel, sb_span_t id)
{
    const sb_channel_ops_t  *ops = sb_channel_ops(channel);
    size_t                   i;
    unsigned char            c;

    if (ops == NULL || id.n == 0 || id.n > SB_SENDER_ID_MAX) {
        return 0;
    }
    for (i = 0; i < id.n; i++) {
        c = (unsigned char) id.p[i];
        if (!(c >= '0' && c <= '9')
            && !(ops->ids == SB_IDS_PHONE
                 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c == '+' && i == 0))))
        {
            return 0;
        }
    }
    return 1;
}


/* A message id is only ever a key: any printable ASCII, bounded. */
static int
sb_message_id_ok(sb_span_t id)
{
    size_t  i;

    if (id.n == 0 || id.n > SB_MESSAGE_ID_MAX) {
        return 0;
    }
    for (i = 0; i < id.n; i++) {
        if ((unsigned char) id.p[i] <= ' ' || (unsigned char) id.p[i] > '~') {
            return 0;
        }
    }
    return 1;
}


/* The first id that failed, for the delivery's refusal. */
static void
sb_bad_id(sb_cmd_t *cmd, const char *what, sb_span_t id)
{
    if (cmd->u.webhook.bad_what == NULL) {
        cmd->u.webhook.bad_what = what;
        cmd->u.webhook.bad_id = sb_copy(cmd, id);
    }
}


static int
sb_sender_ok(sb_cmd_t *cmd, sb_channel_t channel, sb_span_t account,
    sb_span_t contact)
{
    if (!sb_provider_id_ok(channel, account)) {
        sb_bad_id(cmd, "account", account);
        return 0;
    }
    if (!sb_provider_id_ok(channel, contact)) {
        sb_bad_id(cmd, "sender", contact);
        return 0;
    }
    return 1;
}


/* A visitor message, its text whole: a provider's own limit is what
 * bounds it (and the location's client_max_body_size), not
 * switchboard_max_text, which is for what our own APIs take. A text
 * message with nothing in it is counted as ignored: no agent could read
 * it. */
int
sb_inbound_add(sb_cmd_t *cmd, sb_channel_t channel, sb_span_t account,
    sb_span_t contact, sb_span_t id, sb_span_t text, sb_span_t media)
{
    sb_inbound_t  *m, *list;
    size_t         n = cmd->u.webhook.nmessages;

    if (!sb_sender_ok(cmd, channel, account, contact)) {
        return 0;
    }
    if (!sb_message_id_ok(id)) {
        sb_bad_id(cmd, "message", id);
        return 0;
    }
    if (text.n == 0 && media.n == 0) {
        cmd->u.webhook.ignored++;
        return 0;
    }
    list = sb_grow(cmd, cmd->u.webhook.messages, n, sizeof(sb_inbound_t));
    if (list == NULL) {
        return -1;
    }
    cmd->u.webhook.messages = list;
    m = &list[n];
    m->channel = channel;
    m->account = sb_copy(cmd, account);
    m->contact = sb_copy(cmd, contact);
    m->id = sb_copy(cmd, id);
    m->text = sb_copy(cmd, text);
    m->media = sb_copy(cmd, media);
    if (m->account.p == NULL || m->contact.p == NULL || m->id.p == NULL
        || m->text.p == NULL || m->media.p == NULL)
    {
        return -1;
    }
    cmd->u.webhook.nmessages = n + 1;
    return 0;
}


/* {"type": type, "ref": the provider's reference}, as the thread keeps a
 * media message (the reference is JSON as the provider sent it). */
int
sb_media_ref(sb_span_t type, sb_span_t ref, sb_jw_t *w)
{
    sb_jw_init(w, 64 + ref.n);
    sb_jw_obj(w);
    sb_jw_kspan(w, "type", type);
    sb_jw_key(w, "ref");
    sb_jw_raw(w, ref.p, ref.n);
    sb_jw_obj_end(w);
    return w->failed ? -1 : 0;
}


static sb_receipt_t *
sb_receipt_new(sb_cmd_t *cmd)
{
    sb_receipt_t  *list;
    size_t         n = cmd->u.webhook.nreceipts;

    list = sb_grow(cmd, cmd->u.webhook.receipts, n, sizeof(sb_receipt_t));
    if (list == NULL) {
        return NULL;
    }
    cmd->u.webhook.receipts = list;
    memset(&list[n], 0, sizeof(sb_receipt_t));
    cmd->u.webhook.nreceipts = n + 1;
    return &list[n];
}


/* A provider's word on one of our sends (R22), by its message id. */
int
sb_receipt_add(sb_cmd_t *cmd, sb_span_t id, sb_delivery_state_t state,
    sb_span_t error)
{
    sb_receipt_t  *r = sb_receipt_new(cmd);

    if (r == NULL) {
        return -1;
    }
    r->id = sb_copy(cmd, id);
    r->state = state;
    if (error.n) {
        r->error = sb_copy(cmd, error);
    }
    return r->id.p ? 0 : -1;
}


/* Messenger and Instagram: the visitor read everything up to at. */
int
sb_receipt_watermark(sb_cmd_t *cmd, sb_channel_t channel, sb_span_t account,
    sb_span_t contact, int64_t at)
{
    sb_receipt_t  *r;

    if (!sb_sender_ok(cmd, channel, account, contact)) {
        return 0;
    }
    r = sb_receipt_new(cmd);
    if (r == NULL) {
        return -1;
    }
    r->watermark = 1;
    r->state = SB_DLV_READ;
    r->channel = channel;
    r->account = sb_copy(cmd, account);
    r->contact = sb_copy(cmd, contact);
    r->at = at;
    return r->account.p && r->contact.p ? 0 : -1;
}


/* A finished JSON body for a send API. */
char *
sb_json_body(sb_jw_t *w, const char **type, size_t *len)
{
    *type = "application/json";
    if (w->failed) {
        sb_jw_free(w);
        return NULL;
    }
    *len = w->len;
    return w->buf;
}


/*
 * A send API's 2xx names the message sent: the string at path in the
 * JSON body (a name per object level; "#0" takes an array's first
 * element), copied to out. -1 when the body names none.
 */
int
sb_sent_id_at(const char *body, size_t len, const char *const *path,
    char *out, size_t cap)
{
    sb_arena_t     *mem = NULL;
    sb_json_doc_t   d;
    sb_span_t       id = { NULL, 0 };
    int             rc = -1;

    if (sb_json_read(&d, body, len, 0, &mem) == 0) {
        id = sb_json_str(&d, sb_json_path(&d, 0, path));
    }
    if (id.n && id.n < cap) {
        memcpy(out, id.p, id.n);
        out[id.n] = '\0';
        rc = 0;
    }
    sb_arena_free(mem);
    return rc;
}


/*
 * The channel's parser, then R26 on what it found: an id that cannot be
 * a provider's refuses the whole delivery (400, nothing stored, the
 * provider's dashboard and the error log show it) rather than a 200 for
 * a message that was cut, merged with another sender's, or dropped.
 */
int
sb_webhook_parse(sb_hook_t *hook, sb_cmd_t *cmd, sb_answer_t *err)
{
    const sb_channel_ops_t  *ops = sb_channel_ops(hook->channel);
    sb_span_t                id;

    if (ops->parse(hook, cmd, err) != 0) {
        return -1;
    }
    if (cmd->u.webhook.bad_what) {
        id = cmd->u.webhook.bad_id;
        sb_answer_error(err, 400, "invalid_provider_id",
                        "the %s id \"%.*s\" is not a %s id",
                        cmd->u.webhook.bad_what,
                        (int) (id.n > 80 ? 80 : id.n), id.p,
                        sb_channel_name(hook->channel));
        return -1;
    }
    return 0;
}
