/* const, volatile, restrict and their placement. */
struct q {
	const int ci;
	volatile long vl;
	const char *pc;
	char *const cp;
	const char *const cpc;
	int *restrict rp;
	const volatile unsigned int cvu;
	volatile int *const *vpp;
	const int carr[4];
	volatile char *varr[2];
	const struct q *self;
	void *const *vp;
	const void *cv;
	const int *const (*fp)(const int *restrict, volatile long);
};
typedef const struct q cq_t;
typedef volatile int vint_t;
typedef const vint_t *pcv_t;
struct q g_q; cq_t *g_cq; pcv_t g_pcv; vint_t g_vint;
