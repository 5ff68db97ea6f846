package waitroom

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/clock"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Sealer encrypts key material at rest; *pii.Keys is one. Without it keys
// are stored as they are (fine for a demo, not for production).
type Sealer interface {
	Seal(context string, plaintext []byte) []byte
	Open(context string, sealed []byte) ([]byte, error)
}

const sealContext = "waitroom signing key"

// Keyring holds the Ed25519 keys that sign admission tokens. Keys live in
// the database so every node signs and verifies with the same set, and a
// rotation on one node reaches the others at their next Refresh: no
// restart. A retired key keeps verifying until every token it signed has
// expired (plus the skew), then it is forgotten and deleted.
type Keyring struct {
	db    *store.DB
	q     *store.Queries
	seal  Sealer
	clk   clock.Clock
	grace time.Duration // how long a retired key still verifies

	mu        sync.RWMutex
	signer    signingKey
	verifiers map[string]ed25519.PublicKey
	lastLoad  time.Time
}

type signingKey struct {
	kid     string
	key     ed25519.PrivateKey
	created time.Time
}

// NewKeyring loads the keys, creating the first one if there is none.
// grace is the longest token lifetime plus the verification skew.
func NewKeyring(ctx context.Context, db *store.DB, seal Sealer, clk clock.Clock, grace time.Duration) (*Keyring, error) {
	k := &Keyring{db: db, q: queries(db), seal: seal, clk: clk, grace: grace}
	if err := k.Refresh(ctx); err != nil {
		return nil, err
	}
	if k.signer.kid == "" {
		if err := k.Rotate(ctx); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Refresh reloads the keys from the database.
func (k *Keyring) Refresh(ctx context.Context) error {
	rows, err := k.db.Read.QueryContext(ctx, k.q.Get("keys_list"))
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	defer rows.Close()
	now := k.clk.Now()
	var signer signingKey
	verifiers := map[string]ed25519.PublicKey{}
	for rows.Next() {
		var kid string
		var raw []byte
		var created, retired int64
		if err := rows.Scan(&kid, &raw, &created, &retired); err != nil {
			return fmt.Errorf("load signing keys: %w", err)
		}
		if retired > 0 && now.Sub(time.UnixMicro(retired)) > k.grace {
			continue
		}
		seed, err := k.open(raw)
		if err != nil {
			return fmt.Errorf("open signing key %s: %w", kid, err)
		}
		priv := ed25519.NewKeyFromSeed(seed)
		verifiers[kid] = priv.Public().(ed25519.PublicKey)
		// The newest current key signs; two nodes rotating at once leave
		// two current keys, and both verify.
		if retired == 0 && !time.UnixMicro(created).Before(signer.created) {
			signer = signingKey{kid: kid, key: priv, created: time.UnixMicro(created)}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	k.mu.Lock()
	k.signer, k.verifiers, k.lastLoad = signer, verifiers, now
	k.mu.Unlock()
	return nil
}

func (k *Keyring) open(raw []byte) ([]byte, error) {
	if k.seal != nil {
		return k.seal.Open(sealContext, raw)
	}
	if len(raw) != ed25519.SeedSize {
		return nil, errors.New("stored key is sealed, but no data key is configured")
	}
	return raw, nil
}

// Rotate makes a new signing key and retires the current one, which keeps
// verifying for the grace period.
func (k *Keyring) Rotate(ctx context.Context) error {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed)
	stored := seed
	if k.seal != nil {
		stored = k.seal.Seal(sealContext, seed)
	}
	sum := sha256.Sum256(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	kid := base64.RawURLEncoding.EncodeToString(sum[:9])
	now := k.clk.Now()
	err := k.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, k.q.Get("keys_retire_current"), now.UnixMicro()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, k.q.Get("keys_insert"), kid, stored, now.UnixMicro()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, k.q.Get("keys_prune"), now.Add(-k.grace).UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("rotate signing key: %w", err)
	}
	return k.Refresh(ctx)
}

// Current returns the signing key's id and age.
func (k *Keyring) Current() (kid string, created time.Time) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.signer.kid, k.signer.created
}

// errUnknownKey is what the key lookup returns for a kid not in the ring.
var errUnknownKey = errors.New("unknown signing key")

// verifier returns the public key for kid. A kid this node has not seen
// may be a rotation on another node: the ring reloads, at most once a
// second, before giving up.
func (k *Keyring) verifier(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	k.mu.RLock()
	pub, ok := k.verifiers[kid]
	stale := k.clk.Now().Sub(k.lastLoad) > time.Second
	k.mu.RUnlock()
	if ok {
		return pub, nil
	}
	if stale {
		if err := k.Refresh(ctx); err != nil {
			return nil, err
		}
		k.mu.RLock()
		pub, ok = k.verifiers[kid]
		k.mu.RUnlock()
		if ok {
			return pub, nil
		}
	}
	return nil, errUnknownKey
}
