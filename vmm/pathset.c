/* pathset.c: a set of path strings, each with a small tag (open addressing). */
#include "pathset.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

static size_t slot(const struct pathset *s, const char *key)
{
	size_t i = (size_t)fnv64(key, strlen(key)) & (s->cap - 1);

	while (s->keys[i] && strcmp(s->keys[i], key) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int grow(struct pathset *s)
{
	struct pathset ns = { .cap = s->cap ? s->cap * 2 : 256 };

	ns.keys = calloc(ns.cap, sizeof(*ns.keys));
	ns.tags = calloc(ns.cap, 1);
	if (!ns.keys || !ns.tags) {
		free(ns.keys);
		free(ns.tags);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (s->keys[i]) {
			size_t j = slot(&ns, s->keys[i]);

			ns.keys[j] = s->keys[i];
			ns.tags[j] = s->tags[i];
		}
	}
	ns.n = s->n;
	free(s->keys);
	free(s->tags);
	*s = ns;
	return 0;
}

int pathset_find(const struct pathset *s, const char *key)
{
	return s->cap ? s->tags[slot(s, key)] : 0;
}

int pathset_insert(struct pathset *s, const char *key, uint8_t tag)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return -1;
	i = slot(s, key);
	s->keys[i] = strdup(key);
	if (!s->keys[i])
		return -1;
	s->tags[i] = tag;
	s->n++;
	return 0;
}

void pathset_free(struct pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->tags);
	memset(s, 0, sizeof(*s));
}
