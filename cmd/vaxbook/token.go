package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/identity"
)

func init() {
	register("token", "create a staff token: token create --role ROLE [--site ID]", runToken)
}

func runToken(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return &exitError{code: 2, err: errors.New("usage: vaxbook token create --role admin|clinic|support|auditor|agent [--site ID]")}
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	var d dbFlags
	d.bind(fs)
	role := fs.String("role", "", "admin, clinic, support, auditor or agent")
	site := fs.Int64("site", 0, "the site of a clinic token")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log := newLogger(d.verbose)
	db, err := d.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := d.keys(db, log)
	if err != nil {
		return err
	}
	token, id, err := identity.New(db, keys, clock.System{}).CreateStaffToken(ctx, "cli", *role, *site)
	if err != nil {
		return err
	}
	// The token is printed once; only its hash is stored.
	fmt.Printf("%s\n", token)
	fmt.Fprintf(os.Stderr, "staff token %s (role %s) created; it is shown only this once\n", id, *role)
	return nil
}
