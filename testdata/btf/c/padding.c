/* Explicit padding: alignment attributes leave holes that must be kept. */
struct al8 { char c; long l __attribute__((aligned(16))); };
struct al32 { int a; int b __attribute__((aligned(32))); char tail; };
struct tail_pad { long a; char b; } __attribute__((aligned(64)));
struct hole_int { char c; int i __attribute__((aligned(8))); };
struct hole_short { char a; short b __attribute__((aligned(4))); char c; };
struct big_hole { char a; char b __attribute__((aligned(128))); };
struct in_arr { struct al8 x[3]; char y; };
struct aligned_struct { int x; } __attribute__((aligned(8)));
struct uses_aligned { char c; struct aligned_struct s; };

struct al8 g1; struct al32 g2; struct tail_pad g3; struct hole_int g4;
struct hole_short g5; struct big_hole g6; struct in_arr g7; struct uses_aligned g8;
