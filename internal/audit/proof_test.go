package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// The checks below are the verifier a citizen or journalist would write
// from docs/AUDIT.md: they read the record straight from the table, build
// the leaf, open the checkpoint with the public key and call the Merkle
// library. They use nothing of package audit but the proofs it returns.

// citizenLeaf builds the leaf of docs/AUDIT.md from the stored columns.
func citizenLeaf(cols ...string) []byte {
	var b bytes.Buffer
	for _, c := range append([]string{"vaxbook.audit.v1"}, cols...) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(c)))
		b.Write(n[:])
		b.WriteString(c)
	}
	return b.Bytes()
}

func storedColumns(t *testing.T, db *store.DB, seq int64) []string {
	t.Helper()
	var s, at int64
	cols := make([]string, 7)
	row := db.Read.QueryRow(store.RebindFor(db.Dialect, `SELECT seq, at_us, actor, action, subjects,
		rule_version, reasons, input_hash, details FROM audit_log WHERE seq = ?`), seq)
	if err := row.Scan(&s, &at, &cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6]); err != nil {
		t.Fatal(err)
	}
	return append([]string{strconv.FormatInt(s, 10), strconv.FormatInt(at, 10)}, cols...)
}

// citizenCheckpoint opens a checkpoint note and returns its size and root.
func citizenCheckpoint(t *testing.T, text, publicKey string) (uint64, []byte) {
	t.Helper()
	v, err := note.NewVerifier(publicKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(text), note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if lines[0] != v.Name() {
		t.Fatalf("origin %q, key %q", lines[0], v.Name())
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		t.Fatal(err)
	}
	return size, root
}

func TestInclusionProofsVerifyIndependently(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		seqs := f.appendN(t, 77)
		f.sealAll(t)
		for _, seq := range seqs {
			p, err := audit.ProveRecord(context.Background(), db, seq)
			if err != nil {
				t.Fatalf("prove %d: %v", seq, err)
			}
			leaf := citizenLeaf(storedColumns(t, db, seq)...)
			if !bytes.Equal(leaf, p.Leaf) {
				t.Fatalf("seq %d: leaf differs from the documented serialisation", seq)
			}
			size, root := citizenCheckpoint(t, p.Checkpoint.Note, f.key.PublicKey())
			leafHash := sha256.Sum256(append([]byte{0}, leaf...))
			err = proof.VerifyInclusion(rfc6962.DefaultHasher, p.LeafIndex, size, leafHash[:], p.Hashes, root)
			if err != nil {
				t.Fatalf("seq %d: inclusion proof does not verify: %v", seq, err)
			}
			// A proof for another leaf's position must fail.
			bad := proof.VerifyInclusion(rfc6962.DefaultHasher, (p.LeafIndex+1)%size, size, leafHash[:], p.Hashes, root)
			if bad == nil && size > 1 {
				t.Fatalf("seq %d: proof verified at the wrong index", seq)
			}
		}
	})
}

func TestConsistencyProofsVerifyIndependently(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		var sizes []uint64
		for _, n := range []int{1, 6, 50, 3, 64} {
			f.appendN(t, n)
			sizes = append(sizes, f.sealAll(t).TreeSize)
		}
		for i, from := range sizes {
			for _, to := range sizes[i:] {
				p, err := audit.Consistency(context.Background(), db, from, to)
				if err != nil {
					t.Fatalf("consistency %d..%d: %v", from, to, err)
				}
				s1, r1 := citizenCheckpoint(t, p.FromCheckpoint.Note, f.key.PublicKey())
				s2, r2 := citizenCheckpoint(t, p.ToCheckpoint.Note, f.key.PublicKey())
				if s1 != from || s2 != to {
					t.Fatalf("checkpoints of %d, %d signed sizes %d, %d", from, to, s1, s2)
				}
				if err := proof.VerifyConsistency(rfc6962.DefaultHasher, s1, s2, p.Hashes, r1, r2); err != nil {
					t.Fatalf("consistency %d..%d does not verify: %v", from, to, err)
				}
				if from > 0 && from < to {
					wrong := append([]byte(nil), r1...)
					wrong[0] ^= 1
					if proof.VerifyConsistency(rfc6962.DefaultHasher, s1, s2, p.Hashes, wrong, r2) == nil {
						t.Fatalf("consistency %d..%d verified against a wrong root", from, to)
					}
				}
			}
		}
	})
}

func TestProveSubject(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		f.appendN(t, 9) // subjects appointment:A0 ... A8
		if _, err := audit.ProveSubject(ctx, db, "appointment:A4", "booking.created"); apperr.NameOf(err) != "not-found" {
			t.Fatalf("before sealing: err = %v, want not-found", err)
		}
		f.sealAll(t)
		p, err := audit.ProveSubject(ctx, db, "appointment:A4", "booking.created")
		if err != nil {
			t.Fatal(err)
		}
		if p.Record.Subjects[0] != "appointment:A4" || p.Record.RuleVersion != "v3" {
			t.Fatalf("proved %+v", p.Record)
		}
		size, root := citizenCheckpoint(t, p.Checkpoint.Note, f.key.PublicKey())
		leafHash := sha256.Sum256(append([]byte{0}, citizenLeaf(storedColumns(t, db, p.Seq)...)...))
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.LeafIndex, size, leafHash[:], p.Hashes, root); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.ProveSubject(ctx, db, "appointment:A", "booking.created"); apperr.NameOf(err) != "not-found" {
			t.Fatalf("a prefix of a subject matched: %v", err)
		}
	})
}
