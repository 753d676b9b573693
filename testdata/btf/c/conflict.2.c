struct dup { long b; char c; };
union udup { long b; };
enum edup { EDUP_B = 2, SHARED_VAL = 20 };
typedef char td_dup;
enum other { td_only_1 = 5, EDUP_A = 3 };
struct user2 { struct dup d; union udup u; enum edup e; td_dup t; enum other o; };
struct user2 g_user2;
