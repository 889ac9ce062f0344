/* Meta's family (R20-R22): WhatsApp Cloud API, Messenger, Instagram and
 * Facebook Page comments. One handshake (hub.challenge), one signature
 * (X-Hub-Signature-256 over the raw body), a parser each, and the send
 * bodies of the Graph API. */

#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <jansson.h>

#include "channels/sb_channels.h"


static const char *
sb_str(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}


static int
sb_str_ok(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}


static int
sb_str_is(json_t *o, const char *name, const char *value)
{
    const char  *s = sb_str(o, name);

    return s != NULL && strcmp(s, value) == 0;
}


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


/* {"type": t, "ref": the provider's object}, as the thread keeps it */
static int
sb_media_add(sb_hook_t *hook, sb_cmd_t *cmd, sb_channel_t ch,
    const char *account, const char *from, const char *id, const char *text,
    const char *type, json_t *ref)
{
    json_t  *media = json_pack("{s:s,s:O}", "type", type, "ref", ref);
    char    *s = media ? json_dumps(media, JSON_COMPACT) : NULL;
    int      rc = s ? sb_inbound_add(cmd, hook->text_max, ch, account, from,
                                     id, text, s, strlen(s))
                    : -1;

    free(s);
    json_decref(media);
    return rc;
}


/* WhatsApp: entry[].changes[].value.messages[] (statuses are receipts
 * of our own sends, not visitor messages). */
static int
sb_parse_whatsapp(sb_hook_t *hook, json_t *root, sb_cmd_t *cmd)
{
    json_t      *entry, *change, *value, *msg, *from, *media, *err;
    const char  *account, *type, *state, *id;
    size_t       i, j, k;
    int          rc = 0;

    json_array_foreach(json_object_get(root, "entry"), i, entry) {
        json_array_foreach(json_object_get(entry, "changes"), j, change) {
            value = json_object_get(change, "value");
            account = sb_str(json_object_get(value, "metadata"),
                             "phone_number_id");
            json_array_foreach(json_object_get(value, "statuses"), k, msg) {
                err = json_array_get(json_object_get(msg, "errors"), 0);
                state = sb_str(msg, "status");
                id = sb_str(msg, "id");
                if (id == NULL || state == NULL) {
                    cmd->u.webhook.ignored++;
                    continue;
                }
                rc |= sb_receipt_add(cmd, id,
                          strcmp(state, "sent") == 0 ? SB_DLV_SENT
                          : strcmp(state, "delivered") == 0 ? SB_DLV_DELIVERED
                          : strcmp(state, "read") == 0 ? SB_DLV_READ
                          : strcmp(state, "failed") == 0 ? SB_DLV_FAILED
                          : SB_DLV_NONE,
                          sb_str(err, "title") ? sb_str(err, "title")
                                               : sb_str(err, "message"));
            }
            json_array_foreach(json_object_get(value, "messages"), k, msg) {
                from = json_object_get(msg, "from");
                if (!sb_str_ok(from)) {
                    from = json_object_get(msg, "from_user_id");
                }
                type = sb_str(msg, "type");
                if (account == NULL || !sb_str_ok(from)
                    || !sb_str_ok(json_object_get(msg, "id")) || type == NULL)
                {
                    cmd->u.webhook.ignored++;
                    continue;
                }
                if (strcmp(type, "text") == 0) {
                    rc |= sb_inbound_add(cmd, hook->text_max, SB_CH_WHATSAPP,
                              account, json_string_value(from),
                              sb_str(msg, "id"),
                              sb_str(json_object_get(msg, "text"), "body"),
                              NULL, 0);
                    continue;
                }
                media = json_object_get(msg, type);
                if (!json_is_object(media)) {
                    cmd->u.webhook.ignored++;
                    continue;
                }
                rc |= sb_media_add(hook, cmd, SB_CH_WHATSAPP, account,
                                   json_string_value(from), sb_str(msg, "id"),
                                   sb_str(media, "caption"), type, media);
            }
        }
    }
    return rc;
}


/* Messenger and Instagram: entry[].messaging[]. Echoes of our own sends
 * are not visitor messages; deliveries (by mid) and reads (a watermark
 * for the whole conversation) are receipts of our sends. */
static int
sb_parse_messaging(sb_hook_t *hook, sb_channel_t ch, json_t *entry,
    sb_cmd_t *cmd)
{
    json_t      *ev, *msg, *att, *mid, *read;
    const char  *page = sb_str(entry, "id"), *sender;
    size_t       j, k;
    int          rc = 0;

    json_array_foreach(json_object_get(entry, "messaging"), j, ev) {
        msg = json_object_get(ev, "message");
        sender = sb_str(json_object_get(ev, "sender"), "id");
        if (json_is_object(json_object_get(ev, "delivery"))) {
            json_array_foreach(json_object_get(json_object_get(ev,
                               "delivery"), "mids"), k, mid)
            {
                if (json_is_string(mid)) {
                    rc |= sb_receipt_add(cmd, json_string_value(mid),
                                         SB_DLV_DELIVERED, NULL);
                }
            }
            continue;
        }
        read = json_object_get(ev, "read");
        if (json_is_object(read) && page && sender) {
            rc |= sb_receipt_watermark(cmd, ch, page, sender,
                      json_integer_value(json_object_get(read, "watermark")));
            continue;
        }
        if (!json_is_object(msg)
            || json_is_true(json_object_get(msg, "is_echo"))
            || page == NULL || sender == NULL || strcmp(sender, page) == 0
            || !sb_str_ok(json_object_get(msg, "mid")))
        {
            cmd->u.webhook.ignored++;
            continue;
        }
        att = json_object_get(msg, "attachments");
        if (json_array_size(att)) {
            rc |= sb_media_add(hook, cmd, ch, page, sender, sb_str(msg, "mid"),
                               sb_str(msg, "text"), "attachments", att);
        } else if (sb_str_ok(json_object_get(msg, "text"))) {
            rc |= sb_inbound_add(cmd, hook->text_max, ch, page, sender,
                                 sb_str(msg, "mid"), sb_str(msg, "text"),
                                 NULL, 0);
        } else {
            cmd->u.webhook.ignored++;
        }
    }
    return rc;
}


/* Facebook Page feed: entry[].changes[] with field "feed"; only a comment
 * added by someone other than the Page is a visitor message. */
static int
sb_parse_feed(sb_hook_t *hook, json_t *entry, sb_cmd_t *cmd)
{
    json_t      *change, *value;
    const char  *page = sb_str(entry, "id"), *from;
    size_t       j;
    int          rc = 0;

    json_array_foreach(json_object_get(entry, "changes"), j, change) {
        value = json_object_get(change, "value");
        from = sb_str(json_object_get(value, "from"), "id");
        if (page == NULL || from == NULL || strcmp(from, page) == 0
            || !sb_str_is(change, "field", "feed")
            || !sb_str_is(value, "item", "comment")
            || !sb_str_is(value, "verb", "add")
            || !sb_str_ok(json_object_get(value, "comment_id"))
            || !sb_str_ok(json_object_get(value, "message")))
        {
            cmd->u.webhook.ignored++;
            continue;
        }
        rc |= sb_inbound_add(cmd, hook->text_max, SB_CH_FACEBOOK, page, from,
                             sb_str(value, "comment_id"),
                             sb_str(value, "message"), NULL, 0);
    }
    return rc;
}


/* A body of one of Meta's products; the Page's messages and feed come to
 * one callback URL, so each entry says which it carries. */
static int
sb_meta_parse(sb_hook_t *hook, sb_cmd_t *cmd, sb_answer_t *err)
{
    json_t        *root, *entry;
    json_error_t   jerr;
    const char    *want;
    size_t         i;
    int            rc = 0;

    want = hook->channel == SB_CH_WHATSAPP ? "whatsapp_business_account"
           : hook->channel == SB_CH_INSTAGRAM ? "instagram" : "page";
    root = json_loadb((const char *) hook->body, hook->len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        sb_answer_error(err, 400, "malformed_json", "the body is not a JSON "
                        "object: %s", jerr.text);
        return -1;
    }
    if (!sb_str_is(root, "object", want)
        || !json_is_array(json_object_get(root, "entry")))
    {
        json_decref(root);
        sb_answer_error(err, 400, "unexpected_payload",
                        "expected object \"%s\" with entries", want);
        return -1;
    }
    if (hook->channel == SB_CH_WHATSAPP) {
        rc = sb_parse_whatsapp(hook, root, cmd);
    } else {
        json_array_foreach(json_object_get(root, "entry"), i, entry) {
            rc |= sb_parse_messaging(hook, hook->channel == SB_CH_INSTAGRAM
                                           ? SB_CH_INSTAGRAM
                                           : SB_CH_MESSENGER, entry, cmd);
            if (hook->channel != SB_CH_INSTAGRAM) {
                rc |= sb_parse_feed(hook, entry, cmd);
            }
        }
    }
    json_decref(root);
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


#define SB_META_OPS(ch, limit, send, sent_id)                                \
    {                                                                        \
        ch, 1, limit, SB_CAP_ALL, "X-Hub-Signature-256",                     \
        sb_meta_handshake, sb_meta_verify, sb_meta_parse, sb_tally_answer,   \
        send, sent_id, NULL                                                  \
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
