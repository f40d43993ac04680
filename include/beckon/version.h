/* beckon version numbers: the one source of them for C, C++ and the build.
 *
 * BECKON_VERSION_* is the release version. BECKON_ABI_VERSION is the shared
 * library's ABI version (its SOVERSION); it changes only when a binary built
 * against an older release would break. This header is valid C and C++. */
#ifndef BECKON_VERSION_H_
#define BECKON_VERSION_H_

#define BECKON_VERSION_MAJOR 0
#define BECKON_VERSION_MINOR 1
#define BECKON_VERSION_PATCH 0
#define BECKON_VERSION_STRING "0.1.0"
#define BECKON_ABI_VERSION 0

#endif /* BECKON_VERSION_H_ */
