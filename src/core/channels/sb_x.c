/* X direct messages (R20-R22): the CRC challenge, the base64 signature
 * over the raw body, Account Activity message_create events (our own
 * sends come back with the account as sender), and the v2 send body. */

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


/* X escapes &, < and > in DM texts; the thread keeps what was typed. */
static void
sb_html_unescape(char *s)
{
    static const struct { const char *ent; char c; }  ents[] = {
        { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
        { "&quot;", '"' }, { "&#39;", '\'' }
    };
    char    *o = s;
    size_t   i, n;

    while (*s) {
        for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
            n = strlen(ents[i].ent);
            if (strncmp(s, ents[i].ent, n) == 0) {
                *o++ = ents[i].c;
                s += n;
                break;
            }
        }
        if (i == sizeof(ents) / sizeof(ents[0])) {
            *o++ = *s++;
        }
    }
    *o = '\0';
}


static int
sb_x_parse(sb_hook_t *hook, sb_cmd_t *cmd, sb_answer_t *err)
{
    json_t        *root, *ev, *mc;
    json_error_t   jerr;
    const char    *account, *sender, *text;
    char          *copy;
    size_t         i;
    int            rc = 0;

    root = json_loadb((const char *) hook->body, hook->len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        sb_answer_error(err, 400, "malformed_json", "the body is not a JSON "
                        "object: %s", jerr.text);
        return -1;
    }
    account = sb_str(root, "for_user_id");
    if (account == NULL || account[0] == '\0') {
        json_decref(root);
        sb_answer_error(err, 400, "unexpected_payload", "expected an Account "
                        "Activity event with for_user_id");
        return -1;
    }

    json_array_foreach(json_object_get(root, "direct_message_events"), i, ev)
    {
        mc = json_object_get(ev, "message_create");
        sender = sb_str(mc, "sender_id");
        text = sb_str(json_object_get(mc, "message_data"), "text");
        if (!(sb_str(ev, "type") && strcmp(sb_str(ev, "type"),
                                           "message_create") == 0)
            || sender == NULL || strcmp(sender, account) == 0
            || sb_str(ev, "id") == NULL || sb_str(ev, "id")[0] == '\0')
        {
            cmd->u.webhook.ignored++;
            continue;
        }
        copy = strdup(text ? text : "");
        if (copy == NULL) {
            rc = -1;
            break;
        }
        sb_html_unescape(copy);
        if (copy[0] == '\0') {
            cmd->u.webhook.ignored++;
        } else {
            rc |= sb_inbound_add(cmd, hook->text_max, SB_CH_TWITTER, account,
                                 sender, sb_str(ev, "id"), copy, NULL, 0);
        }
        free(copy);
    }
    json_decref(root);
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
    SB_CH_TWITTER, 1, 10000, SB_CAP_ALL, "x-twitter-webhooks-signature",
    sb_x_handshake, sb_x_verify, sb_x_parse, sb_tally_answer, sb_x_send,
    sb_x_sent_id, NULL
};
