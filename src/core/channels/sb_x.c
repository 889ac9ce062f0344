/* X direct messages (R20-R22): the CRC challenge, the base64 signature
 * over the raw body, Account Activity message_create events (our own
 * sends come back with the account as sender), and the v2 send body. */

#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>

#include "channels/sb_channels.h"


/*
 * X's CRC tokens are base64 (or base64url) text of a few dozen bytes.
 * Nothing else is signed: the answer is the HMAC a POST whose body is
 * the token would carry in x-twitter-webhooks-signature, so answering any
 * text would sign a forged delivery for whoever asks (issue 19). A token
 * of this alphabet (and the space a form-decoded '+' becomes) can never
 * be a JSON object, so its HMAC can never authenticate a delivery.
 */
#define SB_X_CRC_MAX  256

static int
sb_x_crc_token_ok(const char *t, size_t len)
{
    size_t  i;

    if (len == 0 || len > SB_X_CRC_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char  c = t[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || (c != '\0' && strchr("+/=-_ ", c))))
        {
            return 0;
        }
    }
    return 1;
}


/* GET ?crc_token=T -> {"response_token":"sha256=" + base64 HMAC(T)} */
static void
sb_x_handshake(const sb_hook_t *hook, sb_answer_t *out)
{
    const char  *token;
    size_t       len;
    char         sig[64], resp[72];
    sb_jw_t      w;

    token = hook->arg(hook->arg_data, "crc_token", 0, &len);
    if (token == NULL || len == 0) {
        sb_answer_error(out, 400, "missing_crc_token",
                        "crc_token is required");
        return;
    }
    if (!sb_x_crc_token_ok(token, len)) {
        sb_answer_error(out, 400, "bad_crc_token", "crc_token must be "
                        "base64 text of at most %d bytes",
                        SB_X_CRC_MAX);
        return;
    }
    sb_hmac_b64("sha256", hook->secret, hook->secret_len,
                (const unsigned char *) token, len, sig, sizeof(sig));
    snprintf(resp, sizeof(resp), "sha256=%s", sig);
    sb_jw_init(&w, 96);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "response_token", resp);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, out);
}


/* x-twitter-webhooks-signature: "sha256=" + base64, constant time. */
static int
sb_x_verify(sb_hook_t *hook)
{
    char  sig[64], want[72];

    sb_hmac_b64("sha256", hook->secret, hook->secret_len, hook->body,
                hook->len, sig, sizeof(sig));
    snprintf(want, sizeof(want), "sha256=%s", sig);
    if (sig[0] == '\0' || hook->signature_len != strlen(want)) {
        return -1;
    }
    return CRYPTO_memcmp(want, hook->signature, hook->signature_len) == 0
           ? 0 : -1;
}


/* X escapes &, < and > in DM texts; the thread keeps what was typed.
 * In place: the text only shrinks. */
static size_t
sb_html_unescape(char *s, size_t n)
{
    static const struct { const char *ent; size_t len; char c; }  ents[] = {
        { "&amp;", 5, '&' }, { "&lt;", 4, '<' }, { "&gt;", 4, '>' },
        { "&quot;", 6, '"' }, { "&#39;", 5, '\'' }
    };
    char    *o = s, *end = s + n;
    size_t   i;

    while (s < end) {
        for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
            if ((size_t) (end - s) >= ents[i].len
                && memcmp(s, ents[i].ent, ents[i].len) == 0)
            {
                *o++ = ents[i].c;
                s += ents[i].len;
                break;
            }
        }
        if (i == sizeof(ents) / sizeof(ents[0])) {
            *o++ = *s++;
        }
    }
    return (size_t) (o - (end - n));
}


static int
sb_x_parse(sb_hook_t *hook, sb_cmd_t *cmd, sb_answer_t *err)
{
    sb_json_doc_t   d;
    uint32_t        ev, mc, list;
    sb_span_t       account, sender, text, id, none = { NULL, 0 };
    int             rc = 0;

    if (sb_json_read_body(&d, (const char *) hook->body, hook->len, 0,
                          &cmd->mem, err) != 0)
    {
        return -1;
    }
    account = sb_json_get_str(&d, 0, "for_user_id");
    if (account.n == 0) {
        sb_answer_error(err, 400, "unexpected_payload", "expected an Account "
                        "Activity event with for_user_id");
        return -1;
    }

    list = sb_json_get(&d, 0, "direct_message_events");
    if (!sb_json_is(&d, list, SB_JSON_ARRAY)) {
        list = SB_JSON_NONE;
    }
    SB_JSON_ITEMS(&d, ev, list) {
        mc = sb_json_get(&d, ev, "message_create");
        sender = sb_json_get_str(&d, mc, "sender_id");
        id = sb_json_get_str(&d, ev, "id");
        if (!sb_span_is(sb_json_get_str(&d, ev, "type"), "message_create")
            || sender.n == 0 || sb_span_eq(sender, account) || id.n == 0)
        {
            cmd->u.webhook.ignored++;
            continue;
        }
        text = sb_json_get_str(&d, sb_json_get(&d, mc, "message_data"),
                               "text");
        text = sb_arena_copy(&cmd->mem, text.p, text.n);
        if (text.p == NULL) {
            rc = -1;
            break;
        }
        text.n = sb_html_unescape((char *) text.p, text.n);
        if (text.n == 0) {
            cmd->u.webhook.ignored++;
            continue;
        }
        rc |= sb_inbound_add(cmd, SB_CH_TWITTER, account,
                             sender, id, text, none);
    }
    if (rc) {
        sb_answer_error(err, 500, "no_memory", "out of memory");
        return -1;
    }
    return 0;
}


static char *
sb_x_send(const sb_job_t *job, const char **type, size_t *len)
{
    sb_jw_t  w;

    sb_jw_init(&w, 128);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "text", job->text);
    sb_jw_obj_end(&w);
    return sb_json_body(&w, type, len);
}


/* v2 answers {"data":{"dm_event_id":…}} */
static int
sb_x_sent_id(const char *body, size_t len, char *out, size_t cap)
{
    static const char *const  path[] = { "data", "dm_event_id", NULL };

    return sb_sent_id_at(body, len, path, out, cap);
}


const sb_channel_ops_t  sb_x_ops = {
    .channel = SB_CH_TWITTER, .third_party = 1, .text_limit = 10000,
    .default_caps = SB_CAP_ALL, .default_class = "messaging",
    .signature_header = "x-twitter-webhooks-signature",
    .handshake = sb_x_handshake, .verify = sb_x_verify, .parse = sb_x_parse,
    .answer = sb_tally_answer, .send_body = sb_x_send,
    .sent_id = sb_x_sent_id
};
