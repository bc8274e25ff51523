/* anon.c: files with no name (eventfd, timerfd, epoll) on their own inodes. */
#include <linux/fcntl.h>
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"

int anon_fd_install(const char *name, const struct file_ops *ops, unsigned flags, void *priv)
{
	/* No S_IF* type bits, like Linux's anonymous inodes; the name sits
	 * in data, borrowed so it is never freed. */
	struct inode *in = inode_new(0600);
	struct file *f = in ? file_new(in, ops, O_RDWR | (flags & O_NONBLOCK)) : NULL;
	int fd;

	if (!f) {
		kfree(in);
		kfree(priv);
		return -ENOMEM;
	}
	in->data = (char *)name;
	in->size = strlen(name);
	in->borrowed = true;
	f->priv = priv;
	fd = fd_install(f, 0, flags & O_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}
