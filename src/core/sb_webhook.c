/* Third-party webhooks (R20, R21): providers' payloads turned into the
 * visitor messages they carry. Signatures are checked by the caller on
 * the raw bytes before anything here parses them. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sb_internal.h"


/* X-Hub-Signature-256: "sha256=" + lowercase hex HMAC-SHA256(secret, body),
 * compared in constant time. 0: good, -1: wrong or malformed. */
int
sb_meta_signature_ok(const char *header, size_t hlen, const unsigned char *key,
    size_t keylen, const unsigned char *body, size_t len)
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      mac[EVP_MAX_MD_SIZE];
    unsigned int       maclen = 0, i;
    char               want[64];

    if (hlen != 71 || memcmp(header, "sha256=", 7) != 0) {
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
    return CRYPTO_memcmp(want, header + 7, 64) == 0 ? 0 : -1;
}


/* X: "sha256=" + base64 HMAC-SHA256(consumer secret, data). */
void
sb_x_sign(const unsigned char *key, size_t keylen, const unsigned char *data,
    size_t len, char *out, size_t outlen)
{
    unsigned char  mac[EVP_MAX_MD_SIZE];
    unsigned int   maclen = 0;
    unsigned char  b64[64];

    out[0] = '\0';
    if (HMAC(EVP_sha256(), key, (int) keylen, data, len, mac, &maclen)
        == NULL || outlen < 52)
    {
        return;
    }
    EVP_EncodeBlock(b64, mac, (int) maclen);
    snprintf(out, outlen, "sha256=%s", b64);
}


/* x-twitter-webhooks-signature over the raw body, constant time. */
int
sb_x_signature_ok(const char *header, size_t hlen, const unsigned char *key,
    size_t keylen, const unsigned char *body, size_t len)
{
    char  want[64];

    sb_x_sign(key, keylen, body, len, want, sizeof(want));
    if (want[0] == '\0' || hlen != strlen(want)) {
        return -1;
    }
    return CRYPTO_memcmp(want, header, hlen) == 0 ? 0 : -1;
}


/* X escapes &, < and > in DM texts; the thread keeps what was typed. */
static char *
sb_html_unescape(const char *s)
{
    static const struct { const char *ent; char c; }  ents[] = {
        { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
        { "&quot;", '"' }, { "&#39;", '\'' }
    };
    char    *out = malloc(strlen(s) + 1), *o = out;
    size_t   i;

    if (out == NULL) {
        return NULL;
    }
    while (*s) {
        for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
            if (strncmp(s, ents[i].ent, strlen(ents[i].ent)) == 0) {
                *o++ = ents[i].c;
                s += strlen(ents[i].ent);
                break;
            }
        }
        if (i == sizeof(ents) / sizeof(ents[0])) {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}


void
sb_inbound_add(json_t *list, int channel, const char *account,
    const char *sender, const char *id, const char *text, json_t *media)
{
    char     visitor[2 * SB_ID_MAX + 2];
    json_t  *m;

    /* one conversation per (account, visitor): both in the visitor id */
    snprintf(visitor, sizeof(visitor), "%s:%s", account, sender);
    m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "visitor", visitor,
                  "account", account, "contact", sender, "id", id,
                  "text", text ? text : "",
                  "channel", sb_channel_name(channel));
    if (media) {
        json_object_set(m, "media", media);
    }
    json_array_append_new(list, m);
}


/* A provider's word on one of our sends, by its message id (R22). */
void
sb_status_add(json_t *statuses, const char *id, const char *status,
    const char *error)
{
    json_array_append_new(statuses,
        json_pack("{s:s,s:s,s:s?}", "id", id, "status", status,
                  "error", error));
}


static int
sb_str_ok(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}


/* WhatsApp Cloud API: entry[].changes[].value.messages[] (statuses are
 * receipts of our own sends, not visitor messages). */
static void
sb_parse_whatsapp(json_t *root, json_t *list, json_t *statuses, int *ignored)
{
    json_t      *entry, *change, *value, *msg, *from, *media, *err;
    const char  *account, *type;
    size_t       i, j, k;

    json_array_foreach(json_object_get(root, "entry"), i, entry) {
        json_array_foreach(json_object_get(entry, "changes"), j, change) {
            value = json_object_get(change, "value");
            account = sb_get_str(json_object_get(value, "metadata"),
                                 "phone_number_id");
            json_array_foreach(json_object_get(value, "statuses"), k, msg) {
                err = json_array_get(json_object_get(msg, "errors"), 0);
                if (sb_get_str(msg, "id") && sb_get_str(msg, "status")) {
                    sb_status_add(statuses, sb_get_str(msg, "id"),
                                  sb_get_str(msg, "status"),
                                  sb_get_str(err, "title")
                                  ? sb_get_str(err, "title")
                                  : sb_get_str(err, "message"));
                } else {
                    (*ignored)++;
                }
            }
            json_array_foreach(json_object_get(value, "messages"), k, msg) {
                from = json_object_get(msg, "from");
                if (!sb_str_ok(from)) {
                    from = json_object_get(msg, "from_user_id");
                }
                type = sb_get_str(msg, "type");
                if (account == NULL || !sb_str_ok(from)
                    || !sb_str_ok(json_object_get(msg, "id")) || type == NULL)
                {
                    (*ignored)++;
                    continue;
                }
                if (strcmp(type, "text") == 0) {
                    sb_inbound_add(list, SB_CH_WHATSAPP, account,
                                   json_string_value(from),
                                   sb_get_str(msg, "id"),
                                   sb_get_str(json_object_get(msg, "text"),
                                              "body"), NULL);
                    continue;
                }
                media = json_object_get(msg, type);
                if (json_is_object(media)) {
                    media = json_pack("{s:s,s:O}", "type", type, "ref", media);
                    sb_inbound_add(list, SB_CH_WHATSAPP, account,
                                   json_string_value(from),
                                   sb_get_str(msg, "id"),
                                   sb_get_str(json_object_get(msg, type),
                                              "caption"), media);
                    json_decref(media);
                    continue;
                }
                (*ignored)++;
            }
        }
    }
}


/* Messenger and Instagram: entry[].messaging[]. Echoes of our own sends
 * are not visitor messages; deliveries (by mid) and reads (a watermark
 * for the whole conversation) are receipts of our sends. */
static void
sb_parse_messaging(int channel, json_t *entry, json_t *list,
    json_t *statuses, int *ignored)
{
    json_t      *ev, *msg, *att, *mid;
    const char  *page = sb_get_str(entry, "id"), *sender;
    size_t       j, k;

    json_array_foreach(json_object_get(entry, "messaging"), j, ev) {
        msg = json_object_get(ev, "message");
        sender = sb_get_str(json_object_get(ev, "sender"), "id");
        if (json_is_object(json_object_get(ev, "delivery"))) {
            json_array_foreach(json_object_get(json_object_get(ev,
                               "delivery"), "mids"), k, mid)
            {
                if (json_is_string(mid)) {
                    sb_status_add(statuses, json_string_value(mid),
                                  "delivered", NULL);
                }
            }
            continue;
        }
        if (json_is_object(json_object_get(ev, "read")) && page && sender) {
            json_array_append_new(statuses,
                json_pack("{s:s,s:s,s:s,s:I}", "channel",
                          sb_channel_name(channel), "account", page,
                          "contact", sender, "watermark",
                          sb_get_int(json_object_get(ev, "read"),
                                     "watermark")));
            continue;
        }
        if (!json_is_object(msg)
            || json_is_true(json_object_get(msg, "is_echo"))
            || page == NULL || sender == NULL
            || strcmp(sender, page) == 0
            || !sb_str_ok(json_object_get(msg, "mid")))
        {
            (*ignored)++;
            continue;
        }
        att = json_object_get(msg, "attachments");
        if (json_array_size(att)) {
            att = json_pack("{s:s,s:O}", "type", "attachments", "ref", att);
        } else {
            att = NULL;
        }
        if (att == NULL && !sb_str_ok(json_object_get(msg, "text"))) {
            (*ignored)++;
            continue;
        }
        sb_inbound_add(list, channel, page, sender, sb_get_str(msg, "mid"),
                       sb_get_str(msg, "text"), att);
        json_decref(att);
    }
}


/* Facebook Page feed: entry[].changes[] with field "feed"; only a comment
 * added by someone other than the Page is a visitor message. */
static void
sb_parse_feed(json_t *entry, json_t *list, int *ignored)
{
    json_t      *change, *value;
    const char  *page = sb_get_str(entry, "id"), *from;
    size_t       j;

    json_array_foreach(json_object_get(entry, "changes"), j, change) {
        value = json_object_get(change, "value");
        from = sb_get_str(json_object_get(value, "from"), "id");
        if (page == NULL || from == NULL || strcmp(from, page) == 0
            || !sb_str_is(change, "field", "feed")
            || !sb_str_is(value, "item", "comment")
            || !sb_str_is(value, "verb", "add")
            || !sb_str_ok(json_object_get(value, "comment_id"))
            || !sb_str_ok(json_object_get(value, "message")))
        {
            (*ignored)++;
            continue;
        }
        sb_inbound_add(list, SB_CH_FACEBOOK, page, from,
                       sb_get_str(value, "comment_id"),
                       sb_get_str(value, "message"), NULL);
    }
}


/* A Page's messages and feed come to one callback URL: each entry says
 * which it carries. */
static void
sb_parse_page(int channel, json_t *root, json_t *list, json_t *statuses,
    int *ignored)
{
    json_t  *entry;
    size_t   i;

    json_array_foreach(json_object_get(root, "entry"), i, entry) {
        sb_parse_messaging(channel == SB_CH_INSTAGRAM ? SB_CH_INSTAGRAM
                                                      : SB_CH_MESSENGER,
                           entry, list, statuses, ignored);
        if (channel != SB_CH_INSTAGRAM) {
            sb_parse_feed(entry, list, ignored);
        }
    }
}


/* X Account Activity: direct_message_events[] of type message_create;
 * our own sends come back with the account as sender. */
static void
sb_parse_x(json_t *root, json_t *list, int *ignored)
{
    json_t      *ev, *mc;
    const char  *account = sb_get_str(root, "for_user_id"), *sender;
    char        *text;
    size_t       i;

    json_array_foreach(json_object_get(root, "direct_message_events"), i,
                       ev)
    {
        mc = json_object_get(ev, "message_create");
        sender = sb_get_str(mc, "sender_id");
        if (!sb_str_is(ev, "type", "message_create")
            || sender == NULL || strcmp(sender, account) == 0
            || !sb_str_ok(json_object_get(ev, "id")))
        {
            (*ignored)++;
            continue;
        }
        text = sb_html_unescape(
            sb_get_str(json_object_get(mc, "message_data"), "text")
            ? sb_get_str(json_object_get(mc, "message_data"), "text") : "");
        if (text == NULL || text[0] == '\0') {
            free(text);
            (*ignored)++;
            continue;
        }
        sb_inbound_add(list, SB_CH_TWITTER, account, sender,
                       sb_get_str(ev, "id"), text, NULL);
        free(text);
    }
}


/*
 * A webhook body as {messages: [{channel, visitor, account, contact, id,
 * text, media?}], statuses: [{id, status, error?} or {channel, account,
 * contact, watermark}]}. Returns NULL with err set when the body is not a
 * payload of this channel.
 */
json_t *
sb_webhook_parse(int channel, const char *body, size_t len, int *ignored,
    sb_result_t *err)
{
    json_t        *root, *list, *statuses;
    json_error_t   jerr;
    const char    *object;
    const char    *want = channel == SB_CH_WHATSAPP
                          ? "whatsapp_business_account"
                          : channel == SB_CH_INSTAGRAM ? "instagram" : "page";

    *ignored = 0;
    root = json_loadb(body, len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        sb_result_error(err, 400, "malformed_json", "the body is not a JSON "
                        "object: %s", jerr.text);
        return NULL;
    }
    list = json_array();
    statuses = json_array();

    if (channel == SB_CH_TWITTER) {
        if (!sb_str_ok(json_object_get(root, "for_user_id"))) {
            sb_result_error(err, 400, "unexpected_payload",
                            "expected an Account Activity event with "
                            "for_user_id");
            goto refused;
        }
        sb_parse_x(root, list, ignored);

    } else {
        object = sb_get_str(root, "object");
        if (object == NULL || strcmp(object, want) != 0
            || !json_is_array(json_object_get(root, "entry")))
        {
            sb_result_error(err, 400, "unexpected_payload",
                            "expected object \"%s\" with entries", want);
            goto refused;
        }
        if (channel == SB_CH_WHATSAPP) {
            sb_parse_whatsapp(root, list, statuses, ignored);
        } else {
            sb_parse_page(channel, root, list, statuses, ignored);
        }
    }
    json_decref(root);
    return json_pack("{s:o,s:o}", "messages", list, "statuses", statuses);

refused:
    json_decref(root);
    json_decref(list);
    json_decref(statuses);
    return NULL;
}


/* The longest prefix of s within max bytes that ends on a character. */
static size_t
sb_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    while (max > 0 && ((unsigned char) s[max] & 0xc0) == 0x80) {
        max--;
    }
    return max;
}


/*
 * Every message of one webhook delivery, in one command: each is stored
 * like a visitor message (R1) with the provider's message id as its
 * idempotency key (R21), so a retried delivery stores nothing twice; the
 * statuses of our own sends move their delivery state (R22).
 */
int
sb_apply_webhook(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t       *m;
    sb_cmd_t      one;
    sb_result_t   r;
    size_t        i, len;
    int           rc, stored = 0, seen = 0, dropped = 0, moved = 0;
    const char   *text, *channel;

    json_array_foreach(json_object_get(cmd->body, "messages"), i, m) {
        memset(&one, 0, sizeof(one));
        one.type = SB_CMD_VISITOR_MESSAGE;
        one.now = cmd->now;
        channel = sb_get_str(m, "channel");
        one.channel = sb_channel_parse(channel, strlen(channel));
        memcpy(one.tenant, cmd->tenant, sizeof(one.tenant));
        memcpy(one.group, cmd->group, sizeof(one.group));
        snprintf(one.actor, sizeof(one.actor), "%s", sb_get_str(m, "visitor"));
        snprintf(one.idem, sizeof(one.idem), "p:%s", sb_get_str(m, "id"));
        text = sb_get_str(m, "text");
        len = sb_utf8_cut(text, strlen(text), cx->st->cfg->text_max);
        one.text = strndup(text, len);
        one.body = m;

        memset(&r, 0, sizeof(r));
        rc = one.text ? sb_apply_visitor_message(cx, &one, &r) : ENOMEM;
        free(one.text);
        sb_result_free(&r);
        if (rc) {
            return rc;
        }
        stored += r.status == 201;
        seen += r.status == 200;
        dropped += r.status == 202;
    }

    SB_TRY(sb_apply_statuses(cx, cmd->channel,
                             json_object_get(cmd->body, "statuses"), &moved));

    sb_webhook_answer(res, stored, seen, dropped,
                      (int) json_array_size(json_object_get(cmd->body,
                                                            "statuses")),
                      moved, (int) sb_get_int(cmd->body, "ignored"));
    return 0;
}


/* The 200 of a webhook delivery, also for one with nothing to store. */
void
sb_webhook_answer(sb_result_t *res, int stored, int duplicates, int blocked,
    int statuses, int status_changes, int ignored)
{
    sb_result_set(res, 200,
                  json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "stored", stored,
                            "duplicates", duplicates, "blocked", blocked,
                            "statuses", statuses,
                            "status_changes", status_changes,
                            "ignored", ignored));
}
