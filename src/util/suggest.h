/* suggest.h: the nearest of a list of words to a misspelt one, for "did you mean ...?" hints. */
#ifndef AW_SUGGEST_H
#define AW_SUGGEST_H

#include <stddef.h>

/* Edit distance of a[na] and b[nb]: insertions, deletions, substitutions and swaps of two adjacent
 * characters each count 1 (optimal string alignment). Inputs longer than 64 bytes give a distance
 * above any useful suggestion (65). */
int aw_edit_distance(const char *a, size_t na, const char *b, size_t nb);

/* The word of cands (NULL-terminated) nearest to word, or NULL when none is close enough to be a
 * likely misspelling: at most 1 edit for words under 5 characters, 2 under 9, 3 otherwise, and
 * never the word itself. Ties go to the earlier candidate. */
const char *aw_suggest(const char *word, const char *const *cands);

#endif
