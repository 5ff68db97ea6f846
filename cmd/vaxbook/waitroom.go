package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/waitroom"
)

func init() {
	register("waitroom", "verify a published lottery draw; rotate the admission-token key", runWaitroom)
}

func runWaitroom(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &exitError{2, fmt.Errorf("usage: vaxbook waitroom verify --draw FILE|URL [--ticket ID] | rotate-key")}
	}
	switch args[0] {
	case "verify":
		return runWaitroomVerify(ctx, args[1:])
	case "rotate-key":
		return runWaitroomRotate(ctx, args[1:])
	}
	return &exitError{2, fmt.Errorf("unknown waitroom command %q: want verify or rotate-key", args[0])}
}

// runWaitroomVerify recomputes the lottery order from the published values
// alone and prints every place, or one ticket's.
func runWaitroomVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("waitroom verify", flag.ContinueOnError)
	src := fs.String("draw", "", "the published draw: a file, or the URL of GET /v1/waiting-room/draw")
	ticket := fs.String("ticket", "", "print only this ticket's place")
	if err := fs.Parse(args); err != nil {
		return &exitError{2, err}
	}
	if *src == "" {
		return &exitError{2, fmt.Errorf("--draw is required")}
	}
	raw, err := readDraw(ctx, *src)
	if err != nil {
		return err
	}
	var d waitroom.Draw
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("read draw: %w", err)
	}
	order, err := waitroom.VerifyOrder(d)
	if err != nil {
		return err
	}
	fmt.Printf("commitment %s matches the seed; list root %s matches %d tickets\n", d.Commitment, d.ListRoot, len(d.Tickets))
	for i, id := range order {
		if *ticket == "" || id == *ticket {
			fmt.Printf("%d\t%s\n", i+1, id)
			if *ticket != "" {
				return nil
			}
		}
	}
	if *ticket != "" {
		return fmt.Errorf("ticket %s is not in the published pre-queue list (it joined after the opening, or not at all)", *ticket)
	}
	return nil
}

func readDraw(ctx context.Context, src string) ([]byte, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return os.ReadFile(src)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch draw: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch draw: %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 256<<20))
}

// runWaitroomRotate makes a new signing key; every node picks it up within
// a second, and the old one verifies until its tokens expire.
func runWaitroomRotate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("waitroom rotate-key", flag.ContinueOnError)
	var d dbFlags
	d.bind(fs)
	if err := fs.Parse(args); err != nil {
		return &exitError{2, err}
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
	ring, err := waitroom.NewKeyring(ctx, db, keys, clock.System{}, 24*time.Hour+30*time.Second)
	if err != nil {
		return err
	}
	if err := ring.Rotate(ctx); err != nil {
		return err
	}
	kid, _ := ring.Current()
	fmt.Printf("admission tokens are now signed with key %s\n", kid)
	return nil
}
