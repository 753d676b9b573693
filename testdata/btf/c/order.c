/* Ordering: by-value needs come first, pointers allow forward declarations. */
struct leaf { int x; };
struct by_value { struct leaf l; };
struct by_ptr { struct later *p; };
struct later { struct by_ptr back; long y; };
struct self { struct self *next; struct self *prev; };
struct ping;
struct pong { struct ping *ping; };
struct ping { struct pong pong; };
/* Anonymous struct reached through a pointer still needs what it embeds. */
struct a_dep { int v; };
struct holder { struct { struct a_dep y; } *x; };
struct undefined_struct;
union undefined_union;
struct uses_fwd { struct undefined_struct *s; union undefined_union *u; };

struct by_value g_by_value;
struct later g_later;
struct self g_self;
struct ping g_ping;
struct holder g_holder;
struct uses_fwd g_uses_fwd;
