// SPDX-License-Identifier: MIT
/*
 * Re-sending events that may or may not be in Redis (their reply was lost with the
 * link, or they come from the spool or the journal of an earlier run). One script per
 * stream adds each event only if no entry of the stream's recent tail carries its source
 * and id, so that re-sending never writes an event twice.
 */
#ifndef RHEINHUB_RESEND_H
#define RHEINHUB_RESEND_H

#include <hiredis/async.h>

#include "out_item.h"

/* Most events one script call carries. */
#define RESEND_BATCH_MAX 512

/*
 * Moves from src into batch the events of the first entry's stream, at most
 * RESEND_BATCH_MAX, keeping the order of both lists. src must hold events only.
 */
void resend_take_batch(struct out_list *src, struct out_list *batch);

/*
 * Sends batch (events of one stream, not empty) through the add-if-absent script on
 * ac. On success each entry is marked resend, batch->head->batch holds the count and
 * cb gets batch->head as privdata; the lists are left as they are. Returns 0,
 * -ENOMEM, or -ENOTCONN when hiredis refused the command.
 */
int resend_send(redisAsyncContext *ac, struct out_list *batch, redisCallbackFn *cb);

#endif
