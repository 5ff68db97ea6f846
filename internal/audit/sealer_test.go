package audit_test

import (
	"context"
	"testing"

	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

func TestSealAndVerify(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		f.appendN(t, 120)
		f.sealAll(t)
		rep := f.verify(t)
		if !rep.OK || rep.Leaves != 120 || rep.TreeSize != 120 {
			t.Fatalf("report = %+v, want OK with 120 leaves", rep)
		}
		if rep.Checkpoints != 3 {
			t.Errorf("checkpoints = %d, want 3 (batches of 50)", rep.Checkpoints)
		}
	})
}

func TestSealerMetrics(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db) // batches of 50
		f.appendN(t, 120)
		if _, err := f.sealer.SealOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{"vaxbook_audit_sealed_records_total": 50, "vaxbook_audit_sealer_lag_records": 70,
			"vaxbook_audit_checkpoint_size": 50}
		for name, v := range want {
			if got := gauge(t, f, name); got != v {
				t.Errorf("%s = %v, want %v", name, got, v)
			}
		}
		// Records are a fake second apart; the oldest unsealed (the 51st) was
		// written 69 seconds before the last.
		if age := gauge(t, f, "vaxbook_audit_sealer_lag_seconds"); age != 69 {
			t.Errorf("lag seconds = %v, want 69", age)
		}
		f.sealAll(t)
		if got := gauge(t, f, "vaxbook_audit_sealer_lag_records"); got != 0 {
			t.Errorf("lag after catching up = %v", got)
		}
		if got := gauge(t, f, "vaxbook_audit_checkpoint_size"); got != 120 {
			t.Errorf("checkpoint size = %v, want 120", got)
		}
	})
}

func gauge(t *testing.T, f *fixture, name string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}
