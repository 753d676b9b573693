/* Function prototypes, pointers to them and arrays of them. */
typedef int (*cb_t)(int, void *);
typedef void (*noargs_t)(void);
typedef int (*vararg_t)(const char *fmt, ...);
typedef cb_t (*returns_cb_t)(int which);
typedef void (*(*nested_t)(int))(char);
typedef int (*arr_fn_t[4])(long);
typedef int fn_type(int a, int b);
struct ops {
	int (*open)(struct ops *self, const char *name);
	void (*close)(struct ops *);
	long (*ioctl)(struct ops *, unsigned int cmd, unsigned long arg);
	int (*table[3])(void);
	int (*(*getter)(void))[5];
	void (*(*handlers[2])(int))(void *);
	fn_type *direct;
	char *(*str)(const char *, ...);
};
cb_t g_cb; noargs_t g_noargs; vararg_t g_vararg; returns_cb_t g_returns; nested_t g_nested;
arr_fn_t g_arr; struct ops g_ops; fn_type *g_fn;
int takes_cb(cb_t cb, int (*raw)(char), struct ops *o) { return cb(0, o) + raw(1); }
