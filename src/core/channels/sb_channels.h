/* Channels as one table (R12, R20, R22, R26): per channel, its webhook's
 * signature header and check, its handshake, its payload parser, its
 * answer, its send body and sent-message id, its text limit and default
 * capabilities. The glue calls the table; no channel is named elsewhere. */

#ifndef SB_CHANNELS_H
#define SB_CHANNELS_H

#include "util/sb_json.h"
#include "util/sb_jread.h"

/* a query argument of the request, URL-decoded (raw: as sent), or NULL */
typedef const char *(*sb_arg_pt)(void *data, const char *name, int raw,
    size_t *len);

/* One webhook request, as the glue hands it over. */
typedef struct {
    sb_channel_t          channel;
    const unsigned char  *body;
    size_t                len;
    const char           *signature;     /* the header's value */
    size_t                signature_len;
    const unsigned char  *secret;
    size_t                secret_len;
    const char           *verify_token;
    size_t                verify_token_len;
    const char           *url;           /* the URL the provider called */
    sb_arg_pt             arg;
    void                 *arg_data;
    void                 *scratch;       /* between verify and parse */
} sb_hook_t;

/* What a provider's account and sender ids look like (R26): Meta and X
 * number their users and accounts; Twilio names phone numbers and short
 * codes ("+14155550100"). */
typedef enum {
    SB_IDS_DIGITS,
    SB_IDS_PHONE
} sb_id_rule_t;

#define SB_SENDER_ID_MAX    64       /* an account's or a sender's id */
#define SB_MESSAGE_ID_MAX   SB_PROVIDER_ID_MAX   /* kept whole (reply_to) */

typedef struct {
    sb_channel_t   channel;
    unsigned       third_party:1;        /* replies go out through it */
    sb_id_rule_t   ids;
    unsigned       signs_url:1;          /* the signature covers the URL */
    size_t         text_limit;           /* characters; 0: none */
    unsigned       default_caps;
    const char    *default_class;        /* the seeds' slot class */
    int64_t        default_auto_close_ms;    /* R15; 0: never */
    const char    *signature_header;     /* NULL: no webhook */

    /* GET: the provider's verification handshake (NULL: none, 405) */
    void  (*handshake)(const sb_hook_t *hook, sb_answer_t *out);
    /* 0 when the signature is the provider's over these bytes */
    int   (*verify)(sb_hook_t *hook);
    /* the payload's messages and receipts into cmd->u.webhook; -1 with
     * the refusal in err when it is not a payload of this channel */
    int   (*parse)(sb_hook_t *hook, sb_cmd_t *cmd, sb_answer_t *err);
    /* the 200 a delivery gets once stored */
    void  (*answer)(const sb_tally_t *tally, sb_answer_t *out);
    /* R22: the body of one delivery (malloc'd) and its content type */
    char *(*send_body)(const sb_job_t *job, const char **type, size_t *len);
    /* the provider's id of the message sent, from its 2xx answer */
    int   (*sent_id)(const char *body, size_t len, char *out, size_t cap);
    /* the scratch of verify, freed */
    void  (*done)(sb_hook_t *hook);
} sb_channel_ops_t;

const sb_channel_ops_t *sb_channel_ops(int channel);

/* shared by the families (sb_channels.c) */
void sb_tally_answer(const sb_tally_t *t, sb_answer_t *out);
int sb_hmac_hex_ok(const char *header, size_t hlen, const char *prefix,
    const unsigned char *key, size_t keylen, const unsigned char *body,
    size_t len);
void sb_hmac_b64(const char *md, const unsigned char *key, size_t keylen,
    const unsigned char *data, size_t len, char *out, size_t outlen);
int sb_inbound_add(sb_cmd_t *cmd, sb_channel_t channel, sb_span_t account,
    sb_span_t contact, sb_span_t id, sb_span_t text, sb_span_t media);
int sb_webhook_parse(sb_hook_t *hook, sb_cmd_t *cmd, sb_answer_t *err);
int sb_media_ref(sb_span_t type, sb_span_t ref, sb_jw_t *w);
int sb_receipt_add(sb_cmd_t *cmd, sb_span_t id, sb_delivery_state_t state,
    sb_span_t error);
int sb_receipt_watermark(sb_cmd_t *cmd, sb_channel_t channel,
    sb_span_t account, sb_span_t contact, int64_t at);
char *sb_json_body(sb_jw_t *w, const char **type, size_t *len);
int sb_sent_id_at(const char *body, size_t len, const char *const *path,
    char *out, size_t cap);

/* Twilio's form and signature (sb_twilio.c) */
typedef struct {
    const char  *name;
    const char  *value;
} sb_form_pair_t;

typedef struct {
    sb_form_pair_t  *pairs;
    size_t           n;
    char            *text;
} sb_form_t;

int sb_form_parse(const char *body, size_t len, sb_form_t *f);
void sb_form_free(sb_form_t *f);
int sb_twilio_signature_ok(const char *header, size_t hlen,
    const unsigned char *key, size_t keylen, const char *url,
    const sb_form_t *f);

/* the families' tables */
extern const sb_channel_ops_t  sb_whatsapp_ops, sb_messenger_ops,
    sb_instagram_ops, sb_facebook_ops, sb_x_ops, sb_twilio_ops,
    sb_mobile_ops, sb_chat_ops;

#endif
