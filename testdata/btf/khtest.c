// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/hrtimer.h>
#include <linux/kobject.h>

enum khtest_state { KHTEST_IDLE, KHTEST_RUNNING = 5, KHTEST_NEG = -3 };
enum khtest_big { KHTEST_BIG = 0x1234567890ULL };

struct list_head_khtest { int x; };

struct khtest_node {
	struct list_head list;
	struct hlist_node hnode;
	enum khtest_state state;
	unsigned int a : 3, b : 5;
	u64 c : 40;
	union {
		struct { u32 lo, hi; };
		u64 both;
	};
	struct work_struct work;
	struct hrtimer timer;
	int (*cb)(struct khtest_node *, const char *fmt, ...);
	void (*arr[4])(int);
	char name[16];
	struct kobject *kobj;
} __attribute__((packed));

struct khtest_state_cap {
	struct list_head_khtest lh;
	char c;
	long l __attribute__((aligned(32)));
};

typedef struct khtest_node khtest_node_t;
typedef int (*khtest_fn)(khtest_node_t *n, struct khtest_state_cap *s);

static struct khtest_node *node;
static struct khtest_state_cap cap;
khtest_fn khtest_hook;
EXPORT_SYMBOL(khtest_hook);

static void khtest_work(struct work_struct *w)
{
	struct khtest_node *n = container_of(w, struct khtest_node, work);
	n->state = KHTEST_RUNNING;
	cap.c = (char)n->a;
}

static int __init khtest_init(void)
{
	node = kzalloc(sizeof(*node), GFP_KERNEL);
	if (!node)
		return -ENOMEM;
	INIT_LIST_HEAD(&node->list);
	INIT_WORK(&node->work, khtest_work);
	node->c = KHTEST_BIG;
	if (khtest_hook)
		khtest_hook(node, &cap);
	return 0;
}

static void __exit khtest_exit(void)
{
	kfree(node);
}

module_init(khtest_init);
module_exit(khtest_exit);
MODULE_LICENSE("GPL");
