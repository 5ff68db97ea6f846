package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/waitroom"
)

func TestWaitroomVerify(t *testing.T) {
	t.Parallel()
	seed := []byte("0123456789abcdef0123456789abcdef")
	ids := []string{"AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB", "CCCCCCCCCCCCCCCCCCCCCC"}
	root := waitroom.ListRoot(ids)
	d := waitroom.Draw{Commitment: waitroom.Commit(seed), Seed: hex.EncodeToString(seed), PublicValue: "round 42",
		ListRoot: hex.EncodeToString(root[:]), Tickets: ids}
	write := func(d waitroom.Draw) string {
		raw, _ := json.Marshal(d)
		p := filepath.Join(t.TempDir(), "draw.json")
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	good := write(d)
	first := waitroom.Order(seed, "round 42", ids)[0]
	if err := runWaitroomVerify(ctx, []string{"--draw", good, "--ticket", first}); err != nil {
		t.Fatalf("a genuine draw: %v", err)
	}
	if err := runWaitroomVerify(ctx, []string{"--draw", good, "--ticket", "ZZZZZZZZZZZZZZZZZZZZZZ"}); err == nil {
		t.Fatal("a ticket outside the list was given a place")
	}
	bad := d
	bad.Seed = hex.EncodeToString([]byte("another seed chosen after the fact"))
	if err := runWaitroomVerify(ctx, []string{"--draw", write(bad)}); err == nil || !strings.Contains(err.Error(), "commitment") {
		t.Fatalf("a seed that does not match the commitment: %v", err)
	}
	bad = d
	bad.Tickets = append([]string{"DDDDDDDDDDDDDDDDDDDDDD"}, ids...)
	if err := runWaitroomVerify(ctx, []string{"--draw", write(bad)}); err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("a list with an added ticket: %v", err)
	}
}
