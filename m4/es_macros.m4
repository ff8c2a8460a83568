# es_macros.m4: small configure helpers written for edusearch.

# ES_CHECK_CFLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
# Compile an empty program with FLAG (and -Werror, so that an unknown flag
# that gcc merely warns about is rejected) and run the matching action.
AC_DEFUN([ES_CHECK_CFLAG], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  es_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS -Werror $1"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $2],
    [AC_MSG_RESULT([no]); $3])
  CFLAGS=$es_save_CFLAGS
])

# ES_PTHREAD: the library uses pthread_once and the tests use threads;
# on glibc >= 2.34 they live in libc, elsewhere -pthread is needed.
AC_DEFUN([ES_PTHREAD], [
  ES_CHECK_CFLAG([-pthread], [PTHREAD_CFLAGS=-pthread; PTHREAD_LIBS=-pthread])
  AC_SUBST([PTHREAD_CFLAGS])
  AC_SUBST([PTHREAD_LIBS])
])
