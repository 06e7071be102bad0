/*
 * company.h: the normalised key of a company name.
 *
 * The same firm reaches us spelled many ways: "Müller GmbH" from one IP database,
 * "MUELLER GMBH & CO. KG" from another, "Müller" typed into a form. The key folds them to
 * one string ("mueller") so organisations, form entries and operator ranges can be matched
 * and accounts merged. The key is for comparing, not for showing: keep the name as
 * published for display. docs/enrich-text.md has the rules with examples; in short:
 *
 *   - Unicode compatibility forms and case are folded (NFKC + case folding, so full-width
 *     letters, ligatures and ß fold too); ä ö ü become ae oe ue, other Latin and Greek
 *     diacritics are dropped (é -> e, ø -> o, ł -> l, æ -> ae, œ -> oe);
 *   - letters and digits of any script are kept; apostrophes are deleted (O'Neil = ONeil);
 *     '&', "and" and "und" all become the word "and"; everything else (punctuation, symbols,
 *     emoji, controls, invalid UTF-8 bytes) separates words; words are joined by one space;
 *   - a leading "the" is dropped, and legal forms at the end are removed repeatedly
 *     ("Foo Holding GmbH & Co. KG" -> "foo holding"), but never the last word left.
 *
 * Pure: no I/O, no logging, thread-safe. Names of up to 255 bytes in ASCII, Latin-1 and
 * Latin Extended-A (most European names) take a fast path with no allocation that gives
 * the same key as the full Unicode path.
 */
#ifndef LE_COMPANY_H
#define LE_COMPANY_H

#include "le.h"

/*
 * Write the key of name[0..len) to out: at most cap - 1 bytes and a NUL (nothing when cap is
 * 0; out may then be NULL). Returns the length of the whole key like snprintf: 0 when nothing
 * is left (empty name, only punctuation or symbols), and a value >= cap when the key was cut;
 * a cut key is cut at a character boundary and carries no trailing space. Any bytes are
 * accepted (invalid UTF-8 and NUL separate words). Aborts only when memory is exhausted.
 */
size_t le_company_key(const char *name, size_t len, char *out, size_t cap);

/* For the unit test: is the legal-form table sorted and well-formed? */
bool le__company_forms_ok(void);

#endif
