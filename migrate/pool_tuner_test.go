package migrate_test

import (
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/pool"
)

// The pool is what the optimisation step tunes.
var _ migrate.Tuner = (*pool.Pool)(nil)
