<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_ABORTED (10): Redis store: other processes kept changing the visitor; the event was not recorded (report it again). */
class AbortedException extends BeckonException
{
    protected const STATUS = 'ABORTED';
}
