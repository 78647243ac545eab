/* suggest.c: nearest word by edit distance (suggest.h). */
#include "util/suggest.h"

#include <string.h>

enum { MAXW = 64 };

int aw_edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    if (na > MAXW || nb > MAXW)
        return MAXW + 1;
    int d[MAXW + 1][MAXW + 1];
    for (size_t i = 0; i <= na; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[na][nb];
}

const char *aw_suggest(const char *word, const char *const *cands)
{
    size_t n = strlen(word);
    int limit = n < 5 ? 1 : n < 9 ? 2 : 3;
    const char *best = NULL;
    int best_d = limit + 1;
    for (int i = 0; cands[i] != NULL; i++) {
        int d = aw_edit_distance(word, n, cands[i], strlen(cands[i]));
        if (d > 0 && d < best_d) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}
