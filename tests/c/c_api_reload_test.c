/* The library survives being unloaded and loaded again in one process, as
 * PHP's FFI does on every request of a PHP-FPM worker (FFI::cdef loads it,
 * the end of the request unloads it): each round opens it with dlopen,
 * creates an engine, decides, and closes it with dlclose.
 *
 *   c_api_reload_test path/to/libbeckon_c.so [ROUNDS]
 *
 * Without -z nodelete the second round aborts inside libprotobuf (the
 * library's generated messages registered twice). */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beckon/beckon.h"

typedef int (*CreateFn)(const beckon_engine_options_t*, beckon_engine_t**,
                        char**);
typedef void (*DestroyFn)(beckon_engine_t*);
typedef const char* (*VersionFn)(void);

/* dlsym's result as a function pointer (ISO C has no such conversion; POSIX
 * guarantees it works, through the object's representation). */
static void* Symbol(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (p == NULL) {
    fprintf(stderr, "c_api_reload_test: no %s: %s\n", name, dlerror());
    exit(1);
  }
  return p;
}

int main(int argc, char** argv) {
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  int i;
  if (argc < 2 || rounds < 2) {
    fprintf(stderr, "usage: c_api_reload_test LIBRARY [ROUNDS >= 2]\n");
    return 2;
  }
  for (i = 0; i < rounds; ++i) {
    void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CreateFn create;
    DestroyFn destroy;
    VersionFn version;
    void* p;
    beckon_engine_t* engine = NULL;
    char* err = NULL;
    int status;
    if (lib == NULL) {
      fprintf(stderr, "c_api_reload_test: dlopen: %s\n", dlerror());
      return 1;
    }
    p = Symbol(lib, "beckon_engine_create_default");
    memcpy(&create, &p, sizeof(create));
    p = Symbol(lib, "beckon_engine_destroy");
    memcpy(&destroy, &p, sizeof(destroy));
    p = Symbol(lib, "beckon_version");
    memcpy(&version, &p, sizeof(version));
    status = create(NULL, &engine, &err);
    if (status != BECKON_OK || engine == NULL) {
      fprintf(stderr, "c_api_reload_test: round %d: create failed: %s\n", i,
              err != NULL ? err : "?");
      return 1;
    }
    destroy(engine);
    printf("round %d: beckon %s loaded, engine created and destroyed\n", i,
           version());
    fflush(stdout);
    if (dlclose(lib) != 0) {
      fprintf(stderr, "c_api_reload_test: dlclose: %s\n", dlerror());
      return 1;
    }
  }
  printf("c_api_reload_test: %d rounds of dlopen and dlclose\n", rounds);
  return 0;
}
