/* BTF type tags, decl tags, floats. */
#define __user __attribute__((btf_type_tag("user")))
#define __rcu __attribute__((btf_type_tag("rcu")))
#define __tag(x) __attribute__((btf_decl_tag(x)))
struct tagged {
	int __user *uptr;
	const char __user *const __rcu *pp;
	int plain __tag("member_tag");
	float f;
	double d;
	long double ld;
} __tag("struct_tag");
typedef int __tag("td_tag") tagged_int;
int __tag("func_tag") tagged_fn(int __tag("param_tag") a, int __user *b) { return a + *b; }
struct tagged g_tagged; tagged_int g_ti __tag("var_tag");
float g_f; double g_d;
