/* Name conflicts (linked with conflict.2.c): ___2 suffixes. */
struct dup { int a; };
union udup { int a; };
enum edup { EDUP_A = 1, SHARED_VAL = 10 };
typedef int td_dup;
typedef long td_only_1;
struct user1 { struct dup d; union udup u; enum edup e; td_dup t; };
struct user1 g_user1;
