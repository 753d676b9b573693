/* Anonymous and nested structs, unions and enums. */
struct outer {
	int kind;
	union {
		struct { int a, b; } pair;
		struct { long c; };
		long d;
	};
	struct {
		enum { IN_A, IN_B = 7 } e;
		union { char x; short y; } u;
	} nested;
	struct { int z; } arr[2];
	struct { int w; } *ptr;
};
enum { TOP_ANON_1 = 1, TOP_ANON_2 = 2 };
enum named_e { NAMED_A, NAMED_B };
typedef struct { int q; } anon_td;
typedef union { int i; float f; } anon_utd;
typedef enum { TD_E1, TD_E2 } anon_etd;
enum { VAR_ANON_A = 3 } g_var_anon;

struct outer g_outer;
anon_td g_anon_td;
anon_utd g_anon_utd;
anon_etd g_anon_etd;
enum named_e g_named;
int g_top = TOP_ANON_2;
