package audit_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func TestExportBundleVerifiesOffline(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		f.clk.Set(time.Date(2026, 2, 28, 23, 59, 40, 0, time.UTC))
		f.appendN(t, 30) // 19 in February, 11 in March
		f.clk.Set(time.Date(2026, 3, 31, 23, 59, 50, 0, time.UTC))
		f.appendN(t, 5)
		// A February record committed after March ones: it lands among
		// March's leaves and must travel in the bundle as an "other".
		err := db.InTx(ctx, func(tx *store.Tx) error {
			return audit.Append(ctx, tx, audit.Record{At: time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC),
				Actor: "system", Action: "hold.expired"})
		})
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Set(time.Date(2026, 3, 31, 23, 59, 58, 0, time.UTC))
		f.appendN(t, 1)
		f.clk.Set(time.Date(2026, 4, 1, 0, 0, 5, 0, time.UTC))
		f.appendN(t, 3)
		f.sealAll(t)

		b, err := audit.Export(ctx, db, "2026-03", f.key.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Records) != 17 || len(b.Others) != 1 {
			t.Fatalf("bundle has %d records and %d others, want 17 and 1", len(b.Records), len(b.Others))
		}
		raw, err := json.Marshal(b) // offline: only the file travels
		if err != nil {
			t.Fatal(err)
		}
		var got audit.Bundle
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if err := audit.VerifyBundle(&got, f.key.PublicKey()); err != nil {
			t.Fatalf("verify bundle: %v", err)
		}

		edited := got
		edited.Records = append([]audit.BundleEntry(nil), got.Records...)
		edited.Records[3].Actor = "staff:someone-else"
		if err := audit.VerifyBundle(&edited, f.key.PublicKey()); err == nil || !strings.Contains(err.Error(), "root") {
			t.Fatalf("edited bundle: err = %v, want a root mismatch", err)
		}
		dropped := got
		dropped.Records = got.Records[1:]
		if err := audit.VerifyBundle(&dropped, f.key.PublicKey()); err == nil {
			t.Fatal("a bundle missing a record verified")
		}
		other, _, _ := audit.GenerateKey("test.vaxbook/audit")
		if err := audit.VerifyBundle(&got, other.PublicKey()); err == nil {
			t.Fatal("bundle verified under another key")
		}
	})
}
