package sqlite

import (
	"context"
	"fmt"
)

// Ping checks that the database answers a query, for /healthz.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_version`).Scan(&n); err != nil {
		return fmt.Errorf("ping ledger: %w", err)
	}
	return nil
}
