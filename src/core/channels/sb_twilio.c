/* Twilio (SMS, and WhatsApp through Twilio): form-encoded webhooks, the
 * X-Twilio-Signature over the public URL and the sorted decoded fields,
 * messages and status callbacks, the TwiML answer and the send form. */

#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>

#include "channels/sb_channels.h"


/* One form component, '+' as space and %XX decoded, into out (room for
 * len + 1); -1 when broken, holding a NUL or not UTF-8. */
static int
sb_form_decode(const char *s, size_t len, char *out)
{
    size_t  n;

    return sb_percent_decode(s, len, 1, out, &n);
}


void
sb_form_free(sb_form_t *f)
{
    free(f->pairs);
    free(f->text);
    memset(f, 0, sizeof(sb_form_t));
}


/*
 * application/x-www-form-urlencoded as name/value pairs in the order
 * sent (MediaUrl0..n are distinct names; a name may repeat).
 */
int
sb_form_parse(const char *body, size_t len, sb_form_t *f)
{
    const char  *p = body, *end = body + len, *amp, *eq;
    char        *o;
    size_t       n = 1, i;

    memset(f, 0, sizeof(sb_form_t));
    for (i = 0; i < len; i++) {
        n += body[i] == '&';
    }
    f->pairs = calloc(n, sizeof(sb_form_pair_t));
    f->text = malloc(2 * len + 2 * n + 1);
    if (f->pairs == NULL || f->text == NULL) {
        sb_form_free(f);
        return -1;
    }
    o = f->text;
    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }
        if (amp > p) {
            eq = memchr(p, '=', (size_t) (amp - p));
            f->pairs[f->n].name = o;
            if (sb_form_decode(p, (size_t) ((eq ? eq : amp) - p), o) != 0
                || o[0] == '\0')
            {
                sb_form_free(f);
                return -1;
            }
            o += strlen(o) + 1;
            f->pairs[f->n].value = o;
            if (eq ? sb_form_decode(eq + 1, (size_t) (amp - eq - 1), o) != 0
                   : (*o = '\0', 0))
            {
                sb_form_free(f);
                return -1;
            }
            o += strlen(o) + 1;
            f->n++;
        }
        p = amp + 1;
    }
    return 0;
}


static int
sb_pair_cmp(const void *a, const void *b)
{
    const sb_form_pair_t  *x = a, *y = b;
    int                    c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}


/* base64(HMAC-SHA1(token, url + name1 value1 name2 value2 ...)) */
static int
sb_twilio_sign(const unsigned char *key, size_t keylen, const char *url,
    const sb_form_t *f, char *out, size_t outlen)
{
    sb_form_pair_t  *sorted;
    size_t           i, total = strlen(url);
    char            *s, *p;

    for (i = 0; i < f->n; i++) {
        total += strlen(f->pairs[i].name) + strlen(f->pairs[i].value);
    }
    sorted = malloc((f->n ? f->n : 1) * sizeof(sb_form_pair_t));
    s = malloc(total + 1);
    if (sorted == NULL || s == NULL) {
        free(sorted);
        free(s);
        return -1;
    }
    memcpy(sorted, f->pairs, f->n * sizeof(sb_form_pair_t));
    qsort(sorted, f->n, sizeof(sb_form_pair_t), sb_pair_cmp);

    p = stpcpy(s, url);
    for (i = 0; i < f->n; i++) {
        p = stpcpy(p, sorted[i].name);
        p = stpcpy(p, sorted[i].value);
    }
    sb_hmac_b64("sha1", key, keylen, (unsigned char *) s, (size_t) (p - s),
                out, outlen);
    free(sorted);
    free(s);
    return out[0] ? 0 : -1;
}


/*
 * The same URL with its default port written out when it was implicit,
 * or taken away when it was explicit: Twilio signs whichever form it
 * called, and the operator may configure either.
 */
static int
sb_url_other_port(const char *url, char *out, size_t outlen)
{
    const char  *port = strncmp(url, "https://", 8) == 0 ? ":443"
                        : strncmp(url, "http://", 7) == 0 ? ":80" : NULL;
    const char  *host, *end, *colon;

    if (port == NULL) {
        return -1;
    }
    host = strstr(url, "://") + 3;
    end = host + strcspn(host, "/?#");
    colon = memchr(host, ':', (size_t) (end - host));
    if (colon == NULL) {
        snprintf(out, outlen, "%.*s%s%s", (int) (end - url), url, port, end);
    } else if ((size_t) (end - colon) == strlen(port)
               && memcmp(colon, port, strlen(port)) == 0)
    {
        snprintf(out, outlen, "%.*s%s", (int) (colon - url), url, end);
    } else {
        return -1;
    }
    return 0;
}


/* 0 when the header matches the URL with or without its default port. */
int
sb_twilio_signature_ok(const char *header, size_t hlen,
    const unsigned char *key, size_t keylen, const char *url,
    const sb_form_t *f)
{
    char   want[64], other[2048];
    int    i;

    for (i = 0; i < 2; i++) {
        if (i == 1 && sb_url_other_port(url, other, sizeof(other)) != 0) {
            break;
        }
        if (sb_twilio_sign(key, keylen, i ? other : url, f, want,
                           sizeof(want)) == 0
            && hlen == strlen(want) && CRYPTO_memcmp(want, header, hlen) == 0)
        {
            return 0;
        }
    }
    return -1;
}


/* Twilio signs the decoded fields: the form is read first, and kept for
 * the parser. -2: not a form (answered 400 by parse). */
static int
sb_twilio_verify(sb_hook_t *hook)
{
    sb_form_t  *f = calloc(1, sizeof(sb_form_t));

    hook->scratch = f;
    if (f == NULL || sb_form_parse((const char *) hook->body, hook->len, f)
                     != 0)
    {
        free(f);
        hook->scratch = NULL;
        return -2;
    }
    return sb_twilio_signature_ok(hook->signature, hook->signature_len,
                                  hook->secret, hook->secret_len,
                                  hook->url ? hook->url : "", f);
}


static void
sb_twilio_done(sb_hook_t *hook)
{
    if (hook->scratch) {
        sb_form_free(hook->scratch);
        free(hook->scratch);
        hook->scratch = NULL;
    }
}


static const char *
sb_field(const sb_form_t *f, const char *name)
{
    size_t  i;

    for (i = 0; i < f->n; i++) {
        if (strcmp(f->pairs[i].name, name) == 0) {
            return f->pairs[i].value;
        }
    }
    return NULL;
}


static sb_delivery_state_t
sb_twilio_state(const char *s)
{
    return strcmp(s, "sent") == 0 ? SB_DLV_SENT
           : strcmp(s, "delivered") == 0 ? SB_DLV_DELIVERED
           : strcmp(s, "read") == 0 ? SB_DLV_READ
           : strcmp(s, "failed") == 0 || strcmp(s, "undelivered") == 0
             ? SB_DLV_FAILED : SB_DLV_NONE;
}


/* MMS media as {"type":"media","ref":[{url, content_type}]}, as the
 * thread keeps it; 0 when there is none */
static int
sb_twilio_media(const sb_form_t *f, sb_jw_t *w)
{
    const char  *url, *n = sb_field(f, "NumMedia");
    char         name[48];
    long         i, count = n ? strtol(n, NULL, 10) : 0, found = 0;

    sb_jw_init(w, 256);
    sb_jw_obj(w);
    sb_jw_kstr(w, "type", "media");
    sb_jw_key(w, "ref");
    sb_jw_arr(w);
    for (i = 0; i < count && i < 10; i++) {
        snprintf(name, sizeof(name), "MediaUrl%ld", i);
        url = sb_field(f, name);
        snprintf(name, sizeof(name), "MediaContentType%ld", i);
        if (url) {
            sb_jw_obj(w);
            sb_jw_kstr(w, "url", url);
            if (sb_field(f, name)) {
                sb_jw_kstr(w, "content_type", sb_field(f, name));
            }
            sb_jw_obj_end(w);
            found++;
        }
    }
    sb_jw_arr_end(w);
    sb_jw_obj_end(w);
    return w->failed ? -1 : found > 0;
}


/* An inbound message or a status callback; fields Twilio adds later are
 * carried along, never refused. */
static int
sb_twilio_parse(sb_hook_t *hook, sb_cmd_t *cmd, sb_answer_t *err)
{
    const sb_form_t  *f = hook->scratch;
    const char       *sid, *from, *to, *status, *body;
    sb_span_t         media, none = { NULL, 0 };
    sb_jw_t           w;
    int               rc = 0, has;

    if (f == NULL) {
        sb_answer_error(err, 400, "malformed_form", "the body is not a valid "
                        "application/x-www-form-urlencoded form");
        return -1;
    }
    sid = sb_field(f, "MessageSid");
    from = sb_field(f, "From");
    to = sb_field(f, "To");
    status = sb_field(f, "MessageStatus");
    if (sid == NULL || sid[0] == '\0') {
        sb_answer_error(err, 400, "unexpected_payload", "expected a Twilio "
                        "message webhook with MessageSid");
        return -1;
    }

    if (status && strcmp(status, "received") != 0) {
        rc = sb_receipt_add(cmd, sb_cspan(sid), sb_twilio_state(status),
                            sb_cspan(sb_field(f, "ErrorCode")));

    } else if (from && to && from[0] && to[0]) {
        body = sb_field(f, "Body");
        has = sb_twilio_media(f, &w);
        media.p = w.buf;
        media.n = w.len;
        if (has > 0) {
            rc = sb_inbound_add(cmd, SB_CH_SMS, sb_cspan(to),
                                sb_cspan(from), sb_cspan(sid), sb_cspan(body),
                                media);
        } else if (has == 0 && body && body[0]) {
            rc = sb_inbound_add(cmd, SB_CH_SMS, sb_cspan(to),
                                sb_cspan(from), sb_cspan(sid), sb_cspan(body),
                                none);
        } else if (has == 0) {
            cmd->u.webhook.ignored++;
        } else {
            rc = -1;
        }
        sb_jw_free(&w);

    } else {
        cmd->u.webhook.ignored++;
    }
    if (rc) {
        sb_answer_error(err, 500, "no_memory", "out of memory");
        return -1;
    }
    return 0;
}


/* Twilio reads an empty TwiML document as "nothing to send back". */
static void
sb_twilio_answer(const sb_tally_t *t, sb_answer_t *out)
{
    (void) sb_answer_text(out, 200, "text/xml", "<Response/>", 11);
}


/* Form-encodes s after o (RFC 3986 unreserved kept). */
static char *
sb_form_encode(char *o, const char *s)
{
    static const char  hex[] = "0123456789ABCDEF";
    unsigned char      c;

    for ( /* void */ ; *s; s++) {
        c = (unsigned char) *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~')
        {
            *o++ = (char) c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0xf];
        }
    }
    return o;
}


static char *
sb_twilio_send(const sb_job_t *job, const char **type, size_t *len)
{
    char  *out, *o;

    out = malloc(3 * (strlen(job->recipient) + strlen(job->account)
                      + strlen(job->text)) + 32);
    if (out == NULL) {
        return NULL;
    }
    o = stpcpy(out, "To=");
    o = sb_form_encode(o, job->recipient);
    o = stpcpy(o, "&From=");
    o = sb_form_encode(o, job->account);
    o = stpcpy(o, "&Body=");
    o = sb_form_encode(o, job->text);
    *o = '\0';
    *type = "application/x-www-form-urlencoded";
    *len = (size_t) (o - out);
    return out;
}


static int
sb_twilio_sent_id(const char *body, size_t len, char *out, size_t cap)
{
    static const char *const  path[] = { "sid", NULL };

    return sb_sent_id_at(body, len, path, out, cap);
}


/* Twilio signs the URL it called, which nginx cannot know by itself */
const sb_channel_ops_t  sb_twilio_ops = {
    .channel = SB_CH_SMS, .third_party = 1, .ids = SB_IDS_PHONE,
    .signs_url = 1,
    .text_limit = 1600, .default_caps = SB_CAP_ALL,
    .default_class = "messaging",
    .signature_header = "X-Twilio-Signature",
    .verify = sb_twilio_verify, .parse = sb_twilio_parse,
    .answer = sb_twilio_answer, .send_body = sb_twilio_send,
    .sent_id = sb_twilio_sent_id, .done = sb_twilio_done
};
