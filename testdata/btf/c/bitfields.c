/* Bitfields and the padding between them. */
struct bf1 { unsigned int a: 3; unsigned int b: 5; int c: 10; char d; unsigned long e: 33; };
struct bf2 { char c; int : 0; int x: 4; };
struct bf3 { int a: 4; long : 0; int b: 4; };
struct bf4 { unsigned char a: 1; unsigned char : 6; unsigned char b: 1; unsigned short s: 9; };
struct bf5 { long a: 20; long b: 44; long c: 64; };
struct bf6 { short a: 3; long long b: 50; char c: 2; };
struct bf7 { int x; unsigned int y: 1; };
struct bf8 { char a; long b: 2; char c; };
union ubf { int a: 3; long b: 40; char c; };

struct bf1 g1; struct bf2 g2; struct bf3 g3; struct bf4 g4;
struct bf5 g5; struct bf6 g6; struct bf7 g7; struct bf8 g8; union ubf gu;
