/* Unit tests of the channel table (R20, R22, R26): Twilio's signature
 * against Twilio's documented example, form decoding, the send bodies and
 * sent-message ids, and the per-channel text limits on a real reply. */

#include "core.h"


#define TWILIO_FORM  "CallSid=CA1234567890ABCDE&Caller=%2B14158675310" \
                     "&Digits=1234&From=%2B14158675310&To=%2B18005551212"


static int
twilio_ok(const char *sig, const char *url, const char *form)
{
    sb_form_t  f;
    int        rc;

    if (sb_form_parse(form, strlen(form), &f) != 0) {
        return -2;
    }
    rc = sb_twilio_signature_ok(sig, strlen(sig),
                                (const unsigned char *) "12345", 5, url, &f);
    sb_form_free(&f);
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
    sb_form_t  f;

    ok(sb_form_parse("a=1&b=x+y%21&&c", 15, &f) == 0 && f.n == 3,
       "a form: empty pieces skipped");
    is_str(f.pairs[1].value, "x y!", "+ is a space, %21 is !");
    is_str(f.pairs[2].value, "", "a name without = has an empty value");
    sb_form_free(&f);

    ok(sb_form_parse("a=%zz", 5, &f) != 0, "bad %%XX is refused");
    ok(sb_form_parse("a=%4", 4, &f) != 0, "a cut %%X is refused");
    ok(sb_form_parse("a=%FF%FE", 8, &f) != 0, "invalid UTF-8 is refused");
    ok(sb_form_parse("a=%00", 5, &f) != 0, "a NUL is refused");
    ok(sb_form_parse("=x", 2, &f) != 0, "an empty name is refused");
}


static char *
send_body(int channel, const char *to, const char *from, const char *text,
    const char **type)
{
    sb_job_t  job;
    size_t    len;

    memset(&job, 0, sizeof(job));
    job.channel = channel;
    snprintf(job.recipient, sizeof(job.recipient), "%s", to);
    snprintf(job.account, sizeof(job.account), "%s", from);
    job.text = (char *) text;
    return sb_channel_ops(channel)->send_body(&job, type, &len);
}


static const char *
sent_id(int channel, const char *body)
{
    static char  id[64];

    if (sb_channel_ops(channel)->sent_id(body, strlen(body), id, sizeof(id))
        != 0)
    {
        return NULL;
    }
    return id;
}


static void
test_send_shapes(void)
{
    const char  *type;
    char        *body;

    body = send_body(SB_CH_WHATSAPP, "33611", "1055", "hé \"ok\"", &type);
    is_str(body, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":"
           "\"individual\",\"to\":\"33611\",\"type\":\"text\",\"text\":"
           "{\"body\":\"hé \\\"ok\\\"\"}}", "R22: WhatsApp's shape");
    is_str(type, "application/json", "as JSON");
    free(body);

    body = send_body(SB_CH_SMS, "+33611", "+1555", "a&b=c é", &type);
    is_str(body, "To=%2B33611&From=%2B1555&Body=a%26b%3Dc%20%C3%A9",
           "R22: Twilio's form, every reserved byte escaped");
    is_str(type, "application/x-www-form-urlencoded", "as a form");
    free(body);

    is_str(sent_id(SB_CH_WHATSAPP, "{\"messages\":[{\"id\":\"wamid.X\"}]}"),
           "wamid.X", "R22: WhatsApp's id");
    is_str(sent_id(SB_CH_MESSENGER, "{\"message_id\":\"m_1\","
                                    "\"messages\":[{\"id\":\"no\"}]}"),
           "m_1", "R22: Messenger's message_id, not another field");
    is_str(sent_id(SB_CH_TWITTER, "{\"data\":{\"dm_event_id\":\"9\"}}"), "9",
           "R22: X's dm_event_id");
    ok(sent_id(SB_CH_SMS, "not json") == NULL,
       "R22: no id in a body that is not JSON");
}


/* A Messenger delivery (its messaging[] JSON) from visitor 2001 of Page
 * 1001, applied as the webhook would; the answer (caller frees). */
static json_t *
messenger(const char *messaging)
{
    sb_cmd_t      cmd, *cmds[1] = { &cmd };
    sb_hook_t     hook;
    sb_answer_t   err = { 0, NULL, NULL, 0, "" };
    char         *body;
    json_t       *j = NULL;
    int           status;

    body = malloc(strlen(messaging) + 96);
    sprintf(body, "{\"object\":\"page\",\"entry\":[{\"id\":\"1001\","
            "\"messaging\":[%s]}]}", messaging);
    memset(&hook, 0, sizeof(hook));
    hook.channel = SB_CH_MESSENGER;
    hook.body = (const unsigned char *) body;
    hook.len = strlen(body);
    sb_cmd_init(&cmd, SB_CMD_WEBHOOK, now);
    cmd.channel = SB_CH_MESSENGER;
    snprintf(cmd.tenant, sizeof(cmd.tenant), "default");
    snprintf(cmd.group, sizeof(cmd.group), "default");
    if (sb_webhook_parse(&hook, &cmd, &err) == 0) {
        apply(cmds, 1, &j, &status, NULL);
    }
    sb_answer_free(&err);
    sb_cmd_free(&cmd);
    free(body);
    return j;
}


/* A Messenger conversation held by ann, made by a webhook command. */
static const char *
messenger_conversation(void)
{
    json_t  *j = messenger("{\"sender\":{\"id\":\"2001\"},\"message\":"
                           "{\"mid\":\"m.1\",\"text\":\"hi\"}}");

    is_int(json_integer_value(json_object_get(j, "stored")), 1,
           "R20: a Messenger message parsed and stored");
    json_decref(j);
    return "c1";
}


/* ann's reply on conv, claimed by a FIRE and sent (the provider's 2xx),
 * with any other reply due; its seq */
static int64_t
sent_reply(const char *conv, const char *text)
{
    sb_cmd_t      cmd, *cmds[1] = { &cmd };
    sb_result_t   res, out;
    sb_moved_t    mv = { 0 };
    char          body[128];
    int64_t       seq;
    size_t        i, mine = 0;
    int           status;
    json_t       *j;

    snprintf(body, sizeof(body), "{\"text\":\"%s\"}", text);
    j = run(SB_CMD_AGENT_MESSAGE, "ann", conv, 0, body, &status);
    seq = json_integer_value(json_object_get(json_object_get(j, "message"),
                                             "seq"));
    json_decref(j);
    sb_cmd_init(&cmd, SB_CMD_FIRE, now);
    memset(&res, 0, sizeof(res));
    sb_apply_batch(&st, batch, cmds, &res, 1, &mv);
    for (i = 0; i < res.njobs; i++) {
        mine += res.jobs[i].seq == (uint64_t) seq;
        sb_cmd_init(&cmd, SB_CMD_DELIVERED, now);
        snprintf(cmd.tenant, sizeof(cmd.tenant), "default");
        cmd.conv = res.jobs[i].conv;
        cmd.channel = SB_CH_MESSENGER;
        cmd.u.delivered.seq = res.jobs[i].seq;
        cmd.u.delivered.attempt = res.jobs[i].attempt;
        cmd.u.delivered.outcome = SB_SENT_OK;
        cmd.u.delivered.http_status = 200;
        snprintf(body, sizeof(body), "%s.%zu", text, i);
        cmd.u.delivered.provider_id = (sb_span_t) { body, strlen(body) };
        memset(&out, 0, sizeof(out));
        sb_apply_batch(&st, batch, cmds, &out, 1, &mv);
        sb_result_free(&out);
    }
    ok(mine == 1, "the reply %s is claimed for delivery, and sent", text);
    sb_result_free(&res);
    sb_moved_free(&mv);
    return seq;
}


static const char *
delivery_of(const char *conv, int64_t seq)
{
    static char  state[16];
    json_t      *j = conversation(conv), *m;
    size_t       i;

    snprintf(state, sizeof(state), "?");
    json_array_foreach(json_object_get(j, "thread"), i, m) {
        if (json_integer_value(json_object_get(m, "seq")) == seq) {
            snprintf(state, sizeof(state), "%s", json_string_value(
                json_object_get(json_object_get(m, "delivery"), "state")));
        }
    }
    json_decref(j);
    return state;
}


/* Issue 19: a read watermark walks the newest entries only, however many
 * messages the visitor sent since our last read send. */
static void
test_watermark(void)
{
    char      *many, *p, mark[128];
    int64_t    old, recent;
    int        i;
    json_t    *j;

    old = sent_reply("c1", "early");
    many = malloc(300 * 96);
    for (p = many, i = 0; i < 300; i++) {
        p += sprintf(p, "%s{\"sender\":{\"id\":\"2001\"},\"message\":"
                     "{\"mid\":\"m.x%d\",\"text\":\"more %d\"}}",
                     i ? "," : "", i, i);
    }
    json_decref(messenger(many));
    free(many);
    recent = sent_reply("c1", "recent");
    json_decref(messenger("{\"sender\":{\"id\":\"2001\"},\"message\":"
                          "{\"mid\":\"m.last\",\"text\":\"thanks\"}}"));
    is_str(delivery_of("c1", old), "sent", "the early reply was sent");

    now += 1000;
    snprintf(mark, sizeof(mark), "{\"sender\":{\"id\":\"2001\"},"
             "\"read\":{\"watermark\":%lld}}", (long long) now);
    j = messenger(mark);
    is_int(json_integer_value(json_object_get(j, "status_changes")), 1,
           "the watermark marks one send read");
    json_decref(j);
    is_str(delivery_of("c1", recent), "read", "the recent reply is read");
    is_str(delivery_of("c1", old), "sent", "the walk stopped before the "
           "reply 300 messages back (it is bounded)");
}


static void
test_text_limits(void)
{
    char        body[2200], who[64];
    const char *conv;
    int         status;
    json_t     *j;

    agent("ann", "{\"name\":\"Ann\"}");
    conv = messenger_conversation();
    is_str(holder(conv, who), "ann", "the Messenger conversation is ann's");

    memcpy(body, "{\"text\":\"", 9);
    memset(body + 9, 'x', 2000);
    memcpy(body + 9 + 2000, "\"}", 3);
    j = run(SB_CMD_AGENT_MESSAGE, "ann", conv, 0, body, &status);
    is_int(status, 202, "R26: 2000 characters fit Messenger (202: pending)");
    json_decref(j);

    memset(body + 9, 'x', 2001);
    memcpy(body + 9 + 2001, "\"}", 3);
    j = run(SB_CMD_AGENT_MESSAGE, "ann", conv, 0, body, &status);
    is_int(status, 422, "R26: 2001 do not");
    is_str(json_string_value(json_object_get(json_object_get(j, "error"),
                                             "code")),
           "text_too_long_for_channel", "with its code");
    json_decref(j);

    ok(sb_channel_ops(SB_CH_CHAT)->text_limit == 0,
       "first-party channels have no provider limit");
    test_watermark();
}


int
main(void)
{
    setup();
    test_twilio_signature();
    test_form();
    test_send_shapes();
    test_text_limits();
    teardown();
    return done_testing();
}
