package smartlinks

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed queries.sql
var queriesSQL string

// Options tune Import. Zero values take the defaults.
type Options struct {
	// ShiftTo moves the feed so that its first day falls on this date.
	ShiftTo *Date
	Log     *slog.Logger
	Clock   clock.Clock
	// HTTPClient fetches a remote manifest and its files (default: a
	// client with a one-minute timeout).
	HTTPClient *http.Client
	// MaxFileBytes bounds each file read (default 1 GiB).
	MaxFileBytes int64
	// Actor names who imported in the audit record (default "system").
	Actor string
	// BatchSize is how many slots one write transaction takes (default
	// 500), so a large feed never holds SQLite's single writer for long.
	BatchSize int
}

func (o *Options) defaults() {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 1 << 30
	}
	if o.Actor == "" {
		o.Actor = audit.System
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
}

type importer struct {
	db            *store.DB
	opts          Options
	q             *store.Queries
	rep           Report
	p             parsed
	seenLocations map[string]bool
}

// Import loads the SMART Scheduling Links feed at source (a manifest URL,
// a folder holding $bulk-publish, or the manifest file) into regions,
// sites and slots. Importing the same feed again updates rows in place.
// Faults in the feed are skipped and counted in the report; an error means
// the manifest could not be read or the database refused a write.
func Import(ctx context.Context, db *store.DB, source string, opts Options) (Report, error) {
	opts.defaults()
	im := &importer{db: db, opts: opts, rep: newReport(source),
		q: store.ParseQueries(db.Dialect, "smartlinks/queries.sql", queriesSQL),
		p: parsed{siteByID: map[string]*siteRow{}, schedules: map[string]*scheduleRow{},
			skippedSc: map[string]bool{}, slotKeys: map[string]bool{}},
		seenLocations: map[string]bool{}}
	f, err := openFeed(ctx, source, opts.HTTPClient, opts.MaxFileBytes)
	if err != nil {
		return im.rep, err
	}
	defer f.close()
	im.rep.Source = f.sourceName()
	if im.p.vaccines, err = im.vaccineCodes(ctx); err != nil {
		return im.rep, err
	}
	if err := im.read(ctx, f); err != nil {
		return im.rep, err
	}
	if opts.ShiftTo != nil {
		im.shift(ctx, *opts.ShiftTo)
	}
	if err := im.write(ctx); err != nil {
		return im.rep, err
	}
	attrs := []any{slog.String("source", im.rep.Source), slog.Int("sites", im.rep.Sites),
		slog.Int("slots", im.rep.SlotsStored), slog.Int("skipped", im.rep.SkippedTotal())}
	if s := im.rep.Shift; s != nil {
		attrs = append(attrs, slog.Bool("shifted", true), slog.Int("shift_days", s.Days))
	}
	opts.Log.InfoContext(ctx, "feed imported", attrs...)
	return im.rep, nil
}

func (im *importer) vaccineCodes(ctx context.Context) (map[string]int, error) {
	rows, err := im.db.Read.QueryContext(ctx, im.q.Get("vaccine_codes"))
	if err != nil {
		return nil, fmt.Errorf("read vaccines: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var code string
		var doses int
		if err := rows.Scan(&code, &doses); err != nil {
			return nil, fmt.Errorf("read vaccines: %w", err)
		}
		out[code] = doses
	}
	return out, rows.Err()
}

// read loads the output files in dependency order: every Location file,
// then every Schedule file, then every Slot file, whatever order the
// manifest lists them in.
func (im *importer) read(ctx context.Context, f *feed) error {
	handlers := []struct {
		typ    string
		fn     func([]byte)
		counts *Counts
	}{
		{"Location", im.location, &im.rep.Locations},
		{"Schedule", im.schedule, &im.rep.Schedules},
		{"Slot", im.slot, &im.rep.Slots},
	}
	for _, out := range f.manifest.Output {
		if out.Type != "Location" && out.Type != "Schedule" && out.Type != "Slot" {
			im.rep.Files = append(im.rep.Files, FileReport{Type: out.Type, URL: out.URL, Status: "unknown-type"})
			im.rep.skip("output_unknown_type")
		}
	}
	for _, h := range handlers {
		for _, out := range f.manifest.Output {
			if out.Type != h.typ {
				continue
			}
			if err := im.readFile(ctx, f, out, h.fn, h.counts); err != nil {
				return err
			}
		}
	}
	return nil
}

func (im *importer) readFile(ctx context.Context, f *feed, out ManifestOutput, fn func([]byte), c *Counts) error {
	fr := FileReport{Type: out.Type, URL: out.URL}
	defer func() { im.rep.Files = append(im.rep.Files, fr) }()
	u, err := f.resolve(out.URL)
	if err != nil {
		fr.Status = "bad-url"
		im.rep.skip("output_bad_url")
		return nil
	}
	body, _, err := f.open(ctx, u)
	switch {
	case errors.Is(err, errMissing):
		fr.Status = "missing"
		im.rep.skip("output_file_missing")
		return nil
	case errors.Is(err, errOutside):
		fr.Status = "outside"
		im.rep.skip("output_outside_manifest_folder")
		return nil
	case errors.Is(err, errOtherHost):
		fr.Status = "other-host"
		im.rep.skip("output_on_other_host")
		return nil
	case errors.Is(err, errRedirect):
		fr.Status = "other-host"
		im.rep.skip("output_redirect_to_other_host")
		return nil
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fr.Status = "failed"
		im.rep.skip("output_fetch_failed")
		im.opts.Log.WarnContext(ctx, "feed file not read", slog.String("type", out.Type),
			slog.String("error", err.Error()))
		return nil
	}
	defer body.Close()
	fr.Lines, err = eachRecord(body, fn)
	c.Read += fr.Lines
	fr.Status = "read"
	if err != nil {
		// Records read before the failure are kept; the rest of the file
		// is reported, not silently lost.
		fr.Status = "truncated"
		im.rep.skip("output_read_interrupted")
	}
	return nil
}
