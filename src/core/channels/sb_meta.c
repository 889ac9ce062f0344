/* Meta's family (R20-R22): WhatsApp Cloud API, Messenger, Instagram and
 * Facebook Page comments. One handshake (hub.challenge), one signature
 * (X-Hub-Signature-256 over the raw body), a parser each, and the send
 * bodies of the Graph API. */

#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>

#include "channels/sb_channels.h"


/* the string at key of object o, or an empty span */
#define sb_str(d, o, key)  sb_json_get_str(d, o, key)

static int
sb_str_is(const sb_json_doc_t *d, uint32_t o, const char *key,
    const char *value)
{
    return sb_span_is(sb_str(d, o, key), value);
}


/* the array at key, or none */
static uint32_t
sb_array(const sb_json_doc_t *d, uint32_t o, const char *key)
{
    uint32_t  a = sb_json_get(d, o, key);

    return sb_json_is(d, a, SB_JSON_ARRAY) ? a : SB_JSON_NONE;
}

/* each element of the array at key (none: no element) */
#define sb_each(d, i, o, key)                                               \
    for (uint32_t a_ = sb_array(d, o, key); a_ != SB_JSON_NONE; a_ = SB_JSON_NONE) \
        SB_JSON_ITEMS(d, i, a_)


/* GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C -> C */
static void
sb_meta_handshake(const sb_hook_t *hook, sb_answer_t *out)
{
    const char  *mode, *token, *challenge;
    size_t       mlen, tlen, clen;

    mode = hook->arg(hook->arg_data, "hub.mode", 0, &mlen);
    token = hook->arg(hook->arg_data, "hub.verify_token", 0, &tlen);
    challenge = hook->arg(hook->arg_data, "hub.challenge", 1, &clen);
    if (mode == NULL || token == NULL || challenge == NULL || mlen != 9
        || memcmp(mode, "subscribe", 9) != 0)
    {
        sb_answer_error(out, 403, "bad_handshake", "expected hub.mode="
                        "subscribe with hub.verify_token and hub.challenge");
        return;
    }
    if (hook->verify_token_len == 0 || tlen != hook->verify_token_len
        || CRYPTO_memcmp(token, hook->verify_token, tlen) != 0)
    {
        sb_answer_error(out, 403, "bad_verify_token",
                        "the verify token does not match");
        return;
    }
    /* the challenge goes back as the raw body */
    (void) sb_answer_text(out, 200, "text/plain", challenge, clen);
}


static int
sb_meta_verify(sb_hook_t *hook)
{
    return sb_hmac_hex_ok(hook->signature, hook->signature_len, "sha256=",
                          hook->secret, hook->secret_len, hook->body,
                          hook->len);
}


static int
sb_media_add(sb_hook_t *hook, sb_cmd_t *cmd, sb_channel_t ch, sb_span_t account,
    sb_span_t from, sb_span_t id, sb_span_t text, sb_span_t type,
    sb_span_t ref)
{
    sb_jw_t    w;
    sb_span_t  media;
    int        rc;

    if (sb_media_ref(type, ref, &w) != 0) {
        sb_jw_free(&w);
        return -1;
    }
    media.p = w.buf;
    media.n = w.len;
    rc = sb_inbound_add(cmd, ch, account, from, id, text,
                        media);
    sb_jw_free(&w);
    return rc;
}


static sb_delivery_state_t
sb_meta_state(sb_span_t s)
{
    return sb_span_is(s, "sent") ? SB_DLV_SENT
           : sb_span_is(s, "delivered") ? SB_DLV_DELIVERED
           : sb_span_is(s, "read") ? SB_DLV_READ
           : sb_span_is(s, "failed") ? SB_DLV_FAILED : SB_DLV_NONE;
}


/* WhatsApp: entry[].changes[].value.messages[] (statuses are receipts
 * of our own sends, not visitor messages). */
static int
sb_parse_whatsapp(sb_hook_t *hook, const sb_json_doc_t *d, sb_cmd_t *cmd)
{
    uint32_t   entry, change, value, msg, err, media;
    sb_span_t  account, from, id, type, state, why;
    char       name[32];
    int        rc = 0;

    sb_each(d, entry, 0, "entry") {
        sb_each(d, change, entry, "changes") {
            value = sb_json_get(d, change, "value");
            account = sb_str(d, sb_json_get(d, value, "metadata"),
                             "phone_number_id");
            sb_each(d, msg, value, "statuses") {
                err = sb_json_first(d, sb_json_get(d, msg, "errors"));
                state = sb_str(d, msg, "status");
                id = sb_str(d, msg, "id");
                if (id.n == 0 || state.n == 0) {
                    cmd->u.webhook.ignored++;
                    continue;
                }
                why = sb_str(d, err, "title");
                rc |= sb_receipt_add(cmd, id, sb_meta_state(state),
                                     why.n ? why : sb_str(d, err, "message"));
            }
            sb_each(d, msg, value, "messages") {
                from = sb_str(d, msg, "from");
                if (from.n == 0) {
                    from = sb_str(d, msg, "from_user_id");
                }
                type = sb_str(d, msg, "type");
                id = sb_str(d, msg, "id");
                if (account.n == 0 || from.n == 0 || id.n == 0
                    || type.n == 0)
                {
                    cmd->u.webhook.ignored++;
                    continue;
                }
                if (sb_span_is(type, "text")) {
                    sb_span_t  none = { NULL, 0 };

                    rc |= sb_inbound_add(cmd, SB_CH_WHATSAPP,
                              account, from, id,
                              sb_str(d, sb_json_get(d, msg, "text"), "body"),
                              none);
                    continue;
                }
                /* the media object is under the message's type */
                media = SB_JSON_NONE;
                if (type.n < sizeof(name)) {
                    memcpy(name, type.p, type.n);
                    name[type.n] = '\0';
                    media = sb_json_get(d, msg, name);
                }
                if (!sb_json_is(d, media, SB_JSON_OBJECT)) {
                    cmd->u.webhook.ignored++;
                    continue;
                }
                rc |= sb_media_add(hook, cmd, SB_CH_WHATSAPP, account, from,
                                   id, sb_str(d, media, "caption"), type,
                                   sb_json_raw(d, media));
            }
        }
    }
    return rc;
}


/* Messenger and Instagram: entry[].messaging[]. Echoes of our own sends
 * are not visitor messages; deliveries (by mid) and reads (a watermark
 * for the whole conversation) are receipts of our sends. */
static int
sb_parse_messaging(sb_hook_t *hook, sb_channel_t ch, const sb_json_doc_t *d,
    uint32_t entry, sb_cmd_t *cmd)
{
    uint32_t   ev, msg, att, mid, read, delivery, echo;
    sb_span_t  page = sb_str(d, entry, "id"), sender, text, none = { 0, 0 };
    sb_span_t  type = { "attachments", 11 };
    int64_t    mark;
    int        rc = 0;

    sb_each(d, ev, entry, "messaging") {
        msg = sb_json_get(d, ev, "message");
        sender = sb_str(d, sb_json_get(d, ev, "sender"), "id");
        delivery = sb_json_get(d, ev, "delivery");
        if (sb_json_is(d, delivery, SB_JSON_OBJECT)) {
            sb_each(d, mid, delivery, "mids") {
                if (sb_json_is(d, mid, SB_JSON_STRING)) {
                    rc |= sb_receipt_add(cmd, sb_json_str(d, mid),
                                         SB_DLV_DELIVERED, none);
                }
            }
            continue;
        }
        read = sb_json_get(d, ev, "read");
        if (sb_json_is(d, read, SB_JSON_OBJECT) && page.n && sender.n) {
            (void) sb_json_int(d, sb_json_get(d, read, "watermark"), &mark);
            rc |= sb_receipt_watermark(cmd, ch, page, sender, mark);
            continue;
        }
        echo = sb_json_get(d, msg, "is_echo");
        if (!sb_json_is(d, msg, SB_JSON_OBJECT)
            || sb_json_is(d, echo, SB_JSON_TRUE)
            || page.n == 0 || sender.n == 0 || sb_span_eq(sender, page)
            || sb_str(d, msg, "mid").n == 0)
        {
            cmd->u.webhook.ignored++;
            continue;
        }
        att = sb_json_get(d, msg, "attachments");
        text = sb_str(d, msg, "text");
        if (sb_json_is(d, att, SB_JSON_ARRAY) && d->tok[att].size) {
            rc |= sb_media_add(hook, cmd, ch, page, sender,
                               sb_str(d, msg, "mid"), text, type,
                               sb_json_raw(d, att));
        } else if (text.n) {
            rc |= sb_inbound_add(cmd, ch, page, sender,
                                 sb_str(d, msg, "mid"), text, none);
        } else {
            cmd->u.webhook.ignored++;
        }
    }
    return rc;
}


/* Facebook Page feed: entry[].changes[] with field "feed"; only a comment
 * added by someone other than the Page is a visitor message. */
static int
sb_parse_feed(sb_hook_t *hook, const sb_json_doc_t *d, uint32_t entry,
    sb_cmd_t *cmd)
{
    uint32_t   change, value;
    sb_span_t  page = sb_str(d, entry, "id"), from, none = { NULL, 0 };
    int        rc = 0;

    sb_each(d, change, entry, "changes") {
        value = sb_json_get(d, change, "value");
        from = sb_str(d, sb_json_get(d, value, "from"), "id");
        if (page.n == 0 || from.n == 0 || sb_span_eq(from, page)
            || !sb_str_is(d, change, "field", "feed")
            || !sb_str_is(d, value, "item", "comment")
            || !sb_str_is(d, value, "verb", "add")
            || sb_str(d, value, "comment_id").n == 0
            || sb_str(d, value, "message").n == 0)
        {
            cmd->u.webhook.ignored++;
            continue;
        }
        rc |= sb_inbound_add(cmd, SB_CH_FACEBOOK, page, from,
                             sb_str(d, value, "comment_id"),
                             sb_str(d, value, "message"), none);
    }
    return rc;
}


/* A body of one of Meta's products; the Page's messages and feed come to
 * one callback URL, so each entry says which it carries. */
static int
sb_meta_parse(sb_hook_t *hook, sb_cmd_t *cmd, sb_answer_t *err)
{
    sb_json_doc_t   d;
    uint32_t        entry;
    const char     *want;
    int             rc = 0;

    want = hook->channel == SB_CH_WHATSAPP ? "whatsapp_business_account"
           : hook->channel == SB_CH_INSTAGRAM ? "instagram" : "page";
    if (sb_json_read_body(&d, (const char *) hook->body, hook->len, 0,
                          &cmd->mem, err) != 0)
    {
        return -1;
    }
    if (!sb_str_is(&d, 0, "object", want)
        || !sb_json_is(&d, sb_json_get(&d, 0, "entry"), SB_JSON_ARRAY))
    {
        sb_answer_error(err, 400, "unexpected_payload",
                        "expected object \"%s\" with entries", want);
        return -1;
    }
    if (hook->channel == SB_CH_WHATSAPP) {
        rc = sb_parse_whatsapp(hook, &d, cmd);
    } else {
        sb_each(&d, entry, 0, "entry") {
            rc |= sb_parse_messaging(hook, hook->channel == SB_CH_INSTAGRAM
                                           ? SB_CH_INSTAGRAM
                                           : SB_CH_MESSENGER, &d, entry, cmd);
            if (hook->channel != SB_CH_INSTAGRAM) {
                rc |= sb_parse_feed(hook, &d, entry, cmd);
            }
        }
    }
    if (rc) {
        sb_answer_error(err, 500, "no_memory", "out of memory");
        return -1;
    }
    return 0;
}


static char *
sb_whatsapp_send(const sb_job_t *job, const char **type, size_t *len)
{
    sb_jw_t  w;

    sb_jw_init(&w, 256);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "messaging_product", "whatsapp");
    sb_jw_kstr(&w, "recipient_type", "individual");
    sb_jw_kstr(&w, "to", job->recipient);
    sb_jw_kstr(&w, "type", "text");
    sb_jw_key(&w, "text");
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "body", job->text);
    sb_jw_obj_end(&w);
    sb_jw_obj_end(&w);
    return sb_json_body(&w, type, len);
}


static char *
sb_messaging_send(const sb_job_t *job, const char **type, size_t *len)
{
    sb_jw_t  w;

    sb_jw_init(&w, 256);
    sb_jw_obj(&w);
    sb_jw_key(&w, "recipient");
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "id", job->recipient);
    sb_jw_obj_end(&w);
    sb_jw_kstr(&w, "messaging_type", "RESPONSE");
    sb_jw_key(&w, "message");
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "text", job->text);
    sb_jw_obj_end(&w);
    sb_jw_obj_end(&w);
    return sb_json_body(&w, type, len);
}


/* a reply under the visitor's last comment ($switchboard_reply_to) */
static char *
sb_facebook_send(const sb_job_t *job, const char **type, size_t *len)
{
    sb_jw_t  w;

    sb_jw_init(&w, 256);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "message", job->text);
    sb_jw_obj_end(&w);
    return sb_json_body(&w, type, len);
}


/* The id a 2xx names: WhatsApp messages[0].id, Messenger and Instagram
 * message_id, a comment's id. */
static int
sb_whatsapp_sent_id(const char *body, size_t len, char *out, size_t cap)
{
    static const char *const  path[] = { "messages", "#0", "id", NULL };

    return sb_sent_id_at(body, len, path, out, cap);
}


static int
sb_messaging_sent_id(const char *body, size_t len, char *out, size_t cap)
{
    static const char *const  path[] = { "message_id", NULL };

    return sb_sent_id_at(body, len, path, out, cap);
}


static int
sb_facebook_sent_id(const char *body, size_t len, char *out, size_t cap)
{
    static const char *const  path[] = { "id", NULL };

    return sb_sent_id_at(body, len, path, out, cap);
}


#define SB_META_OPS(ch, limit, body_fn, id_fn)                                \
    {                                                                        \
        .channel = ch, .third_party = 1, .text_limit = limit,                \
        .default_caps = SB_CAP_ALL, .default_class = "messaging",            \
        .signature_header = "X-Hub-Signature-256",                           \
        .handshake = sb_meta_handshake, .verify = sb_meta_verify,            \
        .parse = sb_meta_parse, .answer = sb_tally_answer,                   \
        .send_body = body_fn, .sent_id = id_fn                               \
    }

const sb_channel_ops_t  sb_whatsapp_ops =
    SB_META_OPS(SB_CH_WHATSAPP, 4096, sb_whatsapp_send, sb_whatsapp_sent_id);
const sb_channel_ops_t  sb_messenger_ops =
    SB_META_OPS(SB_CH_MESSENGER, 2000, sb_messaging_send,
                sb_messaging_sent_id);
const sb_channel_ops_t  sb_instagram_ops =
    SB_META_OPS(SB_CH_INSTAGRAM, 1000, sb_messaging_send,
                sb_messaging_sent_id);
const sb_channel_ops_t  sb_facebook_ops =
    SB_META_OPS(SB_CH_FACEBOOK, 8000, sb_facebook_send, sb_facebook_sent_id);
