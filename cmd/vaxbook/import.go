package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vaxbook/vaxbook/internal/smartlinks"
)

func init() {
	register("import", "load a SMART Scheduling Links feed into sites and slots", runImport)
}

func runImport(ctx context.Context, args []string) error {
	return importTo(ctx, args, os.Stdout)
}

// importTo runs the import command, printing the report to out.
func importTo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var d dbFlags
	d.bind(fs)
	shiftTo := fs.String("shift-to", "", "move the feed so its first day falls on this date (YYYY-MM-DD), keeping local times")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vaxbook import [--shift-to YYYY-MM-DD] <manifest path, folder or URL>")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2, err: err}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("one manifest path or URL is required")}
	}
	opts, err := importOptions(*shiftTo)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	log := newLogger(d.verbose)
	opts.Log = log
	db, err := d.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := smartlinks.Import(ctx, db, fs.Arg(0), opts)
	if err != nil {
		return err
	}
	_, err = rep.WriteTo(out)
	return err
}

// importOptions turns the --shift-to flag into import options; serve
// --import uses it too.
func importOptions(shiftTo string) (smartlinks.Options, error) {
	var opts smartlinks.Options
	if shiftTo != "" {
		day, err := smartlinks.ParseDate(shiftTo)
		if err != nil {
			return opts, fmt.Errorf("--shift-to: %w", err)
		}
		opts.ShiftTo = &day
	}
	return opts, nil
}
