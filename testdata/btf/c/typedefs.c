/* Typedef handling. */
typedef unsigned int u32;
typedef u32 my_u32;
typedef my_u32 *pu32;
typedef struct tnode tnode_t;
struct tnode { tnode_t *next; pu32 val; };
typedef struct tnode *tnode_ptr;
typedef struct { tnode_ptr head; } tlist_t;
typedef tlist_t tlists_t[3];
typedef int int_arr2[2][3];
typedef __builtin_va_list my_va_list;
typedef struct fwd_only fwd_only_t;
struct uses_td { fwd_only_t *f; my_va_list *va; tlists_t lists; int_arr2 m; };
typedef union ut ut_t;
union ut { ut_t *self; int x; };
struct circ_a;
typedef struct circ_a circ_a_t;
struct circ_b { circ_a_t *a; };
struct circ_a { struct circ_b b; };

struct uses_td g_uses; tnode_t g_tnode; ut_t g_ut; struct circ_a g_circ;
