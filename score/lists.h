/*
 * lists.h: the freemail and disposable domain lists shipped in config/, built into the
 * binary (score/embed_lists.cmake) for when identity.freemail_domains or
 * identity.disposable_domains is unset. Each is the file's bytes with a NUL after them.
 */
#ifndef LE_LISTS_H
#define LE_LISTS_H

extern const char le_builtin_freemail[];
extern const unsigned long le_builtin_freemail_len;
extern const char le_builtin_disposable[];
extern const unsigned long le_builtin_disposable_len;

#endif
