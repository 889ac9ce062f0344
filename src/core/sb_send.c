/* The providers' send APIs (R22): the body each expects for one reply,
 * and where each answer names the message id that later statuses use. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_internal.h"


/* Form-encodes s into a malloc'd string (RFC 3986 unreserved kept). */
static char *
sb_form_encode(const char *s)
{
    static const char  hex[] = "0123456789ABCDEF";
    char              *out = malloc(3 * strlen(s) + 1), *o = out;
    unsigned char      c;

    if (out == NULL) {
        return NULL;
    }
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
    *o = '\0';
    return out;
}


/*
 * The request body for one delivery job, malloc'd, and its content type.
 * The operator's location adds the URL, credentials and TLS; the job's
 * account, recipient and reply_to are also nginx variables for it.
 */
char *
sb_send_body(json_t *job, const char **content_type)
{
    const char  *channel = sb_get_str(job, "channel");
    const char  *to = sb_get_str(job, "recipient");
    const char  *text = sb_get_str(job, "text");
    json_t      *body;
    char        *out, *a, *b, *c;
    int          ch = sb_channel_parse(channel, strlen(channel));

    *content_type = "application/json";
    to = to ? to : "";

    switch (ch) {
    case SB_CH_WHATSAPP:
        body = json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "messaging_product",
                         "whatsapp", "recipient_type", "individual", "to", to,
                         "type", "text", "text", "body", text);
        break;
    case SB_CH_MESSENGER:
    case SB_CH_INSTAGRAM:
        body = json_pack("{s:{s:s},s:s,s:{s:s}}", "recipient", "id", to,
                         "messaging_type", "RESPONSE", "message", "text",
                         text);
        break;
    case SB_CH_FACEBOOK:
        /* a reply under the visitor's last comment */
        body = json_pack("{s:s}", "message", text);
        break;
    case SB_CH_SMS:
        *content_type = "application/x-www-form-urlencoded";
        a = sb_form_encode(to);
        b = sb_form_encode(sb_get_str(job, "account")
                           ? sb_get_str(job, "account") : "");
        c = sb_form_encode(text);
        out = NULL;
        if (a && b && c) {
            out = malloc(strlen(a) + strlen(b) + strlen(c) + 32);
            if (out) {
                sprintf(out, "To=%s&From=%s&Body=%s", a, b, c);
            }
        }
        free(a);
        free(b);
        free(c);
        return out;
    default:                                /* X direct messages, v2 */
        body = json_pack("{s:s}", "text", text);
        break;
    }
    out = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return out;
}


/* The provider's id for the message just sent, from its 2xx answer
 * (malloc'd), or NULL when the answer names none. */
char *
sb_send_provider_id(const char *channel, const char *body, size_t len)
{
    json_t      *root = json_loadb(body, len, 0, NULL), *v;
    const char  *id = NULL;
    char        *out;
    int          ch = sb_channel_parse(channel, strlen(channel));

    switch (ch) {
    case SB_CH_WHATSAPP:
        id = sb_get_str(json_array_get(json_object_get(root, "messages"), 0),
                        "id");
        break;
    case SB_CH_MESSENGER:
    case SB_CH_INSTAGRAM:
        id = sb_get_str(root, "message_id");
        break;
    case SB_CH_SMS:
        id = sb_get_str(root, "sid");
        break;
    case SB_CH_TWITTER:
        v = json_object_get(root, "data");
        id = sb_get_str(v, "dm_event_id");
        break;
    default:
        id = sb_get_str(root, "id");
        break;
    }
    out = id ? strdup(id) : NULL;
    json_decref(root);
    return out;
}
