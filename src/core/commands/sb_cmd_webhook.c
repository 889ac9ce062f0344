/* One provider delivery (R20, R21, R22) in one command: each message is
 * stored like a visitor message with the provider's id as its dedupe key
 * (a retried delivery stores nothing twice); the receipts of our sends
 * move their delivery state. The answer counts what happened. */

#include <stdio.h>

#include "commands/sb_commands.h"


/*
 * Issue 19: every provider account a delivery names (its messages', its
 * read watermarks') must be the request's tenant's or no one's yet; one
 * that is another tenant's refuses the whole delivery (403, nothing
 * stored), whatever Host the request came with. claim: the accounts no
 * one holds become this tenant's.
 */
static int
sb_webhook_accounts(sb_ctx_t *cx, const sb_cmd_t *cmd, int claim)
{
    const sb_inbound_t  *in;
    const sb_receipt_t  *r;
    sb_account_t         a;
    sb_span_t            account, last = { NULL, 0 };
    size_t               i, n = cmd->u.webhook.nmessages;
    int                  channel, rc;

    for (i = 0; i < n + cmd->u.webhook.nreceipts; i++) {
        if (i < n) {
            in = &cmd->u.webhook.messages[i];
            channel = in->channel;
            account = in->account;
        } else {
            r = &cmd->u.webhook.receipts[i - n];
            if (!r->watermark) {
                continue;           /* by our send's id: tenant-scoped */
            }
            channel = r->channel;
            account = r->account;
        }
        if (account.n == 0 || sb_span_eq(account, last)) {
            continue;
        }
        last = account;
        if (claim) {
            SB_TRY(sb_account_claim(cx, channel, account));
            continue;
        }
        rc = sb_account_foreign(cx, channel, account, &a);
        if (rc == 1) {
            snprintf(cx->res->subject, sizeof(cx->res->subject), "%.*s",
                     (int) account.n, account.p);
            cx->res->detail[0] = channel;
            return sb_refuse(cx, SB_REFUSE_FOREIGN_ACCOUNT);
        }
        SB_TRY(rc);
    }
    return 0;
}


int
sb_apply_webhook(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    const sb_inbound_t  *in;
    sb_visit_t           v;
    sb_key_t             k;
    sb_tally_t          *t = &cx->res->tally;
    sb_outcome_t         outcome;
    char                 visitor[SB_VISITOR_MAX + 1];
    size_t               i;
    int                  n, moved = 0;

    memset(t, 0, sizeof(sb_tally_t));

    /* what could refuse one message refuses the delivery, before the
     * first write: no message of an acknowledged delivery may vanish
     * (nginx -t already refuses a webhook channel without a slot class;
     * this stays for a store reloaded under other classes) */
    for (i = 0; i < cmd->u.webhook.nmessages; i++) {
        in = &cmd->u.webhook.messages[i];
        if (sb_class_of_channel(cx->cfg, in->channel) < 0) {
            return sb_refuse_about(cx, SB_REFUSE_NO_SLOT_CLASS, NULL,
                                   in->channel, 0, 0);
        }
    }
    SB_TRY(sb_webhook_accounts(cx, cmd, 0));
    if (cx->res->outcome == SB_REFUSED) {
        return 0;
    }
    SB_TRY(sb_webhook_accounts(cx, cmd, 1));

    for (i = 0; i < cmd->u.webhook.nmessages; i++) {
        in = &cmd->u.webhook.messages[i];

        /* one conversation per (account, sender): both in the visitor id,
         * whole (the parser bounds each to SB_SENDER_ID_MAX) */
        n = snprintf(visitor, sizeof(visitor), "%.*s:%.*s",
                     (int) in->account.n, in->account.p,
                     (int) in->contact.n, in->contact.p);
        if (n < 0 || (size_t) n >= sizeof(visitor)) {
            return EINVAL;                  /* cannot be: see the parser */
        }
        memset(&v, 0, sizeof(v));
        v.channel = in->channel;
        v.visitor = visitor;
        v.text = in->text;
        v.media = in->media;
        v.account = in->account;
        v.contact = in->contact;
        v.reply_to = in->id;
        sb_idem_key(&k, cx->tenant, 'p', in->channel, NULL, 0, in->id);
        v.idem = &k;

        SB_TRY(sb_visit(cx, cmd->group, &v, &outcome));
        t->stored += outcome == SB_CREATED;
        t->duplicates += outcome == SB_REPLAYED;
        t->blocked += outcome == SB_ACCEPTED;
    }

    SB_TRY(sb_delivery_receipts(cx, cmd->channel, cmd->u.webhook.receipts,
                                cmd->u.webhook.nreceipts, &moved));
    t->statuses = (int) cmd->u.webhook.nreceipts;
    t->status_changes = moved;
    t->ignored += cmd->u.webhook.ignored;

    /* the message records replayed or refused along the way are not the
     * answer: a webhook's answer is the tally */
    sb_result_free_record(cx->res);
    cx->res->outcome = SB_DONE;
    return 0;
}
