#include <edusearch.h>
#include <stdio.h>
int main(void) { printf("%s\n", es_version()); return 0; }
