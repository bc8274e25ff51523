/* pathset.h: a set of path strings, each with a small tag (open addressing). */
#ifndef WISP_PATHSET_H
#define WISP_PATHSET_H

#include <stddef.h>
#include <stdint.h>

struct pathset {
	char **keys;
	uint8_t *tags;
	size_t cap, n;
};

/* The tag stored with key, or 0 if key is not in the set. A zeroed struct
 * is an empty set. */
int pathset_find(const struct pathset *s, const char *key);
/* Adds key (not yet in the set) with tag (non-zero). -1 when out of memory. */
int pathset_insert(struct pathset *s, const char *key, uint8_t tag);
void pathset_free(struct pathset *s);

#endif
