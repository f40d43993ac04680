<?php
// For PHP-FPM (or any SAPI) that should load beckon once, at PHP's start,
// instead of on every request: name this file in php.ini,
//
//   opcache.enable = 1
//   opcache.preload = /path/to/vendor/beckon/beckon/preload.php
//   opcache.preload_user = www-data        ; the user PHP-FPM runs as
//   ; ffi.enable = preload                 ; the default: FFI only from
//   ;                                      ; preloaded code, as here
//
// with the library where the dynamic loader finds it (libbeckon_c.so.0,
// e.g. installed in /usr/local/lib), or its path in the environment of the
// PHP-FPM master, BECKON_LIBRARY=/path/to/libbeckon_c.so.0. It compiles
// every class of the package into the preloaded code (under ffi.enable=
// preload only preloaded code may call FFI, and these classes are the only
// callers) and loads the C declarations under the FFI scope "beckon", which
// Beckon\Library::get() takes on every request: no header parse, no library
// lookup. docs/php.md has the measured difference and the alternative
// (ffi.preload with ffi.enable=1).

declare(strict_types=1);

foreach (['BeckonException.php', 'Channel.php', 'Library.php',
          'EngineOptions.php', 'Policy.php', 'Contribution.php',
          'Decision.php', 'Stats.php', 'Engine.php'] as $file) {
    require_once __DIR__ . '/src/' . $file;
}
foreach (glob(__DIR__ . '/src/Exception/*.php') as $file) {
    require_once $file;
}

Beckon\Library::preload();
