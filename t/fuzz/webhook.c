/* Fuzz target, built once per channel (-DSB_FUZZ_CHANNEL): a provider's
 * webhook (R20, R21, R26). Input: the signature header's value, a newline,
 * the body. An empty header line has the harness sign the body as the
 * provider would (Meta: hex HMAC-SHA256; X: base64 HMAC-SHA256; Twilio:
 * base64 HMAC-SHA1 over URL and sorted fields), so that the parser is
 * reached; the check must then take it. The handshake reads the body as
 * its query arguments, and the send answer reader reads it too. */

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"

static const unsigned char  secret[] = "fuzz-webhook-secret";
static const char           url[] = "https://sb.example.com/webhooks/sms";


static const char *
sb_fuzz_arg(void *data, const char *name, int raw, size_t *len)
{
    sb_span_t  *body = data;

    *len = body->n;
    return body->p;
}


static int
sb_fuzz_pair_cmp(const void *a, const void *b)
{
    const sb_form_pair_t  *x = a, *y = b;
    int                    c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}


/* The provider's signature of the body, written out independently of
 * the checks in src/core/channels (this is the provider's side). */
static void
sb_fuzz_sign(const sb_hook_t *hook, char *out, size_t cap)
{
    unsigned char    mac[EVP_MAX_MD_SIZE];
    unsigned int     maclen = 0, i;
    sb_form_t        f = { NULL, 0, NULL };
    sb_form_pair_t  *sorted;
    size_t           total = sizeof(url), k;
    char            *s, *p, b64[64];

    out[0] = '\0';
    if (hook->channel == SB_CH_TWITTER) {
        HMAC(EVP_sha256(), secret, sizeof(secret) - 1, hook->body, hook->len,
             mac, &maclen);
        EVP_EncodeBlock((unsigned char *) b64, mac, (int) maclen);
        snprintf(out, cap, "sha256=%s", b64);
    } else if (hook->channel == SB_CH_SMS) {
        if (sb_form_parse((const char *) hook->body, hook->len, &f) != 0) {
            return;
        }
        for (k = 0; k < f.n; k++) {
            total += strlen(f.pairs[k].name) + strlen(f.pairs[k].value);
        }
        sorted = malloc((f.n + 1) * sizeof(sb_form_pair_t));
        s = malloc(total);
        if (sorted == NULL || s == NULL) {
            abort();
        }
        memcpy(sorted, f.pairs, f.n * sizeof(sb_form_pair_t));
        qsort(sorted, f.n, sizeof(sb_form_pair_t), sb_fuzz_pair_cmp);
        p = stpcpy(s, url);
        for (k = 0; k < f.n; k++) {
            p = stpcpy(stpcpy(p, sorted[k].name), sorted[k].value);
        }
        HMAC(EVP_sha1(), secret, sizeof(secret) - 1, (unsigned char *) s,
             (size_t) (p - s), mac, &maclen);
        EVP_EncodeBlock((unsigned char *) out, mac, (int) maclen);
        free(sorted);
        free(s);
        sb_form_free(&f);
    } else {
        HMAC(EVP_sha256(), secret, sizeof(secret) - 1, hook->body, hook->len,
             mac, &maclen);
        p = out + snprintf(out, cap, "sha256=");
        for (i = 0; i < maclen; i++) {
            p += sprintf(p, "%02x", mac[i]);
        }
    }
}


/* What a parser hands the store must be what the store can key on. */
static void
sb_fuzz_check_messages(const sb_cmd_t *cmd, const sb_channel_ops_t *ops)
{
    const sb_inbound_t  *m;
    size_t               i, k;

    for (i = 0; i < cmd->u.webhook.nmessages; i++) {
        m = &cmd->u.webhook.messages[i];
        SB_FUZZ_CHECK(m->account.n >= 1 && m->account.n <= SB_SENDER_ID_MAX);
        SB_FUZZ_CHECK(m->contact.n >= 1 && m->contact.n <= SB_SENDER_ID_MAX);
        for (k = 0; k < m->contact.n; k++) {
            SB_FUZZ_CHECK((m->contact.p[k] >= '0' && m->contact.p[k] <= '9')
                          || (ops->ids == SB_IDS_PHONE
                              && m->contact.p[k] != ':'
                              && m->contact.p[k] > ' '
                              && m->contact.p[k] < 0x7f));
        }
        SB_FUZZ_CHECK(m->id.n >= 1 && m->id.n <= SB_MESSAGE_ID_MAX);
        SB_FUZZ_CHECK(m->text.n > 0 || m->media.n > 0);
        SB_FUZZ_CHECK(sb_valid_utf8((const unsigned char *) m->text.p,
                                    m->text.n));
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sb_channel_ops_t  *ops = sb_channel_ops(SB_FUZZ_CHANNEL);
    const uint8_t           *nl = memchr(data, '\n', size);
    sb_answer_t              ans = { 0, NULL, NULL, 0, "" };
    sb_hook_t                hook;
    sb_span_t                args;
    sb_cmd_t                 cmd;
    char                    *body, *header, signed_header[128], id[256];
    size_t                   hlen;
    int                      rc;

    if (nl == NULL) {
        return 0;
    }
    hlen = (size_t) (nl - data);
    header = sb_fuzz_string(data, hlen);
    body = sb_fuzz_string(nl + 1, size - hlen - 1);

    memset(&hook, 0, sizeof(hook));
    hook.channel = SB_FUZZ_CHANNEL;
    hook.body = (const unsigned char *) body;
    hook.len = size - hlen - 1;
    hook.secret = secret;
    hook.secret_len = sizeof(secret) - 1;
    hook.verify_token = "fuzz-verify";
    hook.verify_token_len = 11;
    hook.url = url;
    args.p = body;
    args.n = hook.len;
    hook.arg = sb_fuzz_arg;
    hook.arg_data = &args;

    if (ops->handshake) {
        ops->handshake(&hook, &ans);
        SB_FUZZ_CHECK(ans.status == 200 || (ans.status >= 400
                                            && ans.status < 500));
        sb_answer_free(&ans);
    }
    if (ops->sent_id && ops->sent_id(body, hook.len, id, sizeof(id)) == 0) {
        SB_FUZZ_CHECK(strlen(id) >= 1);
    }

    if (hlen == 0) {
        sb_fuzz_sign(&hook, signed_header, sizeof(signed_header));
        hook.signature = signed_header;
    } else {
        hook.signature = header;
    }
    hook.signature_len = strlen(hook.signature);
    rc = ops->verify(&hook);
    if (hlen == 0 && signed_header[0]) {
        SB_FUZZ_CHECK(rc == 0);          /* the provider's own signature */
    }
    if (rc == 0 || rc == -2) {
        sb_cmd_init(&cmd, SB_CMD_WEBHOOK, 1700000000000);
        cmd.channel = SB_FUZZ_CHANNEL;
        rc = sb_webhook_parse(&hook, &cmd, &ans);
        if (rc == 0) {
            sb_fuzz_check_messages(&cmd, ops);
        } else {
            SB_FUZZ_CHECK(ans.status >= 400 && ans.status < 500);
            sb_fuzz_answer_ok(&ans);
        }
        sb_answer_free(&ans);
        sb_cmd_free(&cmd);
    }
    if (ops->done) {
        ops->done(&hook);
    }
    free(header);
    free(body);
    return 0;
}
