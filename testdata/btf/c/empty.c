/* Empty structs and unions, deep nesting of anonymous members. */
struct empty {};
union uempty {};
struct has_empty { struct empty e; int x; struct empty e2; };
struct deep {
 struct { struct { struct { struct { struct { struct { struct { struct { struct { struct { struct { struct { struct { struct { struct {
	int bottom;
 } l15; } l14; } l13; } l12; } l11; } l10; } l9; } l8; } l7; } l6; } l5; } l4; } l3; } l2; } l1;
};
struct empty g_e; union uempty g_ue; struct has_empty g_he; struct deep g_deep;
