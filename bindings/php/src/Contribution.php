<?php

declare(strict_types=1);

namespace Beckon;

/** One model feature's part in a decision (Decision::contributions()). */
final class Contribution
{
    public function __construct(
        /** The feature's name ("dwell_s", "searches_no_results", ...). */
        public readonly string $feature,
        /** Its value for this visitor. */
        public readonly float $value,
        /** What it added to the log-odds. */
        public readonly float $contribution,
    ) {
    }
}
