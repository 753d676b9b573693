/* __attribute__((packed)) detection. */
struct p1 { char c; int i; } __attribute__((packed));
struct p2 { char c; long l; short s; } __attribute__((packed));
struct natural_packed { int a; int b; } __attribute__((packed));
struct p_tail { int a; char b; } __attribute__((packed));
struct holds_packed { char c; struct p1 p; int i; };
struct member_packed { char c; int i __attribute__((packed)); };
struct p_aligned { char c; int i; } __attribute__((packed, aligned(4)));
struct p_bits { char c; unsigned int x: 20; unsigned long y; } __attribute__((packed));
union pu { char c[5]; int i; } __attribute__((packed));

struct p1 g1; struct p2 g2; struct natural_packed g3; struct p_tail g4;
struct holds_packed g5; struct member_packed g6; struct p_aligned g7; struct p_bits g8; union pu g9;
