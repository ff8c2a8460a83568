/*
 * check_header.c: the public header stands alone (this file includes only
 * it and Check, under -std=c11 -Wpedantic) and its version macros agree with
 * the linked library.
 */
#include <edusearch.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_header_version_matches_library)
{
    ck_assert_str_eq(es_version(), ES_VERSION_STRING);
    ck_assert_uint_eq(es_version_number(), ES_VERSION_NUMBER);
}
END_TEST

START_TEST(test_header_strerror_total)
{
    for (int c = -20; c <= 2; c++)
        ck_assert_ptr_nonnull(es_strerror((es_status)c));
    ck_assert_str_eq(es_strerror((es_status)-999), "unknown status");
    ck_assert_str_eq(es_strerror(ES_ECORRUPT), "index is corrupt");
}
END_TEST

static Suite *header_suite(void)
{
    Suite *s = suite_create("header");
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, test_header_version_matches_library);
    suite_add_tcase(s, tc);
    tc = tcase_create("strerror");
    tcase_add_test(tc, test_header_strerror_total);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(header_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
