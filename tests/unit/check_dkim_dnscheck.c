/* check_dkim_dnscheck.c: unit tests of the DKIM DNS record comparison
 * behind `mxkit-dkim-keygen activate`: table of published records against
 * one key's own record, with the expected verdict and reason. */
#include "mxkit-config.h"

#include <check.h>
#include <string.h>

#include "check_dkim_run.h"
#include "dkim_dnscheck.h"

static const char want_ed[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char want_rsa[] = "v=DKIM1; k=rsa; p=MIIBIjANBgkq";

static const struct {
	const char *want, *published;
	enum mx_result result;
	const char *reason;  /* substring of the error, or NULL */
} cases[] = {
	{ want_ed, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", MX_FOUND, NULL },
	/* whitespace anywhere in p=, tags in any order, no v= */
	{ want_ed, " p = 11qYAYKx CrfVS/7TyWQHOg7hcvPa\tpiMlrwIaaPcHURo= ; k=ed25519 ;", MX_FOUND, NULL },
	/* k= defaults to rsa */
	{ want_rsa, "p=MIIBIjANBgkq", MX_FOUND, NULL },
	{ want_rsa, "v=DKIM1; p=MIIBIjANBgkq; t=s; n=notes", MX_FOUND, NULL },
	{ want_ed, "v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", MX_PERM, "k=rsa (by default)" },
	{ want_ed, "v=DKIM1; k=ed25519; p=AAAAAAKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", MX_PERM, "another public key" },
	{ want_ed, "v=DKIM1; k=ed25519; p=", MX_PERM, "revoked" },
	{ want_ed, "v=DKIM1; k=ed25519", MX_PERM, "revoked" },
	{ want_ed, "v=DKIM2; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", MX_PERM, "not v=DKIM1" },
	{ want_ed, "k=ed25519; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", MX_PERM, "appears twice" },
	{ want_ed, "k ed25519", MX_PERM, "has no '='" },
	{ want_rsa, "", MX_PERM, "revoked" },
	/* white space inside a k= value is not ignored (found by the fuzzer) */
	{ want_ed, "k=e\r\n d25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", MX_PERM, "k=e" },
};

START_TEST(test_record)
{
	struct mx_err err = { 0 };
	enum mx_result r = dkim_dnscheck_record(cases[_i].want, cases[_i].published,
						strlen(cases[_i].published), &err);

	ck_assert_msg(r == cases[_i].result, "case %d: result %d, want %d (%s)", _i, r,
		      cases[_i].result, err.text);
	if (cases[_i].reason != NULL)
		ck_assert_msg(strstr(err.text, cases[_i].reason) != NULL, "case %d: reason '%s'", _i, err.text);
}
END_TEST

START_TEST(test_length_not_nul)
{
	/* Only `len` bytes are read: the tail after it is not part of the record. */
	const char *buf = "p=MIIBIjANBgkqXXXX";
	struct mx_err err;

	ck_assert_int_eq(dkim_dnscheck_record(want_rsa, buf, strlen("p=MIIBIjANBgkq"), &err), MX_FOUND);
	ck_assert_int_eq(dkim_dnscheck_record(want_rsa, buf, strlen(buf), &err), MX_PERM);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_record, 0, N_CASES(cases));
	tcase_add_test(tc, test_length_not_nul);
}

int main(void)
{
	return dkim_check_run("dkim_dnscheck", add_tests);
}
