<?php
// For PHP-FPM (or any SAPI): compiles the package's classes once, at PHP's
// start (opcache.preload), and makes sure the C declarations are loaded
// under the FFI scope "beckon", which Beckon\Library::get() takes on every
// request (no header parse, no library lookup). In php.ini:
//
//   ffi.preload = /path/to/vendor/beckon/beckon/src/beckon_ffi.h
//   opcache.preload = /path/to/vendor/beckon/beckon/preload.php  ; optional
//   opcache.preload_user = www-data       ; a master running as root needs it
//   ; ffi.enable = preload                ; the default: enough for both
//
// ffi.preload alone is what saves the per-request FFI::cdef(); this file
// adds the classes (and, where PHP does not preload as another user and
// ffi.preload is not set, loads the declarations itself with FFI::load(),
// for the library at $BECKON_LIBRARY or found by its soname). See
// docs/php.md, "PHP-FPM".

declare(strict_types=1);

foreach (['BeckonException.php', 'Channel.php', 'Library.php',
          'EngineOptions.php', 'Policy.php', 'Contribution.php',
          'Decision.php', 'Stats.php', 'Engine.php'] as $file) {
    require_once __DIR__ . '/src/' . $file;
}
foreach (glob(__DIR__ . '/src/Exception/*.php') as $file) {
    require_once $file;
}

try {
    Beckon\Library::preload();
} catch (Beckon\Exception\LibraryException $e) {
    // Requests still work where they may load the library themselves
    // (ffi.enable=1, or the CLI), each paying FFI::cdef().
    error_log('beckon preload: ' . $e->getMessage());
}
