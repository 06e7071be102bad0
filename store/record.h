/*
 * record.h: an event as a msgpack record, and back out as JSON.
 *
 * The record is one msgpack map with short string keys (see record.c for the
 * full key list, and docs/event-log.md). Empty strings and zero values are
 * left out. Decoding is tolerant of unknown keys so that later versions can
 * add fields without breaking older readers.
 */
#ifndef LE_RECORD_H
#define LE_RECORD_H

#include <msgpack.h>

#include "arena.h"
#include "buf.h"
#include "event.h"

/* Append the msgpack encoding of ev to sb (the payload, without frame). */
void le_record_encode(const le_event_t *ev, msgpack_sbuffer *sb);

/*
 * The event log's way: the most bytes ev's record can take, and the record written into dst,
 * which must hold le_record_bound(ev) bytes; returns the bytes written.
 */
size_t le_record_bound(const le_event_t *ev);
size_t le_record_pack_to(const le_event_t *ev, void *dst);

/*
 * Decode the record in payload[0..len) into *ev. Strings in ev borrow from
 * payload (which must outlive ev; they are not NUL-terminated) or, for a vid
 * written as "same as id", from ev->id (so a copy of *ev must not outlive ev), the props and
 * fields arrays come from a. Unknown keys are skipped. Returns 0, or
 * LE_ECORRUPT when the payload is not a well-formed record (a known key with
 * the wrong type, truncation, trailing bytes, no "v"); *ev is then
 * unspecified. Allocates nothing besides the two arrays.
 */
int le_record_decode(const void *payload, size_t len, le_event_t *ev, le_arena_t *a);

/*
 * Append one JSON object (no trailing newline) describing the record in
 * payload[0..len) to out. Returns 0, or LE_ECORRUPT when the payload is not
 * a well-formed record (out is then unchanged).
 */
int le_record_to_json(const void *payload, size_t len, le_buf_t *out);

/*
 * The enrichment alone, as `leadedge lookup` prints it: one JSON object (no trailing
 * newline) with first_key: first_value first when first_key is not NULL (the IP or the
 * User-Agent looked up), then "geo", "company", "device",
 * "language", "bot_reasons" and "bot", laid out as in le_record_to_json. 0, or LE_ECORRUPT
 * when a string is not valid UTF-8 (out is then unchanged).
 */
int le_enrichment_to_json(const le_enrichment_t *x, const char *first_key, le_str_t first_value,
                          le_buf_t *out);

/* A one-line human summary: "2026-11-26T17:26:01.123Z pageview <id> <url>". */
int le_record_to_text(const void *payload, size_t len, le_buf_t *out);

#endif
