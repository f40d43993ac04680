<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_OUT_OF_RANGE (11): an index past the end (a decision's reasons or contributions). */
class OutOfRangeException extends BeckonException
{
    protected const STATUS = 'OUT_OF_RANGE';
}
