/* Arrays: multi-dimensional, of pointers, pointers to arrays, flexible. */
struct arrs {
	int one[3];
	int two[2][4];
	char three[1][2][3];
	int *ptrs[5];
	int (*to_arr)[7];
	int (*(*weird)[2])[3];
	long zero[0];
};
struct flex { int n; char data[]; };
typedef char buf_t[16];
buf_t g_buf; buf_t g_bufs[2]; struct arrs g_arrs; struct flex *g_flex;
int g_matrix[3][3];
