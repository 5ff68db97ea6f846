package waitroom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Draw is what the room publishes about a lottery. Before the opening only
// OpensAt and Commitment are public; after the draw Seed, PublicValue,
// ListRoot and Tickets let anyone recompute every place (VerifyOrder).
type Draw struct {
	OpensAt     time.Time `json:"opens_at"`
	Commitment  string    `json:"seed_commitment"`
	Seed        string    `json:"seed,omitempty"`
	PublicValue string    `json:"public_value"`
	ListRoot    string    `json:"list_root,omitempty"`
	// Tickets are the pre-queue ticket ids, sorted byte-wise (not in
	// drawn order: the order is what a reader recomputes).
	Tickets []string  `json:"tickets,omitempty"`
	DrawnAt time.Time `json:"drawn_at,omitzero"`
}

// Commit returns the published commitment to a secret seed: the hex
// SHA-256 of its bytes.
func Commit(seed []byte) string {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:])
}

// ListRoot is the hash that fixes the pre-queue list: SHA-256 over the
// ticket ids sorted byte-wise, each followed by a newline. A flat hash, not
// a Merkle tree: the whole list is published anyway, and a flat hash is
// one line in any language.
func ListRoot(ids []string) [32]byte {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	h := sha256.New()
	for _, id := range sorted {
		h.Write([]byte(id))
		h.Write([]byte{'\n'})
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// drawKey is a ticket's lottery key: SHA-256(seed || root || public value ||
// ticket id). Seed and root have fixed lengths and ticket ids all have the
// same length, so the concatenation is unambiguous.
func drawKey(seed []byte, root [32]byte, public, id string) [32]byte {
	h := sha256.New()
	h.Write(seed)
	h.Write(root[:])
	h.Write([]byte(public))
	h.Write([]byte(id))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Order returns ids in drawn order: ascending lottery key, ties (which
// SHA-256 makes practically impossible) broken by ticket id.
func Order(seed []byte, public string, ids []string) []string {
	root := ListRoot(ids)
	type keyed struct {
		key [32]byte
		id  string
	}
	ks := make([]keyed, len(ids))
	for i, id := range ids {
		ks[i] = keyed{drawKey(seed, root, public, id), id}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := bytes.Compare(a.key[:], b.key[:]); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.id), []byte(b.id))
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.id
	}
	return out
}

// newDraw builds the published record of a draw over the pre-queue ids.
func newDraw(seed []byte, public string, opensAt, now time.Time, ids []string) Draw {
	root := ListRoot(ids)
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	return Draw{
		OpensAt: opensAt, Commitment: Commit(seed), Seed: hex.EncodeToString(seed),
		PublicValue: public, ListRoot: hex.EncodeToString(root[:]), Tickets: sorted, DrawnAt: now,
	}
}

// VerifyOrder checks a published draw against its own commitment and list
// root and returns the order it fixes. It is what `vaxbook waitroom verify`
// runs; it needs nothing but the published values.
func VerifyOrder(d Draw) ([]string, error) {
	seed, err := hex.DecodeString(d.Seed)
	if err != nil || len(seed) == 0 {
		return nil, errors.New("verify draw: the seed is missing or not hex")
	}
	if Commit(seed) != d.Commitment {
		return nil, fmt.Errorf("verify draw: SHA-256(seed) = %s, but the commitment published before the opening was %s",
			Commit(seed), d.Commitment)
	}
	root := ListRoot(d.Tickets)
	if hex.EncodeToString(root[:]) != d.ListRoot {
		return nil, fmt.Errorf("verify draw: the ticket list hashes to %x, not the published root %s", root, d.ListRoot)
	}
	return Order(seed, d.PublicValue, d.Tickets), nil
}
