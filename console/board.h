// SPDX-License-Identifier: MIT
/*
 * The console's live picture (board.c): every alert the broker holds retained, the
 * recently cleared ones, the newest aggregate of each subject and window, and the
 * ring of Server-Sent Events that carries each change to the open pages. The MQTT
 * thread writes it, the HTTP thread reads it; one mutex guards all of it.
 */
#ifndef RHEINHUB_CONSOLE_BOARD_H
#define RHEINHUB_CONSOLE_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define BOARD_RING 1024          /* events a slow page may fall behind before it resyncs */
#define BOARD_RECENT_MAX 50      /* cleared alerts kept for the recent list */
#define BOARD_ALERTS_MAX 20000   /* alert topics held; more are counted and dropped */
#define BOARD_GAUGES_MAX 20000   /* (municipality, type, subject, window) held */
#define BOARD_PAYLOAD_MAX 16384  /* larger alert or aggregate payloads are ignored */

struct board;
struct board_client;

/*
 * park(conn) is called, under the board's lock, when a client has nothing to read;
 * wake(conn) when something arrived for a parked client. Both come from the owner of
 * the connections (sse.c), which suspends and resumes them.
 */
typedef void (*board_conn_cb)(void *conn);

struct board *board_new(board_conn_cb park, board_conn_cb wake);
void board_free(struct board *b);

/* An alert state from <m>/alerts/<rule>/<subject>; an empty payload removes it. */
void board_alert(struct board *b, const char *topic, const void *payload, size_t len);

/* An aggregate from <m>/analytics/<type>/<subject>/<window>; an empty payload removes it. */
void board_aggregate(struct board *b, const char *topic, const void *payload, size_t len);

/*
 * Resynchronisation after a (re)connect. The broker replays what it retains, but not
 * what it stopped retaining while the console was away: after the replay, whatever
 * the board held before the connect and no message has named since is removed, with
 * a "removed" event, so that the board equals what the broker retains.
 *
 * board_resync_begin: the session is connected and about to subscribe; every alert
 * and aggregate held now is unconfirmed. A message on its topic (board_alert,
 * board_aggregate, retained or live) confirms it. Returns 0, or -ENOMEM (then no
 * resync runs and the board stays as it is). A begin during a resync starts it over.
 * board_resync_subscribed: the SUBACK arrived (every subscription granted).
 * board_resync_retained: a retained message (of the replay) arrived.
 * board_resync_tick: once subscribed and BOARD_RESYNC_QUIET_MS after the SUBACK or
 * the last retained message, whichever is later, removes what is still unconfirmed
 * and ends the resync. Call it after each message and about once a second.
 * board_resync_cancel: the session is gone, or a subscription was refused (the
 * replay is incomplete): nothing is removed.
 * now_ms: a monotonic clock (clock_now_ms).
 */
#define BOARD_RESYNC_QUIET_MS 1000 /* ms without a retained message that end the replay */
int board_resync_begin(struct board *b);
void board_resync_subscribed(struct board *b, int64_t now_ms);
void board_resync_retained(struct board *b, int64_t now_ms);
void board_resync_tick(struct board *b, int64_t now_ms);
void board_resync_cancel(struct board *b);

/* Appends an SSE comment to every stream, so that dead connections are noticed. */
void board_ping(struct board *b);

/* Ends every stream of the session token (logout, idle timeout). */
void board_end_session(struct board *b, const char *session);

/*
 * A new stream for session (copied): its first event is the snapshot of the alerts.
 * Returns NULL when out of memory.
 */
struct board_client *board_attach(struct board *b, void *conn, const char *session);

/*
 * Copies up to max bytes of the client's next events into buf. Returns the count,
 * 0 after parking the connection when nothing is there, or -1 when the stream ends.
 */
ssize_t board_read(struct board *b, struct board_client *c, char *buf, size_t max);

/* Removes a client whose connection is gone; it must not be parked. */
void board_detach(struct board *b, struct board_client *c);

/* Wakes every parked client, so that it can be detached (shutdown). */
void board_wake_all(struct board *b);

/*
 * Whether topic is an alert the board holds (acks go only to those): BOARD_ALERT_NONE
 * when it holds none; BOARD_ALERT_OTHER when alert_id (not NULL) is not the id of the
 * one it holds (that one cleared, the next was raised); else BOARD_ALERT_HELD.
 */
enum board_alert_match { BOARD_ALERT_NONE, BOARD_ALERT_OTHER, BOARD_ALERT_HELD };
enum board_alert_match board_alert_match(struct board *b, const char *topic, const char *alert_id);

/* A copy of the alert at topic, or NULL. The caller owns it. */
json_t *board_alert_copy(struct board *b, const char *topic);

/* {"alerts":[...],"recent":[...]}; the caller owns it. */
json_t *board_alerts_json(struct board *b);

/* The same as compact JSON text, NUL-terminated, *len bytes (len may be NULL); the
 * caller frees it. NULL when out of memory. Joined from the texts the board holds,
 * without parsing them. */
char *board_alerts_text(struct board *b, size_t *len);

/*
 * Calls fn with each alert held (parsed one at a time, freed after the call), under the
 * board's lock: fn must not call the board. Returns 0, or -1 when out of memory.
 */
int board_alerts_each(struct board *b, void (*fn)(const json_t *alert, void *data), void *data);

/* [{"municipality","type","subject","windows":{window: aggregate}}...]; caller owns. */
json_t *board_gauges_json(struct board *b);

/*
 * The reply of /api/gauges as compact JSON text: board_gauges_json with "silent" added to
 * each gauge, true when silent (may be NULL) has its "<m>/<type>/<subject>" as a key.
 * NUL-terminated, *len bytes (len may be NULL); the caller frees it; NULL when out of
 * memory. Joined from the texts the board holds, without parsing them.
 */
char *board_gauges_text(struct board *b, const json_t *silent, size_t *len);

/* Number of open streams. */
size_t board_clients(struct board *b);

/* The alerts held now, and the payloads dropped since the start (malformed, too large,
 * over a cap): what /metrics shows. */
void board_stats(struct board *b, size_t *alerts, uint64_t *dropped);

#endif
