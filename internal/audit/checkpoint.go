package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// DefaultOrigin names the log in checkpoints and keys when none is chosen.
const DefaultOrigin = "vaxbook.example/audit"

// Checkpoint is a signed statement of the tree: its size and root hash at a
// time. Note is the signed text in the checkpoint note format transparency
// logs use: the origin line, the size, the base64 root hash, one extension
// line "time RFC3339", a blank line and the signature lines.
type Checkpoint struct {
	Origin   string    `json:"origin"`
	TreeSize uint64    `json:"tree_size"`
	RootHash []byte    `json:"root_hash"`
	Time     time.Time `json:"time"`
	Note     string    `json:"note"`
	lowSeq   int64
	rng      []byte
}

// Key signs checkpoints: an Ed25519 key in the sumdb note format, whose
// name is the log's origin.
type Key struct {
	signer note.Signer
	public string
}

// GenerateKey makes a new Ed25519 key for origin and returns it with its
// private text (what a key file holds).
func GenerateKey(origin string) (Key, string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return Key{}, "", fmt.Errorf("generate audit key: %w", err)
	}
	k, err := ParseKey(skey)
	return k, skey, err
}

// ParseKey reads a private key in note format ("PRIVATE+KEY+name+...").
func ParseKey(skey string) (Key, error) {
	skey = strings.TrimSpace(skey)
	signer, err := note.NewSigner(skey)
	if err != nil {
		return Key{}, fmt.Errorf("parse audit key: %w", err)
	}
	// The verifier key is the private key's name and hash with the
	// algorithm byte and public half: derive it from the seed.
	public, err := publicFromPrivate(skey)
	if err != nil {
		return Key{}, err
	}
	return Key{signer: signer, public: public}, nil
}

// LoadOrCreateKeyFile reads the key at path, or creates the file (mode
// 0600) with a new key for origin. created reports a new key, which the
// caller should announce: checkpoints signed by a lost key cannot be
// re-signed.
func LoadOrCreateKeyFile(path, origin string) (key Key, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err = ParseKey(string(data))
		return key, false, err
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Key{}, false, fmt.Errorf("read audit key: %w", err)
	}
	key, skey, err := GenerateKey(origin)
	if err != nil {
		return Key{}, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Key{}, false, fmt.Errorf("create audit key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(skey + "\n"); err != nil {
		return Key{}, false, fmt.Errorf("write audit key: %w", err)
	}
	return key, true, nil
}

// Origin returns the log's name, which is the key's name.
func (k Key) Origin() string { return k.signer.Name() }

// PublicKey returns the verifier key in note format ("name+hash+base64"),
// what anyone checking checkpoints needs.
func (k Key) PublicKey() string { return k.public }

func publicFromPrivate(skey string) (string, error) {
	// PRIVATE+KEY+<name>+<hash>+<base64(alg || seed)>
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return "", errors.New("parse audit key: malformed")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 33 || raw[0] != 1 {
		return "", errors.New("parse audit key: not an Ed25519 note key")
	}
	pub := ed25519Public(raw[1:])
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// checkpointBody is the unsigned text of a checkpoint.
func checkpointBody(origin string, size uint64, root []byte, at time.Time) string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", origin, size,
		base64.StdEncoding.EncodeToString(root), at.UTC().Format(time.RFC3339Nano))
}

// sign returns the signed note text of a checkpoint.
func (k Key) sign(size uint64, root []byte, at time.Time) (string, error) {
	msg, err := note.Sign(&note.Note{Text: checkpointBody(k.Origin(), size, root, at)}, k.signer)
	if err != nil {
		return "", fmt.Errorf("sign checkpoint: %w", err)
	}
	return string(msg), nil
}

// OpenCheckpoint checks the signature of a checkpoint note against the
// verifier key publicKey and parses it.
func OpenCheckpoint(text, publicKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(publicKey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit public key: %w", err)
	}
	n, err := note.Open([]byte(text), note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w", err)
	}
	cp, err := parseCheckpointBody(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if cp.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("open checkpoint: origin %q is not the key's %q", cp.Origin, v.Name())
	}
	cp.Note = text
	return cp, nil
}

func parseCheckpointBody(text string) (Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, errors.New("parse checkpoint: fewer than three lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("parse checkpoint size: %w", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		return Checkpoint{}, errors.New("parse checkpoint: root hash is not 32 bytes of base64")
	}
	cp := Checkpoint{Origin: lines[0], TreeSize: size, RootHash: root}
	for _, ext := range lines[3:] {
		if v, ok := strings.CutPrefix(ext, "time "); ok {
			if cp.Time, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return Checkpoint{}, fmt.Errorf("parse checkpoint time: %w", err)
			}
		}
	}
	return cp, nil
}

// splitHashes cuts concatenated 32-byte hashes apart.
func splitHashes(b []byte) ([][]byte, error) {
	if len(b)%32 != 0 {
		return nil, errors.New("hash list is not a multiple of 32 bytes")
	}
	out := make([][]byte, 0, len(b)/32)
	for i := 0; i < len(b); i += 32 {
		out = append(out, b[i:i+32])
	}
	return out, nil
}

func joinHashes(hs [][]byte) []byte {
	return bytes.Join(hs, nil)
}

// ed25519Public derives the public key from a 32-byte seed.
func ed25519Public(seed []byte) ed25519.PublicKey {
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}
