package audit_test

import (
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
