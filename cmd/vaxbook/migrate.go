package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/vaxbook/vaxbook/internal/notify"
)

func init() {
	register("migrate", "apply the database migrations", runMigrate)
}

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var d dbFlags
	d.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(d.verbose)
	db, err := d.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := notify.Migrate(ctx, db); err != nil {
		return err
	}
	fmt.Printf("migrations applied to %s (%s)\n", db.Redacted(), db.Dialect)
	return nil
}
