#include <edusearch.h>
#include <stdio.h>
int main(void) { printf("edusearch %s\n", es_version()); return 0; }
