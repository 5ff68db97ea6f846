package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/internal/pii"
)

func init() {
	register("rules", "eligibility rules: validate|publish FILE, shadow|activate VERSION, rollback, list, reevaluate", runRules)
}

const rulesUsage = `usage:
  vaxbook rules validate FILE          check a rule document (no database)
  vaxbook rules publish FILE [--schedule]
                                       store it as a draft (and activate it at its effective time)
  vaxbook rules shadow VERSION         how recent decisions would change under VERSION
  vaxbook rules activate VERSION       make VERSION the active one of its jurisdiction
  vaxbook rules rollback [--jurisdiction J]
                                       go back to the version active before
  vaxbook rules list                   versions, statuses and pointer moves
  vaxbook rules reevaluate             booked future appointments the active rules no longer admit`

// rulesActor names the command line in audit records and pointer moves.
const rulesActor = "operator:cli"

func runRules(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &exitError{code: 2, err: errors.New(rulesUsage)}
	}
	sub := args[0]
	fs := flag.NewFlagSet("rules "+sub, flag.ContinueOnError)
	var d dbFlags
	d.bind(fs)
	schedule := fs.Bool("schedule", false, "publish: activate the version at its effective time")
	jurisdiction := fs.String("jurisdiction", "", "rollback: the jurisdiction (needed when several have rules)")
	if err := fs.Parse(args[1:]); err != nil {
		return &exitError{code: 2, err: err}
	}
	want := map[string]int{"validate": 1, "publish": 1, "shadow": 1, "activate": 1, "rollback": 0, "list": 0, "reevaluate": 0}
	n, known := want[sub]
	if !known || fs.NArg() != n {
		return &exitError{code: 2, err: errors.New(rulesUsage)}
	}
	if sub == "validate" {
		return validateRules(fs.Arg(0))
	}
	svc, closeDB, err := openRules(ctx, &d, sub == "shadow" || sub == "reevaluate")
	if err != nil {
		return err
	}
	defer closeDB()
	switch sub {
	case "publish":
		return publishRules(ctx, svc, fs.Arg(0), *schedule)
	case "shadow":
		report, err := svc.Shadow(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		return printJSON(report)
	case "activate":
		return printMove(svc.Activate(ctx, fs.Arg(0), rulesActor))
	case "rollback":
		return printMove(svc.RollbackIn(ctx, *jurisdiction, rulesActor))
	case "list":
		return listRules(ctx, svc)
	}
	return reevaluateRules(ctx, svc)
}

// openRules opens the database and the eligibility service. Only shadow
// runs and reevaluation open sealed decisions; the other commands never
// seal or open anything, so on PostgreSQL they work without the data key.
func openRules(ctx context.Context, d *dbFlags, needKeys bool) (*eligibility.Service, func(), error) {
	log := newLogger(d.verbose)
	db, err := d.open(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	keys, err := d.keys(db, log)
	if err != nil && needKeys {
		db.Close()
		return nil, nil, err
	}
	if err != nil {
		keys, err = ephemeralKeys()
		if err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	svc, err := eligibility.New(eligibility.Config{DB: db, Keys: keys, Log: log})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}

func validateRules(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := eligibility.ParseDocument(data)
	if err == nil {
		var rs *eligibility.Ruleset
		if rs, err = eligibility.Compile(doc, 0); err == nil {
			fmt.Printf("%s: valid: version %s, %s, effective %s, %d rules\n", path, rs.Doc.ID,
				rs.Doc.Jurisdiction, rs.Effective.Format(time.RFC3339), len(rs.Doc.Rules))
			return nil
		}
	}
	return printProblems(path, err)
}

func printProblems(path string, err error) error {
	var ve *eligibility.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for _, p := range ve.Problems {
		fmt.Fprintf(os.Stderr, "%s: %s\n", path, p)
	}
	return &exitError{code: 1, err: fmt.Errorf("%s: %d problems", path, len(ve.Problems))}
}

func publishRules(ctx context.Context, svc *eligibility.Service, path string, schedule bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rs, err := svc.Publish(ctx, data, rulesActor)
	if err != nil {
		return printProblems(path, err)
	}
	status := "draft"
	if schedule {
		if err := svc.Schedule(ctx, rs.Doc.ID, rulesActor); err != nil {
			return err
		}
		status = "scheduled for " + rs.Effective.Format(time.RFC3339)
	}
	fmt.Printf("published %s (%s): %s\n", rs.Doc.ID, rs.Doc.Jurisdiction, status)
	return nil
}

func printMove(m eligibility.Move, err error) error {
	if err != nil {
		return err
	}
	from := m.From
	if from == "" {
		from = "(none)"
	}
	fmt.Printf("%s: %s -> %s (%s)\n", m.Jurisdiction, from, m.To, m.Kind)
	return nil
}

func listRules(ctx context.Context, svc *eligibility.Service) error {
	versions, err := svc.Versions(ctx)
	if err != nil {
		return err
	}
	moves, err := svc.Moves(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tJURISDICTION\tEFFECTIVE\tSTATUS\tPUBLISHED BY")
	for _, v := range versions {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v.Version, v.Jurisdiction,
			v.EffectiveAt.Format(time.RFC3339), v.Status, v.PublishedBy)
	}
	fmt.Fprintln(w, "\nMOVED AT\tJURISDICTION\tFROM\tTO\tKIND\tBY")
	for _, m := range moves {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", m.At.Format(time.RFC3339), m.Jurisdiction,
			orNone(m.From), m.To, m.Kind, m.Actor)
	}
	return w.Flush()
}

func reevaluateRules(ctx context.Context, svc *eligibility.Service) error {
	findings, err := svc.Reevaluate(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "REFERENCE\tSLOT START\tREGION\tRULE VERSION\tREASONS")
	for _, f := range findings {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Reference, f.SlotStart.Format(time.RFC3339), f.Region,
			f.RuleVersion, strings.Join(f.Reasons, ","))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("%d booked future appointments are no longer admitted by the active rules (nothing was cancelled)\n", len(findings))
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ephemeralKeys are random keys for commands that never seal or open
// personal data; nothing made with them is stored.
func ephemeralKeys() (*pii.Keys, error) {
	master := make([]byte, pii.KeySize)
	if _, err := rand.Read(master); err != nil {
		return nil, err
	}
	return pii.NewKeys(master)
}
