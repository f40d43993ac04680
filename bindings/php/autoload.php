<?php
// The package's classes for code that does not use Composer (the examples,
// the tests): a PSR-4 autoloader of Beckon\ over src/, as Composer's
// "autoload" of composer.json would register.
//
//   require '/path/to/bindings/php/autoload.php';

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Beckon\\')) {
        $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 7))
            . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
