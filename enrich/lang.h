/*
 * lang.h: the visitor's preferred language, from Accept-Language.
 *
 * The header (RFC 9110 §12.5.4) is a list of language ranges with optional weights:
 * "de-DE,de;q=0.9,en;q=0.8". We pick the range with the highest weight, the first one on a
 * tie, skipping "*" and anything weighted q=0. Browsers send well-formed headers; the rest
 * of the world does not, so a broken element (a range that is not a language tag, a weight
 * that is not a valid qvalue, a parameter other than q) is ignored and the others still
 * count. Work is one pass over the header, stopping early at the first q=1 tag.
 *
 * A range is accepted when it looks like a BCP 47 tag (RFC 5646): subtags of 1 to 8
 * letters or digits joined by '-', a primary subtag of 2 or 3 letters (so "i-" and "x-"
 * tags are ignored), no empty subtag, no trailing singleton, at most LE_LANG_TAG_MAX - 1
 * bytes. It is written in the canonical case of RFC 5646 §2.1.1: language lowercase,
 * scripts Titlecase, regions UPPERCASE, everything after a singleton lowercase
 * ("de-DE", "zh-Hant-TW", "sr-Latn-RS", "en").
 *
 * Pure: no I/O, no logging, no allocation, thread-safe.
 */
#ifndef LE_LANG_H
#define LE_LANG_H

#include "le.h"

/* Room for any tag le_lang_primary accepts, NUL included. */
#define LE_LANG_TAG_MAX 64

/*
 * The chosen tag into tag (cap bytes with the NUL; nothing written when cap is 0), returning
 * its length; 0 when there is none. When the tag does not fit, whole subtags are dropped
 * from its end until it does ("zh-Hant-TW" in 8 bytes is "zh-Hant"), as in RFC 4647 lookup;
 * if even the primary subtag does not fit the result is 0. With cap >= LE_LANG_TAG_MAX the
 * whole tag always fits.
 */
size_t le_lang_primary(le_str_t accept_language, char *tag, size_t cap);

/* Length of the primary language subtag of tag[0..len): "de" in "de-DE". */
size_t le_lang_subtag(const char *tag, size_t len);

#endif
