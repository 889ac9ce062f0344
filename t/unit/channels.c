/* Unit tests of the channel code in the core (R20, R22, R26): Twilio's
 * signature against Twilio's documented example, form decoding, the send
 * bodies and provider ids, and the per-channel text limits. */

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "sb_core.h"
#include "tap.h"

int sb_reply_fits(int channel, const char *text, sb_result_t *res);


#define TWILIO_FORM  "CallSid=CA1234567890ABCDE&Caller=%2B14158675310" \
                     "&Digits=1234&From=%2B14158675310&To=%2B18005551212"


static int
twilio_ok(const char *sig, const char *url, const char *form)
{
    sb_result_t  err = { 0, NULL, NULL };
    json_t      *pairs = sb_form_parse(form, strlen(form), &err);
    int          rc;

    rc = pairs ? sb_twilio_signature_ok(sig, strlen(sig),
                                        (const unsigned char *) "12345", 5,
                                        url, pairs)
               : -2;
    json_decref(pairs);
    sb_result_free(&err);
    return rc;
}


static void
test_twilio_signature(void)
{
    const char  *url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const char  *url443 = "https://mycompany.com:443/myapp.php?foo=1&bar=2";

    /* the example of Twilio's webhook security page */
    is_int(twilio_ok("GvWf1cFY/Q7PnoempGyD5oXAezc=", url, TWILIO_FORM), 0,
           "R20: Twilio's documented signature verifies");
    is_int(twilio_ok("GvWf1cFY/Q7PnoempGyD5oXAezc=", url443, TWILIO_FORM), 0,
           "R20: ... also when :443 is configured and Twilio left it out");
    is_int(twilio_ok("5s2PFy0qmPcZucb4eH4b08ZJtL0=", url, TWILIO_FORM), 0,
           "R20: ... and when Twilio signed with :443 and it is configured "
           "without");
    is_int(twilio_ok("GvWf1cFY/Q7PnoempGyD5oXAezc=", url,
                     TWILIO_FORM "&Extra=1"), -1,
           "R20: a field added after signing fails");
    is_int(twilio_ok("GvWf1cFY/Q7PnoempGyD5oXAezc=",
                     "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
                     TWILIO_FORM), -1,
           "R20: another port is another URL");
    is_int(twilio_ok("GvWf1cFY/Q7PnoempGyD5oXAezc", url, TWILIO_FORM), -1,
           "R20: a signature one character short fails");
}


static void
test_form(void)
{
    sb_result_t  err = { 0, NULL, NULL };
    json_t      *p;

    p = sb_form_parse("a=1&b=x+y%21&&c", 15, &err);
    is_int(json_array_size(p), 3, "a form: empty pieces skipped");
    is_str(json_string_value(json_array_get(json_array_get(p, 1), 1)),
           "x y!", "+ is a space, %21 is !");
    is_str(json_string_value(json_array_get(json_array_get(p, 2), 1)), "",
           "a name without = has an empty value");
    json_decref(p);

    p = sb_form_parse("a=%zz", 5, &err);
    ok(p == NULL && err.status == 400, "bad %%XX: 400");
    sb_result_free(&err);
    p = sb_form_parse("a=%4", 4, &err);
    ok(p == NULL, "a cut %%X is refused");
    sb_result_free(&err);
    p = sb_form_parse("a=%FF%FE", 8, &err);
    ok(p == NULL, "invalid UTF-8 is refused");
    sb_result_free(&err);
    p = sb_form_parse("a=%00", 5, &err);
    ok(p == NULL, "a NUL is refused");
    sb_result_free(&err);
    p = sb_form_parse("=x", 2, &err);
    ok(p == NULL, "an empty name is refused");
    sb_result_free(&err);
}


static void
test_send_shapes(void)
{
    const char  *type;
    json_t      *job;
    char        *body, *id;

    job = json_pack("{s:s,s:s,s:s,s:s}", "channel", "whatsapp", "recipient",
                    "33611", "account", "1055", "text", "hé \"ok\"");
    body = sb_send_body(job, &type);
    is_str(body, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
           "\"individual\",\"to\":\"33611\",\"type\":\"text\",\"text\":"
           "{\"body\":\"hé \\\"ok\\\"\"}}", "R22: WhatsApp's shape");
    is_str(type, "application/json", "as JSON");
    free(body);
    json_decref(job);

    job = json_pack("{s:s,s:s,s:s,s:s}", "channel", "sms", "recipient",
                    "+33611", "account", "+1555", "text", "a&b=c é");
    body = sb_send_body(job, &type);
    is_str(body, "To=%2B33611&From=%2B1555&Body=a%26b%3Dc%20%C3%A9",
           "R22: Twilio's form, every reserved byte escaped");
    is_str(type, "application/x-www-form-urlencoded", "as a form");
    free(body);
    json_decref(job);

    id = sb_send_provider_id("whatsapp", "{\"messages\":[{\"id\":\"wamid.X\"}]}",
                             31);
    is_str(id, "wamid.X", "R22: WhatsApp's id");
    free(id);
    id = sb_send_provider_id("twitter",
                             "{\"data\":{\"dm_event_id\":\"9\"}}", 28);
    is_str(id, "9", "R22: X's dm_event_id");
    free(id);
    id = sb_send_provider_id("sms", "not json", 8);
    ok(id == NULL, "R22: no id in a body that is not JSON");
}


static void
test_text_limits(void)
{
    sb_result_t  res = { 0, NULL, NULL };
    char         text[2100];

    memset(text, 'x', 2000);
    text[2000] = '\0';
    is_int(sb_reply_fits(SB_CH_MESSENGER, text, &res), 0,
           "R26: 2000 characters fit Messenger");
    text[2000] = 'x';
    text[2001] = '\0';
    is_int(sb_reply_fits(SB_CH_MESSENGER, text, &res), -1,
           "R26: 2001 do not");
    is_int(res.status, 422, "422");
    sb_result_free(&res);
    is_int(sb_reply_fits(SB_CH_CHAT, text, &res), 0,
           "first-party channels have no provider limit");
}


int
main(void)
{
    test_twilio_signature();
    test_form();
    test_send_shapes();
    test_text_limits();
    return done_testing();
}
